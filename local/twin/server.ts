/**
 * The twin's one port: a node:http server that binds to loopback unless told, twice, to expose
 * itself (`--host` with `--insecure-expose`), refuses any request whose `Host` header does not name
 * this server (a DNS-rebinding page must not reach the twin's API), hands AWS API calls to the
 * AWS front with their body still streaming, and reads every other request whole for the app.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ConfigurationError } from '../../lambdas/domain/errors.ts';
import type { AwsFront } from '../aws/front/front.ts';
import {
  jsonResponse,
  RequestTooLargeError,
  readBody,
  readHead,
  type TwinRequest,
  type TwinResponse,
  writeResponse,
} from '../aws/http.ts';

export const LOOPBACK_HOST = '127.0.0.1';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const WILDCARD = new Set(['0.0.0.0', '::']);

export interface TwinServerOptions {
  /** @default 127.0.0.1 */
  readonly host?: string;
  readonly port: number;
  /** Required to bind anywhere but loopback: the twin has no TLS and trusts its demo identities. */
  readonly insecureExpose?: boolean;
  readonly log: (line: string) => void;
}

export interface TwinHandlers {
  readonly aws: AwsFront;
  readonly app: (request: TwinRequest) => Promise<TwinResponse>;
}

export interface TwinServer {
  /** `http://127.0.0.1:<port>` (loopback even when bound to every interface). */
  readonly url: string;
  readonly port: number;
  /** Starts serving (until then every request answers 503). */
  serve(handlers: TwinHandlers): void;
  close(): Promise<void>;
}

export class ExposedBindError extends ConfigurationError {}

function hostPart(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** The `Host` values that name this server: loopback names, and the exposed address when exposed. */
function allowedHosts(host: string, port: number, exposed: boolean): ReadonlySet<string> {
  const names = ['127.0.0.1', 'localhost', '::1'];
  if (exposed) {
    names.push(host);
    if (WILDCARD.has(host)) {
      for (const addresses of Object.values(networkInterfaces())) {
        for (const address of addresses ?? []) names.push(address.address);
      }
    }
  }
  return new Set(names.map((name) => `${hostPart(name)}:${port}`.toLowerCase()));
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** How long an idle keep-alive connection stays open (the 60 s idle timeout of an AWS load balancer, plus margin). */
const IDLE_CONNECTION_MS = 65_000;

const STARTING = jsonResponse(503, { message: 'The twin is starting' });
const WRONG_HOST = jsonResponse(403, {
  message: 'Forbidden: the Host header does not name this twin (see --host and --insecure-expose)',
});

export async function startTwinServer(options: TwinServerOptions): Promise<TwinServer> {
  const host = options.host ?? LOOPBACK_HOST;
  if (!LOOPBACK.has(host) && options.insecureExpose !== true) {
    throw new ExposedBindError(
      `refusing to bind the twin to ${host}: it has no TLS and anyone who reaches it can act as the demo identities. Use --host with --insecure-expose if you really mean it.`,
    );
  }
  let handlers: TwinHandlers | undefined;
  let hosts: ReadonlySet<string> = new Set();
  const respond = async (message: IncomingMessage, response: ServerResponse): Promise<void> => {
    const head = readHead(message);
    if (!hosts.has((head.headers.host ?? '').toLowerCase())) return writeResponse(response, WRONG_HOST);
    if (handlers === undefined) return writeResponse(response, STARTING);
    if (handlers.aws.accepts(head)) return writeResponse(response, await handlers.aws.handle(head, message));
    return writeResponse(response, await handlers.app({ ...head, body: await readBody(message) }));
  };
  // AWS endpoints keep an idle connection open far longer than Node's default 5 s; an SDK client that
  // reuses a pooled socket just as the twin closes it would see ECONNRESET, which AWS never causes.
  const server = createServer({ keepAliveTimeout: IDLE_CONNECTION_MS }, (message, response) => {
    respond(message, response).catch((error: unknown) => {
      const tooLarge = error instanceof RequestTooLargeError;
      if (!tooLarge) options.log(`request failed: ${(error as Error).stack ?? String(error)}`);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      void writeResponse(
        response,
        jsonResponse(tooLarge ? 413 : 500, {
          message: tooLarge ? 'Request Too Large' : 'Internal Server Error',
        }),
      );
    });
  });
  const port = await listen(server, options.port, host);
  hosts = allowedHosts(host, port, options.insecureExpose === true);
  const urlHost = WILDCARD.has(host) ? LOOPBACK_HOST : hostPart(host);
  return {
    url: `http://${urlHost}:${port}`,
    port,
    serve: (serving) => {
      handlers = serving;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
