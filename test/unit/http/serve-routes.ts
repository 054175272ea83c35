/** Serves twin routes on a real node:http server (127.0.0.1, free port), as the twin's server does. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchRoute } from '../../../local/aws/apigateway/http-api.ts';
import { jsonResponse, readRequest, writeResponse } from '../../../local/aws/http.ts';
import type { TwinRoute } from '../../../local/twin/index.ts';

export interface ServedRoutes {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveRoutes(routes: () => readonly TwinRoute[]): Promise<ServedRoutes> {
  const server: Server = createServer((message, response) => {
    void readRequest(message).then(async (request) => {
      const match = matchRoute(routes(), request.method, request.path);
      writeResponse(
        response,
        match === undefined ? jsonResponse(418, {}) : await match.route.handle(request, match.pathParameters),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
