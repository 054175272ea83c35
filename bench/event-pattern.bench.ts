import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { compilePattern, type EventMatcher } from '../local/aws/events/pattern/index.ts';
import type { BenchOptions, Figure } from './figures.ts';

/**
 * Matches per second of precompiled patterns against real-format events, one figure per scenario.
 * The twin routes every PutEvents entry through these matchers, so they must stay in the microseconds.
 */
const ITERATIONS = { full: 100_000, quick: 1_000 } as const;
const WARM_UP_ITERATIONS = { full: 5_000, quick: 100 } as const;

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
}

interface Scenario {
  /** The figure's name: `eventPattern<Scenario>MatchesPerSecond`. */
  readonly name: string;
  readonly matcher: EventMatcher;
  readonly event: unknown;
}

function scenarios(): Scenario[] {
  const createAccessKey = fixture('cloudtrail/iam-CreateAccessKey.eventbridge.json');
  const putBucketPolicy = fixture('cloudtrail/s3-PutBucketPolicy.eventbridge.json');
  const macieFinding = fixture('macie/sensitive-data-finding-multiple-csv.eventbridge.json');
  const agentRequest = {
    version: '0',
    id: '7f1b6a8e-0000-4000-8000-000000000001',
    'detail-type': 'Approval Requested',
    source: 'countersign.agent.invoice-bot',
    account: '000000000000',
    time: '2025-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { requestId: 'r-1', action: 'payments:Transfer', amount: 1250.5 },
  };
  return [
    {
      // exact: agent request (source prefix + detail-type)
      name: 'AgentRequest',
      matcher: compilePattern({
        source: [{ prefix: 'countersign.agent.' }],
        'detail-type': ['Approval Requested'],
      }),
      event: agentRequest,
    },
    {
      // cloudtrail: documented per-API pattern
      name: 'CloudTrailPerApi',
      matcher: compilePattern({
        source: ['aws.iam'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { eventSource: ['iam.amazonaws.com'], eventName: ['CreateAccessKey', 'DeleteAccessKey'] },
      }),
      event: createAccessKey,
    },
    {
      // cloudtrail: $or + exists:false + cidr + wildcard
      name: 'CloudTrailOrCidrWildcard',
      matcher: compilePattern({
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          errorCode: [{ exists: false }],
          sourceIPAddress: [{ cidr: '203.0.113.0/24' }],
          userIdentity: { arn: [{ wildcard: 'arn:aws:sts::*:assumed-role/*' }] },
        },
        $or: [{ source: ['aws.s3'] }, { source: ['aws.kms'] }],
      }),
      event: putBucketPolicy,
    },
    {
      // macie: nested arrays of detections with numeric
      name: 'MacieNestedNumeric',
      matcher: compilePattern({
        source: ['aws.macie'],
        detail: {
          severity: { description: ['High'] },
          classificationDetails: {
            result: { sensitiveData: { detections: { type: ['NAME'], count: [{ numeric: ['>=', 10] }] } } },
          },
        },
      }),
      event: macieFinding,
    },
    {
      // miss: anything-but on a non-matching source
      name: 'AnythingButMiss',
      matcher: compilePattern({
        source: [{ 'anything-but': { prefix: 'aws.' } }],
        detail: { amount: [{ numeric: ['>', 0] }] },
      }),
      event: createAccessKey,
    },
  ];
}

function matchesPerSecond({ matcher, event }: Scenario, mode: keyof typeof ITERATIONS): number {
  for (let i = 0; i < WARM_UP_ITERATIONS[mode]; i++) matcher.matches(event);
  const started = performance.now();
  for (let i = 0; i < ITERATIONS[mode]; i++) matcher.matches(event);
  const elapsedSeconds = (performance.now() - started) / 1000;
  return Math.round(ITERATIONS[mode] / elapsedSeconds);
}

export async function measure({ quick }: BenchOptions): Promise<Figure[]> {
  return scenarios().map((scenario) => ({
    name: `eventPattern${scenario.name}MatchesPerSecond`,
    value: matchesPerSecond(scenario, quick ? 'quick' : 'full'),
    unit: '/s',
  }));
}
