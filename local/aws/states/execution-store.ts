/**
 * Executions persisted as one JSON file each under `<dataDir>/executions/`, written atomically.
 * Writes of one execution are serialized and coalesced: while one is in flight, later changes are
 * written once it lands, so the file always ends at the latest state and never goes backwards.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { parse } from '../../../lambdas/domain/schemas.ts';
import { temporaryPathFor } from '../files.ts';

export const ExecutionStatus = {
  running: 'RUNNING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  timedOut: 'TIMED_OUT',
  aborted: 'ABORTED',
} as const;
export const ExecutionStatusValue = z.enum([
  ExecutionStatus.running,
  ExecutionStatus.succeeded,
  ExecutionStatus.failed,
  ExecutionStatus.timedOut,
  ExecutionStatus.aborted,
]);
export type ExecutionStatusValue = z.infer<typeof ExecutionStatusValue>;

/** One GetExecutionHistory event: `type`, ids, an ISO timestamp and its `<type>EventDetails` object. */
export const HistoryEvent = z.looseObject({
  id: z.number().int().positive(),
  previousEventId: z.number().int().min(0),
  timestamp: z.iso.datetime(),
  type: z.string(),
});
export type HistoryEvent = z.infer<typeof HistoryEvent>;

export const ExecutionRecord = z.object({
  executionArn: z.string(),
  stateMachineArn: z.string(),
  name: z.string(),
  status: ExecutionStatusValue,
  startDate: z.iso.datetime(),
  stopDate: z.iso.datetime().optional(),
  /** JSON text, as Step Functions keeps input and output. */
  input: z.string(),
  output: z.string().optional(),
  error: z.string().optional(),
  cause: z.string().optional(),
  redriveCount: z.number().int().min(0),
  redriveDate: z.iso.datetime().optional(),
  history: z.array(HistoryEvent),
  /** SHA-256 of every task token issued, so stale tokens answer TaskTimedOut after a restart. */
  taskTokenHashes: z.array(z.string()),
});
export type ExecutionRecord = z.infer<typeof ExecutionRecord>;

interface PendingWrite {
  running: Promise<void>;
  again: boolean;
}

export class ExecutionStore {
  readonly #directory: string;
  readonly #writes = new Map<string, PendingWrite>();
  /** Made once per store (at loadAll or the first write), not once per write. */
  #directoryMade: Promise<unknown> | undefined;

  constructor(directory: string) {
    this.#directory = directory;
  }

  #file(executionArn: string): string {
    return join(
      this.#directory,
      `${createHash('sha256').update(executionArn).digest('hex').slice(0, 40)}.json`,
    );
  }

  #makeDirectory(): Promise<unknown> {
    this.#directoryMade ??= mkdir(this.#directory, { recursive: true });
    return this.#directoryMade;
  }

  async loadAll(): Promise<ExecutionRecord[]> {
    await this.#makeDirectory();
    const names = (await readdir(this.#directory)).filter((name) => name.endsWith('.json'));
    const records: ExecutionRecord[] = [];
    for (const name of names) {
      const path = join(this.#directory, name);
      records.push(
        parse(ExecutionRecord, JSON.parse(await readFile(path, 'utf8')), `execution file ${path}`),
      );
    }
    return records;
  }

  /**
   * A finished execution's record, as its last write left it. Synchronous, as the Step Functions
   * calls that ask for it are; only DescribeExecution and GetExecutionHistory of a finished
   * execution come here, never a running one.
   */
  readSync(executionArn: string): ExecutionRecord {
    const path = this.#file(executionArn);
    return parse(ExecutionRecord, JSON.parse(readFileSync(path, 'utf8')), `execution file ${path}`);
  }

  async #write(record: ExecutionRecord): Promise<void> {
    const path = this.#file(record.executionArn);
    const temporary = temporaryPathFor(path);
    await this.#makeDirectory();
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, path);
  }

  /** Schedules a write of the record's current state; resolves once a write that includes it landed. */
  save(record: ExecutionRecord): Promise<void> {
    const pending = this.#writes.get(record.executionArn);
    if (pending !== undefined) {
      pending.again = true;
      return pending.running;
    }
    const entry: PendingWrite = { running: Promise.resolve(), again: false };
    entry.running = (async () => {
      try {
        do {
          entry.again = false;
          await this.#write(record);
        } while (entry.again);
      } finally {
        this.#writes.delete(record.executionArn);
      }
    })();
    this.#writes.set(record.executionArn, entry);
    return entry.running;
  }

  /** Waits for every scheduled write. */
  async flush(): Promise<void> {
    await Promise.all([...this.#writes.values()].map((entry) => entry.running));
  }
}
