/**
 * The AWS JSON protocols on the twin's port, told apart by `X-Amz-Target`: EventBridge
 * (`AWSEvents.*`, JSON 1.1), Step Functions (`AWSStepFunctions.*`, JSON 1.0) and DynamoDB
 * (`DynamoDB_20120810.*`, JSON 1.0, forwarded to the embedded dynalite). Every request must carry
 * a valid SigV4 signature from a configured key; agents may only put events. Errors leave in the
 * services' JSON error shape so the SDK clients raise their own exception classes.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { TwinRequest, TwinResponse } from '../../twin/http.ts';
import { LOCAL_ACCOUNT } from '../../twin/intrinsics.ts';
import type { LocalEventBus, PutEventsEntry } from '../events/event-bus.ts';
import { compilePattern, InvalidEventPatternError } from '../events/pattern/index.ts';
import { StepFunctionsError } from '../states/errors.ts';
import type { LocalStepFunctions } from '../states/step-functions.ts';
import type { CallerPrincipal, KeyRing } from './credentials.ts';
import { AwsErrorType, AwsProtocolError } from './errors.ts';
import { verifySigV4 } from './sigv4.ts';

/**
 * An AWS JSON-protocol service served outside the core (e.g. Secrets Manager by the chat twin),
 * contributed by a twin extension under its `X-Amz-Target` prefix. The front verifies the SigV4
 * signature and refuses agents before it hands the request over, as for the core services.
 */
export interface ExtensionAwsService extends AwsService {
  handle(request: TwinRequest, caller: CallerPrincipal): Promise<TwinResponse>;
}

export interface AwsFrontServices {
  readonly keys: KeyRing;
  readonly eventBus: LocalEventBus;
  readonly stepFunctions: LocalStepFunctions;
  /** The embedded DynamoDB the front forwards to. */
  readonly dynamoEndpoint: string;
  /** More services by target prefix (`secretsmanager` for `secretsmanager.GetSecretValue`). */
  readonly extensions?: Readonly<Record<string, ExtensionAwsService>>;
  readonly log: (line: string) => void;
}

export interface AwsService {
  /** SigV4 signing name. */
  readonly signingName: string;
  readonly contentType: string;
}

const SERVICES: Record<string, AwsService> = {
  AWSEvents: { signingName: 'events', contentType: 'application/x-amz-json-1.1' },
  AWSStepFunctions: { signingName: 'states', contentType: 'application/x-amz-json-1.0' },
  DynamoDB_20120810: { signingName: 'dynamodb', contentType: 'application/x-amz-json-1.0' },
};

/** The `X-Amz-Target` prefixes the core serves; an extension may not take one over. */
export const CORE_TARGET_PREFIXES: readonly string[] = Object.keys(SERVICES);

/** What an agent's role allows in the deployed stack: putting events, nothing else. */
const AGENT_OPERATIONS = new Set(['AWSEvents.PutEvents']);

type Operation = (
  body: Record<string, unknown>,
  caller: CallerPrincipal,
  services: AwsFrontServices,
) => unknown;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function testEventPattern(body: Record<string, unknown>): { Result: boolean } {
  let event: unknown;
  try {
    event = JSON.parse(String(body.Event));
  } catch (error) {
    throw new AwsProtocolError(AwsErrorType.validation, 'Event is not valid JSON.', 400, { cause: error });
  }
  try {
    return { Result: compilePattern(String(body.EventPattern)).matches(event) };
  } catch (error) {
    if (error instanceof InvalidEventPatternError) {
      throw new AwsProtocolError('InvalidEventPatternException', error.message, 400, { cause: error });
    }
    throw error;
  }
}

const OPERATIONS: Record<string, Operation> = {
  'AWSEvents.PutEvents': (body, caller, services) =>
    services.eventBus.putEvents(body.Entries as PutEventsEntry[] | undefined, caller),
  'AWSEvents.TestEventPattern': (body) => testEventPattern(body),
  'AWSStepFunctions.StartExecution': (body, _caller, services) =>
    services.stepFunctions.startExecution({
      stateMachineArn: str(body.stateMachineArn),
      name: str(body.name),
      input: str(body.input),
    }),
  'AWSStepFunctions.DescribeExecution': (body, _caller, services) =>
    services.stepFunctions.describeExecution(str(body.executionArn)),
  'AWSStepFunctions.ListExecutions': (body, _caller, services) =>
    services.stepFunctions.listExecutions({
      stateMachineArn: str(body.stateMachineArn),
      statusFilter: str(body.statusFilter),
      maxResults: num(body.maxResults),
      nextToken: str(body.nextToken),
    }),
  'AWSStepFunctions.GetExecutionHistory': (body, _caller, services) =>
    services.stepFunctions.getExecutionHistory({
      executionArn: str(body.executionArn),
      maxResults: num(body.maxResults),
      nextToken: str(body.nextToken),
      reverseOrder: body.reverseOrder === true,
      includeExecutionData: body.includeExecutionData !== false,
    }),
  'AWSStepFunctions.SendTaskSuccess': (body, _caller, services) => {
    services.stepFunctions.sendTaskSuccess(str(body.taskToken), str(body.output));
    return {};
  },
  'AWSStepFunctions.SendTaskFailure': (body, _caller, services) => {
    services.stepFunctions.sendTaskFailure(str(body.taskToken), str(body.error), str(body.cause));
    return {};
  },
  'AWSStepFunctions.SendTaskHeartbeat': (body, _caller, services) => {
    services.stepFunctions.sendTaskHeartbeat(str(body.taskToken));
    return {};
  },
};

/** The JSON protocols carry timestamps as epoch seconds. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toWire(item)]));
  }
  return value;
}

function errorResponse(error: AwsProtocolError, contentType: string): TwinResponse {
  return {
    statusCode: error.statusCode,
    headers: {
      'content-type': contentType,
      'x-amzn-errortype': error.type,
      'x-amzn-requestid': randomUUID(),
    },
    body: JSON.stringify({ __type: error.type, message: error.message }),
  };
}

function asProtocolError(error: unknown, log: (line: string) => void): AwsProtocolError {
  if (error instanceof AwsProtocolError) return error;
  if (error instanceof StepFunctionsError)
    return new AwsProtocolError(error.code, error.message, 400, { cause: error });
  log(`internal failure: ${(error as Error).stack ?? String(error)}`);
  return new AwsProtocolError(AwsErrorType.internalFailure, 'Internal failure', 500, { cause: error });
}

function principalArn(caller: CallerPrincipal): string {
  return caller.kind === 'agent'
    ? `arn:aws:iam::${LOCAL_ACCOUNT}:user/agents/${caller.agentId}`
    : `arn:aws:iam::${LOCAL_ACCOUNT}:user/operator`;
}

function forwardToDynamo(request: TwinRequest, endpoint: string): Promise<TwinResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(request.path, endpoint);
    const forwarded = httpRequest(
      target,
      { method: request.method, headers: { ...request.headers, host: target.host } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined && name !== 'connection' && name !== 'transfer-encoding') {
              headers[name] = Array.isArray(value) ? value.join(',') : value;
            }
          }
          resolve({ statusCode: response.statusCode ?? 500, headers, body: Buffer.concat(chunks) });
        });
        response.on('error', reject);
      },
    );
    forwarded.on('error', reject);
    forwarded.end(request.body);
  });
}

export function isAwsProtocolRequest(request: TwinRequest): boolean {
  return request.method === 'POST' && request.headers['x-amz-target'] !== undefined;
}

export async function handleAwsRequest(
  request: TwinRequest,
  services: AwsFrontServices,
): Promise<TwinResponse> {
  const target = request.headers['x-amz-target'] ?? '';
  const prefix = target.slice(0, target.indexOf('.'));
  const extension = Object.hasOwn(services.extensions ?? {}, prefix)
    ? services.extensions?.[prefix]
    : undefined;
  const service = Object.hasOwn(SERVICES, prefix) ? SERVICES[prefix] : extension;
  const contentType = service?.contentType ?? 'application/x-amz-json-1.1';
  try {
    if (service === undefined) {
      throw new AwsProtocolError(AwsErrorType.unknownOperation, `Unknown target ${target}`);
    }
    const signer = await verifySigV4(
      {
        method: request.method,
        path: request.path,
        query: Object.fromEntries(new URLSearchParams(request.rawQueryString)),
        headers: request.headers,
        body: request.body,
      },
      service.signingName,
      (accessKeyId) => services.keys.secretOf(accessKeyId),
    );
    const caller = services.keys.principalOf(signer.accessKeyId)!;
    if (caller.kind === 'agent' && !AGENT_OPERATIONS.has(target)) {
      const action = `${service.signingName}:${target.slice(prefix.length + 1)}`;
      throw new AwsProtocolError(
        AwsErrorType.accessDenied,
        `User: ${principalArn(caller)} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`,
      );
    }
    if (extension !== undefined) return await extension.handle(request, caller);
    if (prefix === 'DynamoDB_20120810') return await forwardToDynamo(request, services.dynamoEndpoint);
    const operation = OPERATIONS[target];
    if (operation === undefined) {
      throw new AwsProtocolError(AwsErrorType.unknownOperation, `The twin does not implement ${target}`);
    }
    let body: Record<string, unknown>;
    try {
      body =
        request.body.length === 0
          ? {}
          : (JSON.parse(request.body.toString('utf8')) as Record<string, unknown>);
    } catch (error) {
      throw new AwsProtocolError(
        AwsErrorType.serialization,
        'Start of structure or map found where not expected.',
        400,
        {
          cause: error,
        },
      );
    }
    const result = await operation(body, caller, services);
    return {
      statusCode: 200,
      headers: { 'content-type': contentType, 'x-amzn-requestid': randomUUID() },
      body: JSON.stringify(toWire(result)),
    };
  } catch (error) {
    return errorResponse(asProtocolError(error, services.log), contentType);
  }
}
