import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run as approve } from '../../../../local/cli/commands/approve.ts';
import { run as listCalls } from '../../../../local/cli/commands/calls.ts';
import { run as classification } from '../../../../local/cli/commands/classification.ts';
import { run as deny } from '../../../../local/cli/commands/deny.ts';
import { run as list } from '../../../../local/cli/commands/list.ts';
import { parseParams, run as request } from '../../../../local/cli/commands/request.ts';
import { run as show } from '../../../../local/cli/commands/show.ts';
import { run as simulate } from '../../../../local/cli/commands/simulate.ts';
import { twinUrl } from '../../../../local/cli/twin-client.ts';
import { aClassification } from '../../domain/fixtures.ts';

/** A stand-in twin: records every call and answers from `answers`, keyed by "METHOD path". */
interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}
const calls: Recorded[] = [];
let answers: Record<string, { status: number; body: unknown }> = {};
let server: Server;
let url: string;

const record = {
  requestId: 'req-1',
  status: 'PENDING',
  agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
  requesters: ['invoice-bot', 'dave'],
  action: 'iam:AttachRolePolicy',
  resource: { arn: 'arn:aws:iam::123456789012:role/x' },
  parameters: { policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
  justification: 'needed',
  actionHash: 'a'.repeat(64),
  policy: {
    decision: 'REQUIRE_APPROVAL',
    groups: ['platform'],
    quorum: 2,
    timeoutSeconds: 3600,
    stepUp: false,
    policyIds: ['p1'],
    reason: 'admin attach needs two',
  },
  votes: [{ voterId: 'carol', vote: 'approve', channel: 'api', at: '2026-11-22T00:00:00.000Z' }],
  approvers: [],
  executionArn: 'arn:aws:states:us-east-1:123456789012:execution:sm:req-1',
  sourceEventId: 'e1',
  createdAt: '2026-11-22T00:00:00.000Z',
  expiresAt: '2026-11-22T01:00:00.000Z',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      calls.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const target = req.headers['x-amz-target'];
      const answer = answers[typeof target === 'string' ? target : `${req.method} ${path}`];
      if (answer === undefined) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"error":{"code":"NOT_FOUND","message":"nope"}}');
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

let stdout: ReturnType<typeof vi.spyOn>;
let stderr: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  calls.length = 0;
  answers = { 'POST /local/token': { status: 200, body: { token: 'tok-123' } } };
  stdout = vi.spyOn(console, 'log').mockImplementation(() => {});
  stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

const printed = () => stdout.mock.calls.map((call: unknown[]) => String(call[0])).join('\n');

describe('approve and deny', () => {
  it('gets a token for the reviewer and posts the vote with it', async () => {
    answers['POST /api/requests/req-1/votes'] = { status: 201, body: { request: record, decided: false } };
    expect(await approve(['req-1', '--as', 'erin', '--url', url])).toBe(0);
    expect(JSON.parse(calls[0]!.body)).toEqual({ user: 'erin' });
    expect(calls[1]!.headers.authorization).toBe('Bearer tok-123');
    expect(JSON.parse(calls[1]!.body)).toEqual({ vote: 'approve' });
    expect(printed()).toBe('erin approved req-1: 1 of 2 approvals, still PENDING');
  });

  it('exits 1 with the reason when the API refuses the vote', async () => {
    answers['POST /api/requests/req-1/votes'] = {
      status: 403,
      body: { error: { code: 'REQUESTER', message: 'no self-approval' } },
    };
    expect(await approve(['req-1', '--as', 'dave', '--url', url])).toBe(1);
    expect(String(stderr.mock.calls[0]?.[0])).toContain('no self-approval (REQUESTER, HTTP 403)');
  });

  it('needs --as, and a reason to deny (exit 2, nothing sent)', async () => {
    expect(await approve(['req-1', '--url', url])).toBe(2);
    expect(await deny(['req-1', '--as', 'carol', '--url', url])).toBe(2);
    expect(await deny(['--as', 'carol', '--reason', 'no', '--url', url])).toBe(2);
    expect(calls).toEqual([]);
  });

  it('sends the deny reason and reports the decision', async () => {
    const decided = { ...record, status: 'DENIED', decision: 'DENIED' };
    answers['POST /api/requests/req-1/votes'] = { status: 201, body: { request: decided, decided: true } };
    expect(await deny(['req-1', '--as', 'carol', '--reason', 'too broad', '--url', url])).toBe(0);
    expect(JSON.parse(calls[1]!.body)).toEqual({ vote: 'deny', reason: 'too broad' });
    expect(printed()).toBe('carol denied req-1: the request is now DENIED (DENIED)');
  });
});

describe('list and show', () => {
  it('lists with the status filter as a table, or as JSON', async () => {
    answers['GET /api/requests?status=PENDING'] = { status: 200, body: { items: [record] } };
    expect(await list(['--status', 'pending', '--as', 'alice', '--url', url])).toBe(0);
    expect(printed()).toMatch(/^REQUEST\s+STATUS\s+DECISION\s+APPROVALS/);
    expect(printed()).toMatch(/req-1\s+PENDING\s+-\s+1\/2\s+invoice-bot\s+iam:AttachRolePolicy/);
    stdout.mockClear();
    expect(await list(['--status', 'PENDING', '--json', '--url', url])).toBe(0);
    expect(JSON.parse(printed())).toEqual({ items: [record] });
  });

  it('refuses an unknown status as a usage error', async () => {
    expect(await list(['--status', 'MAYBE', '--url', url])).toBe(2);
  });

  it('shows a request with the reason the viewer cannot vote', async () => {
    answers['GET /api/requests/req-1'] = {
      status: 200,
      body: {
        request: record,
        timeline: [
          {
            requestId: 'req-1',
            kind: 'REQUESTED',
            key: 'REQUESTED',
            at: record.createdAt,
            actor: 'invoice-bot',
            data: {},
          },
        ],
        canVote: {
          eligible: false,
          code: 'NOT_IN_GROUP',
          message: 'You are not in any of the approver groups.',
        },
      },
    };
    expect(await show(['req-1', '--as', 'alice', '--url', url])).toBe(0);
    const text = printed();
    expect(text).toContain('invoice-bot on behalf of dave');
    expect(text).toContain('Can alice vote:');
    expect(text).toContain('no: You are not in any of the approver groups. (NOT_IN_GROUP)');
    expect(text).toMatch(/Timeline\nAT\s+WHAT\s+WHO\n.*REQUESTED\s+invoice-bot/);
  });

  it('exits 1 when the twin cannot be reached', async () => {
    expect(await show(['req-1', '--url', 'http://127.0.0.1:9'])).toBe(1);
    expect(String(stderr.mock.calls[0]?.[0])).toContain('cannot reach the twin');
  });
});

describe('calls and simulate cloudtrail', () => {
  const call = {
    eventId: '3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8',
    eventName: 'PutBucketPolicy',
    eventSource: 's3.amazonaws.com',
    action: 's3:PutBucketPolicy',
    principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot',
    agentId: 'invoice-bot',
    resourceArn: 'arn:aws:s3:::exports',
    eventTime: '2026-11-22T09:40:00Z',
    status: 'UNAPPROVED',
    review: {
      reviewId: 'call:x',
      kind: 'UNAPPROVED_CALL',
      status: 'OPEN',
      groups: ['security'],
      openedAt: 'x',
    },
  };
  const fixture = join(
    import.meta.dirname,
    '../../../fixtures/cloudtrail/s3-PutBucketPolicy.eventbridge.json',
  );

  it('lists privileged calls by status as a table, or as JSON, and refuses an unknown status', async () => {
    answers['GET /api/privileged-calls?status=UNAPPROVED'] = { status: 200, body: { items: [call] } };
    expect(await listCalls(['--status', 'unapproved', '--as', 'alice', '--url', url])).toBe(0);
    expect(printed()).toMatch(/^EVENT\s+TIME\s+STATUS\s+ACTION\s+AGENT\s+RESOURCE\s+REQUEST\s+REVIEW/);
    expect(printed()).toMatch(
      /UNAPPROVED\s+s3:PutBucketPolicy\s+invoice-bot\s+arn:aws:s3:::exports\s+-\s+OPEN/,
    );
    stdout.mockClear();
    expect(await listCalls(['--status', 'UNAPPROVED', '--json', '--url', url])).toBe(0);
    expect(JSON.parse(printed())).toEqual({ items: [call] });
    calls.length = 0;
    expect(await listCalls(['--status', 'PENDING', '--url', url])).toBe(2);
    expect(calls).toEqual([]);
  });

  it('replays a recorded CloudTrail event onto the twin as given', async () => {
    answers['POST /local/aws-events'] = { status: 202, body: { id: 'x' } };
    expect(await simulate(['cloudtrail', fixture, '--url', url])).toBe(0);
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/local/aws-events' });
    expect(JSON.parse(calls[0]!.body)).toEqual(JSON.parse(await readFile(fixture, 'utf8')));
    expect(printed()).toBe(
      'replayed s3.amazonaws.com PutBucketPolicy (eventID 3f2e1d0c-9b8a-4776-a5b4-c3d2e1f0a9b8); see: countersign calls',
    );
  });

  it('refuses what is not a CloudTrail API call event (exit 2, nothing sent), and reports a refusing twin (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'countersign-simulate-'));
    const notCloudTrail = join(dir, 'request.json');
    await writeFile(notCloudTrail, JSON.stringify({ 'detail-type': 'Action Requested', detail: {} }));
    expect(await simulate(['cloudtrail', notCloudTrail, '--url', url])).toBe(2);
    expect(String(stderr.mock.calls[0]?.[0])).toContain('not an "AWS API Call via CloudTrail" event');
    expect(await simulate(['macie', fixture, '--url', url])).toBe(2);
    expect(await simulate(['cloudtrail', join(dir, 'missing.json'), '--url', url])).toBe(2);
    expect(calls).toEqual([]);
    answers['POST /local/aws-events'] = {
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'no' } },
    };
    expect(await simulate(['cloudtrail', fixture, '--url', url])).toBe(1);
    await rm(dir, { recursive: true });
  });
});

describe('request', () => {
  const args = [
    '--agent',
    'invoice-bot',
    '--action',
    'iam:AttachRolePolicy',
    '--resource',
    'arn:aws:iam::123456789012:role/x',
    '--param',
    'policyArn=arn:aws:iam::aws:policy/ReadOnlyAccess',
    '--justification',
    'read access for the export',
    '--request-id',
    'req-cli-1',
  ];

  it("puts a SigV4-signed Action Requested event with the agent's own key and source", async () => {
    answers['AWSEvents.PutEvents'] = {
      status: 200,
      body: { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] },
    };
    expect(await request([...args, '--url', url])).toBe(0);
    expect(printed()).toBe('invoice-bot:req-cli-1');
    const [call] = calls;
    expect(call!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIACOUNTERSIGNDEMO1\/\d{8}\/us-east-1\/events\//,
    );
    const { Entries } = JSON.parse(call!.body);
    expect(Entries[0]).toMatchObject({
      EventBusName: 'countersign',
      Source: 'countersign.agent.invoice-bot',
      DetailType: 'Action Requested',
    });
    expect(JSON.parse(Entries[0].Detail)).toEqual({
      requestId: 'req-cli-1',
      agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
      action: 'iam:AttachRolePolicy',
      resource: { arn: 'arn:aws:iam::123456789012:role/x' },
      parameters: { policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
      justification: 'read access for the export',
    });
  });

  it('exits 1 when the bus rejects the entry', async () => {
    answers['AWSEvents.PutEvents'] = {
      status: 200,
      body: {
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not your source' }],
      },
    };
    expect(await request([...args, '--url', url])).toBe(1);
    expect(String(stderr.mock.calls[0]?.[0])).toContain('not your source');
  });

  it('refuses an invalid request before sending anything (exit 2, each problem listed)', async () => {
    expect(
      await request(['--agent', 'invoice-bot', '--action', 'attach', '--resource', 'x', '--url', url]),
    ).toBe(2);
    const message = String(stderr.mock.calls[0]?.[0]);
    expect(message).toContain('action:');
    expect(message).toContain('justification:');
    expect(await request(['--agent', 'nobody', ...args.slice(2), '--url', url])).toBe(2);
    expect(calls).toEqual([]);
  });

  it('reads key=value parameters and rejects malformed ones', () => {
    expect(parseParams(['a=1', 'b=x=y'])).toEqual({ a: '1', b: 'x=y' });
    expect(() => parseParams(['novalue'])).toThrow(/key=value/);
  });
});

describe('twinUrl', () => {
  it('prefers --url, then COUNTERSIGN_URL, then the port', () => {
    expect(twinUrl('http://h:1/', {})).toBe('http://h:1');
    expect(twinUrl(undefined, { COUNTERSIGN_URL: 'http://x:2' })).toBe('http://x:2');
    expect(twinUrl(undefined, { COUNTERSIGN_PORT: '5000' })).toBe('http://127.0.0.1:5000');
    expect(twinUrl(undefined, {})).toBe('http://127.0.0.1:4710');
  });
});

describe('classification show', () => {
  const arn = 'arn:aws:s3:::finance-exports/2026/11/cards.csv';
  const path = `GET /api/classifications?resource=${encodeURIComponent(arn)}`;
  const detail = {
    resource: arn,
    subject: 's3://finance-exports/2026/11/cards.csv',
    classification: aClassification({
      classifiedAt: '2026-11-22T08:00:00.000Z',
      subject: 's3://finance-exports/2026/11/cards.csv',
    }),
    object: {
      bucket: 'finance-exports',
      key: '2026/11/cards.csv',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION'],
      types: ['CREDIT_CARD_NUMBER'],
      typeCounts: { CREDIT_CARD_NUMBER: 4 },
      findingIds: ['f-1'],
      jobId: 'job-1',
      updatedAt: '2026-11-22T08:00:00.000Z',
    },
    bucket: {
      bucket: 'finance-exports',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION'],
      types: ['CREDIT_CARD_NUMBER'],
      typeCounts: { CREDIT_CARD_NUMBER: 4 },
      findingIds: ['f-1'],
      findingIdsOmitted: 0,
      objects: 1,
      sensitiveObjects: 1,
      updatedAt: '2026-11-22T08:00:00.000Z',
    },
    bucketFindings: [
      {
        bucket: 'finance-exports',
        type: 'Policy:IAMUser/S3BucketPublic',
        severity: 'High',
        findingId: 'p-1',
        count: 2,
        updatedAt: '2026-11-22T09:00:00.000Z',
      },
    ],
    history: [
      {
        subject: 's3://finance-exports/2026/11/cards.csv',
        kind: 'CLASSIFICATION_CHANGED',
        key: 'k',
        at: '2026-11-22T08:00:01.000Z',
        actor: 'macie',
        data: { severity: 'High' },
      },
    ],
  };

  it('asks the API as the auditor and prints the classification in words, or as JSON', async () => {
    answers[path] = { status: 200, body: detail };
    expect(await classification(['show', arn, '--as', 'alice', '--url', url])).toBe(0);
    expect(calls[1]!.headers.authorization).toBe('Bearer tok-123');
    const text = printed();
    expect(text).toMatch(/Classification:\s+High: financial information/);
    expect(text).toMatch(/Object types:\s+CREDIT_CARD_NUMBER ×4/);
    expect(text).toMatch(/Bucket:\s+High across 1 classified object\(s\), 1 sensitive/);
    expect(text).toMatch(/Policy:IAMUser\/S3BucketPublic\s+High\s+2/);
    expect(text).toMatch(
      /2026-11-22T08:00:01.000Z\s+s3:\/\/finance-exports\/2026\/11\/cards.csv\s+macie\s+High/,
    );
    stdout.mockClear();
    expect(await classification(['show', arn, '--json', '--as', 'alice', '--url', url])).toBe(0);
    expect(JSON.parse(printed())).toEqual(detail);
  });

  it('exits 1 with the reason when the API refuses, 2 on bad usage (nothing sent)', async () => {
    answers[path] = { status: 403, body: { error: { code: 'NOT_AN_AUDITOR', message: 'auditors only' } } };
    expect(await classification(['show', arn, '--as', 'carol', '--url', url])).toBe(1);
    expect(String(stderr.mock.calls[0]?.[0])).toContain('auditors only (NOT_AN_AUDITOR, HTTP 403)');
    calls.length = 0;
    expect(await classification(['show', '--url', url])).toBe(2);
    expect(await classification(['list', arn, '--url', url])).toBe(2);
    expect(await classification(['show', 'arn:aws:iam::123456789012:role/x', '--url', url])).toBe(2);
    expect(calls).toEqual([]);
  });
});
