/**
 * The executor's Query calls against moto's STS and IAM, with the SDK's clients as the oracle: the
 * executor (roleSessionExecutor, STS and IAM at moto through AWS_ENDPOINT_URL) and the SDK clients
 * (AssumeRole, then AttachRolePolicy with the session's credentials) attach the same policy to two
 * roles, which then list the same attached policies; an unknown role or policy is refused with the
 * same error code both ways (recorded as the executor's failure, with moto's request id). Without
 * moto_server this file prints one line saying so and runs nothing.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleSessionExecutor } from '../../../lambdas/adapters/executors/role-session-executor.ts';
import {
  type ExecutableAction,
  ExecutableActionName,
  sessionPolicyFor,
} from '../../../lambdas/domain/executors.ts';
import { checkOracle, type RunningMoto, startMoto } from '../../support/oracles.ts';
import { setEnvironment } from '../../workflow/support/handler-environment.ts';

const moto = checkOracle('moto_server', 'the executor’s STS and IAM calls against moto');
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const FUNCTION_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const EXECUTOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/countersign-executor`;
/** A customer managed policy (moto loads no AWS managed ones unless told to). */
const POLICY = `arn:aws:iam::${ACCOUNT}:policy/countersign-read-invoices`;
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
  ],
});

let server: RunningMoto | undefined;
let restoreEnvironment: (() => void) | undefined;
let admin: IAMClient;

type Attachment = Extract<ExecutableAction, { roleName: string }>;

const attachment = (roleName: string, policyArn = POLICY): Attachment => ({
  action: ExecutableActionName.attachRolePolicy,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
  roleName,
  policyArn,
});

/** The same run through the SDK clients: the session's credentials, then the one call. */
async function throughTheSdk(action: Attachment) {
  const endpoint = server?.endpoint;
  const sts = new STSClient({ region: REGION, endpoint, credentials: FUNCTION_CREDENTIALS });
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: EXECUTOR_ROLE,
      RoleSessionName: 'invoice-bot=sdk',
      Policy: JSON.stringify(sessionPolicyFor(action)),
      DurationSeconds: 900,
    }),
  );
  const iam = new IAMClient({
    region: REGION,
    endpoint,
    credentials: {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    },
  });
  return iam
    .send(new AttachRolePolicyCommand({ RoleName: action.roleName, PolicyArn: action.policyArn }))
    .then(
      (output) => ({ requestId: output.$metadata.requestId }),
      // The SDK names its error class NoSuchEntityException; `Code` is what IAM sent (NoSuchEntity).
      (error: Error & { Code?: string }) => ({ code: error.Code }),
    );
}

async function attachedTo(roleName: string): Promise<string[]> {
  const { AttachedPolicies } = await admin.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }));
  return (AttachedPolicies ?? []).map(({ PolicyArn }) => PolicyArn ?? '');
}

beforeAll(async () => {
  if (!moto.available) return;
  server = await startMoto();
  restoreEnvironment = setEnvironment({
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: FUNCTION_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FUNCTION_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL: server.endpoint,
  });
  admin = new IAMClient({ region: REGION, endpoint: server.endpoint, credentials: FUNCTION_CREDENTIALS });
  await admin.send(
    new CreatePolicyCommand({
      PolicyName: 'countersign-read-invoices',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::finance-invoices/*' }],
      }),
    }),
  );
  for (const name of ['countersign-executor', 'ours-deployer', 'sdk-deployer']) {
    await admin.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }));
  }
}, 120_000);

afterAll(async () => {
  restoreEnvironment?.();
  await server?.stop();
});

describe.runIf(moto.available)('the executor and the SDK clients against moto', () => {
  it('attach the same policy: the role lists it either way', async () => {
    const ours = await roleSessionExecutor(EXECUTOR_ROLE).run(
      attachment('ours-deployer'),
      'invoice-bot=ours',
    );
    const sdk = await throughTheSdk(attachment('sdk-deployer'));
    expect(ours).toEqual({ awsRequestId: expect.any(String) });
    expect(sdk).toEqual({ requestId: expect.any(String) });
    expect(await attachedTo('ours-deployer')).toEqual([POLICY]);
    expect(await attachedTo('ours-deployer')).toEqual(await attachedTo('sdk-deployer'));
  });

  it.each([
    ['an unknown role', attachment('nobody')],
    ['an unknown policy', attachment('ours-deployer', `arn:aws:iam::${ACCOUNT}:policy/not-there`)],
  ])('refuse %s with the same error code', async (_, action) => {
    const ours = await roleSessionExecutor(EXECUTOR_ROLE).run(action, 'invoice-bot=ours');
    const sdk = await throughTheSdk(action);
    expect('code' in sdk).toBe(true);
    expect(ours).toEqual({
      failure: { error: expect.stringMatching(/^\w+: /), awsRequestId: expect.any(String) },
    });
    const code = 'failure' in ours ? ours.failure.error.split(':')[0] : undefined;
    expect(code).toBe((sdk as { code: string }).code);
  });
});
