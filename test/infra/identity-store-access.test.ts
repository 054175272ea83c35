import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { CHAT_HANDLER_ENTRIES } from '../../lib/chat-integrations.ts';
import { CONTEXT_KEYS, readCountersignConfig } from '../../lib/countersign-config.ts';
import { API_HANDLER_ENTRY, WORKFLOW_HANDLER_ENTRIES } from '../../lib/countersign-stack.ts';
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { IDENTITY_STORE_READ_ACTIONS } from '../../lib/identity-store-access.ts';
import { REMINDER_HANDLER_ENTRY } from '../../lib/review-reminders.ts';
import { buildCountersignStack, TEST_DIRECTORY, TEST_FULL_CONTEXT } from './build-stack.ts';

// biome-ignore lint/suspicious/noExplicitAny: template JSON is navigated freely; the assertions check its shape.
type Json = any;
type Resources = Record<
  string,
  { Type: string; Properties: Record<string, Json>; Metadata?: Record<string, Json> }
>;

const STORE_ID = 'd-1234567890';
const SLOW_SYNTH_MS = 120_000;

/** Every handler that resolves people; the other workflow steps never see a person. */
const RESOLVING_ENTRIES = [
  WORKFLOW_HANDLER_ENTRIES.evaluate,
  WORKFLOW_HANDLER_ENTRIES.requestApproval,
  API_HANDLER_ENTRY,
  ...Object.values(CHAT_HANDLER_ENTRIES),
  REMINDER_HANDLER_ENTRY,
];
const NON_RESOLVING_ENTRIES = [WORKFLOW_HANDLER_ENTRIES.finish];

const read = (context: Record<string, unknown>) => readCountersignConfig(new App({ context }));

/** The full stack with people in Identity Center: the directory keeps the agents only. */
const WITH_IDENTITY_STORE = {
  ...TEST_FULL_CONTEXT,
  [CONTEXT_KEYS.identityStoreId]: STORE_ID,
  [CONTEXT_KEYS.directory]: { users: [], agents: TEST_DIRECTORY.agents },
};

describe('countersign:identityStoreId', () => {
  it('is unset by default and accepts identity store ids only', () => {
    expect(read({}).identityStoreId).toBeUndefined();
    expect(read({ [CONTEXT_KEYS.identityStoreId]: STORE_ID }).identityStoreId).toBe(STORE_ID);
    expect(() => read({ [CONTEXT_KEYS.identityStoreId]: 'ssoins-1234567890abcdef' })).toThrow(
      /countersign:identityStoreId: must be an identity store id/,
    );
  });

  it('refuses directory users beside it: people come from one place', () => {
    expect(() =>
      read({
        [CONTEXT_KEYS.identityStoreId]: STORE_ID,
        [CONTEXT_KEYS.directory]: { users: [{ id: 'alice', groups: ['security'] }], agents: [] },
      }),
    ).toThrow(/countersign:directory\.users: must be empty when countersign:identityStoreId is set/);
    expect(
      read({
        [CONTEXT_KEYS.identityStoreId]: STORE_ID,
        [CONTEXT_KEYS.directory]: { agents: [{ id: 'invoice-bot', owner: 'dave' }] },
      }).directory.agents,
    ).toEqual([{ id: 'invoice-bot', owner: 'dave' }]);
  });
});

describe('the stack with an identity store', () => {
  let resources: Resources;

  beforeAll(() => {
    const built = buildCountersignStack(WITH_IDENTITY_STORE);
    resources = built.template.toJSON().Resources;
  }, SLOW_SYNTH_MS);

  const functionOf = (entry: string) => {
    const found = Object.entries(resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA_KEY] === entry,
    );
    expect(found).toHaveLength(1);
    return found[0]![1];
  };
  const identityStoreStatementsOf = (entry: string) => {
    const role = functionOf(entry).Properties.Role['Fn::GetAtt'][0];
    return Object.values(resources)
      .filter(
        (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((ref: Json) => ref.Ref === role),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Json[])
      .filter((statement) =>
        [statement.Action].flat().some((action: string) => action.startsWith('identitystore:')),
      );
  };

  it('gives every handler that resolves people IDENTITY_STORE_ID beside the directory', () => {
    for (const entry of RESOLVING_ENTRIES) {
      const variables = functionOf(entry).Properties.Environment.Variables;
      expect(variables[ENV.identityStoreId], entry).toBe(STORE_ID);
      expect(variables[ENV.directoryJson], entry).toBeDefined();
    }
    for (const entry of NON_RESOLVING_ENTRIES) {
      expect(functionOf(entry).Properties.Environment.Variables[ENV.identityStoreId], entry).toBeUndefined();
    }
  });

  it('grants exactly the four reads, on this account’s store and the user, group and membership types', () => {
    const partition = { Ref: 'AWS::Partition' };
    for (const entry of RESOLVING_ENTRIES) {
      expect(identityStoreStatementsOf(entry), entry).toEqual([
        {
          Effect: 'Allow',
          Action: [...IDENTITY_STORE_READ_ACTIONS],
          Resource: [
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  partition,
                  ':identitystore::',
                  { Ref: 'AWS::AccountId' },
                  `:identitystore/${STORE_ID}`,
                ],
              ],
            },
            ...['user', 'group', 'membership'].map((type) => ({
              'Fn::Join': ['', ['arn:', partition, `:identitystore:::${type}/*`]],
            })),
          ],
        },
      ]);
    }
    for (const entry of NON_RESOLVING_ENTRIES) {
      expect(identityStoreStatementsOf(entry), entry).toEqual([]);
    }
  });

  it(
    'leaves no unacknowledged cdk-nag finding (the member wildcards are acknowledged with a reason)',
    () => {
      const { app } = buildCountersignStack(WITH_IDENTITY_STORE, (app) =>
        Validations.of(app).addPlugins(new AwsSolutionsChecks(app)),
      );
      const assembly = app.synth();
      const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
        pluginReports: { violations?: unknown[] }[];
      };
      expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
    },
    SLOW_SYNTH_MS,
  );
});

describe('the stack without an identity store', () => {
  it(
    'sets no IDENTITY_STORE_ID and grants nothing on Identity Center',
    () => {
      const template = JSON.stringify(buildCountersignStack(TEST_FULL_CONTEXT).template.toJSON());
      expect(template).not.toContain(ENV.identityStoreId);
      expect(template).not.toContain('identitystore:');
    },
    SLOW_SYNTH_MS,
  );
});
