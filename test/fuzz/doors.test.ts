/**
 * Every door fuzzed with a few hundred cases (bounded in time so the suite stays fast): no 5xx, no
 * unhandled exception, no change to stored state, never an ALLOW or a vote from malformed input.
 * `npm run fuzz` runs the same doors with 10,000 cases each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOORS } from './doors.ts';
import { formatReport, fuzzDoor } from './framework.ts';
import { type FuzzTwin, startFuzzTwin } from './twin-context.ts';

const RUNS = 200;
const SECONDS = 25;

let context: FuzzTwin;

beforeAll(async () => {
  context = await startFuzzTwin();
});

afterAll(async () => {
  await context?.stop();
});

describe('fuzzing every door of the twin', () => {
  for (const build of DOORS) {
    it(`${build.name.replace(/Door$/, '')}: a few hundred hostile cases`, { timeout: 120_000 }, async () => {
      const door = build(context);
      const report = await fuzzDoor(door as Parameters<typeof fuzzDoor>[0], { runs: RUNS, seconds: SECONDS });
      expect(report.failures, formatReport(report)).toBe(0);
      expect(report.cases).toBeGreaterThan(0);
    });
  }
});
