/**
 * API Gateway's IAM authorizer for HTTP API routes with `AuthorizationType: AWS_IAM`: the caller
 * signs with SigV4 (service `execute-api`), the signature and key are checked as the AWS front
 * checks them, the caller must be allowed `execute-api:Invoke`, and the function receives who it is
 * in `requestContext.authorizer.iam`, as API Gateway (payload format 2.0) gives it. Anything else
 * is refused with 403, as API Gateway refuses it, before the function runs.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayEventRequestContextIAMAuthorizer } from 'aws-lambda';
import { EXECUTE_API_SIGNING_NAME } from '../../../lambdas/domain/agent-api.ts';
import { LOCAL_ACCOUNT } from '../cloudformation/intrinsics.ts';
import { authenticate } from '../front/authenticate.ts';
import type { KeyRing } from '../front/credentials.ts';
import type { AwsAuthorizer, AwsCaller } from '../front/service.ts';
import { SigV4Error, SigV4Failure } from '../front/sigv4.ts';
import type { TwinRequest } from '../http.ts';

export type IamAuthorizerContext = APIGatewayEventRequestContextIAMAuthorizer['iam'];

/** The context the function gets, or the message API Gateway answers 403 with. */
export type IamAuthorization = { readonly iam: IamAuthorizerContext } | { readonly refused: string };

/** IAM's unique ids: `AIDA…` for a user, `AROA…` for a role (a session's is `AROA…:<session name>`). */
function uniqueId(prefix: string, arn: string): string {
  return `${prefix}${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;
}

function contextOf(caller: AwsCaller): IamAuthorizerContext {
  const userId =
    caller.kind === 'session'
      ? `${uniqueId('AROA', caller.roleArn)}:${caller.sessionName}`
      : uniqueId('AIDA', caller.principalArn);
  return {
    accessKey: caller.accessKeyId,
    accountId: LOCAL_ACCOUNT,
    callerId: userId,
    cognitoIdentity: null,
    // Not in an organization. (The type says string; API Gateway sends null then.)
    principalOrgId: null as unknown as string,
    userArn: caller.principalArn,
    userId,
  };
}

export function createIamAuthorizer(options: {
  /** The keys the twin knows (set once it serves). */
  readonly keys: () => KeyRing;
  readonly authorize: AwsAuthorizer;
}): (request: TwinRequest) => Promise<IamAuthorization> {
  return async (request) => {
    try {
      const { caller } = await authenticate(request, options.keys(), {
        service: EXECUTE_API_SIGNING_NAME,
        uriEscapePath: true,
        body: request.body,
      });
      if (!options.authorize(caller, 'execute-api:Invoke')) {
        return {
          refused: `User: ${caller.principalArn} is not authorized to perform: execute-api:Invoke on resource: ${request.method} ${request.path}`,
        };
      }
      return { iam: contextOf(caller) };
    } catch (error) {
      if (!(error instanceof SigV4Error)) throw error;
      return { refused: error.failure === SigV4Failure.missing ? 'Forbidden' : error.message };
    }
  };
}
