/**
 * Property-based fuzzing of Countersign's doors with fast-check. A door is an input the outside
 * world controls (the agent's event, the REST API, Slack, Teams, the twin's AWS fronts …): an
 * arbitrary of hostile inputs and a check that throws when a property fails (a 5xx, an unhandled
 * exception, a change to stored state, an ALLOW or a vote from malformed input). fast-check runs it,
 * shrinks a failure to its smallest counterexample, and the report says what it ran and found.
 * Shared by `npm test` (a few hundred cases per door) and `npm run fuzz` (10,000, time-bounded).
 */
import fc from 'fast-check';

export interface Door<T = unknown> {
  /** Stable name, used by `npm run fuzz --door` and in the reports. */
  readonly name: string;
  /** What the door is and which properties `check` asserts. */
  readonly description: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Sends one case; throws when a property fails. */
  check(input: T): Promise<void>;
  /** After all cases: properties of the whole run (stored state equal to before, once async work settled). */
  afterAll?(): Promise<void>;
}

export interface DoorReport {
  readonly door: string;
  readonly cases: number;
  readonly failures: number;
  /** The shrunk counterexample of each failure, as fast-check prints it. */
  readonly counterexamples: readonly { readonly input: string; readonly error: string }[];
  readonly seed: number;
  readonly seconds: number;
  /** The run stopped at its time bound before all cases ran. */
  readonly interrupted: boolean;
}

export interface FuzzOptions {
  readonly runs: number;
  /** Stop a door's run after this long (cases run so far count; a time-out is not a failure). */
  readonly seconds?: number;
  readonly seed?: number;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2000);
  return String(error).slice(0, 2000);
}

export async function fuzzDoor<T>(door: Door<T>, options: FuzzOptions): Promise<DoorReport> {
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(door.arbitrary, async (input) => {
      await door.check(input);
    }),
    {
      numRuns: options.runs,
      ...(options.seconds === undefined
        ? {}
        : { interruptAfterTimeLimit: options.seconds * 1000, markInterruptAsFailure: false }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    },
  );
  const counterexamples: { input: string; error: string }[] = [];
  if (details.failed && details.counterexample !== null) {
    counterexamples.push({
      input: fc.stringify(details.counterexample[0]),
      error: errorText(details.errorInstance),
    });
  }
  if (door.afterAll !== undefined) {
    try {
      await door.afterAll();
    } catch (error) {
      counterexamples.push({ input: '(the whole run)', error: errorText(error) });
    }
  }
  return {
    door: door.name,
    cases: details.numRuns,
    failures: counterexamples.length,
    counterexamples,
    seed: details.seed,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    interrupted: details.interrupted,
  };
}

/** Fails with what was expected when `condition` does not hold (fast-check shrinks on any throw). */
export function expectThat(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** JSON values of any shape, nested a little: what a hostile client puts where an object belongs. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 4 });

/** Strings a hostile client likes: empty, huge, control characters, unicode, injection attempts. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '%',
    '%E0%A4%A',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    `\${jndi:ldap://x}`,
    '__proto__',
    'constructor',
    'null',
    '\uD800',
    'a'.repeat(3000),
  ),
);

/** A JSON document with one value at `path` replaced by something hostile, or a field added or removed. */
export function mutated(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const paths = leafPaths(base);
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(...paths), fc.oneof(anyJson, hostileString))
      .map(([path, value]) => setAt(base, path, value)),
    fc.constantFrom(...paths).map((path) => removeAt(base, path)),
    fc.tuple(hostileString, anyJson).map(([key, value]) => ({ ...structuredClone(base), [key]: value })),
    anyJson,
  );
}

function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Object.entries(value);
  const own = prefix.length === 0 ? [] : [prefix];
  return [...own, ...entries.flatMap(([key, child]) => leafPaths(child, [...prefix, key]))];
}

function setAt(base: Record<string, unknown>, path: string[], value: unknown): unknown {
  const copy = structuredClone(base);
  let cursor: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string, unknown>;
  cursor[path.at(-1)!] = value;
  return copy;
}

function removeAt(base: Record<string, unknown>, path: string[]): unknown {
  const copy = structuredClone(base);
  let cursor: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string, unknown>;
  delete cursor[path.at(-1)!];
  return copy;
}

/** One line per door: cases, failures, and each shrunk counterexample. */
export function formatReport(report: DoorReport): string {
  const head = `${report.door.padEnd(24)} ${String(report.cases).padStart(6)} cases  ${report.failures} failure(s)  ${report.seconds}s  seed ${report.seed}${report.interrupted ? '  (time bound reached)' : ''}`;
  return [
    head,
    ...report.counterexamples.map(
      (failure) => `    counterexample: ${failure.input}\n    error: ${failure.error}`,
    ),
  ].join('\n');
}
