/**
 * The twin's own request/response shapes: a node:http request read once into memory, and a plain
 * response object. Every part of the twin (AWS front, sinks, API routes) speaks these, and only
 * the server touches node:http.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the twin reads (API Gateway's payload limit is 10 MB). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface TwinRequest {
  readonly method: string;
  /** Path without the query string, as sent (not decoded). */
  readonly path: string;
  readonly rawQueryString: string;
  /** Lower-cased names; repeated headers joined with a comma. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly sourceIp: string;
}

export interface TwinResponse {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: readonly string[];
  readonly body?: string | Buffer;
}

export class RequestTooLargeError extends Error {}

export async function readRequest(message: IncomingMessage): Promise<TwinRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RequestTooLargeError('request body too large');
    chunks.push(chunk as Buffer);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const url = message.url ?? '/';
  const queryStart = url.indexOf('?');
  return {
    method: (message.method ?? 'GET').toUpperCase(),
    path: queryStart < 0 ? url : url.slice(0, queryStart),
    rawQueryString: queryStart < 0 ? '' : url.slice(queryStart + 1),
    headers,
    body: Buffer.concat(chunks),
    sourceIp: message.socket.remoteAddress ?? '127.0.0.1',
  };
}

export function writeResponse(response: ServerResponse, result: TwinResponse): void {
  const headers: Record<string, string | string[]> = { ...result.headers };
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  response.writeHead(result.statusCode, headers);
  response.end(result.body ?? '');
}

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): TwinResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The request body as JSON or as a form, as Slack's and Bot Framework's clients send them. */
export function parseBody(request: TwinRequest): Record<string, unknown> {
  const text = request.body.toString('utf8');
  if (text.length === 0) return {};
  const type = request.headers['content-type'] ?? '';
  if (type.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  const parsed: unknown = JSON.parse(text);
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : { value: parsed };
}
