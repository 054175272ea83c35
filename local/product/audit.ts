/**
 * The twin's audit archive doors, which exist only locally:
 * - `GET /local/audit`: which bucket the archive is (the stack names it; `audit verify` reads it);
 * - `POST /local/audit/flush`: archive and digest now, for tests and demos — every stream record
 *   written so far is delivered to the archiver (its event source mapping, drained), then the
 *   digester runs as its schedule would run it, and its answer is returned.
 * The digester is the stack's function given the digest signing key: only it may sign with it.
 */
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { jsonResponse, type TwinContext, type TwinExtension, type TwinFunction } from '../twin/index.ts';

export const AUDIT_PATH = '/local/audit';
export const AUDIT_FLUSH_PATH = '/local/audit/flush';

/** A digest run that found its sequence written by a concurrent (scheduled) run is run again. */
const FLUSH_RUNS = 3;

function digesterOf(twin: TwinContext): TwinFunction | undefined {
  return twin.stack.functions.find((fn) => fn.environment[ENV.auditDigestKeyId] !== undefined);
}

/** What Lambda gets from a scheduled EventBridge rule; the digester reads nothing of it. */
function scheduledEvent(fn: TwinFunction) {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: fn.arn.split(':')[4],
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: fn.arn.split(':')[3],
    resources: [],
    detail: {},
  };
}

export function auditArchiveExtension(twin: TwinContext): TwinExtension {
  const unavailable = () =>
    jsonResponse(404, { error: { code: 'NO_AUDIT_ARCHIVE', message: 'this stack has no audit archive' } });
  return {
    routes: [
      {
        method: 'GET',
        path: AUDIT_PATH,
        handle: async () => {
          const digester = digesterOf(twin);
          return digester === undefined
            ? unavailable()
            : jsonResponse(200, { bucket: digester.environment[ENV.auditBucketName] });
        },
      },
      {
        method: 'POST',
        path: AUDIT_FLUSH_PATH,
        handle: async () => {
          const digester = digesterOf(twin);
          if (digester === undefined) return unavailable();
          await twin.drainEventSourceMappings();
          let digest: unknown;
          for (let run = 0; run < FLUSH_RUNS; run += 1) {
            digest = await twin.invokeFunction(digester.arn, scheduledEvent(digester));
            if ((digest as { written?: unknown }).written === true) break;
          }
          return jsonResponse(200, { bucket: digester.environment[ENV.auditBucketName], digest });
        },
      },
    ],
  };
}
