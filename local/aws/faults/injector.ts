/**
 * Faults the twin injects on request, for tests and operators only: chosen AWS calls fail the way
 * AWS fails them (DynamoDB throttling, Step Functions' SendTask* errors, KMS, Secrets Manager and S3
 * outages), chosen PutEvents entries are rejected in a 200 answer (`FailedEntryCount` > 0 with the
 * entry's `ErrorCode`), and the chat sinks answer as Slack and the Bot Framework do when they are
 * overloaded (Slack `429` with `Retry-After`, connector `5xx`, a token endpoint failure).
 *
 * A fault fails the next `times` matching calls (default 1), or each matching call with probability
 * `ratio`, until it is spent or cleared. Every fault counts the calls it failed, so a test proves
 * that the fault it set up really fired. The twin's AWS front, its event bus and its chat sinks
 * ask here before they serve; nothing of it exists in the deployed stack.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { AwsProtocolError } from '../front/errors.ts';

/**
 * AWS's own errors per service (signing name), with the status and message each answers with: only
 * these may be injected, so an injected failure is one an SDK client meets against AWS.
 */
export const AWS_FAULT_ERRORS: Readonly<Record<string, Readonly<Record<string, readonly [number, string]>>>> =
  {
    dynamodb: {
      ProvisionedThroughputExceededException: [
        400,
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      ],
      ThrottlingException: [400, 'Rate of requests exceeds the allowed throughput.'],
      RequestLimitExceeded: [
        400,
        'Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase',
      ],
      InternalServerError: [500, 'Internal server error'],
    },
    states: {
      ThrottlingException: [400, 'Rate exceeded'],
      TaskDoesNotExist: [400, 'Task does not exist anymore'],
      TaskTimedOut: [400, 'Task Timed Out'],
      InvalidToken: [400, 'Invalid Token'],
      ServiceUnavailable: [503, 'Service Unavailable'],
    },
    events: {
      ThrottlingException: [400, 'Rate exceeded.'],
      InternalException: [500, 'An internal error occurred.'],
    },
    kms: {
      ThrottlingException: [400, 'Rate exceeded'],
      KMSInternalException: [500, 'An internal error occurred.'],
      DependencyTimeoutException: [503, 'The system timed out while trying to fulfill the request.'],
      KMSInvalidStateException: [400, 'The key is pending deletion or disabled.'],
    },
    secretsmanager: {
      ThrottlingException: [400, 'Rate exceeded'],
      InternalServiceError: [500, 'An error occurred on the server side.'],
    },
    s3: {
      SlowDown: [503, 'Please reduce your request rate.'],
      InternalError: [500, 'We encountered an internal error. Please try again.'],
      ServiceUnavailable: [503, 'Service is unable to handle request.'],
    },
    lambda: {
      TooManyRequestsException: [429, 'Rate Exceeded.'],
      ServiceException: [500, 'Internal failure'],
    },
  };

/** The per-entry codes EventBridge answers PutEvents with when it cannot take an entry (yet). */
export const PUT_EVENTS_ENTRY_ERRORS: Readonly<Record<string, string>> = {
  InternalFailure: 'Internal service failure.',
  ThrottlingException: 'Request rate exceeded.',
};

const HOW_OFTEN = {
  /** The next N matching calls fail. @default 1 (when `ratio` is not given) */
  times: z.number().int().positive().max(1_000_000).optional(),
  /** Each matching call fails with this probability, until cleared. */
  ratio: z.number().gt(0).max(1).optional(),
};

/** What to break, and how often. One definition for the control route, the CLI and the tests. */
export const FaultSpec = z
  .discriminatedUnion('point', [
    z.strictObject({
      /** An AWS API call through the twin's front (from a function, a CLI or an SDK client). */
      point: z.literal('aws'),
      /** The IAM action, `dynamodb:PutItem`; `dynamodb:*` for every operation of the service. */
      action: z.string().regex(/^[a-z0-9-]+:(\*|[A-Za-z0-9]+)$/),
      /** One of AWS_FAULT_ERRORS for the action's service. */
      code: z.string(),
      /** Only calls whose request body contains this text (e.g. a key prefix). @default every call */
      bodyContains: z.string().min(1).optional(),
      ...HOW_OFTEN,
    }),
    z.strictObject({
      /** An entry of PutEvents (the whole call answers 200, with `FailedEntryCount`). */
      point: z.literal('put-events-entry'),
      /** Only entries of this detail type (`Action Decided`). @default every entry */
      detailType: z.string().optional(),
      /** One of PUT_EVENTS_ENTRY_ERRORS. @default InternalFailure */
      code: z.string().default('InternalFailure'),
      ...HOW_OFTEN,
    }),
    z.strictObject({
      /** A Slack Web API call to the twin's Slack sink. */
      point: z.literal('slack'),
      /** The Web API method, `chat.postMessage`. @default every method */
      method: z.string().optional(),
      /** 429 (rate limited, with `Retry-After`) or a 5xx. @default 429 */
      status: z.union([z.literal(429), z.number().int().min(500).max(599)]).default(429),
      /** The `Retry-After` of a 429, seconds. @default 1 */
      retryAfterSeconds: z.number().int().min(0).max(60).default(1),
      ...HOW_OFTEN,
    }),
    z.strictObject({
      /** A Bot Framework connector call to the twin's Teams sink. */
      point: z.literal('teams'),
      /** `conversations.sendActivity`, `conversations.updateActivity` … @default every method */
      method: z.string().optional(),
      status: z.number().int().min(500).max(599).default(503),
      ...HOW_OFTEN,
    }),
    z.strictObject({
      /** The Bot Framework token endpoint (client credentials) that the Teams sink stands in for. */
      point: z.literal('teams-token'),
      status: z.number().int().min(400).max(599).default(503),
      ...HOW_OFTEN,
    }),
  ])
  .superRefine((spec, context) => {
    if (spec.times !== undefined && spec.ratio !== undefined) {
      context.addIssue({ code: 'custom', message: 'give times or ratio, not both' });
    }
    if (spec.point === 'aws') {
      const service = spec.action.slice(0, spec.action.indexOf(':'));
      if (AWS_FAULT_ERRORS[service]?.[spec.code] === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['code'],
          message: `the twin injects for ${service}: ${Object.keys(AWS_FAULT_ERRORS[service] ?? {}).join(', ') || 'nothing'}`,
        });
      }
    }
    if (spec.point === 'put-events-entry' && PUT_EVENTS_ENTRY_ERRORS[spec.code] === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['code'],
        message: `PutEvents entry codes: ${Object.keys(PUT_EVENTS_ENTRY_ERRORS).join(', ')}`,
      });
    }
  });
export type FaultSpec = z.infer<typeof FaultSpec>;
export type FaultSpecInput = z.input<typeof FaultSpec>;

/** A fault as it stands: what it breaks, how many calls it failed, how many more it will. */
export interface ActiveFault {
  readonly id: string;
  readonly spec: FaultSpec;
  readonly injected: number;
  /** Calls left to fail; undefined for a ratio. */
  readonly remaining?: number;
}

interface Armed {
  readonly id: string;
  readonly spec: FaultSpec;
  injected: number;
  remaining: number | undefined;
}

/** The chat sinks' answer to a faulted call. */
export interface ChatFault {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

type Point = FaultSpec['point'];

export class FaultInjector {
  #faults: Armed[] = [];
  readonly #log: (line: string) => void;
  readonly #random: () => number;

  constructor(options: { readonly log?: (line: string) => void; readonly random?: () => number } = {}) {
    this.#log = options.log ?? (() => undefined);
    this.#random = options.random ?? Math.random;
  }

  /** Arms a fault; throws a ZodError for a spec the twin cannot inject. */
  inject(input: FaultSpecInput): ActiveFault {
    const spec = FaultSpec.parse(input);
    const armed: Armed = {
      id: randomUUID(),
      spec,
      injected: 0,
      remaining: spec.ratio === undefined ? (spec.times ?? 1) : undefined,
    };
    this.#faults.push(armed);
    this.#log(`fault armed ${armed.id}: ${JSON.stringify(spec)}`);
    return this.#view(armed);
  }

  list(): ActiveFault[] {
    return this.#faults.map((armed) => this.#view(armed));
  }

  /** The fault, spent or not, by id (its count of injected failures stays readable until cleared). */
  get(id: string): ActiveFault | undefined {
    const armed = this.#faults.find((candidate) => candidate.id === id);
    return armed === undefined ? undefined : this.#view(armed);
  }

  /** Disarms every fault (or one by id). */
  clear(id?: string): void {
    this.#faults = id === undefined ? [] : this.#faults.filter((armed) => armed.id !== id);
  }

  #view(armed: Armed): ActiveFault {
    return {
      id: armed.id,
      spec: armed.spec,
      injected: armed.injected,
      ...(armed.remaining === undefined ? {} : { remaining: armed.remaining }),
    };
  }

  /** The first armed fault at `point` that `matches` and fires now (counted), if any. */
  #fire<P extends Point>(
    point: P,
    matches: (spec: Extract<FaultSpec, { point: P }>) => boolean,
    what: string,
  ): Extract<FaultSpec, { point: P }> | undefined {
    for (const armed of this.#faults) {
      if (armed.spec.point !== point) continue;
      const spec = armed.spec as Extract<FaultSpec, { point: P }>;
      if (!matches(spec)) continue;
      if (armed.remaining !== undefined) {
        if (armed.remaining === 0) continue;
        armed.remaining -= 1;
      } else if (this.#random() >= spec.ratio!) {
        continue;
      }
      armed.injected += 1;
      this.#log(`fault ${armed.id} injected into ${what}`);
      return spec;
    }
    return undefined;
  }

  /** The AWS error to answer an authorized call with, or undefined to serve it. */
  awsCall(action: string, body: Buffer | undefined): AwsProtocolError | undefined {
    const service = action.slice(0, action.indexOf(':'));
    const spec = this.#fire(
      'aws',
      (candidate) =>
        (candidate.action === action || candidate.action === `${service}:*`) &&
        (candidate.bodyContains === undefined || body?.includes(candidate.bodyContains) === true),
      action,
    );
    if (spec === undefined) return undefined;
    const [status, message] = AWS_FAULT_ERRORS[service]![spec.code]!;
    return new AwsProtocolError(spec.code, message, status);
  }

  /** The per-entry error for a PutEvents entry, or undefined to put it on the bus. */
  putEventsEntry(entry: {
    readonly DetailType?: string;
  }): { ErrorCode: string; ErrorMessage: string } | undefined {
    const spec = this.#fire(
      'put-events-entry',
      (candidate) => candidate.detailType === undefined || candidate.detailType === entry.DetailType,
      `PutEvents entry ${entry.DetailType ?? ''}`,
    );
    return spec === undefined
      ? undefined
      : { ErrorCode: spec.code, ErrorMessage: PUT_EVENTS_ENTRY_ERRORS[spec.code]! };
  }

  /** Slack's answer when rate limited (429 + Retry-After, `ratelimited`) or failing (5xx). */
  slack(method: string): ChatFault | undefined {
    const spec = this.#fire(
      'slack',
      (candidate) => candidate.method === undefined || candidate.method === method,
      `Slack ${method}`,
    );
    if (spec === undefined) return undefined;
    return spec.status === 429
      ? {
          status: 429,
          headers: { 'retry-after': String(spec.retryAfterSeconds) },
          body: { ok: false, error: 'ratelimited' },
        }
      : { status: spec.status, headers: {}, body: { ok: false, error: 'fatal_error' } };
  }

  /** The Bot Framework connector's error answer. */
  teams(method: string): ChatFault | undefined {
    const spec = this.#fire(
      'teams',
      (candidate) => candidate.method === undefined || candidate.method === method,
      `Teams ${method}`,
    );
    if (spec === undefined) return undefined;
    return {
      status: spec.status,
      headers: {},
      body: { error: { code: 'ServiceError', message: 'The service is temporarily unavailable.' } },
    };
  }

  /** The Microsoft identity platform's token endpoint error answer. */
  teamsToken(): ChatFault | undefined {
    const spec = this.#fire('teams-token', () => true, 'Teams token endpoint');
    if (spec === undefined) return undefined;
    const unavailable = spec.status >= 500;
    return {
      status: spec.status,
      headers: {},
      body: {
        error: unavailable ? 'temporarily_unavailable' : 'invalid_client',
        error_description: unavailable
          ? 'AADSTS50001: The service is temporarily unavailable.'
          : 'AADSTS7000215: Invalid client secret provided.',
        error_codes: [unavailable ? 50001 : 7000215],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      },
    };
  }
}
