/**
 * Operations on buckets and their configuration: create, head, list, delete, versioning, Object
 * Lock configuration, bucket policy, Block Public Access and ACLs. New buckets are what S3 makes
 * today: Block Public Access on, ACLs disabled (object ownership "bucket owner enforced").
 */
import { type EngineSettings, type OperationInput, requireBucket } from './context.ts';
import { malformedXml, S3Error } from './errors.ts';
import { type DefaultRetention, PublicAccessBlock, VersioningStatus } from './model.ts';
import { parseLockMode } from './object-lock.ts';
import { readSmallPayload } from './payload.ts';
import { emptyResponse, type S3Response, xmlResponse } from './protocol.ts';
import { childBoolean, childElement, childText, parseXmlDocument } from './xml.ts';

/** Configuration documents are small; S3 caps a bucket policy at 20 KB. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** The bucket naming rules of the S3 user guide (general purpose buckets). */
export function checkBucketName(name: string): void {
  const valid =
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name);
  if (!valid) {
    throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', {
      details: { BucketName: name },
    });
  }
}

async function readDocument(input: OperationInput): Promise<string> {
  const { text } = await readSmallPayload(
    input.request.headers,
    input.request.body,
    input.request.signing,
    MAX_DOCUMENT_BYTES,
  );
  return text;
}

const CANNED_OWNER_ONLY = new Set(['private', 'bucket-owner-full-control']);

export async function createBucket(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  checkBucketName(input.bucket);
  const text = await readDocument(input);
  if (text.trim().length > 0) {
    const configuration = parseXmlDocument(text, 'CreateBucketConfiguration');
    const constraint = childText(configuration, 'LocationConstraint');
    if (constraint !== undefined && constraint !== settings.region) {
      throw new S3Error(
        'IllegalLocationConstraintException',
        `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      );
    }
  }
  const acl = input.request.headers['x-amz-acl'];
  if (acl !== undefined && !CANNED_OWNER_ONLY.has(acl)) {
    throw new S3Error(
      'InvalidBucketAclWithObjectOwnership',
      "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    );
  }
  const objectLockEnabled =
    input.request.headers['x-amz-bucket-object-lock-enabled']?.toLowerCase() === 'true';
  await settings.store.createBucket(
    {
      name: input.bucket,
      createdAt: settings.now().toISOString(),
      region: settings.region,
      objectLockEnabled,
      // Object Lock needs versioning; S3 turns it on with the lock.
      ...(objectLockEnabled ? { versioning: VersioningStatus.enabled } : {}),
      publicAccessBlock: {
        blockPublicAcls: true,
        ignorePublicAcls: true,
        blockPublicPolicy: true,
        restrictPublicBuckets: true,
      },
    },
    settings.region === 'us-east-1' ? 'ok' : 'refuse',
  );
  return emptyResponse(input.requestId, 200, { location: `/${input.bucket}` });
}

export function headBucket(settings: EngineSettings, input: OperationInput): S3Response {
  const bucket = requireBucket(settings, input.bucket);
  return emptyResponse(input.requestId, 200, {
    'x-amz-bucket-region': bucket.record.region,
    'x-amz-access-point-alias': 'false',
  });
}

export async function deleteBucket(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  await settings.store.deleteBucket(input.bucket);
  return emptyResponse(input.requestId, 204);
}

export function listBuckets(settings: EngineSettings, requestId: string): S3Response {
  return xmlResponse(requestId, 'ListAllMyBucketsResult', {
    Owner: { ID: settings.ownerId },
    Buckets: {
      Bucket: settings.store.buckets().map(({ record }) => ({
        Name: record.name,
        CreationDate: record.createdAt,
        BucketRegion: record.region,
      })),
    },
  });
}

export function getBucketLocation(settings: EngineSettings, input: OperationInput): S3Response {
  const { record } = requireBucket(settings, input.bucket);
  return xmlResponse(input.requestId, 'LocationConstraint', {
    '#text': record.region === 'us-east-1' ? '' : record.region,
  });
}

export async function putBucketVersioning(
  settings: EngineSettings,
  input: OperationInput,
): Promise<S3Response> {
  requireBucket(settings, input.bucket);
  const configuration = parseXmlDocument(await readDocument(input), 'VersioningConfiguration');
  const status = childText(configuration, 'Status');
  if (status !== undefined && status !== VersioningStatus.enabled && status !== VersioningStatus.suspended) {
    throw malformedXml();
  }
  await settings.store.updateBucket(input.bucket, (record) => {
    if (status === undefined) return record;
    if (record.objectLockEnabled && status !== VersioningStatus.enabled) {
      throw new S3Error(
        'InvalidBucketState',
        'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
      );
    }
    return { ...record, versioning: status };
  });
  return emptyResponse(input.requestId, 200);
}

export function getBucketVersioning(settings: EngineSettings, input: OperationInput): S3Response {
  const { record } = requireBucket(settings, input.bucket);
  return xmlResponse(input.requestId, 'VersioningConfiguration', {
    Status: record.versioning,
  });
}

function parseDefaultRetention(rule: Record<string, unknown>): DefaultRetention {
  const retention = childElement(rule, 'DefaultRetention');
  if (retention === undefined) throw malformedXml();
  const mode = childText(retention, 'Mode');
  const days = childText(retention, 'Days');
  const years = childText(retention, 'Years');
  if (mode === undefined || (days === undefined) === (years === undefined)) throw malformedXml();
  const period = Number(days ?? years);
  if (!/^-?\d+$/.test(days ?? years ?? '') || period <= 0) {
    throw new S3Error('InvalidArgument', 'Default retention period must be a positive integer value.');
  }
  const lockMode = parseLockMode(mode);
  return days === undefined ? { mode: lockMode, years: period } : { mode: lockMode, days: period };
}

export async function putObjectLockConfiguration(
  settings: EngineSettings,
  input: OperationInput,
): Promise<S3Response> {
  requireBucket(settings, input.bucket);
  const configuration = parseXmlDocument(await readDocument(input), 'ObjectLockConfiguration');
  if (childText(configuration, 'ObjectLockEnabled') !== 'Enabled') throw malformedXml();
  const rules = configuration.Rule;
  if (Array.isArray(rules) && rules.length > 1) throw malformedXml();
  const rule = Array.isArray(rules) ? (rules[0] as Record<string, unknown> | string | undefined) : undefined;
  const defaultRetention =
    rule === undefined ? undefined : parseDefaultRetention(typeof rule === 'string' ? {} : rule);
  await settings.store.updateBucket(input.bucket, (record) => {
    if (!record.objectLockEnabled && record.versioning !== VersioningStatus.enabled) {
      throw new S3Error(
        'InvalidBucketState',
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
      );
    }
    const { defaultRetention: _, ...rest } = record;
    return {
      ...rest,
      objectLockEnabled: true,
      ...(defaultRetention === undefined ? {} : { defaultRetention }),
    };
  });
  return emptyResponse(input.requestId, 200);
}

export function getObjectLockConfiguration(settings: EngineSettings, input: OperationInput): S3Response {
  const { record } = requireBucket(settings, input.bucket);
  if (!record.objectLockEnabled) {
    throw new S3Error(
      'ObjectLockConfigurationNotFoundError',
      'Object Lock configuration does not exist for this bucket',
      { details: { BucketName: input.bucket } },
    );
  }
  const rule = record.defaultRetention;
  return xmlResponse(input.requestId, 'ObjectLockConfiguration', {
    ObjectLockEnabled: 'Enabled',
    Rule:
      rule === undefined
        ? undefined
        : {
            DefaultRetention: {
              Mode: rule.mode,
              ...('days' in rule ? { Days: rule.days } : { Years: rule.years }),
            },
          },
  });
}

/** Condition keys that pin a statement to known principals or networks: S3 does not call such a statement public. */
const RESTRICTING_CONDITION_KEYS = new Set(
  [
    'aws:SourceArn',
    'aws:SourceAccount',
    'aws:SourceOwner',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:PrincipalOrgID',
    'aws:userid',
    'aws:SourceIp',
  ].map((key) => key.toLowerCase()),
);

function grantsEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  const aws = (principal as Record<string, unknown>).AWS;
  return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
}

function isRestricted(condition: unknown): boolean {
  if (typeof condition !== 'object' || condition === null) return false;
  return Object.values(condition).some(
    (operands) =>
      typeof operands === 'object' &&
      operands !== null &&
      Object.keys(operands).some((key) => RESTRICTING_CONDITION_KEYS.has(key.toLowerCase())),
  );
}

/**
 * Whether the policy grants access to everyone, the test Block Public Access applies: an Allow
 * statement for principal `*` that no condition pins to an account, organization, VPC or network.
 */
export function isPublicPolicy(statements: readonly Record<string, unknown>[]): boolean {
  return statements.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      grantsEveryone(statement.Principal) &&
      !isRestricted(statement.Condition),
  );
}

function malformedPolicy(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

/** The policy's statements, or MalformedPolicy as S3 reports a document it cannot use. */
export function parsePolicy(text: string): Record<string, unknown>[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new S3Error('MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'", {
      cause: error,
    });
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  }
  const statement = (document as Record<string, unknown>).Statement;
  if (statement === undefined) throw malformedPolicy('Missing required field Statement');
  const statements = Array.isArray(statement) ? statement : [statement];
  for (const item of statements) {
    if (typeof item !== 'object' || item === null) throw malformedPolicy('Statement is not an object');
    const effect = (item as Record<string, unknown>).Effect;
    if (effect !== 'Allow' && effect !== 'Deny') throw malformedPolicy(`Invalid effect: ${String(effect)}`);
    const { Principal, NotPrincipal } = item as Record<string, unknown>;
    if (Principal === undefined && NotPrincipal === undefined) {
      throw malformedPolicy('Missing required field Principal');
    }
  }
  return statements as Record<string, unknown>[];
}

export async function putBucketPolicy(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  requireBucket(settings, input.bucket);
  const text = await readDocument(input);
  const statements = parsePolicy(text);
  input.audit.bucketPolicy = JSON.parse(text);
  await settings.store.updateBucket(input.bucket, (record) => {
    if (record.publicAccessBlock?.blockPublicPolicy === true && isPublicPolicy(statements)) {
      throw new S3Error('AccessDenied', 'Access Denied');
    }
    return { ...record, policy: text };
  });
  return emptyResponse(input.requestId, 204);
}

export function getBucketPolicy(settings: EngineSettings, input: OperationInput): S3Response {
  const { record } = requireBucket(settings, input.bucket);
  if (record.policy === undefined) {
    throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', {
      details: { BucketName: input.bucket },
    });
  }
  return {
    ...emptyResponse(input.requestId, 200, { 'content-type': 'application/json' }),
    body: record.policy,
  };
}

export async function deleteBucketPolicy(
  settings: EngineSettings,
  input: OperationInput,
): Promise<S3Response> {
  await settings.store.updateBucket(input.bucket, ({ policy: _, ...rest }) => rest);
  return emptyResponse(input.requestId, 204);
}

export async function putPublicAccessBlock(
  settings: EngineSettings,
  input: OperationInput,
): Promise<S3Response> {
  requireBucket(settings, input.bucket);
  const configuration = parseXmlDocument(await readDocument(input), 'PublicAccessBlockConfiguration');
  const block = PublicAccessBlock.parse({
    blockPublicAcls: childBoolean(configuration, 'BlockPublicAcls') ?? false,
    ignorePublicAcls: childBoolean(configuration, 'IgnorePublicAcls') ?? false,
    blockPublicPolicy: childBoolean(configuration, 'BlockPublicPolicy') ?? false,
    restrictPublicBuckets: childBoolean(configuration, 'RestrictPublicBuckets') ?? false,
  });
  await settings.store.updateBucket(input.bucket, (record) => ({ ...record, publicAccessBlock: block }));
  return emptyResponse(input.requestId, 200);
}

export function getPublicAccessBlock(settings: EngineSettings, input: OperationInput): S3Response {
  const { record } = requireBucket(settings, input.bucket);
  const block = record.publicAccessBlock;
  if (block === undefined) {
    throw new S3Error(
      'NoSuchPublicAccessBlockConfiguration',
      'The public access block configuration was not found',
      { details: { BucketName: input.bucket } },
    );
  }
  return xmlResponse(input.requestId, 'PublicAccessBlockConfiguration', {
    BlockPublicAcls: block.blockPublicAcls,
    IgnorePublicAcls: block.ignorePublicAcls,
    BlockPublicPolicy: block.blockPublicPolicy,
    RestrictPublicBuckets: block.restrictPublicBuckets,
  });
}

export async function deletePublicAccessBlock(
  settings: EngineSettings,
  input: OperationInput,
): Promise<S3Response> {
  await settings.store.updateBucket(input.bucket, ({ publicAccessBlock: _, ...rest }) => rest);
  return emptyResponse(input.requestId, 204);
}

function aclNotSupported(): S3Error {
  return new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs');
}

/** Whether every grant of an AccessControlPolicy document goes to the owner, with FULL_CONTROL. */
function grantsOnlyOwner(document: Record<string, unknown>, ownerId: string): boolean {
  const list = childElement(document, 'AccessControlList') ?? {};
  const grants = (Array.isArray(list.Grant) ? list.Grant : []) as unknown[];
  return grants.every((grant) => {
    if (typeof grant !== 'object' || grant === null) return false;
    const grantee = childElement(grant as Record<string, unknown>, 'Grantee') ?? {};
    return (
      childText(grant as Record<string, unknown>, 'Permission') === 'FULL_CONTROL' &&
      childText(grantee, 'ID') === ownerId
    );
  });
}

/**
 * PutBucketAcl on a bucket whose ACLs are disabled, as S3 answers it: an ACL that only gives the
 * owner full control is accepted (and changes nothing); any other grant is refused.
 */
export async function putBucketAcl(settings: EngineSettings, input: OperationInput): Promise<S3Response> {
  const headers = input.request.headers;
  const canned = headers['x-amz-acl'];
  if (canned !== undefined) input.audit['x-amz-acl'] = [canned];
  requireBucket(settings, input.bucket);
  const text = await readDocument(input);
  if (Object.keys(headers).some((name) => name.startsWith('x-amz-grant-'))) throw aclNotSupported();
  if (canned !== undefined) {
    if (text.trim().length > 0) {
      throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
    }
    if (!CANNED_OWNER_ONLY.has(canned)) throw aclNotSupported();
  } else {
    if (text.trim().length === 0) throw malformedXml();
    if (!grantsOnlyOwner(parseXmlDocument(text, 'AccessControlPolicy'), settings.ownerId)) {
      throw aclNotSupported();
    }
  }
  return emptyResponse(input.requestId, 200);
}
