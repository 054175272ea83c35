/**
 * Lambda's Invoke API on the twin (REST-JSON): `POST /2015-03-31/functions/{FunctionName}/invocations`
 * with `X-Amz-Invocation-Type` RequestResponse (the result, or the error payload with
 * `X-Amz-Function-Error: Unhandled`), Event (202 at once, the function runs after the answer) or
 * DryRun (204). The front has checked the signature and the caller's `lambda:InvokeFunction`.
 */
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import { AwsProtocol, type RestAwsService } from '../front/service.ts';
import { jsonResponse } from '../http.ts';
import { LambdaFunctionError } from './invocation.ts';

/** The part of the runtime Invoke needs: is there such a function, and run it. */
export interface FunctionInvoker {
  find(nameOrArn: string): unknown;
  invoke(nameOrArn: string, event: unknown): Promise<unknown>;
}

const INVOCATIONS = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function parsePayload(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AwsProtocolError(
      'InvalidRequestContentException',
      'Could not parse request body into json',
      400,
      {
        cause: error,
      },
    );
  }
}

const EXECUTED = { 'x-amz-executed-version': '$LATEST' } as const;

export function lambdaInvokeService(
  runtime: FunctionInvoker,
  log: (line: string) => void,
): RestAwsService<'rest-json'> {
  return {
    protocol: AwsProtocol.restJson,
    signingName: 'lambda',
    pathPrefixes: ['/2015-03-31/functions/'],
    operationOf: () => 'InvokeFunction',
    async handle(request) {
      const name = INVOCATIONS.exec(request.path)?.[1];
      if (request.method !== 'POST' || name === undefined) {
        throw new AwsProtocolError(
          AwsErrorCode.unknownOperation,
          `The twin does not serve ${request.method} ${request.path}`,
          404,
        );
      }
      const functionName = decodeURIComponent(name);
      if (runtime.find(functionName) === undefined) {
        throw new AwsProtocolError(AwsErrorCode.resourceNotFound, `Function not found: ${functionName}`, 404);
      }
      const event = parsePayload(request.body);
      const invocationType = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
      if (invocationType === 'DryRun') return { statusCode: 204 };
      if (invocationType === 'Event') {
        runtime.invoke(functionName, event).catch((error: unknown) => {
          log(`asynchronous invocation of ${functionName} failed: ${(error as Error).message}`);
        });
        return { statusCode: 202, body: '' };
      }
      if (invocationType !== 'RequestResponse') {
        throw new AwsProtocolError(AwsErrorCode.validation, `Unknown invocation type ${invocationType}`);
      }
      try {
        return jsonResponse(200, await runtime.invoke(functionName, event), EXECUTED);
      } catch (error) {
        if (!(error instanceof LambdaFunctionError)) throw error;
        return jsonResponse(200, error.payload(), { ...EXECUTED, 'x-amz-function-error': 'Unhandled' });
      }
    },
  };
}
