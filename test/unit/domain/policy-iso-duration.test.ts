import { describe, expect, it } from 'vitest';
import { describeDuration, parseIsoDuration } from '../../../lambdas/domain/iso-duration.ts';

describe('parseIsoDuration', () => {
  it.each([
    ['PT30M', 1800],
    ['PT1H', 3600],
    ['PT90S', 90],
    ['P1D', 86_400],
    ['P1DT2H', 93_600],
    ['P2W', 1_209_600],
    ['PT1H30M15S', 5415],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseIsoDuration(text)).toBe(seconds);
  });

  it.each(['', 'P', 'PT', 'P1DT', '1H', 'PT1.5S', 'P1Y', 'P1M', 'P1WT1H', 'pt1h', 'zero'])(
    'refuses %j',
    (text) => {
      expect(parseIsoDuration(text)).toBeUndefined();
    },
  );
});

describe('describeDuration', () => {
  it.each([
    [1, '1 second'],
    [1800, '30 minutes'],
    [3600, '1 hour'],
    [5400, '1 hour 30 minutes'],
    [172_801, '2 days 1 second'],
  ])('describes %i seconds as %j', (seconds, text) => {
    expect(describeDuration(seconds)).toBe(text);
  });
});
