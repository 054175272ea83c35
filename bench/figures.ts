/**
 * What a bench module hands the runner (bench/run.ts): its figures, each with the baseline it was
 * measured against in the same run and the goal issue 15 states for it. On a shared machine the
 * ratio to a same-run baseline is what counts; an absolute figure alone says more about the machine.
 * See bench/README.md for adding one. The figures cross from the bench's own process to the
 * runner's (bench/measure-in-child.ts), which parses them with these schemas.
 */
import * as z from 'zod';

/** A reference measured in the same run, under the same load: its own name in bench-results.json. */
export const Baseline = z.strictObject({ name: z.string().min(1), value: z.number() }).readonly();
export type Baseline = z.infer<typeof Baseline>;

/** A goal; every bound given must hold. The ratio is value / baseline value. */
export const Goal = z
  .strictObject({
    atMost: z.number().optional(),
    atLeast: z.number().optional(),
    ratioAtMost: z.number().optional(),
    ratioAtLeast: z.number().optional(),
  })
  .readonly();
export type Goal = z.infer<typeof Goal>;

export const Figure = z
  .strictObject({
    /** Its name in bench-results.json: camelCase, unit last (`policyP99Micros`, `twinDecidedPerSecond`). */
    name: z.string().min(1),
    /** A finite number (zod refuses NaN and ±Infinity): bench-results.json holds numbers only. */
    value: z.number(),
    /** Printed after the value and the baseline's value: `µs`, `ms`, `/s`, `KB`, `MB/s`, `USD`. */
    unit: z.string(),
    baseline: Baseline.optional(),
    goal: Goal.optional(),
    /** Printed after the goal, e.g. what a bundle's bytes are mostly made of; not in bench-results.json. */
    note: z.string().optional(),
  })
  .readonly();
export type Figure = z.infer<typeof Figure>;

export interface BenchOptions {
  /** Few samples: proves the bench runs (the smoke test), measures nothing worth reading. */
  readonly quick: boolean;
}

/** What every bench module exports. */
export interface BenchModule {
  measure(options: BenchOptions): Promise<Figure[]>;
}
