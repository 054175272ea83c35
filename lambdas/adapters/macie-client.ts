/**
 * The Macie client, in a module of its own: only the classification jobs function builds one, and
 * `fromTemporaryCredentials` loads STS with a dynamic `import()`, which makes esbuild wrap every
 * module that STS client reaches (~270 of the SDK's core) in a lazily run closure, parsed once more
 * when it runs at init. Beside the other clients (aws-clients.ts) every handler paid for that.
 */
import { Macie2Client } from '@aws-sdk/client-macie2';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

/**
 * Macie, with the function's own credentials, or (when Macie is administered from another account)
 * with a role there that the function assumes.
 */
export function createMacieClient(jobRoleArn?: string): Macie2Client {
  return new Macie2Client(
    jobRoleArn === undefined
      ? {}
      : {
          credentials: fromTemporaryCredentials({
            params: { RoleArn: jobRoleArn, RoleSessionName: 'countersign-classification' },
          }),
        },
  );
}
