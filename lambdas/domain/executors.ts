/**
 * Countersign's built-in executors: the approved actions Countersign can run itself, exactly as
 * approved, in a role session scoped to that one action. Pure: which actions there are, how a
 * request's parameters become the one call to make (the spelling the demo uses and AWS's own,
 * never both, nothing left over), the role session's name, and the session policy that narrows
 * the executor role to exactly the approved resources. Anything that does not fit is refused with
 * the reason; the request is then denied at evaluation, or its execution fails, never guessed.
 */
import { createHash } from 'node:crypto';
import type { CanonicalAction } from './action-hash.ts';
import { CountersignError } from './errors.ts';
import { denyDecision } from './policy-decision.ts';
import { IamPolicyArn, type PolicyDecision, PolicyOutcome } from './schemas.ts';

export const ExecutableActionName = {
  copyObject: 's3:CopyObject',
  attachRolePolicy: 'iam:AttachRolePolicy',
} as const;
export type ExecutableActionName = (typeof ExecutableActionName)[keyof typeof ExecutableActionName];

export interface S3ObjectRef {
  readonly bucket: string;
  readonly key: string;
}

/** The one call an executor makes, with every argument it takes. */
export type ExecutableAction =
  | {
      readonly action: typeof ExecutableActionName.copyObject;
      readonly partition: string;
      readonly source: S3ObjectRef & { readonly versionId?: string };
      readonly destination: S3ObjectRef;
    }
  | {
      readonly action: typeof ExecutableActionName.attachRolePolicy;
      readonly roleArn: string;
      readonly roleName: string;
      readonly policyArn: string;
    };

/** Why Countersign will not run an action: it has no executor for it, or the request does not fit one. */
export class ExecutionRefusedError extends CountersignError {}

/** Bucket names as S3 allows them (legacy us-east-1 names included): 3–255 of these characters. */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;
const S3_OBJECT_ARN = /^arn:(aws[a-z-]*):s3:::([^/]+)\/(.+)$/s;
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\x21-\x7e]+\/)?([\w+=,.@-]{1,64})$/;

function refuse(reason: string): never {
  throw new ExecutionRefusedError(reason);
}

/**
 * Reads the parameters an executor takes, each under any of its names (first letter in either case,
 * as the policies read them), and refuses two names for one argument and any parameter it would
 * not use: an argument the executor ignored would make it run something else than was approved.
 */
class Parameters {
  readonly #given: Readonly<Record<string, unknown>>;
  readonly #used = new Set<string>();

  constructor(given: Readonly<Record<string, unknown>>) {
    this.#given = given;
  }

  /** The string under one of `names`, or undefined when none is given. */
  string(...names: string[]): string | undefined {
    const spellings = names.flatMap((name) => [
      name.charAt(0).toLowerCase() + name.slice(1),
      name.charAt(0).toUpperCase() + name.slice(1),
    ]);
    const given = [...new Set(spellings)].filter((name) => Object.hasOwn(this.#given, name));
    for (const name of given) this.#used.add(name);
    if (given.length > 1) refuse(`parameters ${given.map((name) => `"${name}"`).join(' and ')} say the same`);
    if (given.length === 0) return undefined;
    const value = this.#given[given[0]!];
    if (typeof value !== 'string' || value === '')
      refuse(`parameter "${given[0]}" must be a non-empty string`);
    return value;
  }

  required(...names: string[]): string {
    return this.string(...names) ?? refuse(`parameter "${names[0]}" is required`);
  }

  /** Refuses whatever parameter no read asked for. */
  done(action: string): void {
    const extra = Object.keys(this.#given).filter((name) => !this.#used.has(name));
    if (extra.length > 0) {
      refuse(
        `the ${action} executor does not take ${extra.map((name) => `"${name}"`).join(', ')}: it would not run exactly what was approved`,
      );
    }
  }
}

function bucketName(value: string, what: string): string {
  return BUCKET_NAME.test(value) ? value : refuse(`${what} "${value}" is not a bucket name`);
}

/** `CopySource` as the S3 API takes it: `[/]bucket/key[?versionId=…]`, URL-encoded. */
export function parseCopySource(value: string): S3ObjectRef & { readonly versionId?: string } {
  const [path = '', query] = value.split('?', 2) as [string, string | undefined];
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.replace(/^\//, ''));
  } catch {
    return refuse(`CopySource "${value}" is not URL-encoded correctly`);
  }
  const slash = decoded.indexOf('/');
  if (decoded.startsWith('arn:') || slash <= 0 || slash === decoded.length - 1) {
    refuse(`CopySource "${value}" is not "bucket/key"`);
  }
  const versionId = query === undefined ? null : new URLSearchParams(query).get('versionId');
  if (
    query !== undefined &&
    (versionId === null || versionId === '' || [...new URLSearchParams(query)].length > 1)
  ) {
    refuse(`CopySource "${value}" may carry versionId and nothing else`);
  }
  return {
    bucket: bucketName(decoded.slice(0, slash), 'CopySource bucket'),
    key: decoded.slice(slash + 1),
    ...(versionId === null ? {} : { versionId }),
  };
}

function copyObject(request: CanonicalAction): ExecutableAction {
  const arn = S3_OBJECT_ARN.exec(request.resource.arn);
  if (arn === null)
    refuse(`the resource of s3:CopyObject must be the source object's ARN, not ${request.resource.arn}`);
  const [, partition, resourceBucket, resourceKey] = arn as unknown as [string, string, string, string];
  const parameters = new Parameters(request.parameters);
  const copySource = parameters.string('copySource');
  const sourceBucket = parameters.string('sourceBucket');
  const sourceKey = parameters.string('sourceKey');
  if (copySource !== undefined && (sourceBucket !== undefined || sourceKey !== undefined)) {
    refuse('give CopySource or sourceBucket and sourceKey, not both');
  }
  const source =
    copySource === undefined
      ? {
          bucket: bucketName(
            sourceBucket ?? refuse('the source is missing: CopySource, or sourceBucket and sourceKey'),
            'sourceBucket',
          ),
          key: sourceKey ?? refuse('sourceKey is required with sourceBucket'),
        }
      : parseCopySource(copySource);
  const destinationBucket = parameters.string('destinationBucket');
  const bucket = parameters.string('bucket');
  if (destinationBucket !== undefined && bucket !== undefined) {
    refuse('give Bucket and Key, or destinationBucket and destinationKey, not both');
  }
  const destination = {
    bucket: bucketName(
      destinationBucket ??
        bucket ??
        refuse('the destination is missing: Bucket and Key, or destinationBucket and destinationKey'),
      'the destination bucket',
    ),
    key: destinationBucket === undefined ? parameters.required('key') : parameters.required('destinationKey'),
  };
  parameters.done(ExecutableActionName.copyObject);
  if (source.bucket !== resourceBucket || source.key !== resourceKey) {
    refuse(
      `the copy reads s3://${source.bucket}/${source.key}, but the request's resource is ${request.resource.arn}`,
    );
  }
  return { action: ExecutableActionName.copyObject, partition, source, destination };
}

function attachRolePolicy(request: CanonicalAction): ExecutableAction {
  const arn = ROLE_ARN.exec(request.resource.arn);
  if (arn === null) {
    refuse(`the resource of iam:AttachRolePolicy must be the role's ARN, not ${request.resource.arn}`);
  }
  const parameters = new Parameters(request.parameters);
  const roleName = parameters.required('roleName');
  const policyArn = parameters.required('policyArn');
  parameters.done(ExecutableActionName.attachRolePolicy);
  if (arn[3] !== roleName)
    refuse(`roleName "${roleName}" is not the role of the resource ${request.resource.arn}`);
  if (!IamPolicyArn.safeParse(policyArn).success) refuse(`policyArn "${policyArn}" is not an IAM policy ARN`);
  return {
    action: ExecutableActionName.attachRolePolicy,
    roleArn: request.resource.arn,
    roleName,
    policyArn,
  };
}

const READERS: Readonly<Record<ExecutableActionName, (request: CanonicalAction) => ExecutableAction>> = {
  [ExecutableActionName.copyObject]: copyObject,
  [ExecutableActionName.attachRolePolicy]: attachRolePolicy,
};

/** The call Countersign's executor makes for this action; ExecutionRefusedError when there is none. */
export function executableAction(request: CanonicalAction): ExecutableAction {
  const read = Object.hasOwn(READERS, request.action)
    ? READERS[request.action as ExecutableActionName]
    : refuse(
        `Countersign has no executor for ${request.action} (it runs ${Object.values(ExecutableActionName).join(' and ')})`,
      );
  return read(request);
}

/**
 * The decision once execution is taken into account: a request that asks for execution (`execute`)
 * needs a policy that permits it (the decision's `executor`); a decision Countersign would execute
 * needs an executor that can run exactly this request. Otherwise the request is denied, with why.
 */
export function withExecution(
  decision: PolicyDecision,
  request: CanonicalAction & { readonly execute?: boolean | undefined },
): PolicyDecision {
  if (decision.decision === PolicyOutcome.deny) return decision;
  if (decision.executor === undefined) {
    return request.execute === true
      ? denyDecision(
          decision.policyIds,
          'The request asks Countersign to execute it, but no policy permits execution (@executor("countersign")).',
        )
      : decision;
  }
  try {
    executableAction(request);
    return decision;
  } catch (error) {
    if (!(error instanceof ExecutionRefusedError)) throw error;
    return denyDecision(
      decision.policyIds,
      `Countersign would execute this request but cannot: ${error.message}.`,
    );
  }
}

/** RoleSessionName allows `[\w+=,.@-]`, 2 to 64 characters. */
const SESSION_NAME_MAX = 64;

/**
 * The role session's name for a request: its public id with `:` written `=` (request ids never
 * hold `=`, so two ids never share a name), cut to 64 characters with a hash of the whole id when
 * longer (`,` marks the cut; ids never hold `,` either). CloudTrail shows it as `roleSessionName`.
 */
export function executionSessionName(requestId: string): string {
  const name = requestId.replaceAll(':', '=');
  if (name.length <= SESSION_NAME_MAX) return name;
  const digest = createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 16);
  return `${name.slice(0, SESSION_NAME_MAX - digest.length - 1)},${digest}`;
}

/** IAM policy grammar: `*`, `?` and `$` in a resource ARN are written `${*}`, `${?}`, `${$}` to be literal. */
function literalArnPart(text: string): string {
  return text.replace(/[*?$]/g, (character) => `\${${character}}`);
}

function s3ObjectArn(partition: string, object: S3ObjectRef): string {
  return `arn:${partition}:s3:::${literalArnPart(object.bucket)}/${literalArnPart(object.key)}`;
}

/**
 * The session policy passed with AssumeRole: the executor role's permissions narrowed to exactly
 * the approved call on exactly its resources (the effective permissions are the intersection).
 */
export function sessionPolicyFor(action: ExecutableAction): { Version: '2012-10-17'; Statement: object[] } {
  if (action.action === ExecutableActionName.copyObject) {
    return {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadTheApprovedSource',
          Effect: 'Allow',
          Action: action.source.versionId === undefined ? ['s3:GetObject'] : ['s3:GetObjectVersion'],
          Resource: [s3ObjectArn(action.partition, action.source)],
        },
        {
          Sid: 'WriteTheApprovedDestination',
          Effect: 'Allow',
          Action: ['s3:PutObject'],
          Resource: [s3ObjectArn(action.partition, action.destination)],
        },
      ],
    };
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AttachTheApprovedPolicy',
        Effect: 'Allow',
        Action: ['iam:AttachRolePolicy'],
        Resource: [literalArnPart(action.roleArn)],
        Condition: { ArnEquals: { 'iam:PolicyARN': [action.policyArn] } },
      },
    ],
  };
}
