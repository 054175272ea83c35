import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CountersignStack } from '../../lib/countersign-stack.ts';
import { buildCountersignStack, TEST_FULL_CONTEXT } from './build-stack.ts';

interface ReportedViolation {
  readonly ruleName: string;
  readonly severity?: string;
}

/** cdk-nag v3 runs as a CDK validation plugin; its findings land in the assembly's validation report. */
function synthesizeWithAwsSolutions(
  addToStack: (stack: CountersignStack) => void = () => {},
): ReportedViolation[] {
  const { app } = buildCountersignStack(TEST_FULL_CONTEXT, (app, stack) => {
    addToStack(stack);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  });
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations?: ReportedViolation[] }[];
  };
  return report.pluginReports.flatMap((plugin) => plugin.violations ?? []);
}

function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          // aws-cdk-lib records acknowledgements under an `Annotation::` namespace.
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}

/** Synthesis is slow the first time (loading aws-cdk-lib), so the stack is built once, in a hook. */
const SLOW_SYNTH_MS = 120_000;

/** Every optional part of the stack is configured, so every construct is checked. */
describe('cdk-nag AwsSolutions', () => {
  let reported: ReportedViolation[];
  let app: App;

  beforeAll(() => {
    reported = synthesizeWithAwsSolutions();
    app = buildCountersignStack(TEST_FULL_CONTEXT).app;
  }, SLOW_SYNTH_MS);

  it('reports no error and no warning on the stack', () => {
    expect(reported).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(app)).toEqual({ success: true, violations: [] });
  });

  it(
    'does report a finding that nobody acknowledged (the check is live)',
    () => {
      expect(() =>
        synthesizeWithAwsSolutions((stack) => {
          new sqs.Queue(stack, 'PlainTextQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
        }),
      ).toThrow(/AwsSolutions-SQS4/);
    },
    SLOW_SYNTH_MS,
  );

  it('acknowledges only specific findings, each with a reason', () => {
    const acknowledged = acknowledgements(app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledged) {
      expect(id).toMatch(/^AwsSolutions-[A-Za-z]+\d+(\[.+\])?$/);
      expect(reason.length).toBeGreaterThan(40);
    }
    // A wildcard resource is only ever acknowledged where it cannot be avoided.
    const wildcardPaths = acknowledged
      .filter(({ id }) => id.endsWith('[Resource::*]'))
      .map(({ path }) => path);
    expect(wildcardPaths.every((path) => /\/(Role|StateMachine\/Role)$/.test(path))).toBe(true);
  });

  it('leaves only the routes whose handlers authenticate the caller themselves without an authorizer', () => {
    const unauthenticated = acknowledgements(app)
      .filter(({ id }) => id === 'AwsSolutions-APIG4')
      .map(({ path, reason }) => ({ path, reason }));
    expect(unauthenticated).toEqual([
      {
        path: expect.stringMatching(/\/HttpApi\/Api\/GET--api--openapi\.json$/),
        reason: expect.stringContaining('holds no data'),
      },
      {
        path: expect.stringMatching(/\/HttpApi\/Api\/GET--api--receipts--jwks\.json$/),
        reason: expect.stringContaining('public keys only'),
      },
      {
        path: expect.stringMatching(/\/HttpApi\/Api\/GET--api--audit--jwks\.json$/),
        reason: expect.stringContaining('public keys only'),
      },
      {
        path: expect.stringMatching(/\/HttpApi\/Api\/POST--slack--interactions$/),
        reason: expect.stringContaining('Slack v0 request signature'),
      },
      {
        path: expect.stringMatching(/\/HttpApi\/Api\/POST--teams--messages$/),
        reason: expect.stringContaining('Bot Framework JWT'),
      },
    ]);
  });
});
