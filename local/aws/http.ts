/**
 * The twin's own request/response shapes: a request's head (method, path, headers) known before
 * its body is read, the request with its body read into memory (at most 10 MB), and a plain
 * response object whose body may also be a stream. Every part of the twin (AWS front, HTTP API,
 * sinks, console) speaks these; only the server touches node:http.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CountersignError } from '../../lambdas/domain/errors.ts';

/** Largest request body the twin reads into memory (API Gateway's payload limit is 10 MB). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface TwinRequestHead {
  readonly method: string;
  /** Path without the query string, as sent (not decoded). */
  readonly path: string;
  readonly rawQueryString: string;
  /** Lower-cased names; repeated headers joined with a comma. */
  readonly headers: Readonly<Record<string, string>>;
  readonly sourceIp: string;
}

/** The twin has no TLS; a connection from this machine never crossed a network. */
export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export interface TwinRequest extends TwinRequestHead {
  readonly body: Buffer;
}

export interface TwinResponse {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: readonly string[];
  /** A stream is piped to the client as it is read. */
  readonly body?: string | Buffer | Readable;
}

export class RequestTooLargeError extends CountersignError {}

export function readHead(message: IncomingMessage): TwinRequestHead {
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
    sourceIp: message.socket.remoteAddress ?? '127.0.0.1',
  };
}

/** The body, whole; RequestTooLargeError past 10 MB. */
export async function readBody(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RequestTooLargeError('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readRequest(message: IncomingMessage): Promise<TwinRequest> {
  return { ...readHead(message), body: await readBody(message) };
}

export async function writeResponse(response: ServerResponse, result: TwinResponse): Promise<void> {
  const headers: Record<string, string | string[]> = { ...result.headers };
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  response.writeHead(result.statusCode, headers);
  if (result.body instanceof Readable) {
    let sent = 0;
    // Taken now: the response lets go of its socket once it ends.
    const socket = response.socket;
    result.body.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    await pipeline(result.body, response);
    // A body shorter than its Content-Length (a stored file cut short) cannot be completed: the
    // connection is closed, as HTTP requires, so the client sees the cut at once, not at a timeout.
    const length = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-length')?.[1];
    if (length !== undefined && sent < Number(length)) socket?.destroy();
  } else {
    response.end(result.body ?? '');
  }
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
