/**
 * The built-in executors on AWS: each run assumes the executor role in a session named after the
 * request (`RoleSessionName`, as CloudTrail shows it) with a session policy allowing exactly the
 * approved call on exactly its resources (the role's permissions are the ceiling, the session policy
 * narrows them to this one action), then makes that one call with the session's credentials.
 * What AWS refuses is a failure with AWS's error code and message; a call whose outcome cannot be
 * known (a server error, a lost connection) throws, and the service never runs it again.
 */
import { AttachRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { type ExecutableAction, ExecutableActionName, sessionPolicyFor } from '../../domain/executors.ts';
import type { ActionExecutor, ExecutionFailure, ExecutionResult } from '../../ports/index.ts';

/** The shortest session STS grants: the one call needs seconds. */
const SESSION_SECONDS = 900;

interface SessionCredentials {
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

function failureOf(error: ServiceError): ExecutionFailure {
  const awsRequestId = error.$metadata?.requestId;
  return {
    error: `${error.name}: ${error.message}`,
    ...(awsRequestId === undefined ? {} : { awsRequestId }),
  };
}

/** The AWS clients a session's credentials make; the defaults reach AWS (or AWS_ENDPOINT_URL). */
export interface SessionClients {
  s3(credentials: SessionCredentials): Pick<S3Client, 'send' | 'destroy'>;
  iam(credentials: SessionCredentials): Pick<IAMClient, 'send' | 'destroy'>;
}

export const DEFAULT_SESSION_CLIENTS: SessionClients = {
  // Path-style reaches every bucket name (dots included) and the twin's S3; a bucket in another
  // Region is followed there.
  s3: (credentials) => new S3Client({ credentials, forcePathStyle: true, followRegionRedirects: true }),
  iam: (credentials) => new IAMClient({ credentials }),
};

export interface RoleSessionExecutorOptions {
  readonly sts: Pick<STSClient, 'send'>;
  /** The executor role (`ActionExecutor`'s role in the stack). */
  readonly roleArn: string;
  /** @default DEFAULT_SESSION_CLIENTS */
  readonly clients?: SessionClients;
}

export class RoleSessionExecutor implements ActionExecutor {
  readonly #sts: Pick<STSClient, 'send'>;
  readonly #roleArn: string;
  readonly #clients: SessionClients;

  constructor(options: RoleSessionExecutorOptions) {
    this.#sts = options.sts;
    this.#roleArn = options.roleArn;
    this.#clients = options.clients ?? DEFAULT_SESSION_CLIENTS;
  }

  async run(action: ExecutableAction, sessionName: string): Promise<ExecutionResult> {
    let credentials: SessionCredentials;
    try {
      credentials = await this.#assume(action, sessionName);
    } catch (error) {
      // Without a session nothing ran, whatever went wrong.
      return {
        failure: isServiceError(error)
          ? failureOf(error)
          : { error: `the executor role could not be assumed: ${(error as Error).message}` },
      };
    }
    try {
      const awsRequestId = await this.#call(action, credentials);
      return awsRequestId === undefined ? {} : { awsRequestId };
    } catch (error) {
      // AWS refused the call (4xx): it did not run. Anything else leaves the outcome unknown.
      if (isServiceError(error) && error.$fault === 'client') return { failure: failureOf(error) };
      throw error;
    }
  }

  async #assume(action: ExecutableAction, sessionName: string): Promise<SessionCredentials> {
    const { Credentials } = await this.#sts.send(
      new AssumeRoleCommand({
        RoleArn: this.#roleArn,
        RoleSessionName: sessionName,
        Policy: JSON.stringify(sessionPolicyFor(action)),
        DurationSeconds: SESSION_SECONDS,
      }),
    );
    if (
      Credentials?.AccessKeyId === undefined ||
      Credentials.SecretAccessKey === undefined ||
      Credentials.SessionToken === undefined
    ) {
      throw new Error('STS returned no credentials');
    }
    return {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretAccessKey,
      sessionToken: Credentials.SessionToken,
    };
  }

  /** Makes the one approved call; returns its AWS request id. */
  async #call(action: ExecutableAction, credentials: SessionCredentials): Promise<string | undefined> {
    if (action.action === ExecutableActionName.copyObject) {
      const s3 = this.#clients.s3(credentials);
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
    const iam = this.#clients.iam(credentials);
    try {
      const output = await iam.send(
        new AttachRolePolicyCommand({ RoleName: action.roleName, PolicyArn: action.policyArn }),
      );
      return output.$metadata.requestId;
    } finally {
      iam.destroy();
    }
  }
}

/** S3's CopySource: the key URL-encoded segment by segment (its slashes stay). */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
