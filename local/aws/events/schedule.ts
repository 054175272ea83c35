/**
 * EventBridge schedule expressions for the twin's scheduled rules: `rate(value unit)` and
 * `cron(minutes hours day-of-month month day-of-week year)`, in UTC, as the EventBridge
 * documentation defines them. `nextFireTime` is pure; LocalScheduler turns each rule into a timer
 * that delivers the "Scheduled Event" AWS would send, and stops with the twin.
 *
 * Not supported (rejected when the template is read, never silently ignored): the `L`, `W` and
 * `#` day qualifiers of cron expressions.
 */
import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../cloudformation/intrinsics.ts';
import type { TwinRule } from '../cloudformation/template.ts';
import type { TargetDelivery } from './event-bus.ts';
import { targetInput } from './event-bus.ts';

const MINUTE_MS = 60_000;
const RATE_UNITS = { minute: 1, hour: 60, day: 24 * 60 } as const;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** How far ahead a cron expression is searched for its next match. */
const SEARCH_YEARS = 5;

export type Schedule =
  | { readonly kind: 'rate'; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly fields: CronFields };

interface CronFields {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** undefined for `?`: the day is chosen by the other day field. */
  readonly daysOfMonth?: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 1 = Sunday … 7 = Saturday, as EventBridge counts; undefined for `?`. */
  readonly daysOfWeek?: ReadonlySet<number>;
  readonly years: ReadonlySet<number>;
}

function invalid(expression: string, why: string): ConfigurationError {
  return new ConfigurationError(`schedule expression ${expression}: ${why}`);
}

function parseRate(expression: string, body: string): Schedule {
  const match = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(body.trim());
  if (match === null) throw invalid(expression, 'expected rate(<value> minute|minutes|hour|hours|day|days)');
  const value = Number(match[1]);
  const unit = match[2]!;
  if (value < 1) throw invalid(expression, 'the value must be a positive whole number');
  // EventBridge insists on the singular for 1 and the plural otherwise.
  if ((value === 1) !== !unit.endsWith('s')) {
    throw invalid(
      expression,
      value === 1 ? 'a value of 1 takes a singular unit' : 'a value above 1 takes a plural unit',
    );
  }
  const minutes = RATE_UNITS[unit.replace(/s$/, '') as keyof typeof RATE_UNITS];
  return { kind: 'rate', periodMs: value * minutes * MINUTE_MS };
}

function fieldValue(
  expression: string,
  token: string,
  min: number,
  max: number,
  names?: readonly string[],
): number {
  const named = names?.indexOf(token.toUpperCase()) ?? -1;
  const value = named >= 0 ? named + min : Number(token);
  if (!Number.isInteger(value) || value < min || value > max || token === '') {
    throw invalid(expression, `${token} is not between ${min} and ${max}`);
  }
  return value;
}

function parseField(
  expression: string,
  field: string,
  min: number,
  max: number,
  names?: readonly string[],
): Set<number> {
  if (
    /[LW#]/i.test(field.replace(/[A-Z]{3}/gi, (name) => (names?.includes(name.toUpperCase()) ? '' : name)))
  ) {
    throw invalid(expression, `the L, W and # qualifiers are not supported by the twin (${field})`);
  }
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : fieldValue(expression, stepText, 1, max);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [start = '', end = ''] = range.split('-');
      from = fieldValue(expression, start, min, max, names);
      to = fieldValue(expression, end, min, max, names);
    } else {
      from = fieldValue(expression, range, min, max, names);
      to = stepText === undefined ? from : max;
    }
    if (from > to) throw invalid(expression, `the range ${range} is empty`);
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

function parseCron(expression: string, body: string): Schedule {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6)
    throw invalid(expression, 'expected six fields: minutes hours day-of-month month day-of-week year');
  const [minutes, hours, daysOfMonth, months, daysOfWeek, years] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if ((daysOfMonth === '?') === (daysOfWeek === '?')) {
    throw invalid(expression, 'exactly one of day-of-month and day-of-week must be ?');
  }
  return {
    kind: 'cron',
    fields: {
      minutes: parseField(expression, minutes, 0, 59),
      hours: parseField(expression, hours, 0, 23),
      ...(daysOfMonth === '?' ? {} : { daysOfMonth: parseField(expression, daysOfMonth, 1, 31) }),
      months: parseField(expression, months, 1, 12, MONTHS),
      ...(daysOfWeek === '?' ? {} : { daysOfWeek: parseField(expression, daysOfWeek, 1, 7, WEEKDAYS) }),
      years: parseField(expression, years, 1970, 2199),
    },
  };
}

/** Parses `rate(…)` or `cron(…)`; throws ConfigurationError naming the problem. */
export function parseScheduleExpression(expression: string): Schedule {
  const match = /^(rate|cron)\((.*)\)$/.exec(expression.trim());
  if (match === null) throw invalid(expression, 'expected rate(...) or cron(...)');
  return match[1] === 'rate' ? parseRate(expression, match[2]!) : parseCron(expression, match[2]!);
}

function dayMatches(fields: CronFields, day: Date): boolean {
  if (!fields.years.has(day.getUTCFullYear()) || !fields.months.has(day.getUTCMonth() + 1)) return false;
  return fields.daysOfMonth !== undefined
    ? fields.daysOfMonth.has(day.getUTCDate())
    : fields.daysOfWeek!.has(day.getUTCDay() + 1);
}

/** The first time strictly after `after` the schedule fires; rates count from `origin`. */
export function nextFireTime(schedule: Schedule, after: Date, origin: Date = after): Date | undefined {
  if (schedule.kind === 'rate') {
    const elapsed = Math.max(0, after.getTime() - origin.getTime());
    return new Date(origin.getTime() + (Math.floor(elapsed / schedule.periodMs) + 1) * schedule.periodMs);
  }
  const { fields } = schedule;
  const start = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  const lastDay = Date.UTC(start.getUTCFullYear() + SEARCH_YEARS, 0, 1);
  for (; day.getTime() < lastDay; day.setUTCDate(day.getUTCDate() + 1)) {
    if (!dayMatches(fields, day)) continue;
    for (const hour of [...fields.hours].sort((a, b) => a - b)) {
      for (const minute of [...fields.minutes].sort((a, b) => a - b)) {
        const at = day.getTime() + hour * 60 * MINUTE_MS + minute * MINUTE_MS;
        if (at >= start.getTime()) return new Date(at);
      }
    }
  }
  return undefined;
}

/** The event EventBridge delivers for a scheduled rule. */
export function scheduledEvent(rule: TwinRule, at: Date) {
  return {
    version: '0' as const,
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time: `${at.toISOString().slice(0, 19)}Z`,
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${rule.name}`],
    detail: {},
  };
}

/** setTimeout cannot wait longer than about 24.8 days; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LocalSchedulerOptions {
  readonly rules: readonly TwinRule[];
  readonly deliver: TargetDelivery;
  readonly log?: (line: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Runs the enabled scheduled rules of the template on timers, from start() until stop(). */
export class LocalScheduler {
  readonly #rules: ReadonlyArray<{ rule: TwinRule; schedule: Schedule }>;
  readonly #deliver: TargetDelivery;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #deliveries = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: LocalSchedulerOptions) {
    // Parsed up front, so a bad expression fails the twin's start, not a timer hours later.
    this.#rules = options.rules
      .filter((rule) => rule.enabled && rule.scheduleExpression !== undefined)
      .map((rule) => ({ rule, schedule: parseScheduleExpression(rule.scheduleExpression!) }));
    this.#deliver = options.deliver;
    this.#log = options.log ?? (() => undefined);
    this.#now = options.now ?? Date.now;
  }

  get rules(): readonly TwinRule[] {
    return this.#rules.map(({ rule }) => rule);
  }

  start(): void {
    const origin = new Date(this.#now());
    for (const entry of this.#rules) this.#arm(entry.rule, entry.schedule, origin, origin);
  }

  #arm(rule: TwinRule, schedule: Schedule, origin: Date, after: Date): void {
    if (this.#stopped) return;
    const next = nextFireTime(schedule, after, origin);
    if (next === undefined) return;
    const wait = Math.max(0, next.getTime() - this.#now());
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        if (wait > MAX_TIMER_MS) {
          this.#arm(rule, schedule, origin, after);
          return;
        }
        void this.#fire(rule, next);
        this.#arm(rule, schedule, origin, next);
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    // A pending schedule never keeps the process alive on its own.
    timer.unref();
    this.#timers.add(timer);
  }

  #fire(rule: TwinRule, at: Date): Promise<void>[] {
    const event = scheduledEvent(rule, at);
    return rule.targets.map((target) => {
      const delivery = this.#deliver(target, targetInput(target, event), rule).catch((error: unknown) =>
        this.#log(`scheduled rule ${rule.name} → ${target.arn} failed: ${(error as Error).message}`),
      );
      this.#deliveries.add(delivery);
      void delivery.finally(() => this.#deliveries.delete(delivery));
      return delivery;
    });
  }

  /** Runs a scheduled rule now, off its timer (by name or logical id), and waits for its targets. */
  async runNow(nameOrLogicalId: string): Promise<void> {
    const entry = this.#rules.find(
      ({ rule }) => rule.name === nameOrLogicalId || rule.logicalId === nameOrLogicalId,
    );
    if (entry === undefined) throw new ConfigurationError(`no scheduled rule ${nameOrLogicalId}`);
    await Promise.all(this.#fire(entry.rule, new Date(this.#now())));
  }

  /** Cancels every timer and waits for the deliveries already started. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#deliveries]);
  }
}
