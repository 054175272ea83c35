/**
 * STS on the twin (Query protocol, signing name `sts`): AssumeRole issues a role session's
 * temporary key (`ASIA…`, secret, session token, expiration) whose caller is
 * `arn:aws:sts::<account>:assumed-role/<role>/<session>` with the session policy it was given, and
 * GetCallerIdentity says who signed. The key ring accepts a session's key with its token until it
 * expires; what the session may do is its session policy (./session-policy.ts). Sessions live in
 * memory: a restarted twin knows none (they last at most an hour here, and clients assume again).
 * Validation and codes as STS answers them (ValidationError, MalformedPolicyDocument,
 * PackedPolicyTooLarge, AccessDenied), so SDK clients raise the classes they raise against AWS.
 */
import { randomBytes } from 'node:crypto';
import { LOCAL_ACCOUNT } from '../cloudformation/intrinsics.ts';
import { assumedRoleIdOf, type TemporaryKey, type TemporaryKeys, userIdOf } from '../front/credentials.ts';
import { AwsProtocolError } from '../front/errors.ts';
import { AwsProtocol, type QueryAwsService } from '../front/service.ts';
import { parseSessionPolicy } from './session-policy.ts';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const MIN_DURATION_SECONDS = 900;
/** A role's default maximum session duration (MaxSessionDuration): one hour. */
const MAX_DURATION_SECONDS = 3600;
const MAX_POLICY_CHARS = 2048;
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function validation(message: string): AwsProtocolError {
  return new AwsProtocolError('ValidationError', message, 400);
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

function element(name: string, content: string): string {
  return `<${name}>${content}</${name}>`;
}

function respond(operation: string, result: string, requestId: string) {
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<${operation}Response xmlns="${STS_NAMESPACE}">${element(`${operation}Result`, result)}` +
      `${element('ResponseMetadata', element('RequestId', requestId))}</${operation}Response>`,
  };
}

function accessKeyId(): string {
  const bytes = randomBytes(16);
  return `ASIA${Array.from(bytes, (byte) => KEY_ALPHABET[byte % 32]).join('')}`;
}

export interface LocalSts extends TemporaryKeys {
  readonly service: QueryAwsService;
}

export function createLocalSts(options: { readonly now?: () => Date } = {}): LocalSts {
  const now = options.now ?? (() => new Date());
  const sessions = new Map<string, TemporaryKey>();

  const forget = (at: Date) => {
    for (const [id, key] of sessions) if (key.expiration <= at) sessions.delete(id);
  };

  const assumeRole = (params: URLSearchParams, requestId: string) => {
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const role = ROLE_ARN.exec(roleArn);
    if (role === null)
      throw validation(
        `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must be a valid role ARN`,
      );
    if (!SESSION_NAME.test(sessionName)) {
      throw validation(
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    if (role[1] !== LOCAL_ACCOUNT) {
      throw new AwsProtocolError(
        'AccessDenied',
        `Not authorized to perform sts:AssumeRole on ${roleArn}`,
        403,
      );
    }
    const durationText = params.get('DurationSeconds');
    const duration = durationText === null ? MAX_DURATION_SECONDS : Number(durationText);
    if (!Number.isInteger(duration) || duration < MIN_DURATION_SECONDS || duration > MAX_DURATION_SECONDS) {
      throw validation(
        `The requested DurationSeconds exceeds the MaxSessionDuration set for this role or is below ${MIN_DURATION_SECONDS}.`,
      );
    }
    const policy = params.get('Policy') ?? undefined;
    if (policy !== undefined) {
      if (policy.length > MAX_POLICY_CHARS) {
        throw new AwsProtocolError(
          'PackedPolicyTooLarge',
          'Packed size of the session policy exceeds the limit.',
          400,
        );
      }
      if (parseSessionPolicy(policy) === undefined) {
        throw new AwsProtocolError(
          'MalformedPolicyDocument',
          'The policy is not in the valid JSON format.',
          400,
        );
      }
    }
    const issued = now();
    forget(issued);
    const expiration = new Date(issued.getTime() + duration * 1000);
    const id = accessKeyId();
    const principalArn = `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${role[2]}/${sessionName}`;
    const key: TemporaryKey = {
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      expiration,
      caller: {
        kind: 'session',
        accessKeyId: id,
        principalArn,
        roleArn,
        sessionName,
        issuedAt: issued,
        ...(policy === undefined ? {} : { sessionPolicy: policy }),
      },
    };
    sessions.set(id, key);
    const credentials = [
      element('AccessKeyId', id),
      element('SecretAccessKey', escapeXml(key.secretAccessKey)),
      element('SessionToken', escapeXml(key.sessionToken)),
      element('Expiration', expiration.toISOString()),
    ].join('');
    const user =
      element('AssumedRoleId', escapeXml(assumedRoleIdOf(roleArn, sessionName))) +
      element('Arn', escapeXml(principalArn));
    return respond(
      'AssumeRole',
      element('Credentials', credentials) +
        element('AssumedRoleUser', user) +
        (policy === undefined
          ? ''
          : element('PackedPolicySize', String(Math.ceil((policy.length * 100) / MAX_POLICY_CHARS)))),
      requestId,
    );
  };

  const service: QueryAwsService = {
    protocol: AwsProtocol.query,
    signingName: 'sts',
    xmlNamespace: STS_NAMESPACE,
    handle: async (request, operation) => {
      if (operation === 'AssumeRole') return assumeRole(request.params, request.requestId);
      if (operation === 'GetCallerIdentity') {
        const { caller } = request;
        return respond(
          'GetCallerIdentity',
          element('UserId', escapeXml(userIdOf(caller))) +
            element('Account', LOCAL_ACCOUNT) +
            element('Arn', escapeXml(caller.principalArn)),
          request.requestId,
        );
      }
      throw new AwsProtocolError(
        'InvalidAction',
        `Could not find operation ${operation} for version 2011-06-15`,
        400,
      );
    },
  };

  return {
    service,
    find: (accessKeyId) => sessions.get(accessKeyId),
  };
}
