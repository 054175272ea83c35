/**
 * API Gateway's IAM authorizer for HTTP API routes with `AuthorizationType: AWS_IAM`: the caller
 * signs with SigV4 (service `execute-api`), the signature and key are checked as the AWS front
 * checks them, the caller must be allowed `execute-api:Invoke`, and the function receives who it is
 * in `requestContext.authorizer.iam`, as API Gateway (payload format 2.0) gives it. Anything else
 * is refused with 403, as API Gateway refuses it, before the function runs.
 */
import type { APIGatewayEventRequestContextIAMAuthorizer } from 'aws-lambda';
import { EXECUTE_API_SIGNING_NAME } from '../../../lambdas/domain/agent-api.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../cloudformation/intrinsics.ts';
import { authenticate } from '../front/authenticate.ts';
import { type KeyRing, userIdOf } from '../front/credentials.ts';
import type { AwsAuthorizer, AwsCaller } from '../front/service.ts';
import { SigV4Error, SigV4Failure } from '../front/sigv4.ts';
import type { TwinRequest } from '../http.ts';

export type IamAuthorizerContext = APIGatewayEventRequestContextIAMAuthorizer['iam'];

/** The context the function gets, or the message API Gateway answers 403 with. */
export type IamAuthorization = { readonly iam: IamAuthorizerContext } | { readonly refused: string };

function contextOf(caller: AwsCaller): IamAuthorizerContext {
  const userId = userIdOf(caller);
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
      const action = 'execute-api:Invoke';
      // API Gateway's resource: the route's ARN (the twin's one API, any stage).
      const resource = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:*/*/${request.method}${request.path}`;
      if (!options.authorize(caller, action, [{ action, resource }])) {
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
