/**
 * Which S3 operation a path-style request is, from its method, whether it names a bucket and a
 * key, its subresource (`?versioning`, `?retention` …) and `x-amz-copy-source`. A subresource S3
 * has but the twin does not serve answers NotImplemented instead of being taken for another call.
 */
import * as buckets from './bucket-operations.ts';
import type { EngineSettings, OperationInput } from './context.ts';
import { S3Error } from './errors.ts';
import { listObjectsV2, listObjectVersions } from './list-operations.ts';
import * as locks from './lock-operations.ts';
import * as objects from './object-operations.ts';
import { parseQuery, parseTarget, type S3Response, type Target } from './protocol.ts';

export interface Route {
  readonly operation: string;
  readonly run: (settings: EngineSettings, input: OperationInput) => S3Response | Promise<S3Response>;
}

/** Calls that change who may reach a bucket's data; each is reported to the privileged-call hook. */
export const PRIVILEGED_OPERATIONS: ReadonlySet<string> = new Set([
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketAcl',
  'PutPublicAccessBlock',
  'DeletePublicAccessBlock',
]);

const SERVED_SUBRESOURCES = [
  'versioning',
  'object-lock',
  'policy',
  'publicAccessBlock',
  'acl',
  'versions',
  'delete',
  'location',
  'retention',
  'legal-hold',
] as const;
type Subresource = (typeof SERVED_SUBRESOURCES)[number];

/** Subresources of the S3 API the twin does not serve. */
const OTHER_SUBRESOURCES = [
  'uploads',
  'uploadId',
  'tagging',
  'cors',
  'lifecycle',
  'website',
  'logging',
  'notification',
  'encryption',
  'replication',
  'ownershipControls',
  'intelligent-tiering',
  'inventory',
  'metrics',
  'analytics',
  'accelerate',
  'requestPayment',
  'attributes',
  'torrent',
  'restore',
  'select',
  'policyStatus',
];

type RouteTable = Partial<Record<string, Route['run']>>;

const SERVICE: RouteTable = { GET: (settings, input) => buckets.listBuckets(settings, input.requestId) };

const BUCKET: Partial<Record<Subresource | '', RouteTable>> = {
  '': {
    PUT: buckets.createBucket,
    HEAD: buckets.headBucket,
    DELETE: buckets.deleteBucket,
  },
  versioning: { PUT: buckets.putBucketVersioning, GET: buckets.getBucketVersioning },
  'object-lock': { PUT: buckets.putObjectLockConfiguration, GET: buckets.getObjectLockConfiguration },
  policy: { PUT: buckets.putBucketPolicy, GET: buckets.getBucketPolicy, DELETE: buckets.deleteBucketPolicy },
  publicAccessBlock: {
    PUT: buckets.putPublicAccessBlock,
    GET: buckets.getPublicAccessBlock,
    DELETE: buckets.deletePublicAccessBlock,
  },
  acl: { PUT: buckets.putBucketAcl },
  versions: { GET: listObjectVersions },
  delete: { POST: objects.deleteObjects },
  location: { GET: buckets.getBucketLocation },
};

const OBJECT: Partial<Record<Subresource | '', RouteTable>> = {
  '': {
    PUT: objects.putObject,
    GET: objects.getObject,
    HEAD: objects.getObject,
    DELETE: objects.deleteObject,
  },
  retention: { PUT: locks.putObjectRetention, GET: locks.getObjectRetention },
  'legal-hold': { PUT: locks.putObjectLegalHold, GET: locks.getObjectLegalHold },
};

/** The operation names CloudTrail and the SDK use, by table and method. */
const NAMES: Record<string, string> = {
  'service GET': 'ListBuckets',
  'bucket  PUT': 'CreateBucket',
  'bucket  HEAD': 'HeadBucket',
  'bucket  DELETE': 'DeleteBucket',
  'bucket  GET': 'ListObjectsV2',
  'bucket versioning PUT': 'PutBucketVersioning',
  'bucket versioning GET': 'GetBucketVersioning',
  'bucket object-lock PUT': 'PutObjectLockConfiguration',
  'bucket object-lock GET': 'GetObjectLockConfiguration',
  'bucket policy PUT': 'PutBucketPolicy',
  'bucket policy GET': 'GetBucketPolicy',
  'bucket policy DELETE': 'DeleteBucketPolicy',
  'bucket publicAccessBlock PUT': 'PutPublicAccessBlock',
  'bucket publicAccessBlock GET': 'GetPublicAccessBlock',
  'bucket publicAccessBlock DELETE': 'DeletePublicAccessBlock',
  'bucket acl PUT': 'PutBucketAcl',
  'bucket versions GET': 'ListObjectVersions',
  'bucket delete POST': 'DeleteObjects',
  'bucket location GET': 'GetBucketLocation',
  'object  PUT': 'PutObject',
  'object  GET': 'GetObject',
  'object  HEAD': 'HeadObject',
  'object  DELETE': 'DeleteObject',
  'object retention PUT': 'PutObjectRetention',
  'object retention GET': 'GetObjectRetention',
  'object legal-hold PUT': 'PutObjectLegalHold',
  'object legal-hold GET': 'GetObjectLegalHold',
};

const notImplemented = (what: string) =>
  new S3Error(
    'NotImplemented',
    `A header you provided implies functionality that is not implemented: ${what}`,
  );
const methodNotAllowed = (method: string) =>
  new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
    details: { Method: method, ResourceType: 'OBJECT' },
  });

function subresourceOf(query: ReadonlyMap<string, string>): Subresource | '' {
  const served = SERVED_SUBRESOURCES.filter((name) => query.has(name));
  const other = OTHER_SUBRESOURCES.find((name) => query.has(name));
  if (other !== undefined) throw notImplemented(`?${other}`);
  if (served.length > 1)
    throw new S3Error('InvalidRequest', 'Only one subresource may be requested at a time');
  return served[0] ?? '';
}

export function resolveRoute(
  method: string,
  target: Target,
  query: ReadonlyMap<string, string>,
  headers: Readonly<Record<string, string>>,
): Route {
  if (target.bucket === undefined) {
    const run = SERVICE[method];
    if (run === undefined) throw methodNotAllowed(method);
    return { operation: NAMES[`service ${method}`] ?? method, run };
  }
  const subresource = subresourceOf(query);
  const level = target.key === undefined ? 'bucket' : 'object';
  if (level === 'bucket' && subresource === '' && method === 'GET') {
    if (query.get('list-type') !== '2') throw notImplemented('ListObjects (version 1); use ListObjectsV2');
    return { operation: 'ListObjectsV2', run: listObjectsV2 };
  }
  const table = (level === 'bucket' ? BUCKET : OBJECT)[subresource];
  if (table === undefined) throw methodNotAllowed(method);
  if (
    level === 'object' &&
    subresource === '' &&
    method === 'PUT' &&
    headers['x-amz-copy-source'] !== undefined
  ) {
    return { operation: 'CopyObject', run: objects.copyObject };
  }
  const run = table[method];
  if (run === undefined) throw methodNotAllowed(method);
  return { operation: NAMES[`${level} ${subresource} ${method}`] ?? method, run };
}

/**
 * The operation a request names, for the front's permission check (`s3:<operation>`), decided on
 * the request's head alone; a request the engine will refuse anyway is `Unknown`.
 */
export function operationName(head: {
  readonly method: string;
  readonly path: string;
  readonly rawQueryString: string;
  readonly headers: Readonly<Record<string, string>>;
}): string {
  try {
    return resolveRoute(head.method, parseTarget(head.path), parseQuery(head.rawQueryString), head.headers)
      .operation;
  } catch {
    return 'Unknown';
  }
}
