/**
 * Which AWS operations are privileged (`countersign:privilegedActions`): each `<service>:<Operation>`
 * names the CloudTrail events the rule on the default bus catches (`source: aws.<service>`,
 * `detail.eventSource: <service>.amazonaws.com`, `detail.eventName: <Operation>`) and the action a
 * call reconciles as. Pure: the list's validation, the rule's event pattern and the one spelling of
 * an action shared by requests and calls.
 */
import { ActionName } from './schemas.ts';
import * as z from './zod.ts';

/** The EventBridge detail-type of a CloudTrail management or data event record. */
export const CLOUDTRAIL_API_CALL = 'AWS API Call via CloudTrail';

/** What Countersign watches unless `countersign:privilegedActions` says otherwise. */
export const DEFAULT_PRIVILEGED_ACTIONS = [
  'iam:AttachRolePolicy',
  'iam:PutRolePolicy',
  'iam:CreateAccessKey',
  'iam:CreatePolicyVersion',
  'iam:UpdateAssumeRolePolicy',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:DeletePublicAccessBlock',
  's3:PutBucketAcl',
  'kms:ScheduleKeyDeletion',
  'kms:DisableKey',
  'kms:PutKeyPolicy',
  'secretsmanager:GetSecretValue',
  'organizations:LeaveOrganization',
] as const;

/**
 * IAM actions whose CloudTrail event is named otherwise. S3 authorizes a bucket's Block Public
 * Access calls as `s3:PutBucketPublicAccessBlock` / `s3:DeleteBucketPublicAccessBlock`, its API
 * operations are `PutPublicAccessBlock` / `DeletePublicAccessBlock`, and CloudTrail records them as
 * `PutBucketPublicAccessBlock` / `DeleteBucketPublicAccessBlock`: every spelling names one action.
 */
const CLOUDTRAIL_SPELLING: Readonly<Record<string, string>> = {
  's3:DeletePublicAccessBlock': 's3:DeleteBucketPublicAccessBlock',
  's3:PutPublicAccessBlock': 's3:PutBucketPublicAccessBlock',
};

/**
 * The action as CloudTrail names it (`<service>:<eventName>`): what a call's action is, and what a
 * request's action is compared with, whichever spelling the request or the list used.
 */
export function cloudTrailAction(action: string): string {
  return CLOUDTRAIL_SPELLING[action] ?? action;
}

/** STS calls that read by name but are change events to CloudTrail and EventBridge. */
const CHANGE_EVENTS_THAT_READ = new Set(['sts:GetFederationToken', 'sts:GetSessionToken']);

/**
 * Whether EventBridge treats the operation's CloudTrail events as read-only management events,
 * which a rule receives only in the state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`: those
 * whose name starts with Get, List or Describe.
 */
export function isReadOnlyOperation(action: string): boolean {
  const operation = action.slice(action.indexOf(':') + 1);
  return /^(Get|List|Describe)/.test(operation) && !CHANGE_EVENTS_THAT_READ.has(action);
}

export interface PrivilegedOperation {
  /** As CloudTrail names it: `s3:DeleteBucketPublicAccessBlock`. */
  readonly action: string;
  /** `s3` */
  readonly service: string;
  /** `aws.s3`: the EventBridge source of the service's events. */
  readonly source: string;
  /** `s3.amazonaws.com` */
  readonly eventSource: string;
  readonly eventName: string;
  readonly readOnly: boolean;
}

function operationOf(action: string): PrivilegedOperation {
  const canonical = cloudTrailAction(action);
  const [service, eventName] = canonical.split(':') as [string, string];
  return {
    action: canonical,
    service,
    source: `aws.${service}`,
    eventSource: `${service}.amazonaws.com`,
    eventName,
    readOnly: isReadOnlyOperation(canonical),
  };
}

/**
 * The configured list: at least one `<service>:<Operation>`, each once (in whichever spelling),
 * parsed to the operations the rule catches.
 */
export const PrivilegedActions = z.pipe(
  z.array(ActionName, { error: 'must be a JSON array of "<service>:<Operation>" names' }).check(
    z.minLength(1, 'must name at least one action: an empty list would watch nothing'),
    z.superRefine((actions, context) => {
      const seen = new Map<string, string>();
      for (const action of actions) {
        const canonical = cloudTrailAction(action);
        const earlier = seen.get(canonical);
        if (earlier !== undefined) {
          context.addIssue({
            code: 'custom',
            message: `"${action}" names the same CloudTrail event as "${earlier}"`,
          });
        }
        seen.set(canonical, action);
      }
    }),
  ),
  z.transform((actions) => actions.map(operationOf)),
);

/** Whether any listed operation needs the rule to receive read-only management events. */
export function needsReadOnlyEvents(operations: readonly PrivilegedOperation[]): boolean {
  return operations.some((operation) => operation.readOnly);
}

/**
 * The rule's event pattern: CloudTrail API calls of exactly the listed operations. Each service's
 * event names are tied to its eventSource with `$or`, so `iam`'s names never match `kms` events.
 */
export function privilegedCallPattern(operations: readonly PrivilegedOperation[]): Record<string, unknown> {
  const byService = new Map<string, PrivilegedOperation[]>();
  for (const operation of operations) {
    byService.set(operation.service, [...(byService.get(operation.service) ?? []), operation]);
  }
  const branches = [...byService.values()].map((same) => ({
    eventSource: [same[0]!.eventSource],
    eventName: same.map((operation) => operation.eventName),
  }));
  return {
    source: [...byService.values()].map((same) => same[0]!.source),
    'detail-type': [CLOUDTRAIL_API_CALL],
    // EventBridge wants two alternatives or more in a `$or`.
    detail: branches.length === 1 ? branches[0] : { $or: branches },
  };
}
