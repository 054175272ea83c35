import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { cloudTrailAction, DEFAULT_PRIVILEGED_ACTIONS } from '../../lambdas/domain/privileged-actions.ts';
import {
  CONFIG_DEFAULTS,
  CONTEXT_KEYS,
  DIRECTORY_MAX_BYTES,
  readCountersignConfig,
} from '../../lib/countersign-config.ts';

const read = (context: Record<string, unknown>) => readCountersignConfig(new App({ context }));

describe('readCountersignConfig', () => {
  it('falls back to the documented default for every key', () => {
    expect(read({})).toEqual({
      ...CONFIG_DEFAULTS,
      agents: [],
      alarmEmails: [],
      directory: { users: [], agents: [] },
      apiCorsOrigins: [],
      privilegedActions: expect.any(Array),
    });
    expect(read({}).privilegedActions.map((operation) => operation.action)).toEqual(
      DEFAULT_PRIVILEGED_ACTIONS.map(cloudTrailAction),
    );
  });

  it('reads the privileged actions in either S3 Block Public Access spelling, and refuses a malformed list', () => {
    const operations = read({
      [CONTEXT_KEYS.privilegedActions]: '["s3:DeletePublicAccessBlock","iam:AttachRolePolicy"]',
    }).privilegedActions;
    expect(operations).toEqual([
      {
        action: 's3:DeleteBucketPublicAccessBlock',
        service: 's3',
        source: 'aws.s3',
        eventSource: 's3.amazonaws.com',
        eventName: 'DeleteBucketPublicAccessBlock',
        readOnly: false,
      },
      expect.objectContaining({ action: 'iam:AttachRolePolicy', source: 'aws.iam' }),
    ]);
    expect(() => read({ [CONTEXT_KEYS.privilegedActions]: ['PutBucketPolicy'] })).toThrow(
      /countersign:privilegedActions\.0: /,
    );
    expect(() => read({ [CONTEXT_KEYS.privilegedActions]: [] })).toThrow(
      /countersign:privilegedActions: must name at least one action/,
    );
    expect(() =>
      read({
        [CONTEXT_KEYS.privilegedActions]: ['s3:DeletePublicAccessBlock', 's3:DeleteBucketPublicAccessBlock'],
      }),
    ).toThrow(/names the same CloudTrail event as "s3:DeletePublicAccessBlock"/);
  });

  it('accepts values from cdk.json (JSON) and from -c (strings)', () => {
    const agents = [{ id: 'invoice-bot', principalArn: 'arn:aws:iam::123456789012:role/invoice-bot' }];
    expect(
      read({
        [CONTEXT_KEYS.defaultTimeoutSeconds]: '7200',
        [CONTEXT_KEYS.logRetentionDays]: '30',
        [CONTEXT_KEYS.agents]: JSON.stringify(agents),
        [CONTEXT_KEYS.directory]: JSON.stringify({
          users: [{ id: 'dave', groups: [] }],
          agents: [{ id: 'invoice-bot', owner: 'dave' }],
        }),
        [CONTEXT_KEYS.alarmEmails]: ['oncall@example.com'],
        [CONTEXT_KEYS.consoleUrl]: 'https://countersign.example.com',
      }),
    ).toMatchObject({
      defaultTimeoutSeconds: 7200,
      logRetentionDays: 30,
      agents,
      alarmEmails: ['oncall@example.com'],
      consoleUrl: 'https://countersign.example.com',
    });
  });

  it('names every bad key in one error', () => {
    expect(() =>
      read({
        [CONTEXT_KEYS.logRetentionDays]: 42,
        [CONTEXT_KEYS.busName]: 'default',
        [CONTEXT_KEYS.agents]: [{ id: 'Invoice Bot', principalArn: 'role/invoice-bot' }],
      }),
    ).toThrow(
      /countersign:busName: .*default bus.*countersign:logRetentionDays: must be a CloudWatch Logs retention value.*countersign:agents\.0\.id/,
    );
  });

  it('reads the auditor groups, ["security"] by default, refusing anything that is not a group name', () => {
    expect(read({}).auditorGroups).toEqual(['security']);
    expect(read({ [CONTEXT_KEYS.auditorGroups]: '["audit","security"]' }).auditorGroups).toEqual([
      'audit',
      'security',
    ]);
    expect(read({ [CONTEXT_KEYS.auditorGroups]: [] }).auditorGroups).toEqual([]);
    expect(() => read({ [CONTEXT_KEYS.auditorGroups]: ['bad group'] })).toThrow(
      /countersign:auditorGroups\.0/,
    );
  });

  it('refuses two agents with the same id', () => {
    const agent = { id: 'invoice-bot', principalArn: 'arn:aws:iam::123456789012:role/invoice-bot' };
    expect(() => read({ [CONTEXT_KEYS.agents]: [agent, agent] })).toThrow(/agent ids must be unique/);
  });
});

describe('readCountersignConfig: the HTTP API keys', () => {
  const issuer = { [CONTEXT_KEYS.jwtIssuer]: 'https://login.example.com/countersign' };

  it('takes the issuer with its audience and JWKS URL, throttling and origins (also as -c strings)', () => {
    expect(
      read({
        ...issuer,
        [CONTEXT_KEYS.jwtAudience]: 'countersign-api',
        [CONTEXT_KEYS.jwtJwksUrl]: 'https://login.example.com/countersign/keys',
        [CONTEXT_KEYS.apiCorsOrigins]: '["https://console.example.com"]',
        [CONTEXT_KEYS.apiThrottleRateLimit]: '20',
        [CONTEXT_KEYS.apiThrottleBurstLimit]: '40',
      }),
    ).toMatchObject({
      jwtIssuer: 'https://login.example.com/countersign',
      jwtAudience: 'countersign-api',
      jwtJwksUrl: 'https://login.example.com/countersign/keys',
      apiCorsOrigins: ['https://console.example.com'],
      apiThrottleRateLimit: 20,
      apiThrottleBurstLimit: 40,
    });
  });

  it('requires an audience with the issuer, and refuses JWT settings without one', () => {
    expect(() => read(issuer)).toThrow(
      /countersign:jwtAudience: is required when countersign:jwtIssuer is set/,
    );
    expect(() => read({ [CONTEXT_KEYS.jwtAudience]: 'countersign-api' })).toThrow(
      /countersign:jwtAudience: has no effect without countersign:jwtIssuer/,
    );
  });

  it('accepts plain HTTP issuers only on loopback, for the local twin', () => {
    const withAudience = { [CONTEXT_KEYS.jwtAudience]: 'countersign-twin' };
    expect(read({ ...withAudience, [CONTEXT_KEYS.jwtIssuer]: 'http://127.0.0.1:4710/local' }).jwtIssuer).toBe(
      'http://127.0.0.1:4710/local',
    );
    expect(() => read({ ...withAudience, [CONTEXT_KEYS.jwtIssuer]: 'http://login.example.com' })).toThrow(
      /countersign:jwtIssuer: must be an https URL/,
    );
  });

  it('refuses CORS entries that are not bare origins', () => {
    expect(() => read({ [CONTEXT_KEYS.apiCorsOrigins]: ['https://console.example.com/app'] })).toThrow(
      /countersign:apiCorsOrigins\.0: must be an origin/,
    );
  });

  it('reads the directory, keeping ids, groups and chat ids and dropping anything else', () => {
    const directory = {
      users: [{ id: 'alice', email: 'alice@example.com', groups: ['security'], slackUserId: 'U0A11CE01' }],
      agents: [{ id: 'invoice-bot', owner: 'Alice@Example.com', secretAccessKey: 'never-deployed' }],
      slack: { signingSecret: 'never-deployed' },
    };
    const config = read({ [CONTEXT_KEYS.directory]: JSON.stringify(directory) });
    expect(config.directory).toEqual({
      users: directory.users,
      agents: [{ id: 'invoice-bot', owner: 'Alice@Example.com' }],
    });
  });

  it('registers every agent of the bus in the directory, with an owner who is one of its people', () => {
    const grant = { id: 'invoice-bot', principalArn: 'arn:aws:iam::123456789012:role/invoice-bot' };
    const alice = { id: 'alice', email: 'alice@example.com', groups: ['security'] };
    expect(() => read({ [CONTEXT_KEYS.agents]: [grant] })).toThrow(
      /countersign:agents\.0\.id: agent "invoice-bot" is not in countersign:directory's agents/,
    );
    expect(() =>
      read({ [CONTEXT_KEYS.directory]: { users: [alice], agents: [{ id: 'invoice-bot' }] } }),
    ).toThrow(/countersign:directory\.agents\.0\.owner: every agent names its owner/);
    expect(() =>
      read({
        [CONTEXT_KEYS.directory]: { users: [alice], agents: [{ id: 'invoice-bot', owner: 'mallory' }] },
      }),
    ).toThrow(
      /countersign:directory\.agents\.0\.owner: the owner of "invoice-bot" \("mallory"\) is not a user/,
    );
    expect(() =>
      read({
        [CONTEXT_KEYS.directory]: {
          users: [alice, { id: 'invoice-bot', groups: ['security'] }],
          agents: [{ id: 'invoice-bot', owner: 'alice' }],
        },
      }),
    ).toThrow(/countersign:directory\.agents\.0\.id: "invoice-bot" is also a user id/);
    expect(
      read({
        [CONTEXT_KEYS.agents]: [grant],
        [CONTEXT_KEYS.directory]: { users: [alice], agents: [{ id: 'invoice-bot', owner: 'alice' }] },
      }).agents,
    ).toEqual([grant]);
  });

  it('refuses a directory too large for the Lambda environment, or malformed', () => {
    const users = Array.from({ length: 60 }, (_, index) => ({
      id: `user-${index}`,
      email: `user-${index}@example.com`,
      groups: ['security'],
    }));
    expect(JSON.stringify({ users, agents: [] }).length).toBeGreaterThan(DIRECTORY_MAX_BYTES);
    expect(() => read({ [CONTEXT_KEYS.directory]: { users, agents: [] } })).toThrow(
      /countersign:directory: must fit in 3072 bytes/,
    );
    expect(() => read({ [CONTEXT_KEYS.directory]: { users: [{ id: 'alice' }] } })).toThrow(
      /countersign:directory\.users\.0\.groups/,
    );
  });
});

describe('readCountersignConfig: the chat channels', () => {
  const console = { [CONTEXT_KEYS.consoleUrl]: 'https://countersign.example.com' };

  it('turns Slack on with a channel id and Teams with a conversation and its service URL', () => {
    expect(
      read({
        ...console,
        [CONTEXT_KEYS.slackChannelId]: 'C0COUNTERSIGN',
        [CONTEXT_KEYS.teamsConversationId]: '19:approvals@thread.tacv2',
        [CONTEXT_KEYS.teamsServiceUrl]: 'https://smba.trafficmanager.net/teams/',
      }),
    ).toMatchObject({
      slackChannelId: 'C0COUNTERSIGN',
      teamsConversationId: '19:approvals@thread.tacv2',
      teamsServiceUrl: 'https://smba.trafficmanager.net/teams/',
    });
  });

  it('needs the console URL the messages link to', () => {
    expect(() => read({ [CONTEXT_KEYS.slackChannelId]: 'C0COUNTERSIGN' })).toThrow(
      /countersign:consoleUrl: is required with Slack or Teams/,
    );
  });

  it('refuses a Teams conversation without its service URL, and malformed channel settings', () => {
    expect(() =>
      read({ ...console, [CONTEXT_KEYS.teamsConversationId]: '19:approvals@thread.tacv2' }),
    ).toThrow(
      /countersign:teamsServiceUrl: countersign:teamsConversationId and countersign:teamsServiceUrl go together/,
    );
    expect(() => read({ ...console, [CONTEXT_KEYS.slackChannelId]: '#approvals' })).toThrow(
      /countersign:slackChannelId: must be a Slack channel id/,
    );
    expect(() =>
      read({
        ...console,
        [CONTEXT_KEYS.teamsConversationId]: '19:approvals@thread.tacv2',
        [CONTEXT_KEYS.teamsServiceUrl]: 'http://smba.trafficmanager.net/teams/',
      }),
    ).toThrow(/countersign:teamsServiceUrl: must be the https Bot Connector service URL/);
  });
});
