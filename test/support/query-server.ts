/**
 * A local endpoint speaking AWS's Query protocol (STS, IAM) for tests: on 127.0.0.1 and a free
 * port, it checks each request's SigV4 signature as the twin's front does, records what was asked
 * (the form's Action and parameters, who signed it, for which Region) and answers from a queue of
 * answers the test sets, else with `answer`'s default.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAuthorization, verifySigV4 } from '../../local/aws/front/sigv4.ts';

export interface QueryRequest {
  readonly action: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** The access key that signed it validly, or why the signature failed. */
  readonly signedBy?: string;
  readonly signatureError?: string;
  /** The credential scope's Region. */
  readonly signingRegion?: string;
}

export type QueryReply = (response: ServerResponse, request: QueryRequest) => void;

/** An XML answer with a status (and the request id header AWS sends). */
export const xmlAnswer =
  (status: number, body: string, requestId = 'request-1'): QueryReply =>
  (response) => {
    response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    response.end(body);
  };

/** `<ErrorResponse>` as STS and IAM send it. */
export const queryError = (status: number, code: string, message: string, requestId = 'error-request-1') =>
  xmlAnswer(
    status,
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>${
      status >= 500 ? 'Receiver' : 'Sender'
    }</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    requestId,
  );

/** `<{Action}Response>` with its result and request id. */
export const querySuccess = (action: string, result: string, requestId = 'request-1') =>
  xmlAnswer(
    200,
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  ${
      result === '' ? '' : `<${action}Result>${result}</${action}Result>`
    }\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
    requestId,
  );

export interface QueryServer {
  readonly endpoint: string;
  readonly received: QueryRequest[];
  /** Answers for the next requests, in order; when empty, the default answers. */
  answers: QueryReply[];
  close(): Promise<void>;
}

export interface QueryServerOptions {
  readonly signingName: string;
  /** The keys whose signatures it accepts: access key id → secret. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly answer: QueryReply;
}

export async function startQueryServer(options: QueryServerOptions): Promise<QueryServer> {
  const received: QueryRequest[] = [];
  const state = { answers: [] as QueryReply[] };
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const [path = '', rawQueryString = ''] = (request.url ?? '').split('?');
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
    );
    const signature = await verifySigV4(
      { method: request.method ?? '', path, rawQueryString, headers },
      {
        service: options.signingName,
        uriEscapePath: true,
        body,
        lookupSecret: (key) => options.secrets[key],
      },
    ).then(
      (signed) => ({
        signedBy: signed.accessKeyId,
        signingRegion: parseAuthorization(headers.authorization ?? '').region,
      }),
      (error: Error) => ({ signatureError: error.message }),
    );
    const form = new URLSearchParams(body.toString());
    const parameters = Object.fromEntries(form);
    const recorded: QueryRequest = {
      action: form.get('Action') ?? '',
      parameters,
      headers: request.headers,
      body: body.toString(),
      ...signature,
    };
    received.push(recorded);
    (state.answers.shift() ?? options.answer)(response, recorded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    get answers() {
      return state.answers;
    },
    set answers(answers) {
      state.answers = answers;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
