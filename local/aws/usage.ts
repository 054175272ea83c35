/**
 * What the twin's AWS served, counted the way AWS bills it, for the cost model (bench/cost.bench.ts):
 * API calls by `service:Operation` (as the front authorizes them), billed units (DynamoDB read and
 * write request units as DynamoDB computes them, EventBridge events published) and Lambda
 * invocations with their durations and memory. Counting is all it does; nothing here changes what
 * a call returns.
 */

export interface FunctionUsage {
  readonly invocations: number;
  /** Sum of the invocations' durations, milliseconds. */
  readonly durationMs: number;
  readonly memoryMb: number;
}

export interface Usage {
  readonly calls: Readonly<Record<string, number>>;
  readonly units: Readonly<Record<string, number>>;
  readonly functions: Readonly<Record<string, FunctionUsage>>;
}

export const BilledUnit = {
  dynamoDbRead: 'dynamodb:ReadRequestUnits',
  dynamoDbWrite: 'dynamodb:WriteRequestUnits',
  eventBridgeEvents: 'events:PutEventsEntries',
} as const;

export class UsageMeter {
  readonly #calls = new Map<string, number>();
  readonly #units = new Map<string, number>();
  readonly #functions = new Map<string, { invocations: number; durationMs: number; memoryMb: number }>();

  call(action: string): void {
    this.#calls.set(action, (this.#calls.get(action) ?? 0) + 1);
  }

  add(unit: string, amount: number): void {
    this.#units.set(unit, (this.#units.get(unit) ?? 0) + amount);
  }

  invoked(functionName: string, memoryMb: number, durationMs: number): void {
    const usage = this.#functions.get(functionName) ?? { invocations: 0, durationMs: 0, memoryMb };
    usage.invocations += 1;
    usage.durationMs += durationMs;
    this.#functions.set(functionName, usage);
  }

  snapshot(): Usage {
    return {
      calls: Object.fromEntries(this.#calls),
      units: Object.fromEntries(this.#units),
      functions: Object.fromEntries([...this.#functions].map(([name, usage]) => [name, { ...usage }])),
    };
  }
}
