/**
 * A bucket policy's explicit Deny, as IAM evaluates it: a statement that denies the request's
 * action on its resource to its principal, under conditions that hold, refuses the request whatever
 * the caller is otherwise allowed ("an explicit deny in any policy overrides any allow"). Allow
 * statements add nothing here: who may call S3 at all is the front's authorizer.
 *
 * Conditions are IAM's condition operators over the request's context keys (`aws:SecureTransport`,
 * `aws:PrincipalArn`, `aws:PrincipalAccount`, `s3:prefix`, …). A key the request does not have
 * makes a positive operator false and a negated one true, as in IAM; an operator this evaluator does
 * not know makes the Deny apply (it fails closed rather than let a request through a Deny).
 */
import { S3Error } from './errors.ts';

export interface PolicyRequest {
  readonly principalArn: string | undefined;
  /** `s3:<Action>`. */
  readonly action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: string;
  readonly context: Readonly<Record<string, readonly string[]>>;
}

type Statement = Readonly<Record<string, unknown>>;

const list = (value: unknown): readonly string[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((item) => String(item));

/** IAM wildcards: `*` any run of characters, `?` one; matching ignores case only for actions. */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function principalMatches(statement: Statement, request: PolicyRequest): boolean {
  const matches = (principal: unknown): boolean => {
    if (principal === '*') return true;
    if (typeof principal !== 'object' || principal === null) return false;
    const aws = list((principal as Record<string, unknown>).AWS);
    return aws.some(
      (arn) => arn === '*' || (request.principalArn !== undefined && wildcard(arn, request.principalArn)),
    );
  };
  if (statement.NotPrincipal !== undefined) return !matches(statement.NotPrincipal);
  return matches(statement.Principal);
}

function matchesAny(statement: Statement, field: string, value: string, ignoreCase: boolean): boolean {
  const positive = statement[field];
  const negative = statement[`Not${field}`];
  if (negative !== undefined) return !list(negative).some((pattern) => wildcard(pattern, value, ignoreCase));
  return list(positive).some((pattern) => wildcard(pattern, value, ignoreCase));
}

const OPERATORS: Readonly<Record<string, (policy: string, value: string) => boolean>> = {
  StringEquals: (policy, value) => policy === value,
  StringEqualsIgnoreCase: (policy, value) => policy.toLowerCase() === value.toLowerCase(),
  StringLike: (policy, value) => wildcard(policy, value),
  ArnEquals: (policy, value) => wildcard(policy, value),
  ArnLike: (policy, value) => wildcard(policy, value),
  Bool: (policy, value) => policy.toLowerCase() === value.toLowerCase(),
  NumericEquals: (policy, value) => Number(value) === Number(policy),
  NumericLessThan: (policy, value) => Number(value) < Number(policy),
  NumericLessThanEquals: (policy, value) => Number(value) <= Number(policy),
  NumericGreaterThan: (policy, value) => Number(value) > Number(policy),
  NumericGreaterThanEquals: (policy, value) => Number(value) >= Number(policy),
};
const NEGATED: Readonly<Record<string, string>> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
  NumericNotEquals: 'NumericEquals',
};

/** One operator block: every key must hold; undefined when the operator is unknown. */
function holds(
  operator: string,
  keys: Readonly<Record<string, unknown>>,
  request: PolicyRequest,
): boolean | undefined {
  const [qualifier, named] = operator.includes(':') ? operator.split(':', 2) : [undefined, operator];
  const ifExists = named!.endsWith('IfExists');
  const name = ifExists ? named!.slice(0, -'IfExists'.length) : named!;
  for (const [key, expected] of Object.entries(keys)) {
    const values = request.context[key];
    const policyValues = list(expected);
    if (name === 'Null') {
      const absent = values === undefined || values.length === 0;
      if (!policyValues.some((value) => (value === 'true') === absent)) return false;
      continue;
    }
    const positive = OPERATORS[name] ?? OPERATORS[NEGATED[name] ?? ''];
    if (positive === undefined) return undefined;
    const negated = NEGATED[name] !== undefined;
    const match = (value: string) => {
      const any = policyValues.some((policy) => positive(policy, value));
      return negated ? !any : any;
    };
    let result: boolean;
    if (values === undefined || values.length === 0)
      result = qualifier === 'ForAllValues' || ifExists || negated;
    else if (qualifier === 'ForAnyValue') result = values.some(match);
    else if (qualifier === 'ForAllValues') result = values.every(match);
    else result = values.some(match);
    if (!result) return false;
  }
  return true;
}

function applies(statement: Statement, request: PolicyRequest): boolean {
  if (!principalMatches(statement, request)) return false;
  if (!matchesAny(statement, 'Action', request.action, true)) return false;
  if (!matchesAny(statement, 'Resource', request.resource, false)) return false;
  const conditions = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(conditions).every(([operator, keys]) => holds(operator, keys, request) !== false);
}

/** The statement of `policy` (a bucket policy document as stored) that explicitly denies the request. */
export function denyingStatement(policy: string | undefined, request: PolicyRequest): Statement | undefined {
  if (policy === undefined) return undefined;
  const document = JSON.parse(policy) as { Statement?: unknown };
  const statements = (
    Array.isArray(document.Statement) ? document.Statement : [document.Statement]
  ) as Statement[];
  return statements.find((statement) => statement.Effect === 'Deny' && applies(statement, request));
}

/** Throws AccessDenied, as S3 answers a request a bucket policy denies. */
export function refuseIfDenied(policy: string | undefined, request: PolicyRequest): void {
  if (denyingStatement(policy, request) !== undefined) {
    throw new S3Error('AccessDenied', 'Access Denied');
  }
}

const ACTIONS: Readonly<Record<string, string>> = {
  ListBuckets: 's3:ListAllMyBuckets',
  HeadBucket: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  HeadObject: 's3:GetObject',
  CopyObject: 's3:PutObject',
  PutObjectLockConfiguration: 's3:PutBucketObjectLockConfiguration',
  GetObjectLockConfiguration: 's3:GetBucketObjectLockConfiguration',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  DeletePublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeleteObjects: 's3:DeleteObject',
};

/**
 * The IAM actions a request needs, as the S3 documentation lists them: the operation's own
 * (`…Version` when it names a version), and `s3:PutObjectRetention`, `s3:PutObjectLegalHold` and
 * `s3:BypassGovernanceRetention` when its headers ask for what those grant.
 */
export function actionsOf(
  operation: string,
  query: ReadonlyMap<string, string>,
  headers: Readonly<Record<string, string>>,
): string[] {
  const versioned = query.has('versionId');
  let action = ACTIONS[operation] ?? `s3:${operation}`;
  if (versioned && (action === 's3:GetObject' || action === 's3:DeleteObject')) action = `${action}Version`;
  const actions = [action];
  const writes = operation === 'PutObject' || operation === 'CopyObject';
  if (writes && headers['x-amz-object-lock-mode'] !== undefined) actions.push('s3:PutObjectRetention');
  if (writes && headers['x-amz-object-lock-legal-hold'] !== undefined) actions.push('s3:PutObjectLegalHold');
  if (headers['x-amz-bypass-governance-retention']?.toLowerCase() === 'true') {
    actions.push('s3:BypassGovernanceRetention');
  }
  return actions;
}
