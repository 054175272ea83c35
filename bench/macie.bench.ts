/**
 * The twin's Macie classifier on a 50 MB object of each kind it reads (CSV, plain text, a JSON
 * array, JSON Lines), generated on disk and scanned as it streams from there: throughput against
 * reading the same file without scanning it (the baseline), and the peak growth of the process's
 * resident memory during the scan (sampled every 10 ms) against the object's size: it stays far
 * below, because no object is ever held whole. `--quick` scans 2 MB objects.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type FileKind, scanObject } from '../local/aws/macie/scanner.ts';
import type { BenchOptions, Figure } from './figures.ts';

const MB = 1024 * 1024;
/** One row in 500 carries a card number; the rest are ordinary invoices (numbers, dates, ids). */
const SENSITIVE_EVERY = 500;

function row(index: number): {
  invoice: string;
  customer: string;
  card: string;
  amount: string;
  date: string;
} {
  return {
    invoice: `INV-2026-${String(index).padStart(8, '0')}`,
    customer: `Customer ${index % 997}`,
    card: index % SENSITIVE_EVERY === 0 ? '4111 1111 1111 1111' : `ORDER-${(index * 7919) % 1_000_000}`,
    amount: `${(index % 10_000) / 100}`,
    date: `2026-11-${String((index % 28) + 1).padStart(2, '0')}`,
  };
}

const FORMATS: Readonly<Record<FileKind, { head?: string; line: (index: number) => string; tail?: string }>> =
  {
    csv: {
      head: 'invoice,customer,card,amount,date\n',
      line: (index) => `${Object.values(row(index)).join(',')}\n`,
    },
    text: {
      line: (index) => {
        const r = row(index);
        return `Invoice ${r.invoice} for ${r.customer} paid ${r.amount} EUR on ${r.date} with ${r.card}.\n`;
      },
    },
    json: {
      head: '[',
      line: (index) => `${index === 0 ? '' : ','}${JSON.stringify(row(index))}\n`,
      tail: ']',
    },
    jsonl: { line: (index) => `${JSON.stringify(row(index))}\n` },
  };

/** Writes a file of about `size` bytes of the format, line by line, never holding it whole. */
async function generate(path: string, kind: FileKind, size: number): Promise<number> {
  const format = FORMATS[kind];
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  if (format.head !== undefined) await write(format.head);
  for (let index = 0; bytes < size; index += 1) await write(format.line(index));
  if (format.tail !== undefined) await write(format.tail);
  out.end();
  await once(out, 'finish');
  return bytes;
}

async function measure1(
  path: string,
  kind: FileKind,
): Promise<{ seconds: number; peakRssGrowthMb: number; cards: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const started = performance.now();
  const result = await scanObject(createReadStream(path), kind);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const cards = result.detections.find((detection) => detection.type === 'CREDIT_CARD_NUMBER')?.count ?? 0;
  return { seconds, peakRssGrowthMb: (peak - baseline) / MB, cards };
}

/** Seconds to read the file through without looking at it: what any scan must at least spend. */
async function readThrough(path: string): Promise<number> {
  const started = performance.now();
  for await (const _chunk of createReadStream(path)) {
    // Reading only.
  }
  return (performance.now() - started) / 1000;
}

const NAMES: Readonly<Record<FileKind, string>> = {
  csv: 'Csv',
  text: 'Text',
  json: 'Json',
  jsonl: 'JsonLines',
};

export async function measure(options: BenchOptions): Promise<Figure[]> {
  const size = (options.quick ? 2 : 50) * MB;
  const dir = await mkdtemp(join(tmpdir(), 'countersign-macie-bench-'));
  const figures: Figure[] = [];
  try {
    for (const kind of ['csv', 'text', 'json', 'jsonl'] as const) {
      const path = join(dir, `object.${kind}`);
      const bytes = await generate(path, kind, size);
      const readSeconds = await readThrough(path);
      const { seconds, peakRssGrowthMb, cards } = await measure1(path, kind);
      if (cards === 0) throw new Error(`the ${kind} scan found none of the card numbers`);
      const name = NAMES[kind];
      figures.push(
        {
          name: `macieScan${name}MBps`,
          value: bytes / MB / seconds,
          unit: 'MB/s',
          baseline: { name: `macieRead${name}MBps`, value: bytes / MB / readSeconds },
        },
        {
          name: `macieScan${name}PeakRssGrowthMb`,
          value: peakRssGrowthMb,
          unit: 'MB',
          baseline: { name: `macieScan${name}ObjectMb`, value: bytes / MB },
          // Streamed: the memory a scan takes is a small part of the object's size.
          ...(options.quick ? {} : { goal: { ratioAtMost: 0.5 } }),
        },
      );
      await rm(path);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}
