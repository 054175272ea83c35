/**
 * Snapshot serializer that masks asset hashes (S3 keys of Lambda bundles, staged asset paths), so
 * the template snapshot changes when the infrastructure changes, not when handler code does.
 */
import type { SnapshotSerializer } from 'vitest';

const ASSET_HASH = /[a-f0-9]{64}/g;

export const assetHashSerializer: SnapshotSerializer = {
  test: (value: unknown) => typeof value === 'string' && /[a-f0-9]{64}/.test(value),
  serialize: (value: string, config, indentation, depth, refs, printer) =>
    printer(value.replace(ASSET_HASH, '[ASSET_HASH]'), config, indentation, depth, refs),
};
