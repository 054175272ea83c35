/**
 * The twin's CloudTrail: turns a privileged call a twin service answered into the record CloudTrail
 * would write for it, and delivers it as EventBridge does, an `AWS API Call via CloudTrail` event on
 * the account's default bus. Services report calls through their own hooks (S3's
 * `onPrivilegedCall`); the composition hands them here, so no service knows CloudTrail.
 *
 * The record carries what a real one does for the call (CloudTrail User Guide, record contents):
 * eventVersion, userIdentity derived from the caller's key (an IAM user; an assumed role when the
 * principal is a role, or when the key is a session the twin's STS issued), eventTime (second precision), eventSource, eventName as CloudTrail names it,
 * awsRegion, sourceIPAddress, userAgent, requestParameters, responseElements, requestID, eventID,
 * readOnly, resources, eventType, managementEvent, recipientAccountId, eventCategory, and
 * errorCode/errorMessage when the call failed.
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../cloudformation/intrinsics.ts';
import { assumedRoleIdOf, iamUniqueId } from '../front/credentials.ts';

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
const EVENT_VERSION = '1.09';

/** Who made the call: the signer of the request as the front resolved it. */
export interface CallerIdentity {
  readonly accessKeyId: string;
  /**
   * `arn:aws:iam::<account>:user/<path/name>`, `arn:aws:iam::<account>:role/<path/name>`, or a
   * session's `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`.
   */
  readonly principalArn: string;
  /** A session of the twin's STS: the role it was issued for (with its path), its name and when. */
  readonly roleArn?: string;
  readonly sessionName?: string;
  readonly issuedAt?: Date;
}

/** A call a twin service answered, as its hook reports it. */
export interface ServiceCall {
  /** The service's signing name and IAM prefix: `s3`. */
  readonly service: string;
  /** The service's API operation name: `PutBucketPolicy`, `DeletePublicAccessBlock`. */
  readonly operation: string;
  readonly caller: CallerIdentity;
  readonly requestParameters: Readonly<Record<string, unknown>> | null;
  readonly responseElements?: Readonly<Record<string, unknown>> | null;
  /** The resources the call acted on, as CloudTrail lists them. */
  readonly resources?: readonly { readonly type: string; readonly ARN: string }[];
  readonly additionalEventData?: Readonly<Record<string, unknown>>;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestId: string;
  readonly eventTime: Date;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

/** An event as the bus delivers it to rules (the same envelope EventBridge gives CloudTrail's events). */
export interface CloudTrailBusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': typeof CLOUDTRAIL_DETAIL_TYPE;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: Record<string, unknown>;
}

/**
 * Operations CloudTrail records under another name than the API's: S3's Block Public Access calls
 * on a bucket (API `PutPublicAccessBlock`, CloudTrail `PutBucketPublicAccessBlock`).
 */
const CLOUDTRAIL_EVENT_NAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  s3: {
    PutPublicAccessBlock: 'PutBucketPublicAccessBlock',
    GetPublicAccessBlock: 'GetBucketPublicAccessBlock',
    DeletePublicAccessBlock: 'DeleteBucketPublicAccessBlock',
  },
};

export function cloudTrailEventName(service: string, operation: string): string {
  return CLOUDTRAIL_EVENT_NAMES[service]?.[operation] ?? operation;
}

/** CloudTrail's time format: second precision, `Z`. */
function secondsPrecision(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const ROLE_OR_USER = /^arn:aws:iam::(\d{12}):(user|role)\/(.+)$/;

/** `AssumedRole` as CloudTrail writes it for a session of `roleArn` (sessionIssuer: the role). */
function assumedRole(
  roleArn: string,
  session: { readonly accessKeyId: string; readonly name: string; readonly issuedAt: Date },
): Record<string, unknown> {
  const [, accountId, , pathAndName] = ROLE_OR_USER.exec(roleArn) as unknown as [
    string,
    string,
    string,
    string,
  ];
  const roleName = pathAndName.slice(pathAndName.lastIndexOf('/') + 1);
  const principalId = assumedRoleIdOf(roleArn, session.name);
  return {
    type: 'AssumedRole',
    principalId,
    arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${session.name}`,
    accountId,
    accessKeyId: session.accessKeyId,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: iamUniqueId('AROA', roleArn),
        arn: roleArn,
        accountId,
        userName: roleName,
      },
      attributes: { creationDate: secondsPrecision(session.issuedAt), mfaAuthenticated: 'false' },
    },
  };
}

/**
 * `userIdentity` as CloudTrail writes it for a call signed with the principal's key: an IAM user's
 * own key (`IAMUser`), a session the twin's STS issued (`AssumedRole`, as STS named it), or a
 * role's key configured as such (`AssumedRole`, the session named after the key).
 */
export function userIdentityOf(caller: CallerIdentity): Record<string, unknown> {
  const { roleArn, sessionName, issuedAt, accessKeyId } = caller;
  if (roleArn !== undefined && sessionName !== undefined && ROLE_OR_USER.test(roleArn)) {
    return assumedRole(roleArn, { accessKeyId, name: sessionName, issuedAt: issuedAt ?? new Date(0) });
  }
  const arn = ROLE_OR_USER.exec(caller.principalArn);
  if (arn === null) throw new Error(`not an IAM user or role ARN: ${caller.principalArn}`);
  const [, accountId, kind, pathAndName] = arn as unknown as [string, string, string, string];
  if (kind === 'role') {
    return assumedRole(caller.principalArn, { accessKeyId, name: accessKeyId, issuedAt: new Date(0) });
  }
  return {
    type: 'IAMUser',
    principalId: iamUniqueId('AIDA', caller.principalArn),
    arn: caller.principalArn,
    accountId,
    accessKeyId,
    userName: pathAndName.slice(pathAndName.lastIndexOf('/') + 1),
  };
}

/** The CloudTrail record of one call (the event's `detail`). */
export function cloudTrailRecord(
  call: ServiceCall,
  options: { readonly accountId?: string; readonly region?: string; readonly eventId?: string } = {},
): Record<string, unknown> {
  const accountId = options.accountId ?? LOCAL_ACCOUNT;
  const eventName = cloudTrailEventName(call.service, call.operation);
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentityOf(call.caller),
    eventTime: secondsPrecision(call.eventTime),
    eventSource: `${call.service}.amazonaws.com`,
    eventName,
    awsRegion: options.region ?? LOCAL_REGION,
    sourceIPAddress: call.sourceIp ?? '127.0.0.1',
    userAgent: call.userAgent ?? 'unknown',
    ...(call.errorCode === undefined
      ? {}
      : { errorCode: call.errorCode, errorMessage: call.errorMessage ?? call.errorCode }),
    requestParameters: call.requestParameters,
    responseElements: call.responseElements ?? null,
    ...(call.additionalEventData === undefined ? {} : { additionalEventData: call.additionalEventData }),
    requestID: call.requestId,
    eventID: options.eventId ?? randomUUID(),
    readOnly: /^(Get|List|Describe|Head)/.test(eventName),
    ...(call.resources === undefined
      ? {}
      : { resources: call.resources.map((resource) => ({ accountId, ...resource })) }),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
}

/** The record as EventBridge delivers it on the default bus. */
export function cloudTrailBusEvent(
  call: ServiceCall,
  options: { readonly accountId?: string; readonly region?: string } = {},
): CloudTrailBusEvent {
  const accountId = options.accountId ?? LOCAL_ACCOUNT;
  const region = options.region ?? LOCAL_REGION;
  const detail = cloudTrailRecord(call, { accountId, region });
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': CLOUDTRAIL_DETAIL_TYPE,
    source: `aws.${call.service}`,
    account: accountId,
    time: detail.eventTime as string,
    region,
    // CloudTrail's events name their resources in the record, not in the envelope.
    resources: [],
    detail,
  };
}

/** The trail: each reported call becomes a CloudTrail event, handed to the default bus. */
export function createLocalTrail(options: {
  /** Delivers an AWS service event on the default bus. */
  readonly deliver: (event: CloudTrailBusEvent) => void;
  readonly accountId?: string;
  readonly region?: string;
}): { record(call: ServiceCall): CloudTrailBusEvent } {
  return {
    record(call) {
      const event = cloudTrailBusEvent(call, options);
      options.deliver(event);
      return event;
    },
  };
}
