/** The local twin's public surface, for the product's composition, the CLI and the tests. */

export type { JwtAuthorizerContext } from '../aws/apigateway/http-api.ts';
export { fromApiGatewayResult, matchRoute, toApiGatewayEvent } from '../aws/apigateway/http-api.ts';
export { LOCAL_ACCOUNT, LOCAL_REGION } from '../aws/cloudformation/intrinsics.ts';
export type { TwinFunction, TwinHttpApiRoute, TwinStack } from '../aws/cloudformation/template.ts';
export type { ActiveFault, ChatFault, FaultInjector, FaultSpecInput } from '../aws/faults/injector.ts';
export { FaultSpec } from '../aws/faults/injector.ts';
export { FAULTS_SIGNING_NAME, FAULTS_TARGET_PREFIX } from '../aws/faults/service.ts';
export type { AgentKey } from '../aws/front/credentials.ts';
export { AwsCredentials, OPERATOR_CREDENTIALS_FILE } from '../aws/front/credentials.ts';
export type { AwsCaller, AwsPermission, AwsService } from '../aws/front/service.ts';
export type { TwinRequest, TwinResponse } from '../aws/http.ts';
export { jsonResponse, parseBody } from '../aws/http.ts';
export type { JwtAuthorizer, TwinContext, TwinExtension, TwinRoute } from './extension.ts';
export { combineExtensions } from './extension.ts';
export { DataDirLockedError } from './lock.ts';
export { ExposedBindError } from './server.ts';
export type { RunningTwin, StartTwinOptions } from './start.ts';
export { DEFAULT_PORT, startTwin } from './start.ts';
