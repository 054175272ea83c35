/** PutObjectRetention / GetObjectRetention and PutObjectLegalHold / GetObjectLegalHold. */
import {
  bypassesGovernance,
  type EngineSettings,
  type OperationInput,
  requireBucket,
  requireObjectLock,
} from './context.ts';
import { malformedXml, S3Error } from './errors.ts';
import type { ObjectVersion, Retention } from './model.ts';
import { checkRetentionChange, parseLockMode, parseRetainUntil } from './object-lock.ts';
import { readSmallPayload } from './payload.ts';
import { emptyResponse, type S3Response, xmlResponse } from './protocol.ts';
import { pickObject } from './versions.ts';
import { childText, parseXmlDocument } from './xml.ts';

const MAX_DOCUMENT_BYTES = 16 * 1024;

async function readDocument(input: OperationInput, root: string): Promise<Record<string, unknown>> {
  const { text } = await readSmallPayload(
    input.request.headers,
    input.request.body,
    input.request.signing,
    MAX_DOCUMENT_BYTES,
  );
  return parseXmlDocument(text, root);
}

function lockedObject(settings: EngineSettings, input: OperationInput): ObjectVersion {
  const bucket = requireBucket(settings, input.bucket);
  requireObjectLock(bucket.record);
  return pickObject(bucket, input.key, input.query.get('versionId'));
}

const noLockConfiguration = () =>
  new S3Error(
    'NoSuchObjectLockConfiguration',
    'The specified object does not have a ObjectLock configuration',
  );

export async function putObjectRetention(
  settings: EngineSettings,
  input: OperationInput,
): Promise<S3Response> {
  requireObjectLock(requireBucket(settings, input.bucket).record);
  const document = await readDocument(input, 'Retention');
  const mode = childText(document, 'Mode');
  const until = childText(document, 'RetainUntilDate');
  if ((mode === undefined) !== (until === undefined)) throw malformedXml();
  const now = settings.now();
  const next: Retention | undefined =
    mode === undefined || until === undefined
      ? undefined
      : { mode: parseLockMode(mode), retainUntil: parseRetainUntil(until, now) };
  const bypass = bypassesGovernance(input.request.headers);
  await settings.store.updateVersion(
    input.bucket,
    () => lockedObject(settings, input),
    (current) => {
      const object = current as ObjectVersion;
      checkRetentionChange(object.retention, next, bypass, now);
      const { retention: _, ...rest } = object;
      return next === undefined ? rest : { ...rest, retention: next };
    },
  );
  return emptyResponse(input.requestId, 200);
}

export function getObjectRetention(settings: EngineSettings, input: OperationInput): S3Response {
  const { retention } = lockedObject(settings, input);
  if (retention === undefined) throw noLockConfiguration();
  return xmlResponse(input.requestId, 'Retention', {
    Mode: retention.mode,
    RetainUntilDate: retention.retainUntil,
  });
}

export async function putObjectLegalHold(
  settings: EngineSettings,
  input: OperationInput,
): Promise<S3Response> {
  requireObjectLock(requireBucket(settings, input.bucket).record);
  const status = childText(await readDocument(input, 'LegalHold'), 'Status');
  if (status !== 'ON' && status !== 'OFF') throw malformedXml();
  await settings.store.updateVersion(
    input.bucket,
    () => lockedObject(settings, input),
    (current) => ({ ...(current as ObjectVersion), legalHold: status === 'ON' }),
  );
  return emptyResponse(input.requestId, 200);
}

export function getObjectLegalHold(settings: EngineSettings, input: OperationInput): S3Response {
  const { legalHold } = lockedObject(settings, input);
  if (legalHold === undefined) throw noLockConfiguration();
  return xmlResponse(input.requestId, 'LegalHold', { Status: legalHold ? 'ON' : 'OFF' });
}
