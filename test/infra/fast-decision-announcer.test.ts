/**
 * The fast path's follow-up in the template: its event source mapping on the table's stream (the
 * filter lets through exactly the inserts of requests the fast path decided, proven with the
 * twin's EventBridge-pattern matcher on stream records of real items), retried and dead-lettered
 * with alarms, and a role that appends to the table and publishes decisions, nothing else.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { toRequestItem } from '../../lambdas/adapters/dynamodb/request-item.ts';
import { TableKey } from '../../lambdas/adapters/dynamodb/table-layout.ts';
import { FAST_PATH_OWNER, type RequestRecord } from '../../lambdas/domain/schemas.ts';
import { AGENT_DECISIONS_HANDLER_ENTRY } from '../../lib/agent-decisions.ts';
import { FAST_DECISION_ANNOUNCER_HANDLER_ENTRY } from '../../lib/fast-decision-announcer.ts';
import { compilePattern } from '../../local/aws/events/pattern/index.ts';
import { authorize, type PolicyStatement } from '../support/iam-policy.ts';
import { aRecord } from '../unit/domain/fixtures.ts';
import { buildCountersignStack } from './build-stack.ts';
import {
  concrete,
  functionOfEntry,
  identityOf,
  type Json,
  type Resources,
  resourcesOfType,
  roleArnOf,
  roleOfEntry,
} from './concrete-template.ts';

const SLOW_SYNTH_MS = 120_000;
let resources: Resources;

const ofType = (type: string) => resourcesOfType(resources, type);
const functionOf = (entry: string) => functionOfEntry(resources, entry);
const roleOf = (entry: string) => roleOfEntry(resources, entry);
const mappingOf = (entry: string) =>
  ofType('AWS::Lambda::EventSourceMapping').find(
    ([, r]) => r.Properties.FunctionName.Ref === functionOf(entry)[0],
  )![1];

beforeAll(() => {
  resources = buildCountersignStack().template.toJSON().Resources;
}, SLOW_SYNTH_MS);

/** The stream record DynamoDB writes for `eventName` of `item` (NEW_AND_OLD_IMAGES). */
function streamRecord(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', item: Record<string, unknown>) {
  const keys = { pk: item.pk, sk: item.sk };
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall(keys),
      ...(eventName === 'REMOVE' ? {} : { NewImage: marshall(item, { removeUndefinedValues: true }) }),
      SequenceNumber: '100',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

describe('the fast-decision announcer', () => {
  it('reads the table stream: partial failures, bisect, no batching window, retries until the stream would drop a record, then the DLQ', () => {
    const mapping = mappingOf(FAST_DECISION_ANNOUNCER_HANDLER_ENTRY);
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^RequestTable/), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRecordAgeInSeconds: 86400,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [expect.stringMatching(/^FastDecisionAnnouncer/), 'Arn'] },
        },
      },
    });
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
    expect(mapping.Properties.MaximumRetryAttempts).toBeUndefined();
    const alarmIds = ofType('AWS::CloudWatch::Alarm').map(([id]) => id);
    expect(alarmIds.filter((id) => id.includes('FastDecisionDeadLetters'))).toHaveLength(1);
    const [, late] = ofType('AWS::CloudWatch::Alarm').find(([id]) => id.includes('FastDecisionsLate'))!;
    expect(late.Properties).toMatchObject({
      MetricName: 'IteratorAge',
      Threshold: 60_000,
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: functionOf(FAST_DECISION_ANNOUNCER_HANDLER_ENTRY)[0] } },
      ],
    });
  });

  it('is given exactly the inserts of requests the fast path decided', () => {
    const [filter] = mappingOf(FAST_DECISION_ANNOUNCER_HANDLER_ENTRY).Properties.FilterCriteria.Filters;
    const matcher = compilePattern(JSON.parse(filter.Pattern));
    const fast: RequestRecord = aRecord({
      status: 'APPROVED',
      decision: 'AUTO_APPROVED',
      executionArn: FAST_PATH_OWNER,
    });
    const workflow: RequestRecord = {
      ...fast,
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:e',
    };
    const fastItem = toRequestItem(fast);
    expect(matcher.matches(streamRecord('INSERT', fastItem))).toBe(true);
    expect(matcher.matches(streamRecord('INSERT', toRequestItem(workflow)))).toBe(false);
    expect(matcher.matches(streamRecord('MODIFY', fastItem))).toBe(false);
    expect(matcher.matches(streamRecord('REMOVE', fastItem))).toBe(false);
    // Another item of the request's partition carrying the same attribute is not a request.
    const audit = { ...fastItem, ...TableKey.audit(fast.requestId, 'REQUESTED') };
    expect(matcher.matches(streamRecord('INSERT', audit))).toBe(false);
  });

  it('may append to the table and publish decisions, and nothing the fast path itself needs', () => {
    const role = roleOf(FAST_DECISION_ANNOUNCER_HANDLER_ENTRY);
    const identity = identityOf(resources, role) as PolicyStatement[];
    const actions = identity.flatMap((statement) => [statement.Action].flat()).sort();
    expect([...new Set(actions)]).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetItem',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    const table = concrete({ 'Fn::GetAtt': [ofType('AWS::DynamoDB::Table')[0]![0], 'Arn'] }, resources);
    const may = (action: string, resource: string) =>
      authorize({ principalArn: roleArnOf(role), action, resource, context: {} }, { identity, resource: [] })
        .verdict;
    expect(may('dynamodb:PutItem', table)).toBe('Allowed');
    expect(may('dynamodb:Query', `${table}/index/by-status`)).toBe('ImplicitDeny');
    expect(may('dynamodb:DeleteItem', table)).toBe('ImplicitDeny');
  });

  it('leaves the fast path without PutEvents, updates or deletes: it reads and creates', () => {
    const role = roleOf(AGENT_DECISIONS_HANDLER_ENTRY);
    const identity = identityOf(resources, role) as Json[];
    expect(identity.flatMap((statement) => [statement.Action].flat())).not.toContain('events:PutEvents');
    const table = concrete({ 'Fn::GetAtt': [ofType('AWS::DynamoDB::Table')[0]![0], 'Arn'] }, resources);
    const may = (action: string, resource: string) =>
      authorize({ principalArn: roleArnOf(role), action, resource, context: {} }, { identity, resource: [] })
        .verdict;
    expect(may('dynamodb:PutItem', table)).toBe('Allowed');
    expect(may('dynamodb:GetItem', table)).toBe('Allowed');
    expect(may('dynamodb:UpdateItem', table)).toBe('ImplicitDeny');
    expect(may('dynamodb:DeleteItem', table)).toBe('ImplicitDeny');
    expect(may('dynamodb:Query', `${table}/index/by-status`)).toBe('ImplicitDeny');
  });
});
