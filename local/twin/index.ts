/** The local twin's public surface, for the CLI, the REST API wiring and the tests. */

export type { JwtAuthorizerContext } from '../aws/apigateway/http-api.ts';
export { fromApiGatewayResult, matchRoute, toApiGatewayEvent } from '../aws/apigateway/http-api.ts';
export type { ExtensionAwsService } from '../aws/front/aws-front.ts';
export type { AwsCredentials } from '../aws/front/credentials.ts';
export type { OutboxEntry } from '../product/chat/outbox.ts';
export { OUTBOX_PATHS } from '../product/chat/outbox.ts';
export type { TwinRequest, TwinResponse } from './http.ts';
export { jsonResponse, parseBody } from './http.ts';
export { LOCAL_ACCOUNT, LOCAL_REGION } from './intrinsics.ts';
export { DataDirLockedError } from './lock.ts';
export type {
  JwtAuthorizer,
  RunningTwin,
  StartTwinOptions,
  TwinContext,
  TwinExtension,
  TwinRoute,
} from './server.ts';
export { DEFAULT_PORT, startTwin, stopOnSignals } from './server.ts';
export type { TwinFunction, TwinHttpApiRoute, TwinStack } from './template.ts';
