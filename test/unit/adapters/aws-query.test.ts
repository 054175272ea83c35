/**
 * AWS's Query protocol as the executor function speaks it to STS and IAM, with the SDK's clients
 * (`@aws-sdk/client-sts`, `client-iam`, devDependencies) as the oracle: for Regions across every
 * partition, the endpoint and signing Region must be the ones the SDK client itself signs a request
 * for; against a local endpoint checking SigV4, the same call must arrive as the SDK client sends
 * it. Then the answers: the XML result and request id, AWS's errors (code, message, request id,
 * whether it ran), retries as the SDK's standard mode (throttling, 5xx, no answer: three attempts),
 * none for a refusal, and one deadline for all attempts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AttachRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AwsQueryError,
  QUERY_APIS,
  type QueryApi,
  queryClient,
  queryEndpointFromEnvironment,
} from '../../../lambdas/adapters/aws-query.ts';
import { CountersignError } from '../../../lambdas/domain/errors.ts';
import {
  type QueryReply,
  type QueryServer,
  queryError,
  querySuccess,
  startQueryServer,
  xmlAnswer,
} from '../../support/query-server.ts';

const CREDENTIALS = {
  accessKeyId: 'ASIASESSIONTEST',
  secretAccessKey: 'session-secret',
  sessionToken: 'token-1',
};
const REGIONS = [
  'us-east-1',
  'eu-west-3',
  'ap-southeast-7',
  'aws-global',
  'cn-north-1',
  'cn-northwest-1',
  'us-gov-west-1',
  'us-gov-east-1',
  'us-iso-east-1',
  'us-iso-west-1',
  'us-isob-east-1',
  'eu-isoe-west-1',
  'us-isof-south-1',
  'eusc-de-east-1',
];

interface CapturedRequest {
  readonly protocol: string;
  readonly hostname: string;
  readonly headers: Record<string, string>;
}

/** Where the SDK client sends (and for which Region it signs) a request, without sending it. */
async function sdkTarget(client: STSClient | IAMClient, send: () => Promise<unknown>) {
  let captured: CapturedRequest | undefined;
  client.config.requestHandler = {
    handle: async (request: CapturedRequest) => {
      captured = request;
      throw new Error('captured');
    },
  } as unknown as typeof client.config.requestHandler;
  await send().catch(() => undefined);
  if (captured === undefined) throw new Error('the SDK client sent nothing');
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(captured.headers.authorization));
  return { url: `${captured.protocol}//${captured.hostname}`, signingRegion: scope?.[1] };
}

describe('endpoints, as the SDK clients resolve them', () => {
  it.each(REGIONS)(
    '%s: STS and IAM go where the SDK clients go, signed for the same Region',
    async (region) => {
      const options = { region, credentials: CREDENTIALS, maxAttempts: 1 };
      const sts = new STSClient(options);
      const iam = new IAMClient(options);
      const sdkSts = await sdkTarget(sts, () =>
        sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::1:role/r', RoleSessionName: 's' })),
      );
      const sdkIam = await sdkTarget(iam, () =>
        iam.send(new AttachRolePolicyCommand({ RoleName: 'r', PolicyArn: 'arn:aws:iam::aws:policy/p' })),
      );
      expect(queryEndpointFromEnvironment(QUERY_APIS.sts, { AWS_REGION: region })).toEqual(sdkSts);
      expect(queryEndpointFromEnvironment(QUERY_APIS.iam, { AWS_REGION: region })).toEqual(sdkIam);
    },
  );

  it('uses the service’s endpoint variable first, then the general one, signed for AWS_REGION', () => {
    const env = {
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_IAM: 'http://127.0.0.1:2',
    };
    expect(queryEndpointFromEnvironment(QUERY_APIS.iam, env)).toEqual({
      url: 'http://127.0.0.1:2',
      signingRegion: 'eu-west-1',
    });
    expect(queryEndpointFromEnvironment(QUERY_APIS.sts, env)).toEqual({
      url: 'http://127.0.0.1:1',
      signingRegion: 'eu-west-1',
    });
    expect(() => queryEndpointFromEnvironment(QUERY_APIS.sts, {})).toThrow('AWS_REGION');
  });
});

let server: QueryServer;

beforeAll(async () => {
  server = await startQueryServer({
    signingName: 'iam',
    secrets: { [CREDENTIALS.accessKeyId]: CREDENTIALS.secretAccessKey },
    answer: querySuccess('AttachRolePolicy', ''),
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.received.length = 0;
  server.answers = [];
});

const iamAt = (url: string, timeoutMs = 5000, api: QueryApi = QUERY_APIS.iam) =>
  queryClient({ api, endpoint: { url, signingRegion: 'us-east-1' }, credentials: CREDENTIALS, timeoutMs });
const attach = (url = server.endpoint, timeoutMs?: number) =>
  iamAt(url, timeoutMs)('AttachRolePolicy', {
    RoleName: 'payments-deployer',
    PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
  });

describe('a Query call', () => {
  it('sends what the SDK’s IAM client sends, signed for iam with the session token', async () => {
    await expect(attach()).resolves.toEqual({ result: undefined, requestId: 'request-1' });
    const sdk = new IAMClient({
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    const answered = await sdk.send(
      new AttachRolePolicyCommand({
        RoleName: 'payments-deployer',
        PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      }),
    );
    expect(answered.$metadata.requestId).toBe('request-1');
    const [ours, oracle] = server.received;
    expect(ours?.signatureError).toBeUndefined();
    expect(oracle?.signatureError).toBeUndefined();
    expect(ours?.signedBy).toBe(CREDENTIALS.accessKeyId);
    expect(ours?.signingRegion).toBe(oracle?.signingRegion);
    expect(ours?.parameters).toEqual(oracle?.parameters);
    expect(ours?.parameters).toEqual({
      Action: 'AttachRolePolicy',
      Version: '2010-05-08',
      RoleName: 'payments-deployer',
      PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    });
    expect(ours?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(ours?.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(ours?.headers['x-amz-security-token']).toBe(oracle?.headers['x-amz-security-token']);
  });

  it('encodes a parameter as the SDK does (a session policy’s JSON)', async () => {
    const policy = JSON.stringify({
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: 'a b&c=d+e/ü' }],
    });
    const input = { RoleArn: 'arn:aws:iam::1:role/r', RoleSessionName: 'a=b,c@d', Policy: policy };
    server.answers = [querySuccess('AssumeRole', ''), querySuccess('AssumeRole', '')];
    await iamAt(server.endpoint, 5000, QUERY_APIS.sts)('AssumeRole', input);
    const sdk = new STSClient({ region: 'us-east-1', endpoint: server.endpoint, credentials: CREDENTIALS });
    await sdk.send(new AssumeRoleCommand(input));
    const [ours, oracle] = server.received;
    expect(ours?.parameters).toEqual({ Action: 'AssumeRole', Version: '2011-06-15', ...input });
    expect(ours?.parameters).toEqual(oracle?.parameters);
  });

  it('answers the result element and the request id from the XML', async () => {
    server.answers = [
      querySuccess(
        'AssumeRole',
        '<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s&amp;t</SecretAccessKey></Credentials>',
        'body-request-id',
      ),
    ];
    await expect(iamAt(server.endpoint)('AssumeRole', {})).resolves.toEqual({
      result: { Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's&t' } },
      requestId: 'body-request-id',
    });
  });

  it('fails with AWS’s code, message and request id when AWS refuses, and does not ask again', async () => {
    server.answers = [
      queryError(404, 'NoSuchEntity', 'The role with name payments-deployer cannot be found.'),
    ];
    const error = await attach().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(AwsQueryError);
    expect(error).toMatchObject({
      code: 'NoSuchEntity',
      status: 404,
      outcome: 'refused',
      requestId: 'error-request-1',
      message: 'NoSuchEntity: The role with name payments-deployer cannot be found.',
    });
    expect(server.received).toHaveLength(1);
  });

  it('reads an error in `<Errors><Error>` too, and one that is not XML by its status', async () => {
    server.answers = [
      xmlAnswer(
        403,
        '<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>no</Message></Error></Errors><RequestId>r-9</RequestId></ErrorResponse>',
      ),
      xmlAnswer(403, 'Forbidden', 'header-request-id'),
    ];
    await expect(attach()).rejects.toMatchObject({ code: 'AccessDenied', requestId: 'r-9' });
    await expect(attach()).rejects.toMatchObject({
      code: 'HTTP 403',
      outcome: 'refused',
      requestId: 'header-request-id',
    });
  });

  it('retries throttling and server errors, three attempts in all, as the SDK’s standard mode', async () => {
    server.answers = [
      queryError(400, 'Throttling', 'Rate exceeded'),
      queryError(503, 'ServiceUnavailable', 'x'),
    ];
    await expect(attach()).resolves.toMatchObject({ requestId: 'request-1' });
    expect(server.received).toHaveLength(3);
    server.received.length = 0;
    server.answers = [500, 502, 500, 200].map((status) => queryError(status, 'InternalFailure', 'oops'));
    await expect(attach()).rejects.toMatchObject({
      code: 'InternalFailure',
      status: 500,
      outcome: 'unknown',
    });
    expect(server.received).toHaveLength(3);
  });

  it('says the outcome is unknown when a retry after a server error is refused, refused when only throttled', async () => {
    server.answers = [
      queryError(500, 'InternalFailure', 'oops'),
      queryError(400, 'Throttling', 'Rate exceeded'),
      queryError(400, 'Throttling', 'Rate exceeded'),
    ];
    await expect(attach()).rejects.toMatchObject({ code: 'Throttling', status: 400, outcome: 'unknown' });
    server.answers = [
      queryError(400, 'Throttling', 'Rate exceeded'),
      queryError(400, 'Throttling', 'Rate exceeded'),
      queryError(400, 'Throttling', 'Rate exceeded'),
    ];
    await expect(attach()).rejects.toMatchObject({ code: 'Throttling', status: 400, outcome: 'refused' });
    expect(server.received).toHaveLength(6);
  });

  it('counts an answer without its Response element as no answer it can read, not as AWS’s refusal', async () => {
    server.answers = [xmlAnswer(200, '<SomethingElse/>'), xmlAnswer(200, 'not xml')];
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await attach().catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(CountersignError);
      expect(error).not.toBeInstanceOf(AwsQueryError);
    }
  });

  it('retries when the service cannot be reached, then throws what went wrong', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await attach(`http://127.0.0.1:${port}`).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(AwsQueryError);
  });

  it('gives up at its timeout, retries included', async () => {
    const silent: QueryReply = (response) => {
      setTimeout(() => querySuccess('AttachRolePolicy', '')(response, undefined as never), 2000);
    };
    server.answers = [silent, silent, silent];
    const started = Date.now();
    await expect(attach(server.endpoint, 500)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
