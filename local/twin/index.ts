/** The local twin's public surface, for the CLI, the REST API wiring and the tests. */
export type { ExtensionAwsService } from './aws-front.ts';
export type { AwsCredentials } from './credentials.ts';
export type { TwinRequest, TwinResponse } from './http.ts';
export { jsonResponse, parseBody } from './http.ts';
export type { JwtAuthorizerContext } from './http-api.ts';
export { fromApiGatewayResult, matchRoute, toApiGatewayEvent } from './http-api.ts';
export { LOCAL_ACCOUNT, LOCAL_REGION } from './intrinsics.ts';
export { DataDirLockedError } from './lock.ts';
export type { OutboxEntry } from './outbox.ts';
export { OUTBOX_PATHS } from './outbox.ts';
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
