/**
 * The lean call must be answered exactly as the validated call: same decision, same determining
 * policies, same errors, on every policy case and on requests that exercise everything a policy
 * can read. And it must only be used where the schema's own check has shown it safe.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as cedar from '@cedar-policy/cedar-wasm/web';
import { describe, expect, it } from 'vitest';
import {
  FALLBACK_ACTION,
  requestParts,
  validatedCall,
} from '../../../../lambdas/adapters/cedar/authorization-call.ts';
import { createPolicyEngine } from '../../../../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../../../../lambdas/adapters/cedar/cedar-wasm.ts';
import { leanCall, policyReads } from '../../../../lambdas/adapters/cedar/lean-call.ts';
import {
  type PolicySource,
  type PreparedPolicySet,
  preparePolicySet,
} from '../../../../lambdas/adapters/cedar/policy-set.ts';
import type { PolicyRequest } from '../../../../lambdas/ports/index.ts';
import { aClassification } from '../../domain/fixtures.ts';

// Cedar's wasm, compiled in the background since the import, instantiated once (cedar-wasm.ts).
await loadCedar();

const ROOT = new URL('../../../../', import.meta.url);
const POLICY_DIR = fileURLToPath(new URL('policies/', ROOT));
const SCHEMA = readFileSync(`${POLICY_DIR}countersign.cedarschema`, 'utf8');
const DEFAULTS = { approverGroup: 'security', timeoutSeconds: 3600 };

function prepare(policies: string | readonly PolicySource[], schema = SCHEMA): PreparedPolicySet {
  const { prepared, problems } = preparePolicySet({ policies, schema, defaults: DEFAULTS });
  expect(problems).toEqual([]);
  return prepared!;
}

function readJson(url: URL): unknown {
  return JSON.parse(readFileSync(url, 'utf8'));
}

/** The policy cases and the examples, as the workflow hands them to the engine. */
function recordedRequests(): PolicyRequest[] {
  const casesDir = new URL('test/policies/cases/', ROOT);
  const examplesDir = new URL('examples/', ROOT);
  const cases = readdirSync(casesDir).map((name) => {
    const { request, facts } = readJson(new URL(name, casesDir)) as {
      request: PolicyRequest;
      facts?: Partial<PolicyRequest>;
    };
    const { agent, action, resource, parameters } = request;
    return { agent, action, resource, parameters, ...facts };
  });
  // The example requests (examples/ also holds a runnable agent).
  const examples = readdirSync(examplesDir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => {
      const { agent, action, resource, parameters } = readJson(new URL(name, examplesDir)) as PolicyRequest;
      return { agent, action, resource, parameters };
    });
  return [...cases, ...examples];
}

const ROLE = 'arn:aws:iam::123456789012:role/invoice-exporter';
/** Requests that reach every attribute, tag and parameter the model has. */
const CRAFTED: readonly PolicyRequest[] = [
  {
    agent: { id: 'invoice-bot', onBehalfOf: 'dave' },
    action: 's3:DeleteBucket',
    resource: { arn: 'arn:aws:s3:::finance', type: 'AWS::S3::Bucket' },
    parameters: { Bucket: 'finance', ids: ['a', 'b'] },
    resourceTags: { Environment: 'prod', team: 'finance' },
    classification: aClassification({ severity: null, categories: ['FINANCIAL_INFORMATION'], types: [] }),
  },
  {
    agent: { id: 'invoice-bot' },
    action: 'iam:AttachRolePolicy',
    resource: { arn: ROLE, type: 'AWS::IAM::Role' },
    parameters: { roleName: 'invoice-exporter', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    resourceTags: { team: 'platform' },
  },
  {
    agent: { id: 'invoice-bot', onBehalfOf: 'erin' },
    action: 'kms:DisableKey',
    resource: { arn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd' },
    parameters: { keyId: '1234abcd', days: 7 },
    classification: aClassification({ severity: 'Low', categories: [], types: ['AWS_CREDENTIALS'] }),
  },
  {
    agent: { id: 'ops-bot' },
    action: 'ec2:DescribeInstances',
    resource: { arn: 'arn:aws:ec2:us-east-1:123456789012:instance/i-1' },
    parameters: { force: true },
    resourceTags: {},
  },
  {
    agent: { id: 'ops-bot' },
    action: 's3:PutObject',
    resource: { arn: 'arn:aws:s3:::finance/ledger.csv' },
    parameters: { bucket: 'finance', key: 'ledger.csv', force: false },
    resourceTags: { team: 'finance', environment: 'dev' },
  },
];

/** Policies that read everything a policy can read: attributes, tags, the parameter map, literals. */
const READING_POLICIES = `
  @id("tags") permit (principal, action, resource) when { resource.hasTag("team") && resource.getTag("team") == "finance" };
  @id("parameter-map") forbid (principal, action, resource)
  when { context.parameterMap.hasTag("force") && context.parameterMap.getTag("force") == "true" };
  @id("on-behalf") @approval("platform") permit (principal, action, resource)
  when { principal has onBehalfOf && principal.onBehalfOf == "dave" };
  @id("prod-delete") forbid (principal, action, resource)
  when { resource has environment && resource.environment == "prod" && context.operation like "Delete*" };
  @id("literal") permit (principal, action, resource)
  when { Action::"iam:AttachRolePolicy" in Action::"privileged" && action in Action::"privileged" };
  @id("typed") permit (principal, action, resource) when { resource has type && resource.type == "AWS::IAM::Role" };
  @id("arn") @quorum("2") permit (principal, action, resource) when { resource.account == "123456789012" && resource.service == "iam" };
  @id("classified") permit (principal, action, resource)
  when { resource has classification && resource.classification.types.contains("AWS_CREDENTIALS") };
  @id("scoped") @approval("security") permit (principal, action == Action::"kms:DisableKey", resource);
  @id("never") forbid (principal is User, action, resource);
  @id("admin") permit (principal, action in [Action::"privileged", Action::"data-export"], resource)
  when { context.parameters has policyArn && context.parameters.policyArn like "*Administrator*" };`;

/** The schema with a Long parameter, so that a policy can fail to evaluate (overflow). */
const LONG_SCHEMA = SCHEMA.replace('type Parameters = {', 'type Parameters = {\n  days?: Long,');
const FAILING_POLICIES = `
  @id("all") permit (principal, action, resource);
  @id("overflow") forbid (principal, action in Action::"key-destruction", resource)
  when { context.parameters has days && context.parameters.days + 9223372036854775807 > 0 };`;

/** The schema's actions that requests can name (groups cannot). */
function operationsOf(prepared: PreparedPolicySet): string[] {
  return [...prepared.declaredActions].filter((action) => action.includes(':'));
}

function policiesAsJson(text: string): cedar.PolicyJson[] {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new Error(parts.errors[0]!.message);
  return parts.policies.map((policy) => (cedar.policyToJson(policy) as { json: cedar.PolicyJson }).json);
}

/** Cedar's answer, without what depends on the call's shape only (order of sets, source offsets). */
function answerTo(call: cedar.StatefulAuthorizationCall) {
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type === 'failure') return { failure: answer.errors.map((error) => error.message) };
  const { decision, diagnostics } = answer.response;
  return {
    decision,
    reason: [...diagnostics.reason].sort(),
    errors: diagnostics.errors.map((error) => `${error.policyId}: ${error.error.message}`).sort(),
  };
}

function compare(prepared: PreparedPolicySet, requests: readonly PolicyRequest[]) {
  const compared = requests.flatMap((request) => {
    const parts = requestParts(prepared, request);
    if (typeof parts === 'string') return [];
    const lean = leanCall(prepared.lean, request, parts);
    expect(lean, `${request.action} takes the lean call`).toBeDefined();
    return [
      { action: request.action, lean: answerTo(lean!), validated: answerTo(validatedCall(prepared, parts)) },
    ];
  });
  for (const { action, lean, validated } of compared) {
    expect(lean, action).toEqual(validated);
  }
  return compared;
}

describe('the lean call answers as the validated call', () => {
  it('on every policy case, every example and the crafted requests, with the policies in policies/', () => {
    const files = readdirSync(POLICY_DIR)
      .filter((name) => name.endsWith('.cedar'))
      .sort()
      .map((name) => ({ id: name, text: readFileSync(`${POLICY_DIR}${name}`, 'utf8') }));
    const compared = compare(prepare(files), [...recordedRequests(), ...CRAFTED]);
    expect(compared.length).toBeGreaterThanOrEqual(20);
    expect(new Set(compared.map(({ validated }) => JSON.stringify(validated.reason))).size).toBeGreaterThan(
      4,
    );
  });

  it('with policies reading tags, the parameter map, optional attributes and action literals', () => {
    const compared = compare(prepare(READING_POLICIES), [...recordedRequests(), ...CRAFTED]);
    const determined = new Set(compared.flatMap(({ validated }) => validated.reason ?? []));
    expect([...determined].sort()).toEqual([
      'admin',
      'arn',
      'classified',
      'literal',
      'on-behalf',
      'parameter-map',
      'prod-delete',
      'scoped',
      'tags',
      'typed',
    ]);
  });

  it('with a policy that reads the context as a whole', () => {
    const prepared = prepare(
      '@id("whole") permit (principal, action, resource) when { (if context.service == "iam" then context else context).operation like "Get*" };',
    );
    expect(prepared.lean.get(FALLBACK_ACTION)!.reads.wholeContext).toBe(true);
    compare(prepared, [...recordedRequests(), ...CRAFTED]);
  });

  it('with a policy failing to evaluate: the same policy errs with the same message', () => {
    const compared = compare(prepare(FAILING_POLICIES, LONG_SCHEMA), CRAFTED);
    expect(compared.find(({ action }) => action === 'kms:DisableKey')?.lean).toMatchObject({
      errors: [expect.stringMatching(/^overflow: /)],
    });
  });
});

describe('what the lean call leaves out', () => {
  it('reads names after . and has, which are taken whole, tags, action uses and literals, from conditions only', () => {
    // Every name but the records that are only a way to their fields is handed on whole.
    const taken = ['parameterMap', 'onBehalfOf', 'environment', 'operation', 'type', 'account', 'service'];
    expect(policyReads(policiesAsJson(READING_POLICIES))).toEqual({
      attributes: new Set([...taken, 'classification', 'types', 'parameters', 'policyArn']),
      wholeAttributes: new Set([...taken, 'types', 'policyArn']),
      wholeContext: false,
      action: true,
      tags: true,
      actionLiterals: new Set(['iam:AttachRolePolicy', 'privileged']),
    });
  });

  it('reads only the policies that can apply to the action', () => {
    const prepared = prepare(READING_POLICIES);
    const reads = (action: string) => prepared.lean.get(action)!.reads;
    expect(reads('iam:AttachRolePolicy').attributes).toContain('policyArn');
    expect(reads(FALLBACK_ACTION).attributes).not.toContain('policyArn');
    expect(reads(FALLBACK_ACTION).attributes).toContain('onBehalfOf');
  });

  it('does not take record keys for operators, and sees through has a.b.c', () => {
    const policies = policiesAsJson(
      'permit (principal, action, resource) when { {".": 1, "has": context.z} == {".": 1, "has": context.z} && principal has a.b };',
    );
    expect(policyReads(policies)).toEqual({
      attributes: new Set(['z', 'a', 'b']),
      wholeAttributes: new Set(['z']),
      wholeContext: false,
      action: false,
      tags: false,
      actionLiterals: new Set(),
    });
  });

  it('sends only what the policies read: no schema, no unread attribute, context field, tag or empty entity', () => {
    const prepared = prepare(
      '@id("p") permit (principal, action, resource) when { resource has environment };',
    );
    const request = CRAFTED[0]!;
    const call = leanCall(prepared.lean, request, requestParts(prepared, request) as never)!;
    expect(call).toEqual({
      principal: { type: 'Agent', id: 'invoice-bot' },
      action: { type: 'Action', id: FALLBACK_ACTION },
      resource: { type: 'Resource', id: 'arn:aws:s3:::finance' },
      context: {},
      entities: [
        {
          uid: { type: 'Resource', id: 'arn:aws:s3:::finance' },
          attrs: { environment: 'prod' },
          parents: [],
        },
      ],
      preparsedPolicySetId: expect.stringMatching(/^countersign-\d+\/\d+$/),
    });
  });

  it('prunes records to the fields read, unless a policy takes the record whole', () => {
    const request = {
      ...CRAFTED[1]!,
      classification: aClassification({ categories: ['CREDENTIALS'], types: ['AWS_CREDENTIALS'] }),
    };
    const sent = (policies: string) => {
      const prepared = prepare(policies);
      return leanCall(prepared.lean, request, requestParts(prepared, request) as never)!;
    };
    const fields = sent(
      '@id("p") permit (principal, action, resource) when { resource has classification && resource.classification has severity && context.parameters has policyArn && context.parameters.policyArn like "*Admin*" };',
    );
    expect(fields.context).toEqual({
      parameters: { policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    });
    expect(fields.entities).toEqual([
      { uid: fields.resource, attrs: { classification: { severity: 'High' } }, parents: [] },
    ]);
    const whole = sent(
      '@id("p") permit (principal, action, resource) when { resource has classification && [resource.classification].contains(resource.classification) && context.parameters == context.parameters };',
    );
    expect(whole.context).toEqual({ parameters: request.parameters });
    // Whole, as Cedar's Classification type has it: no finding ids, subject or source.
    expect(whole.entities[0]!.attrs).toEqual({
      classification: {
        status: 'CLASSIFIED',
        severity: 'High',
        categories: ['CREDENTIALS'],
        types: ['AWS_CREDENTIALS'],
      },
    });
  });

  it('asks only the policies whose action scope admits the action, that scope decided at start', () => {
    const prepared = prepare(`
      @id("privileged") permit (principal, action in Action::"privileged", resource);
      @id("exact") permit (principal, action == Action::"iam:AttachRolePolicy", resource);
      @id("other") permit (principal, action in [Action::"key-destruction", Action::"s3:GetObject"], resource);
      @id("any") permit (principal, action, resource) when { context.service == "nothing" };`);
    const policySet = (action: string) => prepared.lean.get(action)!.policySetId;
    expect(policySet('iam:PutRolePolicy')).not.toBe(policySet('iam:AttachRolePolicy'));
    expect(policySet('kms:DisableKey')).toBe(policySet('s3:GetObject'));
    expect(policySet(FALLBACK_ACTION)).not.toBe(policySet('kms:DisableKey'));
    const planned = operationsOf(prepared).map((action) => prepared.lean.get(action)!);
    expect(new Set(planned.map(({ policySetId }) => policySetId)).size).toBe(4);
    expect(planned.every(({ entities }) => entities.length === 0)).toBe(true);
  });

  it('brings the action entity with its groups when a condition reads the action or a scope stays as written', () => {
    const attach = {
      uid: { type: 'Action', id: 'iam:AttachRolePolicy' },
      attrs: {},
      parents: [{ type: 'Action', id: 'privileged' }],
    };
    const reading = prepare(
      '@id("p") permit (principal, action, resource) when { action in Action::"privileged" };',
    );
    expect(reading.lean.get('iam:AttachRolePolicy')!.entities).toEqual([
      attach,
      { uid: { type: 'Action', id: 'privileged' }, attrs: {}, parents: [] },
    ]);
    // A Long beyond 2^53 does not survive the JSON form, so that policy is preparsed as written.
    const big = prepare(FAILING_POLICIES, LONG_SCHEMA);
    expect(big.lean.get('kms:DisableKey')!.entities).toEqual([
      {
        uid: { type: 'Action', id: 'kms:DisableKey' },
        attrs: {},
        parents: [{ type: 'Action', id: 'key-destruction' }],
      },
    ]);
    expect(big.lean.get('iam:AttachRolePolicy')!.entities).toEqual([]);
  });
});

describe('the validated call, where the schema check does not cover a request', () => {
  it('covers every operation of the product schema, and no group', () => {
    const prepared = prepare('@id("p") permit (principal, action, resource);');
    expect(operationsOf(prepared).length).toBeGreaterThan(20);
    expect(operationsOf(prepared).filter((action) => prepared.lean.get(action) === undefined)).toEqual([]);
    expect(prepared.lean.get('privileged')).toBeUndefined();
  });

  it('covers none of the actions whose schema refuses something the adapter can send', () => {
    const withoutOnBehalfOf = SCHEMA.replace(/onBehalfOf\?: String,/, '');
    const engine = createPolicyEngine({
      policies: '@id("p") permit (principal, action, resource);',
      schema: withoutOnBehalfOf,
      defaults: DEFAULTS,
    });
    const prepared = prepare('@id("p") permit (principal, action, resource);', withoutOnBehalfOf);
    expect(operationsOf(prepared).filter((action) => prepared.lean.get(action) !== undefined)).toEqual([]);
    expect(engine.evaluate(CRAFTED[0]!)).toMatchObject({
      decision: 'DENY',
      reason: expect.stringContaining('does not match the policy schema'),
    });
    expect(engine.evaluate(CRAFTED[3]!)).toMatchObject({ decision: 'ALLOW' });
  });

  it('covers no action whose schema would read a string as an extension value', () => {
    const environmentAnAddress = SCHEMA.replace('environment?: String,', 'environment?: ipaddr,');
    expect(environmentAnAddress).not.toBe(SCHEMA);
    const prepared = prepare('@id("p") permit (principal, action, resource);', environmentAnAddress);
    expect(prepared.lean.get('iam:AttachRolePolicy')).toBeUndefined();
  });

  it('covers a classification without its severity only if the schema accepts that too', () => {
    const severityRequired = SCHEMA.replace('severity?: String,', 'severity: String,');
    expect(severityRequired).not.toBe(SCHEMA);
    const engine = createPolicyEngine({
      policies: '@id("p") permit (principal, action, resource);',
      schema: severityRequired,
      defaults: DEFAULTS,
    });
    const withoutSeverity = aClassification({ severity: null, categories: ['CREDENTIALS'], types: [] });
    expect(engine.evaluate({ ...CRAFTED[3]!, classification: withoutSeverity })).toMatchObject({
      decision: 'DENY',
      reason: expect.stringContaining('does not match the policy schema'),
    });
    expect(
      engine.evaluate({ ...CRAFTED[3]!, classification: aClassification({ severity: 'Low' }) }).decision,
    ).toBe('ALLOW');
  });

  it('checks each distinct appliesTo on its own', () => {
    const usersOnly = SCHEMA.replace(
      'action "kms:ScheduleKeyDeletion", "kms:DisableKey" in ["key-destruction"] appliesTo {\n  principal: [Agent, User, AwsPrincipal],',
      'action "kms:ScheduleKeyDeletion", "kms:DisableKey" in ["key-destruction"] appliesTo {\n  principal: [User],',
    );
    expect(usersOnly).not.toBe(SCHEMA);
    const prepared = prepare('@id("p") permit (principal, action, resource);', usersOnly);
    expect(prepared.lean.get('kms:DisableKey')).toBeUndefined();
    expect(prepared.lean.get('iam:AttachRolePolicy')).toBeDefined();
  });

  it('takes a request whose values are not the strings the ports promise', () => {
    const prepared = prepare('@id("p") permit (principal, action, resource);');
    const strange: PolicyRequest[] = [
      { ...CRAFTED[3]!, agent: { id: 7 as unknown as string } },
      { ...CRAFTED[3]!, agent: { id: 'a', onBehalfOf: {} as unknown as string } },
      { ...CRAFTED[3]!, resource: { arn: CRAFTED[3]!.resource.arn, type: 1 as unknown as string } },
      { ...CRAFTED[3]!, resourceTags: { team: 5 as unknown as string } },
    ];
    for (const request of strange) {
      const parts = requestParts(prepared, request);
      expect(typeof parts).not.toBe('string');
      expect(leanCall(prepared.lean, request, parts as never)).toBeUndefined();
    }
  });
});
