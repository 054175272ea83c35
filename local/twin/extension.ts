/**
 * How a product composes the twin: the twin runs a stack as AWS would, and knows nothing of what
 * the stack is for; an extension adds what only the product knows (its routes, its JWT issuer, its
 * callers' permissions, its bus policy, its functions' local settings, its secrets' values).
 */

import type { JwtAuthorizerContext, LocalRoute } from '../aws/apigateway/http-api.ts';
import type { TwinFunction, TwinHttpApiRoute, TwinStack } from '../aws/cloudformation/template.ts';
import type { PutEventsPolicy } from '../aws/events/event-bus.ts';
import type { FaultInjector } from '../aws/faults/injector.ts';
import type { AwsCredentials } from '../aws/front/credentials.ts';
import type { AwsAuthorizer, AwsService } from '../aws/front/service.ts';
import type { TwinRequest, TwinResponse } from '../aws/http.ts';

/** A route served by code in the twin rather than by a stack function (e.g. `/local/token`). */
export type TwinRoute = LocalRoute;

/** Verifies a bearer token for a JWT-authorized route, as the HTTP API authorizer would. */
export type JwtAuthorizer = (
  token: string,
  route: TwinHttpApiRoute,
) => Promise<JwtAuthorizerContext | undefined> | JwtAuthorizerContext | undefined;

/** What extensions get to build their parts: the running twin's address, data and stack. */
export interface TwinContext {
  readonly url: string;
  readonly dataDir: string;
  readonly repoRoot: string;
  readonly stack: TwinStack;
  readonly operatorCredentials: AwsCredentials;
  /** The twin's fault injection, when it was started with it (the chat sinks answer its faults). */
  readonly faults?: FaultInjector;
  /** Invokes a stack function with any event (e.g. an API Gateway v2 event), as Lambda would. */
  invokeFunction(nameOrArn: string, event: unknown): Promise<unknown>;
  /** Serves a request with a template HTTP API route's function (API Gateway v2 event, version 2.0). */
  invokeHttpRoute(request: TwinRequest, authorizer?: JwtAuthorizerContext): Promise<TwinResponse>;
  /** Delivers every stream record written so far to its event source mappings' functions, and waits. */
  drainEventSourceMappings(): Promise<void>;
}

export interface TwinExtension {
  /** Routes tried before the template's HTTP API routes. */
  readonly routes?: readonly TwinRoute[];
  /** Replaces the JWT authorizer of the template's JWT routes (without one they answer 401). */
  readonly jwtAuthorizer?: JwtAuthorizer;
  /** Environment for every function, over the template's values (e.g. JWT_ISSUER). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Rewrites one function's environment (after the template's and `environment`'s values). */
  readonly functionEnvironment?: (
    fn: TwinFunction,
    environment: Readonly<Record<string, string>>,
  ) => Readonly<Record<string, string>>;
  /** More AWS services behind the front (a JSON target or a REST signing name the twin does not serve). */
  readonly awsServices?: readonly AwsService[];
  /** Whether a caller may call an AWS action; without one only the operator may call anything. */
  readonly authorize?: AwsAuthorizer;
  /** The bus policy for PutEvents; without one every caller may put any source. */
  readonly putEventsPolicy?: PutEventsPolicy;
  /** Values of the template's secrets, by name or ARN, put at every start as an operator would. */
  readonly secretValues?: Readonly<Record<string, string>>;
}

function single<K extends keyof TwinExtension>(
  extensions: readonly TwinExtension[],
  key: K,
): TwinExtension[K] {
  const given = extensions.flatMap((extension) => (extension[key] === undefined ? [] : [extension[key]]));
  if (given.length > 1) throw new Error(`two twin extensions both provide ${key}`);
  return given[0];
}

function mergeRecords(
  extensions: readonly TwinExtension[],
  key: 'environment' | 'secretValues',
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const extension of extensions) {
    for (const [name, value] of Object.entries(extension[key] ?? {})) {
      if (name in merged && merged[name] !== value) {
        throw new Error(`twin extensions disagree on ${key} ${name}`);
      }
      merged[name] = value;
    }
  }
  return merged;
}

/**
 * Extensions in order: routes concatenated, environments and secret values merged, function
 * environment rewrites applied one after the other; the authorizers and policies are one each
 * (a second is a composition bug, so it throws).
 */
export function combineExtensions(extensions: readonly TwinExtension[]): TwinExtension {
  const rewrites = extensions.flatMap((extension) =>
    extension.functionEnvironment === undefined ? [] : [extension.functionEnvironment],
  );
  const jwtAuthorizer = single(extensions, 'jwtAuthorizer');
  const authorize = single(extensions, 'authorize');
  const putEventsPolicy = single(extensions, 'putEventsPolicy');
  return {
    routes: extensions.flatMap((extension) => extension.routes ?? []),
    environment: mergeRecords(extensions, 'environment'),
    secretValues: mergeRecords(extensions, 'secretValues'),
    functionEnvironment: (fn, environment) =>
      rewrites.reduce<Readonly<Record<string, string>>>(
        (current, rewrite) => rewrite(fn, current),
        environment,
      ),
    awsServices: extensions.flatMap((extension) => extension.awsServices ?? []),
    ...(jwtAuthorizer === undefined ? {} : { jwtAuthorizer }),
    ...(authorize === undefined ? {} : { authorize }),
    ...(putEventsPolicy === undefined ? {} : { putEventsPolicy }),
  };
}
