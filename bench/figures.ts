/**
 * What a bench module hands the runner (bench/run.ts): its figures, each with the baseline it was
 * measured against in the same run and the goal issue 15 states for it. On a shared machine the
 * ratio to a same-run baseline is what counts; an absolute figure alone says more about the machine.
 * See bench/README.md for adding one.
 */

/** A reference measured in the same run, under the same load: its own name in bench-results.json. */
export interface Baseline {
  readonly name: string;
  readonly value: number;
}

/** A goal; every bound given must hold. The ratio is value / baseline value. */
export interface Goal {
  readonly atMost?: number;
  readonly atLeast?: number;
  readonly ratioAtMost?: number;
  readonly ratioAtLeast?: number;
}

export interface Figure {
  /** Its name in bench-results.json: camelCase, unit last (`policyP99Micros`, `twinDecidedPerSecond`). */
  readonly name: string;
  readonly value: number;
  /** Printed after the value and the baseline's value: `µs`, `ms`, `/s`, `KB`, `MB/s`, `USD`. */
  readonly unit: string;
  readonly baseline?: Baseline;
  readonly goal?: Goal;
  /** Printed after the goal, e.g. what a bundle's bytes are mostly made of; not in bench-results.json. */
  readonly note?: string;
}

export interface BenchOptions {
  /** Few samples: proves the bench runs (the smoke test), measures nothing worth reading. */
  readonly quick: boolean;
}

/** What every bench module exports. */
export interface BenchModule {
  measure(options: BenchOptions): Promise<Figure[]>;
}
