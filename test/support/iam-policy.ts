/**
 * IAM's policy evaluation for the statements Countersign writes, as the IAM User Guide defines it
 * ("Policy evaluation logic", "Condition operators", "Single-valued vs. multivalued context keys"):
 * an explicit Deny in any policy wins; otherwise an Allow in the identity or the resource policy
 * allows (same account). Conditions: every operator in a block must hold, a key with several policy
 * values matches any of them; negated operators (…Not…) hold for a missing key; `ForAnyValue:` holds
 * when some request value matches (false when the key is missing), `ForAllValues:` when every one
 * does (true when missing); `Null` tests presence. Only the operators the stack uses are known; any
 * other one throws, so a policy the evaluator cannot read never passes a test by accident.
 */

export type PolicyValue = string | string[];
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | { readonly AWS?: PolicyValue; readonly Service?: PolicyValue };
  readonly Action: PolicyValue;
  readonly Resource: PolicyValue;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, PolicyValue>>>>;
}

export interface AuthorizationRequest {
  /** `aws:PrincipalArn`: the role (for a role session) or user ARN. */
  readonly principalArn: string;
  readonly action: string;
  readonly resource: string;
  /** Context keys; a multivalued key (e.g. `events:source` of PutEvents) has several values. */
  readonly context: Readonly<Record<string, readonly string[]>>;
}

export type Verdict = 'ExplicitDeny' | 'Allowed' | 'ImplicitDeny';

const list = (value: PolicyValue): readonly string[] => (Array.isArray(value) ? value : [value]);

/** IAM's wildcards: `*` any run of characters, `?` one character; everything else literal. */
function wildcard(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(value);
}

const OPERATORS: Readonly<Record<string, (policy: string, value: string) => boolean>> = {
  Bool: (policy, value) => policy.toLowerCase() === value.toLowerCase(),
  StringEquals: (policy, value) => policy === value,
  StringLike: wildcard,
  ArnEquals: wildcard,
  ArnLike: wildcard,
};
const NEGATED: Readonly<Record<string, string>> = {
  StringNotEquals: 'StringEquals',
  StringNotLike: 'StringLike',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
};

/** The request's context as IAM sees it: `aws:PrincipalArn` is always present for a signed request. */
function contextValue(request: AuthorizationRequest, key: string): readonly string[] | undefined {
  return key === 'aws:PrincipalArn' ? [request.principalArn] : request.context[key];
}

function condition(
  operator: string,
  key: string,
  policyValues: readonly string[],
  request: AuthorizationRequest,
) {
  const values = contextValue(request, key);
  const [qualifier, name] = operator.includes(':') ? operator.split(':') : [undefined, operator];
  if (name === 'Null') {
    const absent = values === undefined || values.length === 0;
    return policyValues.some((expected) => (expected === 'true') === absent);
  }
  const positive = OPERATORS[name!] ?? OPERATORS[NEGATED[name!] ?? ''];
  if (positive === undefined) throw new Error(`the evaluator does not know the operator ${operator}`);
  const negated = NEGATED[name!] !== undefined;
  const matches = (value: string) => {
    const any = policyValues.some((expected) => positive(expected, value));
    return negated ? !any : any;
  };
  if (qualifier === 'ForAnyValue') return values?.some(matches) ?? false;
  if (qualifier === 'ForAllValues') return values === undefined || values.every(matches);
  if (qualifier !== undefined) throw new Error(`the evaluator does not know the qualifier ${qualifier}`);
  if (values === undefined || values.length === 0) return negated;
  if (values.length > 1) throw new Error(`${key} is multivalued: use ForAnyValue or ForAllValues`);
  return matches(values[0]!);
}

function principalMatches(principal: PolicyStatement['Principal'], request: AuthorizationRequest): boolean {
  if (principal === undefined) return true; // an identity policy: it is the caller's own
  if (principal === '*') return true;
  return list(principal.AWS ?? []).some((arn) => arn === '*' || arn === request.principalArn);
}

export function applies(statement: PolicyStatement, request: AuthorizationRequest): boolean {
  return (
    principalMatches(statement.Principal, request) &&
    list(statement.Action).some((action) => wildcard(action, request.action)) &&
    list(statement.Resource).some((resource) => wildcard(resource, request.resource)) &&
    Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, values]) => condition(operator, key, list(values), request)),
    )
  );
}

/** Evaluates a same-account request against the caller's identity policy and the resource policy. */
export function authorize(
  request: AuthorizationRequest,
  policies: { readonly identity: readonly PolicyStatement[]; readonly resource: readonly PolicyStatement[] },
): { verdict: Verdict; denyingSids: string[] } {
  const all = [...policies.identity, ...policies.resource];
  const denying = all.filter((statement) => statement.Effect === 'Deny' && applies(statement, request));
  if (denying.length > 0) {
    return { verdict: 'ExplicitDeny', denyingSids: denying.map((statement) => statement.Sid ?? '(no sid)') };
  }
  const allowed = all.some((statement) => statement.Effect === 'Allow' && applies(statement, request));
  return { verdict: allowed ? 'Allowed' : 'ImplicitDeny', denyingSids: [] };
}
