/**
 * What a privileged call acted on, and whether its arguments are the ones a request was approved
 * for. CloudTrail names resources by the caller's arguments (`roleName`, `bucketName`, `keyId` …),
 * a request by ARN: each supported operation builds the ARN from `requestParameters`, and both
 * sides are compared in one canonical form (IAM names without their path, a secret without its
 * random suffix, an account as its root). Where a request's parameter has a counterpart in the
 * call's `requestParameters`, the two must agree. Pure.
 */
import canonicalizeModule from 'canonicalize';
import type { CloudTrailRecord } from './cloudtrail-event.ts';

// CommonJS with an ES-module typing: the default import is the function at run time.
const canonicalize = canonicalizeModule as unknown as typeof canonicalizeModule.default;

type Parameters = Readonly<Record<string, unknown>>;

interface CallContext {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
  readonly parameters: Parameters;
  readonly record: CloudTrailRecord;
}

type ResourceOf = (call: CallContext) => string | undefined;

function text(parameters: Parameters, name: string): string | undefined {
  const value = parameters[name];
  const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
  return typeof single === 'string' && single !== '' ? single : undefined;
}

const iam = (kind: 'role' | 'user' | 'group', parameter: string): ResourceOf => {
  return ({ partition, account, parameters }) => {
    const name = text(parameters, parameter);
    return name === undefined ? undefined : `arn:${partition}:iam::${account}:${kind}/${name}`;
  };
};

/** CreateAccessKey and friends without `userName` act on the calling IAM user itself. */
const userOrCaller = (parameter: string): ResourceOf => {
  const named = iam('user', parameter);
  return (call) => {
    const identity = call.record.userIdentity;
    return named(call) ?? (identity.type === 'IAMUser' ? identity.arn : undefined);
  };
};

const policyArn: ResourceOf = ({ parameters }) => text(parameters, 'policyArn');

const bucket: ResourceOf = ({ partition, parameters }) => {
  const name = text(parameters, 'bucketName');
  if (name === undefined) return undefined;
  const key = text(parameters, 'key');
  return `arn:${partition}:s3:::${name}${key === undefined ? '' : `/${key}`}`;
};

/** The ARNs CloudTrail lists in the record's `resources` (some entries have none). */
function listedArns(record: CloudTrailRecord): string[] {
  return (record.resources ?? []).flatMap((resource) => (resource.ARN === undefined ? [] : [resource.ARN]));
}

/** CloudTrail resolves the key (an alias too) into `resources`; otherwise the key id, ARN or alias as given. */
const kmsKey: ResourceOf = ({ partition, account, region, parameters, record }) => {
  const resolved = listedArns(record).find((arn) => /^arn:aws[a-z-]*:kms:.+:key\//.test(arn));
  if (resolved !== undefined) return resolved;
  const keyId = text(parameters, 'keyId');
  if (keyId === undefined) return undefined;
  if (keyId.startsWith('arn:')) return keyId;
  return `arn:${partition}:kms:${region}:${account}:${keyId.startsWith('alias/') ? keyId : `key/${keyId}`}`;
};

const secret: ResourceOf = ({ partition, account, region, parameters }) => {
  const secretId = text(parameters, 'secretId');
  if (secretId === undefined) return undefined;
  return secretId.startsWith('arn:')
    ? secretId
    : `arn:${partition}:secretsmanager:${region}:${account}:secret:${secretId}`;
};

/** The account that leaves, as the account's own ARN. */
const account: ResourceOf = ({ partition, account: id }) => `arn:${partition}:iam::${id}:root`;

const BY_OPERATION: Readonly<Record<string, ResourceOf>> = {
  ...Object.fromEntries(
    [
      'AttachRolePolicy',
      'DetachRolePolicy',
      'PutRolePolicy',
      'DeleteRolePolicy',
      'UpdateAssumeRolePolicy',
      'PutRolePermissionsBoundary',
      'CreateRole',
      'DeleteRole',
    ].map((operation) => [`iam:${operation}`, iam('role', 'roleName')]),
  ),
  ...Object.fromEntries(
    ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'CreateLoginProfile', 'UpdateLoginProfile'].map(
      (operation) => [`iam:${operation}`, userOrCaller('userName')],
    ),
  ),
  ...Object.fromEntries(
    ['AttachUserPolicy', 'DetachUserPolicy', 'PutUserPolicy', 'DeleteUserPolicy', 'CreateUser'].map(
      (operation) => [`iam:${operation}`, iam('user', 'userName')],
    ),
  ),
  ...Object.fromEntries(
    ['AttachGroupPolicy', 'DetachGroupPolicy', 'PutGroupPolicy', 'DeleteGroupPolicy', 'AddUserToGroup'].map(
      (operation) => [`iam:${operation}`, iam('group', 'groupName')],
    ),
  ),
  ...Object.fromEntries(
    ['CreatePolicyVersion', 'SetDefaultPolicyVersion', 'DeletePolicyVersion', 'DeletePolicy'].map(
      (operation) => [`iam:${operation}`, policyArn],
    ),
  ),
  'organizations:LeaveOrganization': account,
};

/** Services whose every operation names its resource the same way. */
const BY_SERVICE: Readonly<Record<string, ResourceOf>> = {
  s3: bucket,
  kms: kmsKey,
  secretsmanager: secret,
};

function partitionOf(record: CloudTrailRecord): string {
  return /^arn:(aws[a-z-]*):/.exec(record.userIdentity.arn ?? '')?.[1] ?? 'aws';
}

/**
 * The canonical ARN of what `action` (as CloudTrail names it) acted on, from the call's
 * requestParameters; for an operation not in the table, the one resource CloudTrail lists, if it
 * lists exactly one. Undefined when it cannot be told (then no request can match the call).
 */
export function resourceOfCall(
  action: string,
  record: CloudTrailRecord,
  fallbackAccount: string,
): string | undefined {
  const context: CallContext = {
    partition: partitionOf(record),
    account: record.recipientAccountId ?? record.userIdentity.accountId ?? fallbackAccount,
    region: record.awsRegion,
    parameters: record.requestParameters ?? {},
    record,
  };
  const service = action.slice(0, action.indexOf(':'));
  const build = BY_OPERATION[action] ?? BY_SERVICE[service];
  const listed = listedArns(record);
  const arn = build === undefined ? (listed.length === 1 ? listed[0] : undefined) : build(context);
  return arn === undefined ? undefined : canonicalResourceArn(arn);
}

/**
 * One spelling per resource, so a request's ARN and a call's compare equal exactly when they name
 * the same thing: IAM users, roles and groups without their path (names are unique in an account
 * whatever the path), a secret without the six random characters Secrets Manager appends, an
 * Organizations account as that account's root.
 */
export function canonicalResourceArn(arn: string): string {
  const iamName = /^(arn:aws[a-z-]*:iam::\d{12}:(?:role|user|group))\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (iamName !== null) return `${iamName[1]}/${iamName[2]}`;
  const secretArn = /^(arn:aws[a-z-]*:secretsmanager:[^:]+:\d{12}:secret:.+)-[A-Za-z0-9]{6}$/.exec(arn);
  if (secretArn !== null) return secretArn[1]!;
  const orgAccount = /^arn:(aws[a-z-]*):organizations::\d{12}:account\/o-[a-z0-9]+\/(\d{12})$/.exec(arn);
  if (orgAccount !== null) return `arn:${orgAccount[1]}:iam::${orgAccount[2]}:root`;
  return arn;
}

type Comparison = 'value' | 'document';

interface ComparableParameter {
  /** As the request names it (first letter lower-cased, as the policies read parameters). */
  readonly request: string;
  /** As CloudTrail records it in requestParameters. */
  readonly call: string;
  /** `document`: JSON text or object, compared as canonical JSON; `value`: a scalar. */
  readonly as: Comparison;
}

const same = (name: string, as: Comparison = 'value'): ComparableParameter => ({
  request: name,
  call: name,
  as,
});

const INLINE_POLICY = [same('policyName'), same('policyDocument', 'document')];

/** Per operation, the request parameters that have a counterpart in CloudTrail's record. */
const COMPARABLE: Readonly<Record<string, readonly ComparableParameter[]>> = {
  'iam:AttachRolePolicy': [same('policyArn')],
  'iam:AttachUserPolicy': [same('policyArn')],
  'iam:AttachGroupPolicy': [same('policyArn')],
  'iam:PutRolePolicy': INLINE_POLICY,
  'iam:PutUserPolicy': INLINE_POLICY,
  'iam:PutGroupPolicy': INLINE_POLICY,
  'iam:CreatePolicyVersion': [same('policyDocument', 'document'), same('setAsDefault')],
  'iam:UpdateAssumeRolePolicy': [same('policyDocument', 'document')],
  's3:PutBucketPolicy': [{ request: 'policy', call: 'bucketPolicy', as: 'document' }],
  // The SDK spells the canned ACL `ACL` (`aCL` once lower-cased), the REST API `acl`.
  's3:PutBucketAcl': ['acl', 'aCL'].map((request) => ({ request, call: 'x-amz-acl', as: 'value' as const })),
  'kms:ScheduleKeyDeletion': [same('pendingWindowInDays')],
  'kms:PutKeyPolicy': [same('policyName'), same('policy', 'document')],
  'secretsmanager:GetSecretValue': [same('versionId'), same('versionStage')],
};

/** Parameter names as policies read them: `PolicyArn` and `policyArn` are one parameter. */
function normalized(parameters: Parameters): Parameters {
  return Object.fromEntries(
    Object.entries(parameters).map(([name, value]) => [
      `${name.charAt(0).toLowerCase()}${name.slice(1)}`,
      value,
    ]),
  );
}

/** Older records keep some scalars in one-element arrays (`host: ["…"]`). */
function unwrap(value: unknown): unknown {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function canonical(value: unknown, as: Comparison): string {
  let plain = unwrap(value);
  if (as === 'document' && typeof plain === 'string') {
    try {
      plain = JSON.parse(plain);
    } catch {
      // Not JSON: compared as the text it is.
    }
  }
  if (as === 'value' && (typeof plain === 'number' || typeof plain === 'boolean')) plain = String(plain);
  // Both sides are present (undefined is not comparable), so there is always a JSON text.
  return canonicalize(plain) as string;
}

/**
 * The comparable parameters on which the request and the call disagree (empty: they agree, or
 * nothing is comparable). A parameter either side leaves out is not comparable.
 */
export function disagreeingParameters(
  action: string,
  requested: Parameters,
  called: Parameters | null | undefined,
): string[] {
  const request = normalized(requested);
  const call = called ?? {};
  return (COMPARABLE[action] ?? []).flatMap((parameter) => {
    const asked = request[parameter.request];
    const done = call[parameter.call];
    if (asked === undefined || done === undefined) return [];
    return canonical(asked, parameter.as) === canonical(done, parameter.as) ? [] : [parameter.request];
  });
}
