import type { Clock } from '../ports/index.ts';

/** The wall clock, for everything that is not a test. */
export const systemClock: Clock = { now: () => new Date() };
