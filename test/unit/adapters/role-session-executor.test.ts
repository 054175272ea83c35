/**
 * The built-in executors as the executor function runs them (roleSessionExecutor, wired from the
 * environment): STS and IAM are local Query endpoints checking SigV4 (STS signed by the function's
 * role, IAM by the session STS granted, with its token), S3 is mocked at the SDK. A run assumes the
 * executor role with the action's session policy and makes exactly the approved call; what AWS
 * refuses is a failure with AWS's code, message and request id; a call whose outcome is unknown
 * throws; a session that cannot be had is a failure and nothing runs; the session's secret is
 * never in what is recorded.
 */
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsQueryError } from '../../../lambdas/adapters/aws-query.ts';
import { roleSessionExecutor } from '../../../lambdas/adapters/executors/role-session-executor.ts';
import {
  type ExecutableAction,
  ExecutableActionName,
  sessionPolicyFor,
} from '../../../lambdas/domain/executors.ts';
import { COPY_REQUEST_ID, startExecutorSession } from '../../support/executor-session.ts';
import { type QueryServer, queryError, querySuccess, startQueryServer } from '../../support/query-server.ts';
import { setEnvironment, TEST_FUNCTION_CREDENTIALS } from '../../workflow/support/handler-environment.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/countersign-executor';
const SESSION = 'invoice-bot=export-1';
const ATTACH: ExecutableAction = {
  action: ExecutableActionName.attachRolePolicy,
  roleArn: 'arn:aws:iam::123456789012:role/payments-deployer',
  roleName: 'payments-deployer',
  policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
};
const COPY: ExecutableAction = {
  action: ExecutableActionName.copyObject,
  partition: 'aws',
  source: { bucket: 'finance-invoices', key: '2026/11/ledger 1.csv', versionId: 'v1' },
  destination: { bucket: 'partner-exchange-eu', key: 'inbound/ledger.csv' },
};

let session: Awaited<ReturnType<typeof startExecutorSession>>;
let iam: QueryServer;
let restoreEnvironment: () => void;

beforeAll(async () => {
  session = await startExecutorSession();
  // The session the executor-session STS grants: ASIAEXECUTOR / secret / token.
  iam = await startQueryServer({
    signingName: 'iam',
    secrets: { ASIAEXECUTOR: 'secret' },
    answer: querySuccess('AttachRolePolicy', '', 'attach-request-1'),
  });
  restoreEnvironment = setEnvironment({
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: TEST_FUNCTION_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_FUNCTION_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_IAM: iam.endpoint,
    ...session.environment,
  });
});

afterAll(async () => {
  restoreEnvironment();
  await session.close();
  await iam.close();
});

beforeEach(() => {
  session.reset();
  iam.received.length = 0;
  iam.answers = [];
});

const run = (action: ExecutableAction) => roleSessionExecutor(ROLE_ARN).run(action, SESSION);

describe('roleSessionExecutor', () => {
  it('attaches the policy in a session scoped to exactly that call, signed with the session', async () => {
    await expect(run(ATTACH)).resolves.toEqual({ awsRequestId: 'attach-request-1' });
    expect(session.assumeRoleCalls()).toEqual([
      {
        Action: 'AssumeRole',
        Version: '2011-06-15',
        RoleArn: ROLE_ARN,
        RoleSessionName: SESSION,
        Policy: JSON.stringify(sessionPolicyFor(ATTACH)),
        DurationSeconds: '900',
      },
    ]);
    const [attached] = iam.received;
    expect(attached?.signatureError).toBeUndefined();
    expect(attached?.signedBy).toBe('ASIAEXECUTOR');
    expect(attached?.headers['x-amz-security-token']).toBe('token');
    expect(attached?.parameters).toEqual({
      Action: 'AttachRolePolicy',
      Version: '2010-05-08',
      RoleName: 'payments-deployer',
      PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    });
  });

  it('copies the approved object with the session’s S3 client', async () => {
    await expect(run(COPY)).resolves.toEqual({ awsRequestId: COPY_REQUEST_ID });
    expect(session.s3.commandCalls(CopyObjectCommand).map((call) => call.args[0].input)).toEqual([
      {
        Bucket: 'partner-exchange-eu',
        Key: 'inbound/ledger.csv',
        CopySource: 'finance-invoices/2026/11/ledger%201.csv?versionId=v1',
      },
    ]);
    expect(iam.received).toEqual([]);
  });

  it('records what IAM refuses as a failure with its code, message and request id', async () => {
    iam.answers = [queryError(404, 'NoSuchEntity', 'The role cannot be found.', 'refused-1')];
    const result = await run(ATTACH);
    expect(result).toEqual({
      failure: { error: 'NoSuchEntity: The role cannot be found.', awsRequestId: 'refused-1' },
    });
    expect(JSON.stringify(result)).not.toContain('secret');
    expect(iam.received).toHaveLength(1);
  });

  it('records a call IAM still throttles after three attempts as a failure: it did not run', async () => {
    iam.answers = [1, 2, 3].map((n) => queryError(400, 'Throttling', 'Rate exceeded', `throttled-${n}`));
    await expect(run(ATTACH)).resolves.toEqual({
      failure: { error: 'Throttling: Rate exceeded', awsRequestId: 'throttled-3' },
    });
    expect(iam.received).toHaveLength(3);
  });

  it('throws when IAM’s outcome cannot be known (a server error, three times)', async () => {
    iam.answers = [500, 503, 500].map((status) => queryError(status, 'ServiceFailure', 'try later'));
    await expect(run(ATTACH)).rejects.toBeInstanceOf(AwsQueryError);
    expect(iam.received).toHaveLength(3);
  });

  it('throws when IAM refuses a retry of an attempt whose outcome is unknown: the first may have attached it', async () => {
    iam.answers = [
      queryError(500, 'ServiceFailure', 'try later'),
      queryError(400, 'Throttling', 'Rate exceeded', 'throttled-2'),
      queryError(400, 'Throttling', 'Rate exceeded', 'throttled-3'),
    ];
    const error = await run(ATTACH).then(
      (result) => result,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(AwsQueryError);
    expect((error as AwsQueryError).outcome).toBe('unknown');
    expect(iam.received).toHaveLength(3);
  });

  it('attaches the policy when a retry after an unknown outcome succeeds (attaching is idempotent)', async () => {
    iam.answers = [
      queryError(503, 'ServiceUnavailable', 'try later'),
      querySuccess('AttachRolePolicy', '', 'attach-retried'),
    ];
    await expect(run(ATTACH)).resolves.toEqual({ awsRequestId: 'attach-retried' });
    expect(iam.received).toHaveLength(2);
  });

  it('runs nothing and records a failure when the role cannot be assumed', async () => {
    session.stsAnswers([
      queryError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRole', 'sts-1'),
    ]);
    await expect(run(ATTACH)).resolves.toEqual({
      failure: { error: 'AccessDenied: Not authorized to perform sts:AssumeRole', awsRequestId: 'sts-1' },
    });
    session.stsAnswers([querySuccess('AssumeRole', '<AssumedRoleUser><Arn>a</Arn></AssumedRoleUser>')]);
    await expect(run(ATTACH)).resolves.toEqual({
      failure: { error: 'the executor role could not be assumed: STS returned no credentials' },
    });
    expect(iam.received).toEqual([]);
  });

  it('runs nothing and records a failure when STS cannot be reached', async () => {
    const restore = setEnvironment({ AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1' });
    try {
      const result = await run(ATTACH);
      expect(result).toMatchObject({
        failure: { error: expect.stringMatching(/^the executor role could not be assumed/) },
      });
    } finally {
      restore();
    }
    expect(iam.received).toEqual([]);
  });
});
