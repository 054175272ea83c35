/**
 * The built-in executors on AWS: each run assumes the executor role in a session named after the
 * request (`RoleSessionName`, as CloudTrail shows it) with a session policy allowing exactly the
 * approved call on exactly its resources (the role's permissions are the ceiling, the session policy
 * narrows them to this one action), then makes that one call with the session's credentials.
 * STS and IAM are called through their Query API (../aws-query.ts), S3 through its client.
 * What AWS refuses (4xx, a throttle still refused after the retries included: it did not run) is a
 * failure with AWS's error code, message and request id; a call whose outcome cannot be known (a
 * server error, a lost connection, the deadline, or a refusal of a retry after an attempt that got
 * one of those, which may have run the call) throws, and the service never runs it again.
 */
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type ExecutableAction, ExecutableActionName, sessionPolicyFor } from '../../domain/executors.ts';
import * as z from '../../domain/zod.ts';
import type { ActionExecutor, ExecutionFailure, ExecutionResult } from '../../ports/index.ts';
import {
  AwsQueryError,
  QUERY_APIS,
  type QueryCall,
  queryClient,
  queryEndpointFromEnvironment,
} from '../aws-query.ts';

/** The shortest session STS grants: the one call needs seconds. */
const SESSION_SECONDS = 900;
/**
 * How long AssumeRole and AttachRolePolicy may take, retries included: together well within the
 * executor function's 60 s, so a call that hangs is reported rather than the function killed.
 */
const STS_TIMEOUT_MS = 10_000;
const IAM_TIMEOUT_MS = 20_000;

/** `<AssumeRoleResult><Credentials>`: the session's key. */
const AssumeRoleResult = z.object({
  Credentials: z.object({
    AccessKeyId: z.string().check(z.minLength(1)),
    SecretAccessKey: z.string().check(z.minLength(1)),
    SessionToken: z.string().check(z.minLength(1)),
  }),
});

export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** What an AWS SDK error says of itself: its code, message, request id and whose fault it was. */
interface ServiceError {
  readonly name: string;
  readonly message: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly requestId?: string };
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && '$metadata' in error;
}

/** What AWS refused, as recorded: its code and message, and its request id. */
function failureOf(error: ServiceError | AwsQueryError): ExecutionFailure {
  const awsRequestId = error instanceof AwsQueryError ? error.requestId : error.$metadata?.requestId;
  return {
    error: error instanceof AwsQueryError ? error.message : `${error.name}: ${error.message}`,
    ...(awsRequestId === undefined ? {} : { awsRequestId }),
  };
}

/** Whether AWS refused the call (4xx, and no earlier attempt may have run it), so that it did not run. */
function refused(error: unknown): error is ServiceError | AwsQueryError {
  return error instanceof AwsQueryError
    ? error.outcome === 'refused'
    : isServiceError(error) && error.$fault === 'client';
}

/** An S3 client for a session's credentials. */
export type SessionS3 = (credentials: SessionCredentials) => Pick<S3Client, 'send' | 'destroy'>;

/** Path-style reaches every bucket name (dots included) and the twin's S3; a bucket in another Region is followed there. */
const sessionS3: SessionS3 = (credentials) =>
  new S3Client({ credentials, forcePathStyle: true, followRegionRedirects: true });

export interface RoleSessionExecutorOptions {
  /** The executor role (`ActionExecutor`'s role in the stack). */
  readonly roleArn: string;
  /** STS, with the function's own credentials. */
  readonly sts: QueryCall;
  /** IAM, with a session's credentials. */
  readonly iam: (credentials: SessionCredentials) => QueryCall;
  /** @default sessionS3 */
  readonly s3?: SessionS3;
}

export class RoleSessionExecutor implements ActionExecutor {
  readonly #options: RoleSessionExecutorOptions;
  readonly #s3: SessionS3;

  constructor(options: RoleSessionExecutorOptions) {
    this.#options = options;
    this.#s3 = options.s3 ?? sessionS3;
  }

  async run(action: ExecutableAction, sessionName: string): Promise<ExecutionResult> {
    let credentials: SessionCredentials;
    try {
      credentials = await this.#assume(action, sessionName);
    } catch (error) {
      // Without a session nothing ran, whatever went wrong.
      return {
        failure:
          error instanceof AwsQueryError
            ? failureOf(error)
            : { error: `the executor role could not be assumed: ${(error as Error).message}` },
      };
    }
    try {
      const awsRequestId = await this.#call(action, credentials);
      return awsRequestId === undefined ? {} : { awsRequestId };
    } catch (error) {
      // AWS refused the call (4xx) and no earlier attempt may have run it: it did not run.
      // Anything else leaves the outcome unknown.
      if (refused(error)) return { failure: failureOf(error) };
      throw error;
    }
  }

  async #assume(action: ExecutableAction, sessionName: string): Promise<SessionCredentials> {
    const { result } = await this.#options.sts('AssumeRole', {
      RoleArn: this.#options.roleArn,
      RoleSessionName: sessionName,
      Policy: JSON.stringify(sessionPolicyFor(action)),
      DurationSeconds: String(SESSION_SECONDS),
    });
    const assumed = AssumeRoleResult.safeParse(result);
    if (!assumed.success) throw new Error('STS returned no credentials');
    const { AccessKeyId, SecretAccessKey, SessionToken } = assumed.data.Credentials;
    return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken };
  }

  /** Makes the one approved call; returns its AWS request id. */
  async #call(action: ExecutableAction, credentials: SessionCredentials): Promise<string | undefined> {
    if (action.action === ExecutableActionName.copyObject) {
      const s3 = this.#s3(credentials);
      try {
        const { source, destination } = action;
        const copySource = `${encodeURIComponent(source.bucket)}/${encodeKey(source.key)}${
          source.versionId === undefined ? '' : `?versionId=${encodeURIComponent(source.versionId)}`
        }`;
        const output = await s3.send(
          new CopyObjectCommand({ Bucket: destination.bucket, Key: destination.key, CopySource: copySource }),
        );
        return output.$metadata.requestId;
      } finally {
        s3.destroy();
      }
    }
    const { requestId } = await this.#options.iam(credentials)('AttachRolePolicy', {
      RoleName: action.roleName,
      PolicyArn: action.policyArn,
    });
    return requestId;
  }
}

/**
 * The executor as the executor function runs it: STS with the function's credentials and IAM with
 * the session's, where the SDK would reach them in this process (aws-query.ts), S3 through its client.
 */
export function roleSessionExecutor(
  roleArn: string,
  env: NodeJS.ProcessEnv = process.env,
): RoleSessionExecutor {
  const iamEndpoint = queryEndpointFromEnvironment(QUERY_APIS.iam, env);
  return new RoleSessionExecutor({
    roleArn,
    sts: queryClient({
      api: QUERY_APIS.sts,
      endpoint: queryEndpointFromEnvironment(QUERY_APIS.sts, env),
      timeoutMs: STS_TIMEOUT_MS,
    }),
    iam: (credentials) =>
      queryClient({ api: QUERY_APIS.iam, endpoint: iamEndpoint, credentials, timeoutMs: IAM_TIMEOUT_MS }),
  });
}

/** S3's CopySource: the key URL-encoded segment by segment (its slashes stay). */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
