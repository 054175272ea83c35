/**
 * How the CLI talks back: aligned tables for people, JSON for scripts, and one mapping from what
 * went wrong to the exit code (2: the command was used wrongly, 1: it was used right but failed).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CountersignError } from '../../lambdas/domain/errors.ts';

export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** The command line itself is wrong: unknown flag, missing argument, malformed value. */
export class UsageError extends CountersignError {}

/** The twin answered with an error; `code` is the API's machine-readable reason. */
export class ApiError extends CountersignError {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((line) => line[index]!.length)),
  );
  const format = (line: readonly string[]) =>
    line
      .map((cell, index) => (index === line.length - 1 ? cell : cell.padEnd(widths[index]!)))
      .join('  ')
      .trimEnd();
  return [format(columns.map((column) => column.header)), ...cells.map(format)].join('\n');
}

/** `label: value` lines with the labels aligned. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`).join('\n');
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/**
 * Runs a command body and turns its failure into a message on stderr and an exit code. With
 * `--json`, an API error is also printed as JSON on stdout so scripts can read its code.
 */
export async function runCommand(
  name: string,
  usage: string,
  args: readonly string[],
  body: () => Promise<number>,
): Promise<number> {
  const json = args.includes('--json');
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`countersign ${name}: ${error.message}\n\nusage: ${usage}`);
      return ExitCode.usage;
    }
    if (error instanceof ApiError) {
      if (json) printJson({ error: { status: error.status, code: error.code, message: error.message } });
      console.error(`countersign ${name}: ${error.message} (${error.code}, HTTP ${error.status})`);
      return ExitCode.failure;
    }
    console.error(`countersign ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return ExitCode.failure;
  }
}

/** `parseArgs` with its errors (unknown flag, missing value) reported as usage errors. */
export function parseCommandLine<const T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
