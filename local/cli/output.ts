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

/** Whether the command line asks for help rather than for the command. */
export function asksForHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** A usage error as one line on stderr: what was wrong, then the first line of the command's usage. */
export function usageLine(name: string, message: string, usage: string): string {
  return `countersign ${name}: ${message.replace(/\s*\n\s*/g, ' ')} (usage: ${usage.split('\n')[0]}; --help for more)`;
}

/**
 * Runs a command body and turns its failure into a message on stderr and an exit code; `--help`
 * prints the usage and exits 0 without running anything. With `--json`, an API error is also
 * printed as JSON on stdout so scripts can read its code.
 */
export async function runCommand(
  name: string,
  usage: string,
  args: readonly string[],
  body: () => Promise<number>,
): Promise<number> {
  if (asksForHelp(args)) {
    console.log(`usage: ${usage}`);
    return ExitCode.ok;
  }
  const json = args.includes('--json');
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(usageLine(name, error.message, usage));
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
    const message = error instanceof Error ? error.message : String(error);
    // "Unknown option '--x'. To specify a positional argument …": the first sentence says it.
    const brief =
      (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? message.split('. ')[0]
        : message;
    throw new UsageError(brief ?? message, { cause: error });
  }
}
