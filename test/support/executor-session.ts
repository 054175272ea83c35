/**
 * The AWS side of an executed export, mocked for tests that run the executor function's code in
 * process: STS grants the executor role's session, S3 copies the object and answers its request id.
 */
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

/** The request id S3 answers for every copy. */
export const COPY_REQUEST_ID = 'copy-request-1';

export function mockExecutorSession() {
  const sts = mockClient(STSClient);
  const s3 = mockClient(S3Client);
  return {
    sts,
    s3,
    /** Forgets the calls and answers again as a session that works. */
    reset(): void {
      sts.reset();
      sts.on(AssumeRoleCommand).resolves({
        Credentials: {
          AccessKeyId: 'ASIAEXECUTOR',
          SecretAccessKey: 'secret',
          SessionToken: 'token',
          Expiration: new Date(Date.now() + 900_000),
        },
      });
      s3.reset();
      s3.on(CopyObjectCommand).resolves({ $metadata: { requestId: COPY_REQUEST_ID } });
    },
  };
}
