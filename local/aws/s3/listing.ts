/**
 * Listing as S3 pages it: keys in UTF-8 byte order from after a marker, filtered by prefix, keys
 * that share a prefix up to the next delimiter rolled up into one common prefix (which counts as
 * one entry), at most `maxKeys` entries a page, and a marker for the next page that continues
 * exactly after the last entry (a common prefix's marker skips every key under it).
 */
import type { ObjectVersion, VersionRecord } from './model.ts';
import { type BucketState, compareKeys } from './store.ts';

export interface ListInput {
  readonly prefix: string;
  readonly delimiter: string | undefined;
  readonly maxKeys: number;
}

export type ListEntry<T> =
  | { readonly kind: 'item'; readonly key: string; readonly item: T }
  | { readonly kind: 'prefix'; readonly key: string };

export interface ListPage<T> {
  readonly entries: readonly ListEntry<T>[];
  /** More entries follow the last one on this page. */
  readonly truncated: boolean;
}

/** Index of the first key that sorts after `marker` (and not before `prefix`). */
function startIndex(keys: readonly string[], marker: string | undefined, prefix: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const key = keys[middle] ?? '';
    const beforeStart =
      compareKeys(key, prefix) < 0 || (marker !== undefined && compareKeys(key, marker) <= 0);
    if (beforeStart) low = middle + 1;
    else high = middle;
  }
  return low;
}

function commonPrefixOf(key: string, { prefix, delimiter }: ListInput): string | undefined {
  if (delimiter === undefined || delimiter.length === 0) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/**
 * Pages through the bucket's keys; `itemsOf` gives the items a key contributes (its current object
 * for ListObjectsV2, all its versions for ListObjectVersions) and `skip` drops items already
 * returned on the marker's key.
 */
function page<T>(
  bucket: BucketState,
  input: ListInput,
  marker: string | undefined,
  itemsOf: (key: string, versions: readonly VersionRecord[]) => readonly T[],
): ListPage<T> {
  const keys = bucket.sortedKeys();
  const entries: ListEntry<T>[] = [];
  let lastPrefix = marker;
  for (let index = startIndex(keys, marker, input.prefix); index < keys.length; index += 1) {
    const key = keys[index] ?? '';
    if (!key.startsWith(input.prefix)) break;
    const items = itemsOf(key, bucket.versions.get(key) ?? []);
    if (items.length === 0) continue;
    const common = commonPrefixOf(key, input);
    if (common !== undefined) {
      if (common === lastPrefix) continue;
      if (entries.length >= input.maxKeys) return { entries, truncated: true };
      entries.push({ kind: 'prefix', key: common });
      lastPrefix = common;
      continue;
    }
    for (const item of items) {
      if (entries.length >= input.maxKeys) return { entries, truncated: true };
      entries.push({ kind: 'item', key, item });
    }
  }
  return { entries, truncated: false };
}

/** ListObjectsV2: each key's current object, delete markers hiding their key. */
export function listObjects(
  bucket: BucketState,
  input: ListInput,
  after: string | undefined,
): ListPage<ObjectVersion> {
  return page(bucket, input, after, (_key, versions) => {
    const current = versions[0];
    return current?.kind === 'object' ? [current] : [];
  });
}

export interface VersionItem {
  readonly version: VersionRecord;
  readonly isLatest: boolean;
}

/**
 * ListObjectVersions: every version and delete marker, newest first within a key. With a version
 * marker the marker's own key continues after that version; without one it is skipped whole.
 */
export function listVersions(
  bucket: BucketState,
  input: ListInput,
  keyMarker: string | undefined,
  versionIdMarker: string | undefined,
): ListPage<VersionItem> {
  const itemsOf = (versions: readonly VersionRecord[]) =>
    versions.map((version, index) => ({ version, isLatest: index === 0 }));
  const first: ListEntry<VersionItem>[] = [];
  if (keyMarker !== undefined && versionIdMarker !== undefined && keyMarker.startsWith(input.prefix)) {
    const versions = bucket.versions.get(keyMarker) ?? [];
    const at = versions.findIndex((version) => version.versionId === versionIdMarker);
    if (at >= 0 && commonPrefixOf(keyMarker, input) === undefined) {
      for (const item of itemsOf(versions).slice(at + 1)) first.push({ kind: 'item', key: keyMarker, item });
    }
  }
  if (first.length > input.maxKeys) return { entries: first.slice(0, input.maxKeys), truncated: true };
  const rest = page(
    bucket,
    { ...input, maxKeys: input.maxKeys - first.length },
    keyMarker,
    (_key, versions) => itemsOf(versions),
  );
  return { entries: [...first, ...rest.entries], truncated: rest.truncated };
}
