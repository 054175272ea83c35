/**
 * cdk.json holds production defaults only: a plain synth of the repository trusts no loopback
 * issuer and posts to no demo channel; the twin synthesizes its own assembly with those as context.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readCountersignConfig } from '../../lib/countersign-config.ts';
import { CountersignStack } from '../../lib/countersign-stack.ts';
import { TWIN_ASSEMBLY_DIR, twinContext } from '../../local/product/assembly.ts';
import { readLocalConfig } from '../../local/product/config.ts';

const CDK_JSON_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;

function synthesize(context: Record<string, unknown>) {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'countersign-defaults-')),
    context: { 'aws:cdk:bundling-stacks': [], ...context },
  });
  const stack = new CountersignStack(app, 'Countersign', { config: readCountersignConfig(app) });
  return Template.fromStack(stack);
}

describe('production defaults', () => {
  it('a synth from cdk.json alone has no loopback issuer, console or demo channel', () => {
    expect(Object.keys(CDK_JSON_CONTEXT).filter((key) => /jwt|consoleUrl|slack|teams/i.test(key))).toEqual(
      [],
    );
    const template = synthesize(CDK_JSON_CONTEXT);
    expect(template.findResources('AWS::ApiGatewayV2::Authorizer')).toEqual({});
    expect(JSON.stringify(template.toJSON())).not.toMatch(
      /127\.0\.0\.1|localhost|countersign-twin|C0COUNTERSIGN/,
    );
  });

  it('the twin synthesizes its own assembly with its loopback issuer and demo channels', async () => {
    const context = twinContext(await readLocalConfig());
    expect(context).toMatchObject({
      'countersign:jwtIssuer': 'http://127.0.0.1/local',
      'countersign:consoleUrl': 'http://127.0.0.1',
      'countersign:slackChannelId': 'C0COUNTERSIGN',
      // The twin classifies before approval with its own Macie; cdk.json leaves it off.
      'countersign:macie': 'true',
    });
    expect(TWIN_ASSEMBLY_DIR).not.toBe('cdk.out');
    const template = synthesize({ ...CDK_JSON_CONTEXT, ...context });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'http://127.0.0.1/local' },
    });
    // The Slack and Teams credentials, and the key sealing Slack vote jobs.
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(3);
    expect(JSON.stringify(template.toJSON())).toContain('macie2:CreateClassificationJob');
    expect(JSON.stringify(synthesize(CDK_JSON_CONTEXT).toJSON())).not.toContain('macie2:');
  });
});
