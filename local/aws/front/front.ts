/**
 * The one AWS front of the twin: every AWS API call on the twin's port comes through here. It tells
 * the protocol and the service from the request's head alone (`X-Amz-Target` for JSON, the signing
 * name of the SigV4 credential scope for REST, a REST service's fixed paths for an unsigned call),
 * reads a JSON or REST-JSON body whole (at most 10 MB) and leaves a REST-XML body streaming,
 * verifies the SigV4 signature once, resolves the caller and checks its permission, and renders
 * whatever goes wrong in the service's protocol. Services never see an unauthenticated request.
 */
import { randomUUID } from 'node:crypto';
import { EXECUTE_API_SIGNING_NAME } from '../../../lambdas/domain/agent-api.ts';
import type { UsageMeter } from '../usage.ts';
import { authenticate } from './authenticate.ts';
import type { KeyRing } from './credentials.ts';
import { AwsErrorCode, AwsProtocolError } from './errors.ts';
import { accessDenied, internalError, renderError, signatureError, tooLarge } from './protocols.ts';
import {
  type AwsAuthorizer,
  AwsProtocol,
  type AwsRequestHead,
  type AwsService,
  type AwsServiceResponse,
  type JsonAwsService,
  type QueryAwsService,
  type RestAwsService,
  type StreamingBody,
} from './service.ts';
import { credentialScopeService, SigV4Error } from './sigv4.ts';

/** Largest JSON or REST-JSON body the front reads (API Gateway's and most services' limit is 10 MB). */
export const MAX_BUFFERED_BODY_BYTES = 10 * 1024 * 1024;

export interface AwsFrontOptions {
  readonly services: readonly AwsService[];
  readonly keys: KeyRing;
  readonly authorize: AwsAuthorizer;
  readonly log: (line: string) => void;
  /** Counts every authorized call by its action (the cost model). */
  readonly meter?: UsageMeter;
  /**
   * Fails chosen authorized calls as AWS would (tests and operators only; local/aws/faults):
   * the error to answer `service:Operation` with, or undefined to serve it. @default none
   */
  readonly faults?: { awsCall(action: string, body: Buffer | undefined): AwsProtocolError | undefined };
}

/** The service a request is for, or the JSON error for a target or signing name nobody serves. */
type Route =
  | { readonly service: AwsService; readonly operation?: string }
  | { readonly unknown: string; readonly service?: undefined };

export interface AwsFront {
  /** Whether the request is an AWS API call (decided on its head, before the body is read). */
  accepts(head: AwsRequestHead): boolean;
  handle(head: AwsRequestHead, body: StreamingBody): Promise<AwsServiceResponse>;
}

async function readBounded(body: StreamingBody): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BUFFERED_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function checkUnique(services: readonly AwsService[]): void {
  const seen = new Set<string>();
  for (const service of services) {
    const keys =
      service.protocol === AwsProtocol.json
        ? [`target ${service.targetPrefix}`]
        : [
            `signing name ${service.signingName}`,
            ...(service.protocol === AwsProtocol.query ? [] : (service.pathPrefixes ?? [])).map(
              (path) => `path ${path}`,
            ),
          ];
    for (const key of keys) {
      if (seen.has(key)) throw new Error(`two AWS services of the twin claim the ${key}`);
      seen.add(key);
    }
  }
}

/** Calls IAM never denies: "No permissions are required to perform this operation" (STS API reference). */
const NEEDS_NO_PERMISSION: ReadonlySet<string> = new Set(['sts:GetCallerIdentity']);

/** The operation a Query call names (its form's `Action`). */
function queryAction(params: URLSearchParams): string {
  const action = params.get('Action');
  if (action === null || action === '') throw new AwsProtocolError('MissingAction', 'Missing Action', 400);
  return action;
}

export function createAwsFront(options: AwsFrontOptions): AwsFront {
  checkUnique(options.services);
  const byTarget = new Map<string, JsonAwsService>();
  const bySigningName = new Map<string, RestAwsService | QueryAwsService>();
  const byPath: [string, RestAwsService][] = [];
  for (const service of options.services) {
    if (service.protocol === AwsProtocol.json) {
      byTarget.set(service.targetPrefix, service);
    } else {
      bySigningName.set(service.signingName, service);
      if (service.protocol === AwsProtocol.query) continue;
      for (const prefix of service.pathPrefixes ?? []) byPath.push([prefix, service]);
    }
  }
  const signingNames = new Set(options.services.map((service) => service.signingName));

  const route = (head: AwsRequestHead): Route | undefined => {
    const target = head.headers['x-amz-target'];
    if (head.method === 'POST' && target !== undefined) {
      const prefix = target.slice(0, Math.max(0, target.indexOf('.')));
      const service = byTarget.get(prefix);
      return service === undefined
        ? { unknown: `Unknown target ${target}` }
        : { service, operation: target.slice(prefix.length + 1) };
    }
    const scoped = credentialScopeService(head.headers);
    // API Gateway's own signing name: its IAM authorizer (the HTTP API's) checks those calls.
    if (scoped === EXECUTE_API_SIGNING_NAME) return undefined;
    if (scoped !== undefined) {
      const service = bySigningName.get(scoped);
      if (service !== undefined) return { service };
      return {
        unknown: signingNames.has(scoped)
          ? `${scoped} is called with X-Amz-Target on POST /`
          : `The twin does not emulate the AWS service ${scoped}`,
      };
    }
    const owner = byPath.find(([prefix]) => head.path.startsWith(prefix));
    return owner === undefined ? undefined : { service: owner[1] };
  };

  const serve = async (
    head: AwsRequestHead,
    stream: StreamingBody,
    service: AwsService,
    requestId: string,
    jsonOperation: string | undefined,
  ): Promise<AwsServiceResponse> => {
    const streams = service.protocol === AwsProtocol.restXml;
    const body = streams ? undefined : await readBounded(stream);
    if (!streams && body === undefined) throw tooLarge(service.protocol);
    let signed: Awaited<ReturnType<typeof authenticate>>;
    try {
      signed = await authenticate(head, options.keys, {
        service: service.signingName,
        uriEscapePath: service.protocol !== AwsProtocol.restXml,
        body,
      });
    } catch (error) {
      throw error instanceof SigV4Error ? signatureError(service.protocol, error) : error;
    }
    const { signature, caller } = signed;
    // A Query call names its operation in the (signed) form body.
    const params =
      service.protocol === AwsProtocol.query ? new URLSearchParams(body!.toString('utf8')) : undefined;
    const operation =
      jsonOperation ??
      (params === undefined ? (service as RestAwsService).operationOf(head) : queryAction(params));
    const action = `${service.signingName}:${operation}`;
    const permissions =
      service.protocol === AwsProtocol.restXml || service.protocol === AwsProtocol.restJson
        ? (service.permissionsOf?.(head, operation) ?? [{ action, resource: '*' }])
        : [{ action, resource: '*' }];
    if (!NEEDS_NO_PERMISSION.has(action) && !options.authorize(caller, action, permissions)) {
      throw accessDenied(service.protocol, caller.principalArn, action);
    }
    const injected = options.faults?.awsCall(action, body);
    if (injected !== undefined) throw injected;
    options.meter?.call(action);
    const common = {
      ...head,
      query: new URLSearchParams(head.rawQueryString),
      caller,
      signature,
      requestId,
    };
    if (service.protocol === AwsProtocol.json) return service.handle({ ...common, body: body! }, operation);
    if (service.protocol === AwsProtocol.query)
      return service.handle({ ...common, body: body!, params: params! }, operation);
    if (service.protocol === AwsProtocol.restXml) {
      return (service as RestAwsService<'rest-xml'>).handle({ ...common, body: stream });
    }
    return (service as RestAwsService<'rest-json'>).handle({ ...common, body: body! });
  };

  return {
    accepts: (head) => route(head) !== undefined,
    async handle(head, body) {
      const requestId = randomUUID();
      const found = route(head);
      const protocol = found?.service?.protocol ?? AwsProtocol.json;
      const jsonVersion = found?.service?.protocol === AwsProtocol.json ? found.service.jsonVersion : '1.1';
      const xmlNamespace =
        found?.service?.protocol === AwsProtocol.query ? found.service.xmlNamespace : undefined;
      try {
        if (found === undefined || found.service === undefined) {
          throw new AwsProtocolError(AwsErrorCode.unknownOperation, found?.unknown ?? 'Not an AWS API call');
        }
        return await serve(head, body, found.service, requestId, found.operation);
      } catch (error) {
        let failure: AwsProtocolError;
        if (error instanceof AwsProtocolError) {
          failure = error;
        } else {
          options.log(`internal failure: ${(error as Error).stack ?? String(error)}`);
          failure = internalError(protocol, error);
        }
        return renderError(protocol, failure, {
          requestId,
          method: head.method,
          jsonVersion,
          ...(xmlNamespace === undefined ? {} : { xmlNamespace }),
        });
      }
    },
  };
}
