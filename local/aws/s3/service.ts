/**
 * S3 on the twin's AWS front: a REST-XML service whose requests arrive with SigV4 verified, the
 * caller resolved and allowed, and the body still streaming; the engine (./index.ts) does the rest.
 */
import {
  type AwsCaller,
  type AwsPermission,
  AwsProtocol,
  type AwsRequestHead,
  type RestAwsService,
} from '../front/service.ts';
import { isLoopback } from '../http.ts';
import type { LocalS3 } from './index.ts';
import { parseCopySource } from './object-operations.ts';
import { parseTarget } from './protocol.ts';
import { operationName } from './router.ts';

/** Operations whose IAM action has another name (S3's "Actions, resources, and condition keys"). */
const IAM_ACTION: Readonly<Record<string, string>> = {
  HeadObject: 'GetObject',
  HeadBucket: 'ListBucket',
  ListObjectsV2: 'ListBucket',
  ListObjectVersions: 'ListBucketVersions',
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
  AbortMultipartUpload: 'AbortMultipartUpload',
  DeleteObjects: 'DeleteObject',
};

function s3Arn(bucket: string | undefined, key?: string): string {
  if (bucket === undefined) return '*';
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/**
 * The IAM permissions an S3 call needs on its resources. CopyObject needs PutObject on the
 * destination and GetObject (GetObjectVersion for a version) on the source; a copy source that
 * cannot be read needs a permission nobody has, so no resource-scoped caller gets past it.
 */
export function s3PermissionsOf(head: AwsRequestHead, operation: string): readonly AwsPermission[] {
  const target = parseTarget(head.path);
  const resource = s3Arn(target.bucket, target.key);
  if (operation !== 'CopyObject') {
    return [{ action: `s3:${IAM_ACTION[operation] ?? operation}`, resource }];
  }
  let source: ReturnType<typeof parseCopySource>;
  try {
    source = parseCopySource(head.headers['x-amz-copy-source'] ?? '');
  } catch {
    return [
      { action: 's3:PutObject', resource },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::' },
    ];
  }
  return [
    { action: 's3:PutObject', resource },
    {
      action: source.versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion',
      resource: s3Arn(source.bucket, source.key),
    },
  ];
}

export function s3Service(s3: LocalS3<AwsCaller>): RestAwsService<'rest-xml'> {
  return {
    protocol: AwsProtocol.restXml,
    signingName: 's3',
    operationOf: (head: AwsRequestHead) => operationName(head),
    permissionsOf: s3PermissionsOf,
    handle: (request) =>
      s3.handle({
        method: request.method,
        path: request.path,
        rawQueryString: request.rawQueryString,
        headers: request.headers,
        body: request.body,
        caller: request.caller,
        signing: request.signature,
        requestId: request.requestId,
        sourceIp: request.sourceIp,
        secureTransport: isLoopback(request.sourceIp),
      }),
  };
}
