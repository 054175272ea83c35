/**
 * Reading an archive object as it streams: the SHA-256 and size of its stored bytes, and its gzip
 * JSON Lines decoded a line at a time into audit records. The digester describes objects with it
 * and the verifier checks them with it; neither holds an object in memory. And reading a digest.
 */
import { createHash, hash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { AuditDigest, parseArchiveLine, type StoredDigest, sha256Hex } from '../domain/audit-archive.ts';
import type { ArchivedRecord } from '../domain/audit-record.ts';
import { parse } from '../domain/schemas.ts';
import type { AuditArchive } from '../ports/index.ts';

export interface ObjectScan {
  /** SHA-256 (hex) of every stored byte, whatever they decode to. */
  readonly sha256: string;
  readonly bytes: number;
  /** Lines that are valid audit records. */
  readonly recordCount: number;
  readonly firstRecordAt: string | null;
  readonly lastRecordAt: string | null;
  /** What could not be read: not gzip, cut short, a line that is not an audit record. */
  readonly problems: readonly string[];
}

/** Called for each valid record with the SHA-256 of its line (identical lines hash alike). */
export type RecordVisitor = (record: ArchivedRecord, lineSha256: string) => void;

/** At most this many problems are kept per object: one broken object must not flood the report. */
const MAX_PROBLEMS = 5;

export async function scanArchiveObject(
  body: AsyncIterable<Uint8Array>,
  visit: RecordVisitor = () => undefined,
): Promise<ObjectScan> {
  const objectHash = createHash('sha256');
  let bytes = 0;
  let recordCount = 0;
  let lineNumber = 0;
  let firstRecordAt: string | null = null;
  let lastRecordAt: string | null = null;
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };

  const onLine = (line: string) => {
    lineNumber += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      problem(`line ${lineNumber} is not JSON`);
      return;
    }
    const read = parseArchiveLine(parsed);
    if ('problem' in read) {
      problem(`line ${lineNumber} ${read.problem}`);
      return;
    }
    recordCount += 1;
    const at = read.record.at;
    if (firstRecordAt === null || at < firstRecordAt) firstRecordAt = at;
    if (lastRecordAt === null || at > lastRecordAt) lastRecordAt = at;
    visit(read.record, hash('sha256', line, 'hex'));
  };

  const gunzip = createGunzip();
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let broken = false;
  const decoded = (async () => {
    try {
      for await (const chunk of gunzip) {
        pending += decoder.write(chunk as Buffer);
        // One cut of the remainder a chunk: cutting it after each line copied it once a line.
        let start = 0;
        for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n', start)) {
          onLine(pending.slice(start, newline));
          start = newline + 1;
        }
        pending = pending.slice(start);
      }
      pending += decoder.end();
      if (pending.length > 0) problem('ends in the middle of a line');
    } catch (error) {
      broken = true;
      problem(`is not a complete gzip stream (${(error as Error).message})`);
    }
  })();

  for await (const chunk of body) {
    objectHash.update(chunk);
    bytes += chunk.byteLength;
    // Past a gzip error the bytes are still hashed: the digest compares every one of them.
    if (broken || gunzip.destroyed) continue;
    if (!gunzip.write(chunk)) {
      await new Promise<void>((resolve) => {
        gunzip.once('drain', resolve);
        gunzip.once('close', resolve);
      });
    }
  }
  if (!gunzip.destroyed) gunzip.end();
  await decoded;
  return { sha256: objectHash.digest('hex'), bytes, recordCount, firstRecordAt, lastRecordAt, problems };
}

/**
 * A stored digest: its key, the SHA-256 and size of its bytes, and its content checked against the
 * schema (throws ValidationError, or SyntaxError for bytes that are not JSON: never guessed at).
 */
export async function readDigest(
  archive: Pick<AuditArchive, 'open'>,
  key: string,
): Promise<StoredDigest & { readonly bytes: number }> {
  const object = await archive.open(key);
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(Buffer.from(chunk));
  const bytes = Buffer.concat(chunks);
  const digest = parse(AuditDigest, JSON.parse(bytes.toString('utf8')), `digest ${key}`);
  return { key, sha256: sha256Hex(bytes), digest, bytes: bytes.byteLength };
}
