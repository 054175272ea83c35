/**
 * Which S3 object or bucket a request touches, i.e. whose classification matters:
 *  - `s3:CopyObject` and `s3:UploadPartCopy` read their *source*: the `CopySource` parameter
 *    (`bucket/key` or `/bucket/key`, URL-encoded, optionally `?versionId=`) as the API takes it, else
 *    `sourceBucket` + `sourceKey`, else the resource ARN. The destination is where the data goes,
 *    not what is read, so it never stands in for the source.
 *  - Any other request: its resource, when that is an S3 bucket or object ARN
 *    (`arn:aws:s3:::bucket` / `arn:aws:s3:::bucket/key`, the key verbatim: slashes and any other
 *    character included). When `Bucket` / `Key` parameters name another object than the resource,
 *    the request is unresolvable, and so is an `s3:` action on a resource that is not a bucket or
 *    object (an access point, a job): its classification FAILS, which policy treats like High.
 * Parameter names match with their first letter in either case (`CopySource` = `copySource`), as
 * the policies read them; two spellings of one parameter make the request unresolvable.
 */

export type S3Target =
  | { readonly kind: 'none' }
  | { readonly kind: 'bucket'; readonly bucket: string }
  | { readonly kind: 'object'; readonly bucket: string; readonly key: string; readonly versionId?: string }
  | { readonly kind: 'unresolvable'; readonly reason: string };

export interface S3TargetRequest {
  readonly action: string;
  readonly resource: { readonly arn: string };
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** Actions that read another object than the one they write: their source is what is touched. */
const COPY_ACTIONS: ReadonlySet<string> = new Set(['s3:CopyObject', 's3:UploadPartCopy']);

/** Bucket names as S3 has allowed them (legacy us-east-1 names included): 3–255 of these characters. */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;
const S3_ARN = /^arn:aws[a-z-]*:s3:([^:]*):([^:]*):(.*)$/s;

export function s3Uri(bucket: string, key?: string): string {
  return key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`;
}

/** The subject of a target, as classifications name it. */
export function subjectOf(target: S3Target): string | undefined {
  if (target.kind === 'object') return s3Uri(target.bucket, target.key);
  if (target.kind === 'bucket') return s3Uri(target.bucket);
  return undefined;
}

type Located =
  | { readonly bucket: string; readonly key?: string; readonly versionId?: string }
  | { readonly reason: string };

function located(bucket: string, key: string | undefined, what: string): Located {
  if (!BUCKET_NAME.test(bucket)) return { reason: `${what} names no valid bucket ("${bucket}")` };
  return key === undefined || key === '' ? { bucket } : { bucket, key };
}

/** An S3 ARN as bucket and key; undefined for an ARN of another service. */
export function parseS3Arn(arn: string): Located | undefined {
  const match = S3_ARN.exec(arn);
  if (match === null) return undefined;
  const [, region, account, resource] = match as unknown as [string, string, string, string];
  if (region !== '' || account !== '') {
    return { reason: `${arn} is not a bucket or object ARN (access points and jobs name no single object)` };
  }
  const slash = resource.indexOf('/');
  return slash < 0
    ? located(resource, undefined, arn)
    : located(resource.slice(0, slash), resource.slice(slash + 1), arn);
}

/** `CopySource` as the S3 API takes it: `[/]bucket/key[?versionId=…]`, URL-encoded. */
export function parseCopySource(value: string): Located {
  const [path = '', query] = value.split('?', 2) as [string, string | undefined];
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.replace(/^\//, ''));
  } catch {
    return { reason: `CopySource "${value}" is not URL-encoded correctly` };
  }
  if (decoded.startsWith('arn:')) {
    return { reason: `CopySource "${value}" names an access point, not a bucket` };
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    return { reason: `CopySource "${value}" is not "bucket/key"` };
  }
  const source = located(decoded.slice(0, slash), decoded.slice(slash + 1), 'CopySource');
  const versionId = query === undefined ? null : new URLSearchParams(query).get('versionId');
  return 'reason' in source || versionId === null ? source : { ...source, versionId };
}

/** The parameter by name, its first letter in either case; an error when both spellings are given. */
function parameter(
  parameters: Readonly<Record<string, unknown>>,
  name: string,
): { value?: unknown } | { reason: string } {
  const spellings = [
    name.charAt(0).toUpperCase() + name.slice(1),
    name.charAt(0).toLowerCase() + name.slice(1),
  ];
  const given = spellings.filter((spelling) => spelling in parameters);
  if (given.length > 1)
    return { reason: `parameters "${given[0]}" and "${given[1]}" name the same parameter` };
  return given.length === 0 ? {} : { value: parameters[given[0]!] };
}

/** A parameter that must be a non-empty string when given. */
function stringParameter(
  parameters: Readonly<Record<string, unknown>>,
  name: string,
): { value?: string } | { reason: string } {
  const found = parameter(parameters, name);
  if ('reason' in found) return found;
  if (found.value === undefined) return {};
  return typeof found.value === 'string' && found.value !== ''
    ? { value: found.value }
    : { reason: `parameter "${name}" must be a non-empty string` };
}

function toTarget(place: Located): S3Target {
  if ('reason' in place) return { kind: 'unresolvable', reason: place.reason };
  if (place.key === undefined) return { kind: 'bucket', bucket: place.bucket };
  return {
    kind: 'object',
    bucket: place.bucket,
    key: place.key,
    ...(place.versionId === undefined ? {} : { versionId: place.versionId }),
  };
}

/** The object a copy reads: CopySource, else sourceBucket + sourceKey, else undefined. */
function copySourceOf(parameters: Readonly<Record<string, unknown>>): Located | undefined {
  const copySource = stringParameter(parameters, 'copySource');
  if ('reason' in copySource) return copySource;
  if (copySource.value !== undefined) return parseCopySource(copySource.value);
  const bucket = stringParameter(parameters, 'sourceBucket');
  const key = stringParameter(parameters, 'sourceKey');
  if ('reason' in bucket) return bucket;
  if ('reason' in key) return key;
  if (bucket.value === undefined && key.value === undefined) return undefined;
  if (bucket.value === undefined || key.value === undefined) {
    return { reason: 'sourceBucket and sourceKey go together' };
  }
  return located(bucket.value, key.value, 'sourceBucket');
}

/** The `Bucket` / `Key` parameters, when given. */
function namedByParameters(parameters: Readonly<Record<string, unknown>>): Located | undefined {
  const bucket = stringParameter(parameters, 'bucket');
  const key = stringParameter(parameters, 'key');
  if ('reason' in bucket) return bucket;
  if ('reason' in key) return key;
  if (bucket.value === undefined)
    return key.value === undefined ? undefined : { reason: 'Key without Bucket' };
  return located(bucket.value, key.value, 'parameter Bucket');
}

/** Whether the parameters name the resource: the same bucket and, when they give a key, the same key. */
function namesResource(
  named: { bucket: string; key?: string },
  resource: { bucket: string; key?: string },
): boolean {
  return named.bucket === resource.bucket && (named.key === undefined || named.key === resource.key);
}

export function s3TargetOf(request: S3TargetRequest): S3Target {
  const isS3Action = request.action.startsWith('s3:');
  if (COPY_ACTIONS.has(request.action)) {
    const source = copySourceOf(request.parameters);
    if (source !== undefined) return toTarget(source);
  }
  const resource = parseS3Arn(request.resource.arn);
  if (resource === undefined && !isS3Action) return { kind: 'none' };
  if (resource !== undefined && 'reason' in resource) return toTarget(resource);
  const named = COPY_ACTIONS.has(request.action) ? undefined : namedByParameters(request.parameters);
  if (named !== undefined && 'reason' in named) return toTarget(named);
  if (resource === undefined) {
    return named === undefined
      ? {
          kind: 'unresolvable',
          reason: `${request.action} on ${request.resource.arn}: no bucket or object to classify`,
        }
      : toTarget(named);
  }
  if (named !== undefined && !namesResource(named, resource)) {
    return {
      kind: 'unresolvable',
      reason: `the parameters name ${s3Uri(named.bucket, named.key)}, the resource ${s3Uri(resource.bucket, resource.key)}`,
    };
  }
  return toTarget(resource);
}
