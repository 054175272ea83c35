/**
 * A JSON-protocol service from a table of operations: the body parsed (SerializationException when
 * it is not a JSON object), the operation looked up (UnknownOperationException when the twin does
 * not serve it), its result serialized as the protocol does (timestamps as epoch seconds).
 */
import { AwsErrorCode, AwsProtocolError } from './errors.ts';
import { jsonContentType } from './protocols.ts';
import { AwsProtocol, type AwsServiceRequest, type JsonAwsService } from './service.ts';

export type JsonOperation = (
  input: Record<string, unknown>,
  request: AwsServiceRequest<Buffer>,
) => unknown | Promise<unknown>;

export interface JsonServiceSpec {
  readonly signingName: string;
  readonly targetPrefix: string;
  readonly jsonVersion: '1.0' | '1.1';
  readonly operations: Readonly<Record<string, JsonOperation>>;
}

/** The JSON protocols carry timestamps as epoch seconds. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toWire(item)]));
  }
  return value;
}

/** A JSON-protocol body: a JSON object (or nothing), else SerializationException as AWS answers. */
export function parseJsonInput(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AwsProtocolError(
      AwsErrorCode.serialization,
      'Start of structure or map found where not expected.',
      400,
      { cause: error },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AwsProtocolError(AwsErrorCode.serialization, 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

export function jsonService(spec: JsonServiceSpec): JsonAwsService {
  return {
    protocol: AwsProtocol.json,
    signingName: spec.signingName,
    targetPrefix: spec.targetPrefix,
    jsonVersion: spec.jsonVersion,
    async handle(request, operation) {
      const run = Object.hasOwn(spec.operations, operation) ? spec.operations[operation] : undefined;
      if (run === undefined) {
        throw new AwsProtocolError(
          AwsErrorCode.unknownOperation,
          `The twin does not implement ${spec.targetPrefix}.${operation}`,
        );
      }
      const result = await run(parseJsonInput(request.body), request);
      return {
        statusCode: 200,
        headers: { 'content-type': jsonContentType(spec.jsonVersion), 'x-amzn-requestid': request.requestId },
        body: JSON.stringify(toWire(result ?? {})),
      };
    },
  };
}
