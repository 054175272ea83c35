/**
 * DynamoDB's API on the twin (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.*`): the front has checked
 * the signature and the caller's permission; a body that is not a JSON object is refused here
 * (SerializationException); otherwise the request goes as it came to the embedded dynalite, and
 * dynalite's answer (errors included, in DynamoDB's own shapes) goes back as it came. Writes to a
 * table with a stream go through the streams, which record what they change.
 */
import { request as httpRequest } from 'node:http';
import { parseJsonInput } from '../front/json-service.ts';
import type { AwsServiceRequest, AwsServiceResponse, JsonAwsService } from '../front/service.ts';
import { AwsProtocol } from '../front/service.ts';
import type { LocalDynamoStreams } from './streams.ts';

const HOP_BY_HOP = new Set(['connection', 'transfer-encoding', 'keep-alive']);

function forward(request: AwsServiceRequest<Buffer>, endpoint: string): Promise<AwsServiceResponse> {
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
            if (value !== undefined && !HOP_BY_HOP.has(name)) {
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

export function dynamoDbService(endpoint: string, streams?: LocalDynamoStreams): JsonAwsService {
  return {
    protocol: AwsProtocol.json,
    signingName: 'dynamodb',
    targetPrefix: 'DynamoDB_20120810',
    jsonVersion: '1.0',
    handle: (request, operation) => {
      // dynalite throws, outside any request handler, on a body that is JSON but not an object
      // (`null`): that would take the twin down. Such a body is the caller's error, answered here.
      parseJsonInput(request.body);
      return streams === undefined
        ? forward(request, endpoint)
        : streams.capture(operation, request.body, () => forward(request, endpoint));
    },
  };
}
