/**
 * Every door of the twin as a fuzz target. Each sends hostile input with valid credentials (signed
 * with a real key, the twin's Slack signing secret, a token from the twin's Bot Framework issuer or
 * dev issuer), so the input reaches past authentication, and checks:
 *  - never a 5xx or a dropped connection: bad input gets a clear 4xx (or Slack's 200 acknowledgement
 *    / an AWS per-entry error);
 *  - the stored state (every item of every request partition: requests, votes, decisions, audit
 *    records, chat messages; and every S3 object version) is unchanged: per case where the door is
 *    synchronous, after the run once asynchronous work (workflows, deferred chat votes) settled;
 *  - so never an ALLOW and never a vote from malformed input: either would be a stored change.
 * Inputs never aim a well-formed vote at the pending request: that one would rightly change state.
 */
import { readFileSync } from 'node:fs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import fc from 'fast-check';
import { AGENT_DECISIONS_PATH, AgentDecisionRequest } from '../../lambdas/domain/agent-api.ts';
import { CloudTrailEvent } from '../../lambdas/domain/cloudtrail-event.ts';
import { MacieFinding } from '../../lambdas/domain/macie-finding-schema.ts';
import { AgentRequestDetail } from '../../lambdas/domain/schemas.ts';
import type { BotIssuer } from '../../local/product/chat/bot-issuer.ts';
import { AWS_EVENT_REPLAY_PATH } from '../../local/twin/aws-event-replay.ts';
import {
  type DoorAnswer,
  postSlack,
  signedAwsRequest,
  signedJsonCall,
  slackForm,
  teamsServiceUrl,
  twinBotIssuer,
} from '../support/doors.ts';
import { anyJson, type Door, expectThat, hostileString, mutated } from './framework.ts';
import type { FuzzTwin } from './twin-context.ts';

function noServerError(answer: DoorAnswer, what: string): void {
  expectThat(answer.status < 500, `${what}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
}

async function unchanged(
  context: FuzzTwin,
  before: string,
  what: string,
  ignore?: (item: string) => boolean,
  everything = false,
) {
  const after = await context.state({ everything });
  const strip = (state: string) => {
    if (ignore === undefined) return state;
    const parsed = JSON.parse(state) as { items: string[]; objects: string[] };
    return JSON.stringify({ ...parsed, items: parsed.items.filter((item) => !ignore(item)) });
  };
  if (strip(after) === strip(before)) return;
  const [was, now] = [before, after].map(
    (state) => JSON.parse(strip(state)) as { items: string[]; objects: string[] },
  );
  const added = [...now!.items, ...now!.objects].filter(
    (item) => ![...was!.items, ...was!.objects].includes(item),
  );
  const removed = [...was!.items, ...was!.objects].filter(
    (item) => ![...now!.items, ...now!.objects].includes(item),
  );
  throw new Error(
    `${what} changed the stored state: added ${added.join(' ').slice(0, 600)}; removed ${removed.join(' ').slice(0, 600)}`,
  );
}

/** A refusal of an authentic but ineligible chat click is audited (REFUSED): that is its intended trace. */
const isRefusalAudit = (item: string) => (JSON.parse(item) as { kind?: string }).kind === 'REFUSED';

/**
 * A door that runs a check per case and, after all cases, compares the state once work settled
 * (`everything`: every item of the table, classifications and privileged calls too).
 */
function settledDoor<T>(
  context: FuzzTwin,
  spec: Omit<Door<T>, 'afterAll'>,
  ignore?: (item: string) => boolean,
  everything = false,
): Door<T> {
  let before: string | undefined;
  return {
    ...spec,
    async check(input) {
      before ??= await context.state({ everything });
      await spec.check(input);
    },
    async afterAll() {
      if (before === undefined) return;
      // Deferred chat votes run after their acknowledgement; workflows and rules' targets after PutEvents.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await context.settled();
      await unchanged(context, before, spec.name, ignore, everything);
    },
  };
}

function fixture(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8'));
}

/** The string as UTF-8 can carry it: a lone surrogate becomes U+FFFD (a URL cannot hold one). */
const wellFormed = (text: string) => Buffer.from(text, 'utf8').toString('utf8');
const encodeSegment = (text: string) => encodeURIComponent(wellFormed(text));
/**
 * A key segment for a URL path. A dot segment (`.`, `..`, even escaped as `%2E`) is removed by URL
 * normalisation in every HTTP client, so no client can send it: it becomes `._`.
 */
const encodeKeySegment = (text: string) => (/^\.{1,2}$/.test(text) ? `${text}_` : encodeSegment(text));

const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function validDetail(context: FuzzTwin, requestId: string): Record<string, unknown> {
  return {
    requestId,
    agent: { id: context.agent.id, onBehalfOf: context.agent.owner },
    action: 'iam:GetRole',
    resource: { arn: 'arn:aws:iam::123456789012:role/invoice-exporter', type: 'AWS::IAM::Role' },
    parameters: { roleName: 'invoice-exporter' },
    justification: 'fuzz',
  };
}

/** Raw PutEvents bodies from the agent: malformed entries and details (never a valid request). */
export function putEventsDoor(context: FuzzTwin): Door<string> {
  const detail = fc
    .uuid()
    .chain((id) => mutated(validDetail(context, `fuzz-${id}`)))
    .filter((candidate) => !AgentRequestDetail.safeParse(candidate).success);
  const entry = detail.chain((candidate) =>
    mutated({
      EventBusName: 'countersign',
      Source: `countersign.agent.${context.agent.id}`,
      DetailType: 'Action Requested',
      Detail: JSON.stringify(candidate),
    }).map((mutatedEntry) => {
      // A mutation that leaves Detail a valid request's JSON would rightly store it: keep it invalid.
      const value = (mutatedEntry as { Detail?: unknown } | null)?.Detail;
      if (typeof value === 'string') {
        try {
          if (AgentRequestDetail.safeParse(JSON.parse(value)).success) return { Detail: '[]' };
        } catch {}
      }
      return mutatedEntry;
    }),
  );
  const body = fc.oneof(
    fc.array(entry, { minLength: 0, maxLength: 11 }).map((entries) => JSON.stringify({ Entries: entries })),
    anyJson.map((value) => JSON.stringify(value)),
    fc
      .array(entry, { maxLength: 3 })
      .chain((entries) =>
        mutated({ Entries: entries as unknown as Record<string, unknown> }).map((value) =>
          JSON.stringify(value),
        ),
      ),
    hostileString,
  );
  return settledDoor(context, {
    name: 'putevents',
    description:
      'EventBridge PutEvents from the agent (raw JSON, signed): malformed bodies, entries, details',
    arbitrary: body,
    async check(input) {
      const answer = await signedJsonCall(context.twin, context.agent, {
        service: 'events',
        target: 'AWSEvents.PutEvents',
        version: '1.1',
        body: input,
      });
      noServerError(answer, 'PutEvents');
      if (answer.status === 200) {
        const result = JSON.parse(answer.text) as {
          Entries: Record<string, unknown>[];
          FailedEntryCount: number;
        };
        expectThat(Array.isArray(result.Entries), 'PutEvents answered 200 without Entries');
        expectThat(
          result.Entries.every((entry) => 'EventId' in entry || 'ErrorCode' in entry),
          'an entry result is neither an event id nor an error',
        );
      }
    },
  });
}

/** The Evaluate function invoked directly (operator) with mutated workflow input: never stores. */
export function evaluateDoor(context: FuzzTwin): Door<unknown> {
  const lambda = new LambdaClient({
    endpoint: context.twin.endpoint,
    region: context.twin.region,
    credentials: { ...context.twin.operatorCredentials },
    maxAttempts: 1,
  });
  const evaluate = context.twin.stack.functions.find((fn) => fn.logicalId.startsWith('EvaluateFunction'))!;
  const drawn = fc.uuid().chain((id) =>
    fc
      .tuple(
        mutated(validDetail(context, `fuzz-${id}`)).filter(
          (candidate) => !AgentRequestDetail.safeParse(candidate).success,
        ),
        fc.boolean(),
      )
      .chain(([detail, classifyFirst]) =>
        mutated({
          classifyFirst,
          executionArn: `arn:aws:states:local:000000000000:execution:fuzz:${id}`,
          state: {
            version: '0',
            id,
            'detail-type': 'Action Requested',
            source: `countersign.agent.${context.agent.id}`,
            account: '000000000000',
            time: '2026-01-01T00:00:00Z',
            region: 'local',
            resources: [],
            detail,
          },
        }),
      ),
  );
  // A mutation of the whole input can undo the detail's: keep only inputs whose detail is invalid.
  const invalidOnly = drawn.filter(
    (payload) =>
      !AgentRequestDetail.safeParse((payload as { state?: { detail?: unknown } } | null)?.state?.detail)
        .success,
  );
  return {
    name: 'evaluate',
    description:
      'the Evaluate function invoked with mutated workflow input: an error or a denial, nothing stored',
    arbitrary: invalidOnly,
    async check(payload) {
      const before = await context.state();
      const result = await lambda.send(
        new InvokeCommand({
          FunctionName: evaluate.name,
          Payload: new TextEncoder().encode(JSON.stringify(payload)),
        }),
      );
      expectThat(result.StatusCode === 200, `Invoke answered ${result.StatusCode}`);
      const answer = JSON.parse(new TextDecoder().decode(result.Payload ?? new Uint8Array())) as {
        policy?: { decision?: string };
      } | null;
      if (result.FunctionError === undefined && answer?.policy !== undefined) {
        expectThat(
          answer.policy.decision === 'DENY',
          `Evaluate answered ${answer.policy.decision} to malformed input`,
        );
      }
      await unchanged(context, before, 'Evaluate');
    },
  };
}

type RestCase = {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string | undefined;
  token: { kind: 'user'; user: string } | { kind: 'raw'; value: string } | { kind: 'none' };
};

/** Header-safe text: what fetch lets a client send (visible ASCII and spaces). */
const headerText = fc.string({
  unit: fc.constantFrom(...' !#$%&*+-.0123456789:;=?@ABCXYZ^_`abcxyz|~/'.split('')),
});

/** The REST API: any method, path, query, header, body and bearer token; votes never aimed at the pending request. */
export function restApiDoor(context: FuzzTwin): Door<RestCase> {
  const users = ['alice', 'bob', 'carol', 'erin', 'dave'];
  const hostileId = fc.oneof(
    hostileString.map(encodeSegment),
    fc.constantFrom('%E0%A4%A', '50%', '%', '%00', `invoice-bot%3A${'x'.repeat(3000)}`, '..', '.'),
    fc.constant(encodeURIComponent(context.decidedId)),
  );
  const path = fc.oneof(
    hostileId.map((id) => `/api/requests/${id}`),
    hostileId.map((id) => `/api/requests/${id}/votes`),
    fc.constant(`/api/requests/${encodeURIComponent(context.pendingId)}`),
    fc.constantFrom(
      '/api/requests',
      '/api/me',
      '/api/classifications',
      '/api/openapi.json',
      '/api/',
      '/api//requests',
    ),
    hostileString.map((text) => `/api/${encodeSegment(text)}`),
  );
  const voteBody = mutated({ vote: 'approve', reason: 'fuzz', stepUpConfirmation: 'x' });
  const restCase: fc.Arbitrary<RestCase> = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path,
    query: fc.dictionary(
      fc.oneof(fc.constantFrom('status', 'limit', 'cursor', 'resource'), fc.string({ maxLength: 8 })),
      fc.oneof(hostileString, fc.constantFrom('PENDING', '0', '-1', '1e9', 'NaN', 'arn:aws:s3:::x/y')),
      { maxKeys: 3 },
    ),
    headers: fc.dictionary(
      fc.constantFrom('content-type', 'accept', 'x-forwarded-for', 'x-amz-date', 'origin', 'x-custom'),
      headerText,
      { maxKeys: 3 },
    ),
    body: fc.option(fc.oneof(voteBody.map(asText), hostileString), { nil: undefined }),
    token: fc.oneof(
      fc.constantFrom(...users).map((user) => ({ kind: 'user' as const, user })),
      fc.oneof(headerText, fc.constantFrom('a.b.c', 'eyJhbGciOiJub25lIn0.e30.', 'Bearer')).map((value) => ({
        kind: 'raw' as const,
        value,
      })),
      fc.constant({ kind: 'none' as const }),
    ),
  });
  return {
    name: 'rest-api',
    description: 'the REST API with any method, path, query, headers, body and bearer token',
    arbitrary: restCase,
    async check(input) {
      const before = await context.state();
      const authorization =
        input.token.kind === 'user'
          ? `Bearer ${await context.token(input.token.user)}`
          : input.token.kind === 'raw'
            ? `Bearer ${input.token.value}`
            : undefined;
      const query = new URLSearchParams(input.query).toString();
      const method = input.method;
      const response = await fetch(`${context.twin.url}${input.path}${query === '' ? '' : `?${query}`}`, {
        method,
        headers: { ...input.headers, ...(authorization === undefined ? {} : { authorization }) },
        ...(input.body === undefined || method === 'GET' ? {} : { body: input.body }),
      });
      const text = await response.text();
      noServerError({ status: response.status, headers: response.headers, text }, `${method} ${input.path}`);
      // An authentic vote its voter may not cast (on the decided request) is refused and audited
      // (REFUSED), as in chat: that trace is intended, and no vote.
      await unchanged(context, before, `${method} ${input.path}`, isRefusalAudit);
    },
  };
}

/** Slack callbacks signed with the twin's signing secret: hostile payloads, forms and headers. */
export function slackDoor(context: FuzzTwin): Door<{ body: string; retry: string | undefined }> {
  const slackUsers = context.directory.users.map((user) => user.slackUserId);
  const { channel } = context.directory.slack;
  const target = fc.oneof(
    fc.constant(context.decidedId),
    hostileString,
    fc.constant(`invoice-bot:${'z'.repeat(3000)}`),
  );
  const click = fc
    .tuple(
      target,
      fc.constantFrom(...slackUsers),
      fc.constantFrom('countersign_approve', 'countersign_deny', 'other'),
    )
    .chain(([value, user, actionId]) =>
      mutated({
        type: 'block_actions',
        user: { id: user },
        trigger_id: 'trigger-fuzz',
        channel: { id: channel },
        actions: [{ action_id: actionId, value, action_ts: '1700000000.000001' }],
      }),
    );
  const submission = fc
    .tuple(
      target,
      fc.constantFrom(...slackUsers),
      fc.constantFrom('countersign_deny_modal', 'countersign_step_up', 'other'),
    )
    .chain(([requestId, user, callback]) =>
      mutated({
        type: 'view_submission',
        user: { id: user },
        view: {
          id: 'VFUZZ',
          callback_id: callback,
          private_metadata: JSON.stringify({ requestId, channelId: channel }),
          state: { values: { countersign_reason: { reason: { value: 'no' } } } },
        },
      }),
    );
  const body = fc.oneof(
    fc.oneof(click, submission, anyJson).map(slackForm),
    hostileString,
    hostileString.map((text) => `payload=${text}`),
  );
  return settledDoor(
    context,
    {
      name: 'slack',
      description: 'Slack interactions signed with the twin signing secret: hostile payloads and headers',
      arbitrary: fc.record({
        body,
        retry: fc.option(fc.constantFrom('0', '1', '-1', 'x', '99999999999999999999'), { nil: undefined }),
      }),
      async check({ body: form, retry }) {
        const answer = await postSlack(
          context.twin,
          context.directory.slack.signingSecret,
          form,
          retry === undefined ? {} : { 'x-slack-retry-num': retry },
        );
        noServerError(answer, 'Slack interaction');
      },
    },
    isRefusalAudit,
  );
}

/** Teams activities with a channel token from the twin's Bot Framework issuer. */
export function teamsDoor(context: FuzzTwin): Door<string> {
  let issuer: BotIssuer | undefined;
  const serviceUrl = teamsServiceUrl(context.twin);
  const users = context.directory.users;
  const activity = fc
    .tuple(
      fc.oneof(fc.constant(context.decidedId), hostileString),
      fc.constantFrom(...users),
      fc.constantFrom('approve', 'deny', 'other'),
    )
    .chain(([requestId, user, verb]) =>
      mutated({
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: 'f:fuzz',
        serviceUrl,
        channelId: 'msteams',
        from: { id: `29:${user.teamsAadObjectId}`, aadObjectId: user.teamsAadObjectId },
        conversation: { id: `${context.directory.teams.conversationId};messageid=1` },
        value: {
          action: { type: 'Action.Execute', verb, data: { requestId, reason: 'no' } },
          trigger: 'manual',
        },
      }),
    );
  return settledDoor(
    context,
    {
      name: 'teams',
      description: 'Teams activities with a valid Bot Framework token: hostile activities',
      arbitrary: fc.oneof(activity.map(asText), hostileString),
      async check(body) {
        issuer ??= await twinBotIssuer(context.twin);
        const token = await issuer.mintChannelToken({ appId: context.directory.teams.appId, serviceUrl });
        const response = await fetch(`${context.twin.url}/teams/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        const text = await response.text();
        noServerError({ status: response.status, headers: response.headers, text }, 'Teams activity');
      },
    },
    isRefusalAudit,
  );
}

/** Read-only and refusing operations of every JSON-protocol service, signed by the operator. */
const JSON_OPERATIONS = [
  {
    service: 'dynamodb',
    target: 'DynamoDB_20120810',
    version: '1.0',
    operations: ['GetItem', 'Query', 'Scan', 'DescribeTable', 'BatchGetItem', 'ListTables'],
  },
  {
    service: 'states',
    target: 'AWSStepFunctions',
    version: '1.0',
    operations: [
      'DescribeExecution',
      'ListExecutions',
      'GetExecutionHistory',
      'SendTaskSuccess',
      'SendTaskFailure',
      'SendTaskHeartbeat',
      'DescribeStateMachine',
      'NoSuchOperation',
    ],
  },
  {
    service: 'events',
    target: 'AWSEvents',
    version: '1.1',
    operations: ['TestEventPattern', 'NoSuchOperation'],
  },
  {
    service: 'secretsmanager',
    target: 'secretsmanager',
    version: '1.1',
    operations: ['GetSecretValue', 'DescribeSecret', 'ListSecrets'],
  },
  {
    service: 'kms',
    target: 'TrentService',
    version: '1.1',
    operations: ['DescribeKey', 'GetPublicKey', 'Sign', 'Verify', 'ListKeys'],
  },
] as const;

export function awsJsonDoor(context: FuzzTwin): Door<{ service: number; operation: string; body: string }> {
  const call = fc.nat({ max: JSON_OPERATIONS.length - 1 }).chain((service) =>
    fc.record({
      service: fc.constant(service),
      operation: fc.constantFrom(...JSON_OPERATIONS[service]!.operations),
      body: fc.oneof(
        fc
          .dictionary(
            fc.constantFrom(
              'TableName',
              'Key',
              'KeyId',
              'Message',
              'SecretId',
              'executionArn',
              'taskToken',
              'output',
              'Event',
              'EventPattern',
              'Limit',
              'ExclusiveStartKey',
              'SigningAlgorithm',
              'RequestItems',
            ),
            fc.oneof(anyJson, hostileString),
          )
          .map((value) => JSON.stringify(value)),
        anyJson.map((value) => JSON.stringify(value)),
        hostileString,
      ),
    }),
  );
  return settledDoor(context, {
    name: 'aws-json',
    description:
      "the twin's JSON-protocol AWS front (DynamoDB, Step Functions, EventBridge, Secrets Manager, KMS), signed",
    arbitrary: call,
    async check({ service, operation, body }) {
      const spec = JSON_OPERATIONS[service]!;
      const answer = await signedJsonCall(context.twin, context.twin.operatorCredentials, {
        service: spec.service,
        target: `${spec.target}.${operation}`,
        version: spec.version,
        body,
      });
      noServerError(answer, `${spec.target}.${operation}`);
    },
  });
}

/** S3 requests signed by the operator: any method on hostile keys and subresources; writes only to buckets that do not exist. */
export function s3Door(
  context: FuzzTwin,
): Door<{ method: string; bucket: string; key: string; query: Record<string, string>; body: string }> {
  const request = fc
    .record({
      method: fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE'),
      existing: fc.boolean(),
      key: fc.oneof(hostileString, fc.constantFrom('', 'a/b/c', '%', '..', 'x'.repeat(1100))),
      query: fc.dictionary(
        fc.constantFrom(
          'versionId',
          'uploadId',
          'partNumber',
          'list-type',
          'prefix',
          'max-keys',
          'continuation-token',
          'versions',
          'uploads',
          'delete',
          'acl',
          'policy',
          'tagging',
          'legal-hold',
          'retention',
          'object-lock',
          'x',
        ),
        fc.oneof(fc.constant(''), hostileString.map(wellFormed)),
        { maxKeys: 3 },
      ),
      body: hostileString,
    })
    .map(({ existing, method, key, ...rest }) => {
      const read = method === 'GET' || method === 'HEAD';
      return {
        ...rest,
        method,
        // Writes go to a bucket that does not exist, always at an object key: a bucket-level PUT is
        // CreateBucket, which the operator may rightly call, and would give later writes a home.
        key: read ? key : `fuzz/${key}`,
        // Reads may aim at the stack's buckets.
        bucket: existing && read ? 'EXISTING' : 'fuzz-no-such-bucket',
      };
    });
  let buckets: string[] | undefined;
  return settledDoor(context, {
    name: 's3',
    description: "the twin's S3 front (REST-XML), signed: hostile keys, subresources and bodies",
    arbitrary: request,
    async check(input) {
      buckets ??= context.twin.stack.resources
        .filter((resource) => resource.type === 'AWS::S3::Bucket')
        .map((resource) => resource.name);
      const bucket = input.bucket === 'EXISTING' ? (buckets[0] ?? 'fuzz-no-such-bucket') : input.bucket;
      const answer = await signedAwsRequest(context.twin, context.twin.operatorCredentials, {
        service: 's3',
        method: input.method,
        path: `/${bucket}/${input.key.split('/').map(encodeKeySegment).join('/')}`,
        query: input.query,
        headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        body: input.body,
      });
      // 501 NotImplemented is S3's own answer for a valid call the twin does not serve (ListObjects v1).
      if (answer.status === 501) return;
      noServerError(answer, `S3 ${input.method} ${input.key.slice(0, 40)}`);
    },
  });
}

/** An AWS service's event delivered on the default bus, as AWS delivers it (the twin's replay route). */
async function replayAwsEvent(context: FuzzTwin, event: unknown, what: string): Promise<void> {
  const response = await fetch(`${context.twin.url}${AWS_EVENT_REPLAY_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  const text = await response.text();
  noServerError({ status: response.status, headers: response.headers, text }, what);
}

/**
 * Macie findings as Macie delivers them (`aws.macie`, `Macie Finding`, on the default bus):
 * malformed findings never store or change a classification, nor anything else.
 */
export function macieDoor(context: FuzzTwin): Door<unknown> {
  const base = fixture('macie/sensitive-data-finding-multiple-csv.eventbridge.json');
  const event = fc.uuid().chain((id) =>
    mutated(base.detail as Record<string, unknown>)
      .filter((candidate) => !MacieFinding.safeParse(candidate).success)
      .map((detail) => ({ ...base, id, detail })),
  );
  return settledDoor(
    context,
    {
      name: 'macie',
      description: 'Macie Finding events delivered on the default bus: malformed findings',
      arbitrary: event,
      check: (input) => replayAwsEvent(context, input, 'Macie finding'),
    },
    undefined,
    true,
  );
}

/**
 * CloudTrail's `AWS API Call via CloudTrail` events replayed onto the default bus (as AWS delivers
 * them): malformed events never record a privileged call, an alert or a review.
 */
export function cloudTrailDoor(context: FuzzTwin): Door<unknown> {
  const base = fixture('cloudtrail/iam-AttachRolePolicy.eventbridge.json');
  const event = fc
    .tuple(fc.uuid(), fc.uuid())
    .chain(([id, eventId]) =>
      mutated({
        ...base,
        id,
        detail: { ...(base.detail as Record<string, unknown>), eventID: eventId },
      }),
    )
    .filter((candidate) => !CloudTrailEvent.safeParse(candidate).success);
  return settledDoor(
    context,
    {
      name: 'cloudtrail',
      description: 'AWS API Call via CloudTrail events replayed on the default bus: malformed events',
      arbitrary: event,
      check: (input) => replayAwsEvent(context, input, 'CloudTrail event'),
    },
    undefined,
    true,
  );
}

type AgentDecisionCase = { method: 'POST' | 'GET'; path: string; body: string | undefined };

/**
 * The agents' fast path, SigV4-signed by the agent (`execute-api`): malformed decision requests and
 * hostile request ids never decide, never store, and never answer 5xx.
 */
export function agentDecisionsDoor(context: FuzzTwin): Door<AgentDecisionCase> {
  const valid = {
    ...validDetail(context, 'fuzz-fast'),
    action: 's3:GetObject',
    resource: { arn: 'arn:aws:s3:::invoices/2026/01.csv', type: 'AWS::S3::Object' },
    parameters: { bucket: 'invoices', key: '2026/01.csv' },
  };
  const body = fc.oneof(
    fc
      .uuid()
      .chain((id) => mutated({ ...valid, requestId: `fuzz-${id}` }))
      .filter((candidate) => !AgentDecisionRequest.safeParse(candidate).success)
      .map(asText),
    hostileString,
  );
  const decisionCase: fc.Arbitrary<AgentDecisionCase> = fc.oneof(
    body.map((text) => ({ method: 'POST' as const, path: AGENT_DECISIONS_PATH, body: text })),
    fc
      .oneof(
        hostileString.map(encodeSegment),
        fc.constantFrom('%E0%A4%A', '%', `${'x'.repeat(3000)}`, '..', '.'),
      )
      .map((id) => ({ method: 'GET' as const, path: `${AGENT_DECISIONS_PATH}/${id}`, body: undefined })),
  );
  return {
    name: 'agent-decisions',
    description: 'POST /api/agent/decisions signed by the agent: malformed requests and hostile ids',
    arbitrary: decisionCase,
    async check(input) {
      const before = await context.state({ everything: true });
      const answer = await signedAwsRequest(context.twin, context.agent, {
        service: 'execute-api',
        method: input.method,
        path: input.path,
        headers: { 'content-type': 'application/json' },
        ...(input.body === undefined ? {} : { body: input.body }),
      });
      noServerError(answer, `${input.method} ${input.path.slice(0, 60)}`);
      expectThat(
        !(answer.status === 200 && input.method === 'POST'),
        `a malformed decision request was decided: ${answer.text.slice(0, 300)}`,
      );
      await unchanged(context, before, `${input.method} ${input.path.slice(0, 60)}`, undefined, true);
    },
  };
}

/** Every door, in the order `npm run fuzz` runs them. */
export const DOORS = [
  putEventsDoor,
  evaluateDoor,
  restApiDoor,
  slackDoor,
  teamsDoor,
  awsJsonDoor,
  s3Door,
  macieDoor,
  cloudTrailDoor,
  agentDecisionsDoor,
] as const;
