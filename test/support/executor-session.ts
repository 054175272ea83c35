/**
 * The AWS side of an executed export, for tests that run the executor function's code in process:
 * STS (a local Query endpoint checking the functions' signature, at AWS_ENDPOINT_URL_STS) grants
 * the executor role's session, S3 (mocked at the SDK) copies the object and answers its request id.
 */
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { TEST_FUNCTION_CREDENTIALS } from '../workflow/support/handler-environment.ts';
import { type QueryReply, querySuccess, startQueryServer } from './query-server.ts';

/** The request id S3 answers for every copy. */
export const COPY_REQUEST_ID = 'copy-request-1';

const grantedSession = querySuccess(
  'AssumeRole',
  '<Credentials><AccessKeyId>ASIAEXECUTOR</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>' +
    `<SessionToken>token</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials>`,
  'assume-request-1',
);

export async function startExecutorSession() {
  const sts = await startQueryServer({
    signingName: 'sts',
    secrets: { [TEST_FUNCTION_CREDENTIALS.accessKeyId]: TEST_FUNCTION_CREDENTIALS.secretAccessKey },
    answer: grantedSession,
  });
  const s3 = mockClient(S3Client);
  return {
    s3,
    /** The environment pointing the executor function's STS calls here. */
    environment: { AWS_ENDPOINT_URL_STS: sts.endpoint },
    /** The AssumeRole calls STS received (validly signed by the functions' role: others fail). */
    assumeRoleCalls(): Readonly<Record<string, string>>[] {
      const calls = sts.received.filter(({ action }) => action === 'AssumeRole');
      const unsigned = calls.find(({ signedBy }) => signedBy !== TEST_FUNCTION_CREDENTIALS.accessKeyId);
      if (unsigned !== undefined)
        throw new Error(`AssumeRole not signed by the functions: ${unsigned.signatureError}`);
      return calls.map(({ parameters }) => parameters);
    },
    /** How STS answers the next AssumeRole calls, before it grants sessions again. */
    stsAnswers(answers: QueryReply[]): void {
      sts.answers = answers;
    },
    /** Forgets the calls and answers again as a session that works. */
    reset(): void {
      sts.received.length = 0;
      sts.answers = [];
      s3.reset();
      s3.on(CopyObjectCommand).resolves({ $metadata: { requestId: COPY_REQUEST_ID } });
    },
    async close(): Promise<void> {
      s3.restore();
      await sts.close();
    },
  };
}
