/**
 * dynalite's read streams end their LevelDB iterator with `return()`, which abstract-level's
 * iterators lack: without the twin's wrapper every Query and Scan left its iterator open (its
 * read-ahead items and snapshot kept for as long as the twin ran).
 */
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  closeEndedIterators,
  type DynaliteStore,
  type LevelIterator,
} from '../../../../../local/aws/dynamodb/dynalite-server.ts';

type Store = DynaliteStore & {
  readonly db: DynaliteStore['db'] & {
    put(key: string, value: unknown): Promise<void>;
    createValueStream(options?: unknown): Readable;
  };
};

/** dynalite's own store (in memory), its iterators collected as dynalite's streams open them. */
function storeWithIterators(wrap: boolean): { store: Store; iterators: LevelIterator[] } {
  const create = (createRequire(import.meta.url)('dynalite/db') as { create: (options: unknown) => Store })
    .create;
  const store = create({});
  if (wrap) closeEndedIterators(store);
  const iterators: LevelIterator[] = [];
  const open = store.db.values.bind(store.db);
  store.db.values = (options) => {
    const iterator = open(options);
    iterators.push(iterator);
    return iterator;
  };
  return { store, iterators };
}

async function readAll(stream: Readable): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const value of stream) values.push(value);
  return values;
}

const isOpen = async (iterator: LevelIterator) =>
  (iterator as unknown as { next(): Promise<unknown> }).next().then(
    () => true,
    () => false,
  );

describe("dynalite's read iterators", () => {
  for (const wrap of [false, true]) {
    it(
      wrap ? 'are closed when their stream ends or is destroyed' : 'stay open without the wrapper',
      async () => {
        const { store, iterators } = storeWithIterators(wrap);
        for (const key of ['a', 'b', 'c']) await store.db.put(key, { key });
        expect(await readAll(store.db.createValueStream())).toHaveLength(3);
        const stopped = store.db.createValueStream();
        await new Promise((resolve) => stopped.once('data', resolve));
        stopped.destroy();
        await new Promise((resolve) => setImmediate(resolve));
        expect(iterators).toHaveLength(2);
        for (const iterator of iterators) expect(await isOpen(iterator)).toBe(!wrap);
      },
    );
  }
});
