/**
 * The identity of an action: what exactly an agent asked to do. Approvals, receipts and the
 * CloudTrail reconciliation bind to its hash, so two requests hash alike exactly when they ask
 * for the same operation, on the same resource, with the same arguments.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { AgentRequestDetail, JsonObject } from './schemas.ts';

// The package is CommonJS (`module.exports = fn`) but its typings declare an ES default export, so
// under NodeNext TypeScript sees the default import as the module object; at runtime it is the function.
const canonicalize = canonicalizeModule as unknown as typeof canonicalizeModule.default;

export interface CanonicalAction {
  readonly action: string;
  readonly resource: AgentRequestDetail['resource'];
  readonly parameters: JsonObject;
}

/** Keeps only the parts of a request that define the action (not who asked, not why). */
export function canonicalAction(detail: CanonicalAction): CanonicalAction {
  const resource =
    detail.resource.type === undefined
      ? { arn: detail.resource.arn }
      : { arn: detail.resource.arn, type: detail.resource.type };
  return { action: detail.action, resource, parameters: detail.parameters };
}

/** The RFC 8785 (JSON Canonicalization Scheme) text of the canonical action. */
export function canonicalActionJson(detail: CanonicalAction): string {
  // canonicalize returns undefined only for undefined input; a CanonicalAction is always an object.
  return canonicalize(canonicalAction(detail)) as string;
}

/** Hex SHA-256 over the UTF-8 bytes of the canonical action's RFC 8785 text. */
export function actionHash(detail: CanonicalAction): string {
  return createHash('sha256').update(canonicalActionJson(detail), 'utf8').digest('hex');
}
