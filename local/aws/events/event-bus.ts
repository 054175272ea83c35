/**
 * The local EventBridge: PutEvents with the per-entry validation and results AWS gives, the bus
 * policy (given by the composition: which caller may put which source on which bus), and routing
 * of each accepted event to the targets of every rule whose pattern matches it.
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../cloudformation/intrinsics.ts';
import type { TwinRule, TwinRuleTarget } from '../cloudformation/template.ts';
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import type { AwsCaller } from '../front/service.ts';
import { compilePattern, type EventMatcher } from './pattern/index.ts';

const DEFAULT_BUS = 'default';
/** Sources reserved for AWS services' own events. */
const AWS_SOURCE_PREFIX = 'aws.';

function isReadOnlyManagementEvent(event: BusEvent): boolean {
  return (
    event['detail-type'] === 'AWS API Call via CloudTrail' &&
    event.detail.readOnly === true &&
    event.detail.managementEvent !== false
  );
}

/** EventBridge's limit for the entries of one PutEvents call, in bytes. */
const MAX_ENTRIES_BYTES = 256 * 1024;
const MAX_ENTRIES = 10;
/** "PutEvents will only process nested JSON up to 1100 levels deep." (the API reference) */
const MAX_DETAIL_DEPTH = 1100;

export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly Resources?: string[];
  /** Epoch seconds, as the SDK sends it. */
  readonly Time?: number;
}

export type PutEventsResultEntry =
  | { readonly EventId: string }
  | { readonly ErrorCode: string; readonly ErrorMessage: string };

export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: Record<string, unknown>;
}

/**
 * The bus's resource policy: may `caller` put an event with this source on this bus? Undefined
 * caller: the twin's own services (a Step Functions `events:putEvents` task), as their roles may.
 */
export type PutEventsPolicy = (
  entry: { source: string; busName: string },
  caller: AwsCaller | undefined,
) => boolean;

/** Hands an event (already shaped by the target's Input/InputPath) to a rule target. */
export type TargetDelivery = (target: TwinRuleTarget, input: unknown, rule: TwinRule) => Promise<void>;

interface CompiledRule {
  readonly rule: TwinRule;
  readonly matcher: EventMatcher;
}

function entryError(code: string, message: string): PutEventsResultEntry {
  return { ErrorCode: code, ErrorMessage: message };
}

function required(field: string): PutEventsResultEntry {
  return entryError(
    'InvalidArgument',
    `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
  );
}

/** EventBridge's time format: second precision, `Z`; undefined for a Time no date can hold. */
function eventTime(seconds: number | undefined): string | undefined {
  const date = seconds === undefined ? new Date() : new Date(seconds * 1000);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) {
    return undefined;
  }
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** How deeply a parsed JSON value nests, counted without recursion (a hostile Detail may nest deep). */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** `$.a.b` paths of a target's InputPath, as rule targets use them. */
function selectPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .reduce<unknown>((current, key) => (current as Record<string, unknown> | undefined)?.[key], value);
}

export function targetInput(target: TwinRuleTarget, event: BusEvent): unknown {
  if (target.input !== undefined) return JSON.parse(target.input);
  if (target.inputPath !== undefined) return selectPath(event, target.inputPath);
  return event;
}

export class LocalEventBus {
  readonly #buses: ReadonlySet<string>;
  readonly #rules: readonly CompiledRule[];
  readonly #deliver: TargetDelivery;
  readonly #log: (message: string) => void;
  readonly #policy: PutEventsPolicy;
  readonly #injectedFailure: (entry: PutEventsEntry) => PutEventsResultEntry | undefined;
  readonly #deliveries = new Set<Promise<void>>();

  constructor(options: {
    buses: readonly string[];
    rules: readonly TwinRule[];
    deliver: TargetDelivery;
    /** @default every caller may put any source */
    policy?: PutEventsPolicy;
    /**
     * A valid entry's failure to report instead of putting it on the bus (the twin's fault
     * injection: EventBridge's transient per-entry errors). @default none
     */
    injectedFailure?: (entry: PutEventsEntry) => PutEventsResultEntry | undefined;
    log?: (message: string) => void;
  }) {
    this.#buses = new Set(options.buses);
    // Scheduled rules have no pattern: the scheduler runs them, events never match them.
    this.#rules = options.rules
      .filter((rule) => rule.enabled && rule.pattern !== undefined)
      .map((rule) => ({ rule, matcher: compilePattern(rule.pattern) }));
    this.#deliver = options.deliver;
    this.#policy = options.policy ?? (() => true);
    this.#injectedFailure = options.injectedFailure ?? (() => undefined);
    this.#log = options.log ?? (() => undefined);
  }

  /** A bus name or ARN → its name. */
  #busName(nameOrArn: string | undefined): string {
    if (nameOrArn === undefined || nameOrArn === '') return DEFAULT_BUS;
    const arnMatch = /^arn:aws[a-z-]*:events:[^:]*:\d{12}:event-bus\/(.+)$/.exec(nameOrArn);
    return arnMatch === null ? nameOrArn : arnMatch[1]!;
  }

  #check(entry: PutEventsEntry, caller: AwsCaller | undefined): PutEventsResultEntry | BusEvent {
    if (entry.Source === undefined || entry.Source === '') return required('Source');
    if (entry.DetailType === undefined || entry.DetailType === '') return required('DetailType');
    if (entry.Detail === undefined || entry.Detail === '') return required('Detail');
    const busName = this.#busName(entry.EventBusName);
    if (!this.#buses.has(busName)) {
      return entryError('ResourceNotFoundException', `Event bus ${busName} does not exist.`);
    }
    if (
      entry.Source.startsWith(AWS_SOURCE_PREFIX) ||
      !this.#policy({ source: entry.Source, busName }, caller)
    ) {
      // The bus policy is checked per entry (events:source), as EventBridge does.
      return entryError(
        'NotAuthorizedForSourceException',
        'You do not have permissions to publish events with this source onto this event bus.',
      );
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return entryError('MalformedDetail', 'Detail is malformed.');
    }
    // A Detail must be a JSON object: an array, a string (say, one holding a request), a number
    // or null is refused, as EventBridge refuses it.
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
      return entryError('MalformedDetail', 'Detail is malformed.');
    }
    if (nestingDepth(detail) > MAX_DETAIL_DEPTH) return entryError('MalformedDetail', 'Detail is malformed.');
    const time = eventTime(entry.Time);
    if (time === undefined) {
      return entryError('InvalidArgument', 'Parameter Time is not valid. Reason: Time is out of range.');
    }
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: LOCAL_ACCOUNT,
      time,
      region: LOCAL_REGION,
      resources: entry.Resources ?? [],
      detail: detail as Record<string, unknown>,
    };
  }

  putEvents(
    entries: readonly PutEventsEntry[] | undefined,
    caller: AwsCaller | undefined,
  ): { Entries: PutEventsResultEntry[]; FailedEntryCount: number } {
    if (entries === undefined || entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new AwsProtocolError(
        AwsErrorCode.validation,
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    if (Buffer.byteLength(JSON.stringify(entries)) > MAX_ENTRIES_BYTES) {
      throw new AwsProtocolError(
        AwsErrorCode.validation,
        'Total size of the entries in the request is over the limit.',
      );
    }
    const results = entries.map((entry) => {
      const checked = this.#check(entry, caller);
      if (!('id' in checked)) return checked;
      const injected = this.#injectedFailure(entry);
      if (injected !== undefined) return injected;
      this.#route(this.#busName(entry.EventBusName), checked);
      return { EventId: checked.id };
    });
    return { Entries: results, FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length };
  }

  /**
   * An AWS service's own event (`source: aws.<service>`, e.g. CloudTrail's API calls), delivered on
   * the account's default bus as AWS delivers it: never through PutEvents, which refuses `aws.`
   * sources to everyone else.
   */
  deliverAwsEvent(event: BusEvent): void {
    if (!event.source.startsWith(AWS_SOURCE_PREFIX)) {
      throw new Error(`not an AWS service event: source ${event.source}`);
    }
    this.#route(DEFAULT_BUS, event);
  }

  /** An AWS service's event, in the envelope EventBridge gives it, on the default bus. */
  publishAwsEvent(event: {
    readonly source: string;
    readonly detailType: string;
    readonly detail: Record<string, unknown>;
    readonly time?: Date;
  }): void {
    // A time the event format cannot carry (NaN, beyond year 9999) becomes now, which always fits.
    const time =
      (event.time === undefined ? undefined : eventTime(event.time.getTime() / 1000)) ??
      eventTime(undefined)!;
    this.deliverAwsEvent({
      version: '0',
      id: randomUUID(),
      'detail-type': event.detailType,
      source: event.source,
      account: LOCAL_ACCOUNT,
      time,
      region: LOCAL_REGION,
      resources: [],
      detail: event.detail,
    });
  }

  #route(busName: string, event: BusEvent): void {
    const readOnlyManagementEvent = isReadOnlyManagementEvent(event);
    for (const { rule, matcher } of this.#rules) {
      if (rule.eventBusName !== busName || !matcher.matches(event)) continue;
      // EventBridge gives read-only CloudTrail management events only to rules in the state that asks for them.
      if (readOnlyManagementEvent && rule.allManagementEvents !== true) continue;
      for (const target of rule.targets) {
        const delivery = this.#deliver(target, targetInput(target, event), rule)
          .catch((error: unknown) => {
            this.#log(`rule ${rule.name}: delivery to ${target.arn} failed: ${(error as Error).message}`);
          })
          .finally(() => this.#deliveries.delete(delivery));
        this.#deliveries.add(delivery);
      }
    }
  }

  /** Resolves when every delivery started so far has been handed to its target. */
  async settled(): Promise<void> {
    await Promise.all([...this.#deliveries]);
  }
}
