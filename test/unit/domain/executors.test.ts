import { describe, expect, it } from 'vitest';
import {
  ExecutionRefusedError,
  executableAction,
  executionSessionName,
  parseCopySource,
  sessionPolicyFor,
  withExecution,
} from '../../../lambdas/domain/executors.ts';
import type { JsonObject, PolicyDecision } from '../../../lambdas/domain/schemas.ts';
import { requireApproval } from './fixtures.ts';

const LEDGER = 'arn:aws:s3:::finance-invoices/2026/11/ledger.csv';
const ROLE = 'arn:aws:iam::123456789012:role/invoice-exporter';
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

function copy(parameters: JsonObject, arn = LEDGER) {
  return { action: 's3:CopyObject', resource: { arn }, parameters };
}

function attach(parameters: JsonObject, arn = ROLE) {
  return { action: 'iam:AttachRolePolicy', resource: { arn }, parameters };
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ExecutionRefusedError);
    return (error as Error).message;
  }
  throw new Error('not refused');
}

const DEMO_COPY = {
  sourceBucket: 'finance-invoices',
  sourceKey: '2026/11/ledger.csv',
  destinationBucket: 'partner-exchange-eu',
  destinationKey: 'inbound/acme/ledger-2026-11.csv',
};

describe('s3:CopyObject', () => {
  it('reads the demo spelling and AWS’s own alike', () => {
    const expected = {
      action: 's3:CopyObject',
      partition: 'aws',
      source: { bucket: 'finance-invoices', key: '2026/11/ledger.csv' },
      destination: { bucket: 'partner-exchange-eu', key: 'inbound/acme/ledger-2026-11.csv' },
    };
    expect(executableAction(copy(DEMO_COPY))).toEqual(expected);
    expect(
      executableAction(
        copy({
          CopySource: 'finance-invoices/2026%2F11/ledger.csv',
          Bucket: 'partner-exchange-eu',
          Key: 'inbound/acme/ledger-2026-11.csv',
        }),
      ),
    ).toEqual(expected);
    expect(
      executableAction(
        copy({ copySource: '/finance-invoices/2026/11/ledger.csv?versionId=v1', bucket: 'b-1', key: 'k' }),
      ),
    ).toEqual({
      ...expected,
      source: { ...expected.source, versionId: 'v1' },
      destination: { bucket: 'b-1', key: 'k' },
    });
  });

  it('refuses two ways of saying one thing, and anything it would not use', () => {
    expect(refusal(() => executableAction(copy({ ...DEMO_COPY, CopySource: 'finance-invoices/x' })))).toMatch(
      /not both/,
    );
    expect(refusal(() => executableAction(copy({ ...DEMO_COPY, Bucket: 'other-bucket' })))).toMatch(
      /not both/,
    );
    expect(refusal(() => executableAction(copy({ ...DEMO_COPY, SourceBucket: 'finance-invoices' })))).toMatch(
      /"sourceBucket" and "SourceBucket" say the same/,
    );
    expect(refusal(() => executableAction(copy({ ...DEMO_COPY, ACL: 'public-read', key: 'x' })))).toMatch(
      /does not take "ACL", "key": it would not run exactly what was approved/,
    );
  });

  it('refuses what is missing or malformed', () => {
    const { sourceKey: _key, ...noSourceKey } = DEMO_COPY;
    expect(refusal(() => executableAction(copy(noSourceKey)))).toMatch(/sourceKey is required/);
    const { sourceBucket: _bucket, sourceKey: _k, ...noSource } = DEMO_COPY;
    expect(refusal(() => executableAction(copy(noSource)))).toMatch(/the source is missing/);
    const { destinationBucket: _d, destinationKey: _dk, ...noDestination } = DEMO_COPY;
    expect(refusal(() => executableAction(copy(noDestination)))).toMatch(/the destination is missing/);
    const { destinationKey: _only, ...noDestinationKey } = DEMO_COPY;
    expect(refusal(() => executableAction(copy(noDestinationKey)))).toMatch(/"destinationKey" is required/);
    expect(refusal(() => executableAction(copy({ ...DEMO_COPY, destinationBucket: 'x' })))).toMatch(
      /the destination bucket "x" is not a bucket name/,
    );
    expect(refusal(() => executableAction(copy({ ...DEMO_COPY, sourceKey: 7 })))).toMatch(
      /"sourceKey" must be a non-empty string/,
    );
    expect(refusal(() => executableAction(copy({ ...DEMO_COPY, sourceKey: '' })))).toMatch(
      /non-empty string/,
    );
  });

  it('copies only the object the request names as its resource', () => {
    expect(
      refusal(() => executableAction(copy(DEMO_COPY, 'arn:aws:s3:::finance-invoices/other.csv'))),
    ).toMatch(/reads s3:\/\/finance-invoices\/2026\/11\/ledger\.csv, but the request's resource is/);
    expect(refusal(() => executableAction(copy(DEMO_COPY, 'arn:aws:s3:::finance-invoices')))).toMatch(
      /must be the source object's ARN/,
    );
  });
});

describe('CopySource', () => {
  it('is bucket/key, URL-encoded, with at most a versionId', () => {
    expect(parseCopySource('b-1/a%20b/c?versionId=v%2B1')).toEqual({
      bucket: 'b-1',
      key: 'a b/c',
      versionId: 'v+1',
    });
    expect(refusal(() => parseCopySource('b-1/%E0%A4%A'))).toMatch(/not URL-encoded correctly/);
    expect(
      refusal(() => parseCopySource('arn:aws:s3:us-east-1:123456789012:accesspoint/x/object/k')),
    ).toMatch(/is not "bucket\/key"/);
    expect(refusal(() => parseCopySource('b-1/'))).toMatch(/is not "bucket\/key"/);
    expect(refusal(() => parseCopySource('b-1'))).toMatch(/is not "bucket\/key"/);
    expect(refusal(() => parseCopySource('b-1/k?partNumber=1'))).toMatch(/versionId and nothing else/);
    expect(refusal(() => parseCopySource('b-1/k?versionId='))).toMatch(/versionId and nothing else/);
    expect(refusal(() => parseCopySource('b-1/k?versionId=1&x=2'))).toMatch(/versionId and nothing else/);
    expect(refusal(() => parseCopySource('B_/k'))).toMatch(/CopySource bucket "B_" is not a bucket name/);
  });
});

describe('iam:AttachRolePolicy', () => {
  it('attaches the named policy to the resource’s role, in either spelling', () => {
    const expected = {
      action: 'iam:AttachRolePolicy',
      roleArn: ROLE,
      roleName: 'invoice-exporter',
      policyArn: READ_ONLY,
    };
    expect(executableAction(attach({ roleName: 'invoice-exporter', policyArn: READ_ONLY }))).toEqual(
      expected,
    );
    expect(executableAction(attach({ RoleName: 'invoice-exporter', PolicyArn: READ_ONLY }))).toEqual(
      expected,
    );
    const withPath = 'arn:aws:iam::123456789012:role/service/invoice-exporter';
    expect(
      executableAction(attach({ roleName: 'invoice-exporter', policyArn: READ_ONLY }, withPath)),
    ).toMatchObject({
      roleArn: withPath,
    });
  });

  it('refuses another role, a policy that is no policy ARN and extra parameters', () => {
    expect(refusal(() => executableAction(attach({ roleName: 'admin', policyArn: READ_ONLY })))).toMatch(
      /roleName "admin" is not the role of the resource/,
    );
    expect(
      refusal(() => executableAction(attach({ roleName: 'invoice-exporter', policyArn: 'arn:aws:s3:::x' }))),
    ).toMatch(/is not an IAM policy ARN/);
    expect(
      refusal(() =>
        executableAction(attach({ roleName: 'invoice-exporter', policyArn: READ_ONLY, path: '/' })),
      ),
    ).toMatch(/does not take "path"/);
    expect(refusal(() => executableAction(attach({ roleName: 'x', policyArn: READ_ONLY }, LEDGER)))).toMatch(
      /must be the role's ARN/,
    );
    expect(refusal(() => executableAction(attach({ policyArn: READ_ONLY })))).toMatch(
      /"roleName" is required/,
    );
  });
});

it('has no executor for other actions', () => {
  expect(
    refusal(() =>
      executableAction({ action: 'kms:ScheduleKeyDeletion', resource: { arn: ROLE }, parameters: {} }),
    ),
  ).toMatch(/no executor for kms:ScheduleKeyDeletion \(it runs s3:CopyObject and iam:AttachRolePolicy\)/);
  expect(
    refusal(() => executableAction({ action: 'toString', resource: { arn: ROLE }, parameters: {} })),
  ).toMatch(/no executor for toString/);
});

describe('withExecution', () => {
  const allow: PolicyDecision = {
    ...requireApproval(),
    decision: 'ALLOW',
    groups: [],
    quorum: 0,
    policyIds: ['read'],
  };
  const executes: PolicyDecision = { ...requireApproval(), executor: 'countersign' };

  it('keeps a decision that needs no executor, and every denial', () => {
    expect(withExecution(allow, copy(DEMO_COPY))).toBe(allow);
    const denied = { ...allow, decision: 'DENY' as const };
    expect(withExecution(denied, { ...copy(DEMO_COPY), execute: true })).toBe(denied);
    expect(withExecution(executes, copy(DEMO_COPY))).toBe(executes);
  });

  it('denies a request that asks for execution no policy permits', () => {
    expect(withExecution(allow, { ...copy(DEMO_COPY), execute: true })).toMatchObject({
      decision: 'DENY',
      policyIds: ['read'],
      reason: expect.stringMatching(/no policy permits execution/),
    });
  });

  it('denies what Countersign would execute but cannot', () => {
    expect(withExecution(executes, copy({ ...DEMO_COPY, ACL: 'public-read' }))).toMatchObject({
      decision: 'DENY',
      reason: expect.stringMatching(
        /^Countersign would execute this request but cannot: the s3:CopyObject executor/,
      ),
    });
  });

  it('lets a bug surface rather than deny it away', () => {
    const broken = {
      ...copy(DEMO_COPY),
      get parameters(): JsonObject {
        throw new TypeError('bug');
      },
    };
    expect(() => withExecution(executes, broken)).toThrow(TypeError);
  });
});

describe('session names', () => {
  const VALID = /^[\w+=,.@-]{2,64}$/;

  it('are the request id with = for :, which no request id holds', () => {
    expect(executionSessionName('invoice-bot:req-1')).toBe('invoice-bot=req-1');
    expect(executionSessionName('invoice-bot:a:b.c@d+e')).toBe('invoice-bot=a=b.c@d+e');
  });

  it('are cut to 64 characters with a hash of the whole id, so long ids stay apart', () => {
    const long = `invoice-bot:${'x'.repeat(120)}`;
    const name = executionSessionName(long);
    expect(name).toMatch(VALID);
    expect(name).toHaveLength(64);
    expect(name).toMatch(/,[0-9a-f]{16}$/);
    expect(executionSessionName(`${long}y`)).not.toBe(name);
  });
});

describe('session policies', () => {
  it('allow reading exactly the source and writing exactly the destination, wildcards literal', () => {
    const action = executableAction(
      copy(
        { CopySource: 'finance-invoices/a*b%3F$c?versionId=v1', Bucket: 'out-1', Key: 'k*' },
        'arn:aws:s3:::finance-invoices/a*b?$c',
      ),
    );
    expect(sessionPolicyFor(action)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadTheApprovedSource',
          Effect: 'Allow',
          Action: ['s3:GetObjectVersion'],
          // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM's own escapes of literal *, ? and $
          Resource: ['arn:aws:s3:::finance-invoices/a${*}b${?}${$}c'],
        },
        {
          Sid: 'WriteTheApprovedDestination',
          Effect: 'Allow',
          Action: ['s3:PutObject'],
          // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM's own escape of a literal *
          Resource: ['arn:aws:s3:::out-1/k${*}'],
        },
      ],
    });
    expect(sessionPolicyFor(executableAction(copy(DEMO_COPY))).Statement[0]).toMatchObject({
      Action: ['s3:GetObject'],
    });
  });

  it('allow attaching exactly the approved policy to exactly the approved role', () => {
    expect(
      sessionPolicyFor(executableAction(attach({ roleName: 'invoice-exporter', policyArn: READ_ONLY }))),
    ).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AttachTheApprovedPolicy',
          Effect: 'Allow',
          Action: ['iam:AttachRolePolicy'],
          Resource: [ROLE],
          Condition: { ArnEquals: { 'iam:PolicyARN': [READ_ONLY] } },
        },
      ],
    });
  });
});
