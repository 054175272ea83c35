/**
 * Scans one S3 object's bytes as they stream from disk, never holding the object whole: plain text
 * line by line (a line longer than MAX_SEGMENT is scanned in segments), CSV record by record
 * (csv-parse), JSON token by token (the @streamparser/json tokenizer, tracking the JSON path
 * itself so no document is ever built) and JSON Lines line by line. Occurrences are located as
 * Macie locates them: `lineRanges` in text, `cells` in CSV, `records` (jsonPath, recordIndex) in
 * JSON; a detection keeps at most MAX_OCCURRENCES of them, as a Macie finding does.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Tokenizer, TokenType } from '@streamparser/json';
import { parse as csvParser } from 'csv-parse';
import { accessKeyIds, detect, hasSecretKey, namesSsn, SensitiveDataType } from './detectors.ts';

/** A finding reports at most this many occurrences per detection (the discovery result has more). */
export const MAX_OCCURRENCES = 15;
/** The longest piece of a line scanned at once; longer lines are scanned in pieces of this size. */
export const MAX_SEGMENT = 64 * 1024;
/** An access key id pairs with a secret key within this many lines or values before or after it. */
const CREDENTIAL_WINDOW = 5;

export const FileKind = { text: 'text', csv: 'csv', json: 'json', jsonLines: 'jsonl' } as const;
export type FileKind = (typeof FileKind)[keyof typeof FileKind];

export const MIME_TYPE: Readonly<Record<FileKind, string>> = {
  text: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  jsonl: 'application/jsonl',
};

/** How Macie would read the object: by its content type, else its extension; plain text otherwise. */
export function fileKindOf(key: string, contentType: string): FileKind {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const extension = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1).toLowerCase() : '';
  if (type === 'text/csv' || extension === 'csv') return FileKind.csv;
  if (['application/x-ndjson', 'application/jsonl', 'application/json-lines'].includes(type))
    return FileKind.jsonLines;
  if (extension === 'jsonl' || extension === 'ndjson') return FileKind.jsonLines;
  if (type === 'application/json' || extension === 'json') return FileKind.json;
  return FileKind.text;
}

export type Occurrences =
  | { readonly lineRanges: { start: number; end: number; startColumn: number }[] }
  | { readonly cells: { row: number; column: number; columnName: string | null; cellReference: null }[] }
  | { readonly records: { recordIndex: number; jsonPath: string }[] };

type Location =
  | { readonly line: number; readonly column: number }
  | { readonly row: number; readonly column: number; readonly columnName: string | null }
  | { readonly recordIndex: number; readonly jsonPath: string };

export interface Detection {
  readonly type: SensitiveDataType;
  readonly count: number;
  readonly occurrences: Occurrences;
}

export interface ScanResult {
  readonly mimeType: string;
  readonly detections: readonly Detection[];
  /** Whether some detection has more occurrences than the finding lists. */
  readonly additionalOccurrences: boolean;
  readonly bytes: number;
}

class Tally {
  readonly #found = new Map<SensitiveDataType, { count: number; locations: Location[] }>();

  add(type: SensitiveDataType, location: Location): void {
    const entry = this.#found.get(type) ?? { count: 0, locations: [] };
    entry.count += 1;
    if (entry.locations.length < MAX_OCCURRENCES) entry.locations.push(location);
    this.#found.set(type, entry);
  }

  result(kind: FileKind, bytes: number): ScanResult {
    const detections = [...this.#found].map(([type, { count, locations }]) => ({
      type,
      count,
      occurrences: occurrencesOf(kind, locations),
    }));
    return {
      mimeType: MIME_TYPE[kind],
      detections,
      additionalOccurrences: detections.some((detection) => detection.count > MAX_OCCURRENCES),
      bytes,
    };
  }
}

function occurrencesOf(kind: FileKind, locations: readonly Location[]): Occurrences {
  if (kind === FileKind.csv) {
    return {
      cells: locations.map((location) => {
        const cell = location as { row: number; column: number; columnName: string | null };
        return { row: cell.row, column: cell.column, columnName: cell.columnName, cellReference: null };
      }),
    };
  }
  if (kind === FileKind.text) {
    return {
      lineRanges: locations.map((location) => {
        const { line, column } = location as { line: number; column: number };
        return { start: line, end: line, startColumn: column };
      }),
    };
  }
  return { records: locations.map((location) => location as { recordIndex: number; jsonPath: string }) };
}

/**
 * Pairs access key ids with secret keys near them: a key id is a credential when a secret key is in
 * the same piece or within CREDENTIAL_WINDOW pieces before or after it (lines, cells of one row,
 * values of one record).
 */
class CredentialPairer {
  #position = 0;
  #lastSecretAt = Number.NEGATIVE_INFINITY;
  #pending: { at: number; location: Location }[] = [];
  readonly #tally: Tally;

  constructor(tally: Tally) {
    this.#tally = tally;
  }

  piece(text: string, locate: (index: number) => Location): void {
    this.#position += 1;
    const keyIds = accessKeyIds(text);
    if (hasSecretKey(text)) {
      this.#lastSecretAt = this.#position;
      for (const pending of this.#pending)
        this.#tally.add(SensitiveDataType.awsCredentials, pending.location);
      this.#pending = [];
    }
    this.#pending = this.#pending.filter((pending) => this.#position - pending.at <= CREDENTIAL_WINDOW);
    for (const index of keyIds) {
      if (this.#position - this.#lastSecretAt <= CREDENTIAL_WINDOW) {
        this.#tally.add(SensitiveDataType.awsCredentials, locate(index));
      } else {
        this.#pending.push({ at: this.#position, location: locate(index) });
      }
    }
  }

  /** A record ended: nothing pairs across it. */
  reset(): void {
    this.#pending = [];
    this.#lastSecretAt = Number.NEGATIVE_INFINITY;
  }
}

/** Scans one piece of text, locating each match. */
function scanPiece(
  tally: Tally,
  pairer: CredentialPairer,
  text: string,
  locate: (index: number) => Location,
  ssnKeywordNear = false,
): void {
  for (const match of detect(text, { ssnKeywordNear })) tally.add(match.type, locate(match.index));
  pairer.piece(text, locate);
}

/** Lines of the stream (without their terminators), in segments of at most MAX_SEGMENT characters. */
async function* lines(body: Readable): AsyncGenerator<{ text: string; line: number; column: number }> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 1;
  let column = 1;
  const segments = function* (final: boolean) {
    for (;;) {
      const newline = pending.indexOf('\n');
      if (newline >= 0 && newline <= MAX_SEGMENT) {
        yield { text: pending.slice(0, newline).replace(/\r$/, ''), line, column };
        pending = pending.slice(newline + 1);
        line += 1;
        column = 1;
      } else if (pending.length > MAX_SEGMENT) {
        yield { text: pending.slice(0, MAX_SEGMENT), line, column };
        pending = pending.slice(MAX_SEGMENT);
        column += MAX_SEGMENT;
      } else {
        if (final && pending.length > 0) yield { text: pending.replace(/\r$/, ''), line, column };
        return;
      }
    }
  };
  for await (const chunk of body) {
    pending += decoder.write(chunk as Buffer);
    yield* segments(false);
  }
  pending += decoder.end();
  yield* segments(true);
}

async function scanText(body: Readable, tally: Tally): Promise<void> {
  const pairer = new CredentialPairer(tally);
  for await (const { text, line, column } of lines(body)) {
    scanPiece(tally, pairer, text, (index) => ({ line, column: column + index }));
  }
}

async function scanCsv(body: Readable, tally: Tally): Promise<void> {
  const pairer = new CredentialPairer(tally);
  const parser = body.pipe(
    csvParser({ bom: true, relax_column_count: true, relax_quotes: true, max_record_size: 1024 * 1024 }),
  );
  let header: string[] | undefined;
  let row = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    row += 1;
    if (header === undefined) {
      header = record;
      continue;
    }
    record.forEach((cell, index) => {
      const columnName = header![index] ?? null;
      const location = { row, column: index + 1, columnName };
      scanPiece(tally, pairer, cell, () => location, columnName !== null && namesSsn(columnName));
    });
    pairer.reset();
  }
}

/** `$.a`, `$['two words']`, `$[3]`, as Macie writes JSON paths. */
function pathOf(steps: readonly (string | number)[]): string {
  return `$${steps
    .map((step) =>
      typeof step === 'number'
        ? `[${step}]`
        : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(step)
          ? `.${step}`
          : `['${step.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`,
    )
    .join('')}`;
}

/** Scans a JSON value's strings and numbers, keys as the SSN keyword context. */
function scanValue(
  tally: Tally,
  pairer: CredentialPairer,
  value: string,
  steps: readonly (string | number)[],
  recordIndex: number,
): void {
  const location = { recordIndex, jsonPath: pathOf(steps) };
  const key = [...steps].reverse().find((step): step is string => typeof step === 'string');
  scanPiece(tally, pairer, value, () => location, key !== undefined && namesSsn(key));
}

/** A JSON document, token by token: the path is tracked, no value but the current one is held. */
async function scanJson(body: Readable, tally: Tally): Promise<void> {
  const pairer = new CredentialPairer(tally);
  const steps: (string | number)[] = [];
  // Per open container: an array (its next index) or an object (expecting a key, or a value).
  const containers: ({ kind: 'array' } | { kind: 'object'; expectKey: boolean })[] = [];
  const tokenizer = new Tokenizer({ numberBufferSize: 64 });
  const enterValue = () => {
    const container = containers.at(-1);
    if (container?.kind === 'object') container.expectKey = true;
  };
  const leaf = (value: string) => {
    scanValue(tally, pairer, value, steps, 0);
    enterValue();
  };
  tokenizer.onToken = ({ token, value }) => {
    const container = containers.at(-1);
    switch (token) {
      case TokenType.LEFT_BRACE:
      case TokenType.LEFT_BRACKET:
        containers.push(
          token === TokenType.LEFT_BRACE ? { kind: 'object', expectKey: true } : { kind: 'array' },
        );
        if (token === TokenType.LEFT_BRACKET) steps.push(0);
        return;
      case TokenType.RIGHT_BRACE:
      case TokenType.RIGHT_BRACKET:
        if (containers.pop()?.kind === 'array') steps.pop();
        // The container was the value of its parent's key (or an element): that value is done.
        if (containers.at(-1)?.kind === 'object') steps.pop();
        enterValue();
        return;
      case TokenType.COMMA:
        if (container?.kind === 'array') steps[steps.length - 1] = (steps.at(-1) as number) + 1;
        return;
      case TokenType.STRING:
        if (container?.kind === 'object' && container.expectKey) {
          steps.push(value as string);
          container.expectKey = false;
          return;
        }
        leaf(value as string);
        if (container?.kind === 'object') steps.pop();
        return;
      case TokenType.NUMBER:
        leaf(String(value));
        if (container?.kind === 'object') steps.pop();
        return;
      case TokenType.TRUE:
      case TokenType.FALSE:
      case TokenType.NULL:
        enterValue();
        if (container?.kind === 'object') steps.pop();
        return;
      default:
        return;
    }
  };
  for await (const chunk of body) tokenizer.write(chunk as Buffer);
  tokenizer.end();
  if (containers.length > 0) throw new Error('the JSON document ends inside an object or array');
}

function walk(
  value: unknown,
  steps: (string | number)[],
  visit: (text: string, steps: readonly (string | number)[]) => void,
): void {
  if (typeof value === 'string' || typeof value === 'number') {
    visit(String(value), steps);
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) walk(item, [...steps, index], visit);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) walk(item, [...steps, key], visit);
  }
}

/** JSON Lines: each line a record (`recordIndex` from 0); a line that is not JSON is scanned as text. */
async function scanJsonLines(body: Readable, tally: Tally): Promise<void> {
  const pairer = new CredentialPairer(tally);
  let recordIndex = -1;
  for await (const { text, column } of lines(body)) {
    if (column === 1) recordIndex += 1;
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      scanValue(tally, pairer, text, [], recordIndex);
      continue;
    }
    walk(record, [], (value, steps) => scanValue(tally, pairer, value, steps, recordIndex));
    pairer.reset();
  }
}

/** Counts bytes as they pass, without holding them. */
async function* counted(body: Readable, total: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    total.bytes += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}

export async function scanObject(body: Readable, kind: FileKind): Promise<ScanResult> {
  const total = { bytes: 0 };
  const stream = Readable.from(counted(body, total));
  const tally = new Tally();
  const scanners = { text: scanText, csv: scanCsv, json: scanJson, jsonl: scanJsonLines } as const;
  await scanners[kind](stream, tally);
  return tally.result(kind, total.bytes);
}
