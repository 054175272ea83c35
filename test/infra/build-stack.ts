/**
 * Builds the Countersign stack in-process for tests, with Lambda bundling skipped (the template is
 * what is under test, not esbuild) and the cloud assembly in a throwaway directory.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readCountersignConfig } from '../../lib/countersign-config.ts';
import { CountersignStack } from '../../lib/countersign-stack.ts';

export const TEST_AGENT = {
  id: 'invoice-bot',
  principalArn: 'arn:aws:iam::123456789012:role/invoice-bot',
} as const;

/** The directory that registers TEST_AGENT with its owner. */
export const TEST_DIRECTORY = {
  users: [{ id: 'dave', email: 'dave@example.com', groups: [] }],
  agents: [{ id: TEST_AGENT.id, owner: 'dave' }],
} as const;

/** The REST API's settings, as an operator would give them with an identity provider. */
export const TEST_JWT_CONTEXT = {
  'countersign:jwtIssuer': 'https://login.example.com/countersign',
  'countersign:jwtAudience': 'countersign-api',
} as const;

/** Both chat channels switched on (they need the console URL their messages link to). */
export const TEST_CHAT_CONTEXT = {
  'countersign:consoleUrl': 'https://countersign.example.com',
  'countersign:slackChannelId': 'C0COUNTERSIGN',
  'countersign:teamsConversationId': '19:approvals@thread.tacv2',
  'countersign:teamsServiceUrl': 'https://smba.trafficmanager.net/emea/',
} as const;

/** Classify before approve: Macie jobs for unclassified objects. */
export const TEST_MACIE_CONTEXT = { 'countersign:macie': true } as const;

/** What the built-in executors may touch: objects of two buckets, one IAM policy to attach. */
export const TEST_EXECUTOR_CONTEXT = {
  'countersign:executorBuckets': ['finance-invoices', 'partner-exchange-eu'],
  'countersign:executorAllowedPolicyArns': ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
} as const;

/** Every optional part of the stack configured: the REST API, Slack, Teams, Macie jobs, the executors' reach. */
export const TEST_FULL_CONTEXT = {
  ...TEST_JWT_CONTEXT,
  ...TEST_CHAT_CONTEXT,
  ...TEST_MACIE_CONTEXT,
  ...TEST_EXECUTOR_CONTEXT,
} as const;

export interface BuiltStack {
  readonly app: App;
  readonly stack: CountersignStack;
  readonly template: Template;
}

/**
 * `context` adds to (or overrides) the defaults: one configured agent in its directory, bundling skipped.
 * `prepare` runs before the one synthesis a CDK app allows (to add plugins or constructs).
 */
export function buildCountersignStack(
  context: Record<string, unknown> = {},
  prepare: (app: App, stack: CountersignStack) => void = () => {},
): BuiltStack {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'countersign-cdk-')),
    context: {
      'aws:cdk:bundling-stacks': [],
      'countersign:agents': [TEST_AGENT],
      'countersign:directory': TEST_DIRECTORY,
      ...context,
    },
  });
  const stack = new CountersignStack(app, 'Countersign', { config: readCountersignConfig(app) });
  prepare(app, stack);
  return { app, stack, template: Template.fromStack(stack) };
}
