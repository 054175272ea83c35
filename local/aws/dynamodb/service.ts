/**
 * DynamoDB's API on the twin (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.*`): the front has checked
 * the signature and the caller's permission; a body that is not a JSON object is refused here
 * (SerializationException); otherwise the request goes as it came to the embedded dynalite (in this
 * process, dynalite-server.ts), and
 * dynalite's answer (errors included, in DynamoDB's own shapes) goes back as it came. Writes to a
 * table with a stream go through the streams, which record what they change.
 */
import { crc32 } from 'node:zlib';
import { parseJsonInput } from '../front/json-service.ts';
import type { AwsServiceRequest, AwsServiceResponse, JsonAwsService } from '../front/service.ts';
import { AwsProtocol } from '../front/service.ts';
import type { UsageMeter } from '../usage.ts';
import { meterCapacity } from './capacity.ts';
import type { LocalDynamo } from './dynalite-server.ts';
import type { LocalDynamoStreams } from './streams.ts';

type Dynalite = Pick<LocalDynamo, 'request'>;

function forward(request: AwsServiceRequest<Buffer>, dynalite: Dynalite): Promise<AwsServiceResponse> {
  // dynalite's answer as it is: its status, headers (CRC32 included) and body.
  return dynalite.request(request.headers, request.body);
}

/**
 * Forwards the request, asking dynalite for its consumed capacity and counting it (capacity.ts);
 * the caller gets the answer it asked for, with its CRC32 (which the SDK checks) recomputed.
 */
async function forwardMetered(
  request: AwsServiceRequest<Buffer>,
  input: Record<string, unknown>,
  operation: string,
  dynalite: Dynalite,
  meter: UsageMeter,
): Promise<AwsServiceResponse> {
  const metered = meterCapacity(meter, operation, input);
  const body = Buffer.from(JSON.stringify(metered.request));
  const response = await forward(
    { ...request, body, headers: { ...request.headers, 'content-length': String(body.length) } },
    dynalite,
  );
  if (response.statusCode !== 200 || !Buffer.isBuffer(response.body)) return response;
  const answer = Buffer.from(JSON.stringify(metered.count(JSON.parse(response.body.toString('utf8')))));
  return {
    ...response,
    headers: {
      ...response.headers,
      'content-length': String(answer.length),
      'x-amz-crc32': String(crc32(answer)),
    },
    body: answer,
  };
}

export function dynamoDbService(
  dynalite: Dynalite,
  streams?: LocalDynamoStreams,
  meter?: UsageMeter,
): JsonAwsService {
  return {
    protocol: AwsProtocol.json,
    signingName: 'dynamodb',
    targetPrefix: 'DynamoDB_20120810',
    jsonVersion: '1.0',
    handle: (request, operation) => {
      // dynalite throws, outside any request handler, on a body that is JSON but not an object
      // (`null`): that would take the twin down. Such a body is the caller's error, answered here.
      // Parsed once: the meter and the streams read this input.
      const input = parseJsonInput(request.body);
      const send = () =>
        // An empty body goes as it came: dynalite answers it (and nothing is metered).
        meter === undefined || request.body.length === 0
          ? forward(request, dynalite)
          : forwardMetered(request, input, operation, dynalite, meter);
      return streams === undefined ? send() : streams.capture(operation, input, send);
    },
  };
}
