import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ValidationError } from '../../../lambdas/domain/errors.ts';
import {
  ActionDecidedDetail,
  AgentRequestEvent,
  clientRequestIdOf,
  deliveredRequestIdOf,
  describeIssues,
  Principal,
  parse,
  publicRequestId,
  RequestId,
  RequestRecord,
  requestIdOf,
  VoteInput,
} from '../../../lambdas/domain/schemas.ts';
import { aRecord } from './fixtures.ts';

function anEvent(detail: Record<string, unknown> = {}, source = 'countersign.agent.invoice-bot') {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'Action Requested',
    source,
    account: '123456789012',
    time: '2025-06-01T12:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      agent: { id: 'invoice-bot', onBehalfOf: 'dave@example.com' },
      action: 's3:CopyObject',
      resource: { arn: 'arn:aws:s3:::invoices/2025/06.csv' },
      justification: 'monthly export',
      ...detail,
    },
  };
}

function issuesOf(schema: z.core.$ZodType, input: unknown): string[] {
  const result = z.safeParse(schema, input);
  return result.success ? [] : describeIssues(result.error);
}

describe('AgentRequestEvent', () => {
  it('accepts a well-formed request and defaults parameters to {}', () => {
    const event = parse(AgentRequestEvent, anEvent(), 'request');
    expect(event.detail.parameters).toEqual({});
    expect(event.detail.requestId).toBeUndefined();
  });

  it('refuses an agent asking in another agent’s name', () => {
    expect(issuesOf(AgentRequestEvent, anEvent({}, 'countersign.agent.other-bot'))).toEqual([
      'source: source must be countersign.agent.<detail.agent.id>: an agent can only ask for itself',
    ]);
  });

  it('names every bad field', () => {
    const issues = issuesOf(
      AgentRequestEvent,
      anEvent({ action: 'CopyObject', resource: { arn: 'bucket' }, justification: '  ', extra: 1 }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'detail.action: expected "<service>:<Operation>", e.g. "s3:CopyObject"',
        'detail.resource.arn: expected an ARN',
        'detail.justification: a justification is required',
        expect.stringMatching(/^detail: .*extra/),
      ]),
    );
  });
});

describe('VoteInput', () => {
  it('accepts an approval without a reason', () => {
    expect(VoteInput.parse({ vote: 'approve' })).toEqual({ vote: 'approve' });
  });

  it('requires a reason to deny', () => {
    expect(issuesOf(VoteInput, { vote: 'deny' })).toEqual(['reason: a reason is required to deny']);
    expect(issuesOf(VoteInput, { vote: 'deny', reason: '   ' })).toEqual([
      'reason: a reason is required to deny',
    ]);
    expect(VoteInput.parse({ vote: 'deny', reason: ' wrong bucket ' })).toEqual({
      vote: 'deny',
      reason: 'wrong bucket',
    });
  });
});

describe('request ids', () => {
  it('scopes every public request id by its agent: `<agentId>:<client request id>`', () => {
    expect(publicRequestId('invoice-bot', 'req-1')).toBe('invoice-bot:req-1');
    expect(RequestId.parse('invoice-bot:req:with:colons')).toBe('invoice-bot:req:with:colons');
    // No agent part, an agent part no agent id can have, or nothing after it: not a request id.
    for (const bad of ['req-1', 'Invoice-Bot:req-1', 'invoice bot:req-1', 'invoice-bot:', ':req-1']) {
      expect(RequestId.safeParse(bad).success).toBe(false);
    }
  });

  it('names a request by the agent and its requestId, the event id standing in', () => {
    const event = AgentRequestEvent.parse(anEvent({ requestId: 'req-7' }));
    expect(requestIdOf(event)).toBe('invoice-bot:req-7');
    expect(clientRequestIdOf(event)).toBe('req-7');
    const { requestId: _none, ...detail } = event.detail;
    const withoutId = AgentRequestEvent.parse({ ...anEvent(), detail });
    expect(requestIdOf(withoutId)).toBe(`invoice-bot:${withoutId.id}`);
  });

  it('names the request of an event not validated yet as requestIdOf does, or nobody', () => {
    const event = anEvent({ requestId: 'req-7' });
    expect(deliveredRequestIdOf(event)).toBe('invoice-bot:req-7');
    // A requestId that is no string is no id: the event id stands in, as the invalid request is refused.
    expect(deliveredRequestIdOf({ ...event, detail: { ...event.detail, requestId: 7 } })).toBe(
      `invoice-bot:${event.id}`,
    );
    // No agent id as a string, or neither requestId nor event id: the event names no request.
    for (const unnamed of [
      { ...event, detail: { ...event.detail, agent: { id: 7 } } },
      { ...event, detail: { ...event.detail, agent: null } },
      { ...event, detail: 'not an object' },
      { ...event, id: 7, detail: { ...event.detail, requestId: undefined } },
      null,
      'an event',
    ]) {
      expect(deliveredRequestIdOf(unnamed)).toBeUndefined();
    }
  });
});

describe('stored shapes', () => {
  it('round-trips a request record and rejects unknown fields', () => {
    expect(RequestRecord.parse(aRecord())).toEqual(aRecord());
    expect(issuesOf(RequestRecord, { ...aRecord(), taskToken: 't' })).toEqual([
      expect.stringMatching(/^\(root\): .*taskToken/),
    ]);
  });

  it('checks decision details, principals and audit records', () => {
    expect(
      issuesOf(ActionDecidedDetail, {
        requestId: 'invoice-bot:r',
        decision: 'MAYBE',
        actionHash: 'x',
        approvers: [],
      }),
    ).toHaveLength(3);
    expect(issuesOf(Principal, { id: 'alice', type: 'robot', groups: [] })).toHaveLength(1);
  });
});

describe('parse', () => {
  it('returns the parsed value', () => {
    expect(parse(VoteInput, { vote: 'approve', reason: ' ok ' }, 'vote')).toEqual({
      vote: 'approve',
      reason: 'ok',
    });
  });

  it('throws a ValidationError listing every problem, with the zod error as cause', () => {
    let thrown: unknown;
    try {
      parse(z.object({ a: z.string(), b: z.number() }), { a: 1 }, 'thing');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.name).toBe('ValidationError');
    expect(error.issues).toEqual([
      'a: Invalid input: expected string, received number',
      'b: Invalid input: expected number, received undefined',
    ]);
    expect(error.message).toBe(`invalid thing: ${error.issues.join('; ')}`);
    expect(error.cause).toBeInstanceOf(z.core.$ZodError);
  });

  it('labels problems with the whole value as (root)', () => {
    expect(() => parse(z.string(), 42, 'name')).toThrow(
      'invalid name: (root): Invalid input: expected string, received number',
    );
  });
});
