import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { FALLBACK_ACTION } from '../../../../lambdas/adapters/cedar/authorization-call.ts';
import {
  type CheckedPolicyEngine,
  createPolicyEngine,
} from '../../../../lambdas/adapters/cedar/cedar-policy-engine.ts';
import { loadCedar } from '../../../../lambdas/adapters/cedar/cedar-wasm.ts';
import type { RequestClassification } from '../../../../lambdas/domain/classification.ts';
import { PolicyDecision } from '../../../../lambdas/domain/schemas.ts';
import type { PolicyRequest } from '../../../../lambdas/ports/index.ts';
import { aClassification } from '../../domain/fixtures.ts';

// Cedar's wasm, compiled in the background since the import, instantiated once (cedar-wasm.ts).
await loadCedar();

/** The product's schema: unit tests write their own policies against it. */
const SCHEMA = readFileSync(new URL('../../../../policies/countersign.cedarschema', import.meta.url), 'utf8');
const DEFAULTS = { approverGroup: 'security', timeoutSeconds: 3600 };

/** A schema with the shape the engine builds but parameter types of every kind, for the typed-parameter rules. */
function schemaWithParameters(parameters: string): string {
  return `
    entity Agent = { id: String, onBehalfOf?: String };
    type Classification = { severity?: String, categories: Set<String>, types: Set<String> };
    entity Resource = {
      arn: String, partition: String, service: String, region: String, account: String,
      type?: String, environment?: String, classification?: Classification,
    } tags String;
    entity ParameterMap tags String;
    ${parameters}
    action "${FALLBACK_ACTION}" appliesTo {
      principal: [Agent], resource: [Resource],
      context: { service: String, operation: String, parameters: Parameters, parameterMap: ParameterMap },
    };`;
}

function engineWith(policies: string, schema = SCHEMA): CheckedPolicyEngine {
  return createPolicyEngine({ policies, schema, defaults: DEFAULTS });
}

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    agent: { id: 'invoice-bot' },
    action: 'ec2:TerminateInstances',
    resource: { arn: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc' },
    parameters: {},
    ...overrides,
  };
}

const DENIED = { decision: 'DENY', groups: [], quorum: 0, timeoutSeconds: 0, stepUp: false };

describe('outcomes', () => {
  it('allows when only un-annotated permits apply, naming them and their reasons', () => {
    const engine = engineWith(`
      @id("reads") @reason("it only reads") permit (principal, action, resource) when { context.operation like "Describe*" };
      @id("also-reads") permit (principal, action, resource) when { context.service == "ec2" };`);
    const decision = engine.evaluate(request({ action: 'ec2:DescribeInstances' }));
    expect(PolicyDecision.parse(decision)).toEqual({
      decision: 'ALLOW',
      groups: [],
      quorum: 0,
      timeoutSeconds: 0,
      stepUp: false,
      policyIds: ['reads', 'also-reads'],
      reason: 'Allowed by policies "reads", "also-reads" (it only reads).',
    });
  });

  it('denies when a forbid applies, even if permits with approvals apply too (strictest wins)', () => {
    const engine = engineWith(`
      @id("approve-kms") @approval("security") permit (principal, action, resource) when { context.service == "kms" };
      @id("no-agents") forbid (principal is Agent, action in Action::"key-destruction", resource);`);
    const decision = engine.evaluate(request({ action: 'kms:DisableKey' }));
    expect(decision).toEqual({
      ...DENIED,
      policyIds: ['no-agents'],
      reason: 'Denied by policy "no-agents".',
    });
  });

  it('requires approval when an annotated permit applies, over an allow (strictest wins)', () => {
    const engine = engineWith(`
      @id("reads") permit (principal, action, resource) when { context.operation like "Get*" };
      @id("secrets") @reason("a secret is a credential") @approval("security, platform") @quorum("2") @timeout("PT45M") @stepUp("true")
      permit (principal, action in Action::"secret-read", resource);`);
    const decision = engine.evaluate(request({ action: 'secretsmanager:GetSecretValue' }));
    expect(decision).toEqual({
      decision: 'REQUIRE_APPROVAL',
      groups: ['security', 'platform'],
      quorum: 2,
      timeoutSeconds: 2700,
      stepUp: true,
      policyIds: ['secrets'],
      reason:
        'Approval required by policy "secrets" (a secret is a credential). ' +
        'Needs 2 approvals from security or platform within 45 minutes, confirmed with a step-up check.',
    });
  });

  it('combines several approval policies: union of groups, max quorum, min timeout, step-up if any', () => {
    const engine = engineWith(`
      @id("a") @approval("platform") @quorum("2") @timeout("PT1H") permit (principal, action in Action::"privileged", resource);
      @id("b") @approval("security,platform") @timeout("PT20M") @stepUp("false") permit (principal, action, resource) when { context.service == "iam" };
      @id("c") @stepUp("true") permit (principal, action, resource) when { resource.account == "123456789012" };`);
    const decision = engine.evaluate(
      request({ action: 'iam:AttachRolePolicy', resource: { arn: 'arn:aws:iam::123456789012:role/x' } }),
    );
    expect(decision).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: ['platform', 'security'],
      quorum: 2,
      timeoutSeconds: 1200,
      stepUp: true,
      policyIds: ['a', 'b', 'c'],
    });
  });

  it('fills missing approval annotations from the defaults', () => {
    const engine = engineWith('@id("two") @quorum("2") permit (principal, action, resource);');
    expect(engine.evaluate(request())).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: ['security'],
      quorum: 2,
      timeoutSeconds: 3600,
      stepUp: false,
      reason: 'Approval required by policy "two". Needs 2 approvals from security within 1 hour.',
    });
  });

  it('says how long a decision may be acted on: the shortest @approvalValidFor of the determining permits', () => {
    const engine = engineWith(`
      @id("reads") @approvalValidFor("PT5M") permit (principal, action, resource) when { context.operation like "Get*" };
      @id("secrets") @approval("security") @approvalValidFor("PT15M") permit (principal, action, resource) when { context.service == "secretsmanager" };
      @id("describes") permit (principal, action, resource) when { context.operation like "Describe*" };`);
    // An un-annotated permit with @approvalValidFor stays an allow: the annotation asks for nobody.
    expect(engine.evaluate(request({ action: 'ec2:GetConsoleOutput' }))).toMatchObject({
      decision: 'ALLOW',
      approvalValidForSeconds: 300,
    });
    expect(engine.evaluate(request({ action: 'secretsmanager:GetSecretValue' }))).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      approvalValidForSeconds: 300,
    });
    expect(engine.evaluate(request({ action: 'secretsmanager:ListSecrets' }))).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      approvalValidForSeconds: 900,
    });
    expect(engine.evaluate(request({ action: 'ec2:DescribeInstances' }))).not.toHaveProperty(
      'approvalValidForSeconds',
    );
    expect(
      engineWith('@id("f") @approvalValidFor("PT1H") forbid (principal, action, resource);').problems,
    ).toEqual(['policy "f": @approvalValidFor belongs on a permit: a denial is never acted on']);
  });

  it('requires approval from the default group when nothing applies, and says so', () => {
    const engine = engineWith(
      '@id("reads") permit (principal, action, resource) when { context.operation like "Get*" };',
    );
    expect(engine.evaluate(request())).toEqual({
      decision: 'REQUIRE_APPROVAL',
      groups: ['security'],
      quorum: 1,
      timeoutSeconds: 3600,
      stepUp: false,
      policyIds: [],
      reason:
        'No policy applies to ec2:TerminateInstances on arn:aws:ec2:us-east-1:123456789012:instance/i-0abc, ' +
        'so it needs the default approval. Needs 1 approval from security within 1 hour.',
    });
  });
});

describe('what policies see of a request', () => {
  const seen = (condition: string, overrides: Partial<PolicyRequest>, schema = SCHEMA) =>
    engineWith(`@id("probe") permit (principal, action, resource) when { ${condition} };`, schema).evaluate(
      request(overrides),
    ).decision;

  it('maps a declared operation to its own action and any other to the fallback action', () => {
    expect(seen('action == Action::"iam:AttachRolePolicy"', { action: 'iam:AttachRolePolicy' })).toBe(
      'ALLOW',
    );
    expect(seen(`action == Action::"${FALLBACK_ACTION}"`, { action: 'ec2:TerminateInstances' })).toBe(
      'ALLOW',
    );
  });

  it('splits the action into service and operation', () => {
    expect(seen('context.service == "ec2" && context.operation == "TerminateInstances"', {})).toBe('ALLOW');
  });

  it('describes the agent, with whom it acts for when it acts for someone', () => {
    expect(
      seen('principal is Agent && principal.id == "invoice-bot" && !(principal has onBehalfOf)', {}),
    ).toBe('ALLOW');
    const onBehalf = { agent: { id: 'invoice-bot', onBehalfOf: 'dave' } };
    expect(
      seen('principal is Agent && principal has onBehalfOf && principal.onBehalfOf == "dave"', onBehalf),
    ).toBe('ALLOW');
  });

  it('splits the resource ARN and carries the declared type', () => {
    const condition =
      'resource.arn == "arn:aws:s3:::bucket/key" && resource.partition == "aws" && resource.service == "s3" && ' +
      'resource.region == "" && resource.account == "" && resource has type && resource.type == "AWS::S3::Object"';
    expect(seen(condition, { resource: { arn: 'arn:aws:s3:::bucket/key', type: 'AWS::S3::Object' } })).toBe(
      'ALLOW',
    );
    expect(seen('resource has type', {})).toBe('REQUIRE_APPROVAL');
  });

  it('exposes resource tags as Cedar tags and the environment tag as an attribute', () => {
    const tagged = { resourceTags: { Environment: 'prod', team: 'finance' } };
    const condition =
      'resource.hasTag("team") && resource.getTag("team") == "finance" && resource has environment && resource.environment == "prod"';
    expect(seen(condition, tagged)).toBe('ALLOW');
    expect(seen('resource has environment', { resourceTags: { team: 'finance' } })).toBe('REQUIRE_APPROVAL');
  });

  it('exposes the Macie classification, keeping only the attributes the schema declares', () => {
    const classification = aClassification({ categories: ['CREDENTIALS'], types: [], findingIds: ['f-1'] });
    const condition =
      'resource has classification && resource.classification.status == "CLASSIFIED" && ' +
      'resource.classification has severity && resource.classification.severity == "High" && ' +
      'resource.classification.categories.contains("CREDENTIALS") && resource.classification.types.isEmpty()';
    expect(seen(condition, { classification })).toBe('ALLOW');
    expect(seen('resource has classification', {})).toBe('REQUIRE_APPROVAL');
    // Nothing sensitive (a null severity) is an absent severity to Cedar.
    const nothing = aClassification({ severity: null, categories: [], types: [] });
    expect(
      seen('resource has classification && !(resource.classification has severity)', {
        classification: nothing,
      }),
    ).toBe('ALLOW');
  });

  it('exposes well-known parameters as typed attributes, whatever the case of their first letter', () => {
    const condition =
      'context.parameters has policyArn && context.parameters.policyArn like "*AdministratorAccess"';
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    expect(seen(condition, { parameters: { PolicyArn: admin } })).toBe('ALLOW');
    expect(seen(condition, { parameters: { policyArn: admin } })).toBe('ALLOW');
    expect(seen(condition, { parameters: { policyArn: `${admin}-not` } })).toBe('REQUIRE_APPROVAL');
  });

  it('exposes every parameter as a string tag of context.parameterMap', () => {
    const condition =
      'context.parameterMap.getTag("dBInstanceIdentifier") == "prod-db" && ' +
      'context.parameterMap.getTag("instanceIds") == "[\\"i-1\\",\\"i-2\\"]" && context.parameterMap.getTag("force") == "true"';
    const parameters = { DBInstanceIdentifier: 'prod-db', instanceIds: ['i-1', 'i-2'], force: true };
    // guard the getTag calls so the policy validates
    const guarded = `context.parameterMap.hasTag("dBInstanceIdentifier") && context.parameterMap.hasTag("instanceIds") && context.parameterMap.hasTag("force") && ${condition}`;
    expect(seen(guarded, { parameters })).toBe('ALLOW');
  });

  it('sees whether the agent asks Countersign to execute, and an @executor permit makes Countersign run it', () => {
    expect(seen('context has execute && context.execute', { execute: true })).toBe('ALLOW');
    expect(seen('context has execute', { execute: false })).toBe('REQUIRE_APPROVAL');
    expect(seen('context has execute', {})).toBe('REQUIRE_APPROVAL');
    const engine = engineWith(`
      @id("run-it") @executor("countersign") @approval("platform")
      permit (principal, action, resource) when { context has execute && context.execute };`);
    expect(engine.evaluate(request({ execute: true }))).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      executor: 'countersign',
    });
    expect(engine.evaluate(request())).not.toHaveProperty('executor');
  });

  it('denies an execute request under a schema that cannot express it, and evaluates every other request', () => {
    const schema = schemaWithParameters('type Parameters = {};');
    expect(seen('true', { execute: true }, schema)).toBe('DENY');
    expect(seen('true', {}, schema)).toBe('ALLOW');
  });

  it('checks Long and Boolean parameters and ignores parameter types it cannot check', () => {
    const schema = schemaWithParameters(
      'type Parameters = { days?: Long, force?: Bool, ids?: Set<String> };',
    );
    const condition =
      'context.parameters has days && context.parameters.days < 7 && context.parameters has force';
    expect(seen(condition, { parameters: { days: 3, force: true, ids: ['a'] } }, schema)).toBe('ALLOW');
    expect(seen('context.parameters has ids', { parameters: { ids: ['a'] } }, schema)).toBe(
      'REQUIRE_APPROVAL',
    );
    expect(seen('true', { parameters: { days: 1.5 } }, schema)).toBe('DENY');
    expect(seen('true', { parameters: { force: 'yes' } }, schema)).toBe('DENY');
  });

  it('fills no typed parameters when the schema has no Parameters record', () => {
    const notARecord = schemaWithParameters('type Parameters = String;');
    const engine = createPolicyEngine({ policies: '', schema: notARecord, defaults: DEFAULTS });
    expect(engine.problems).toEqual([]);
    // context.parameters is then {} where the schema wants a String: the request does not fit, so DENY.
    expect(engine.evaluate(request({ parameters: { days: 1 } }))).toMatchObject({
      ...DENIED,
      reason: expect.stringContaining('does not match the policy schema'),
    });
  });
});

describe('fail closed on a bad request', () => {
  const engine = engineWith('@id("all") permit (principal, action, resource);');
  const deniedBecause = (overrides: Partial<PolicyRequest>, because: string) =>
    expect(engine.evaluate(request(overrides))).toEqual({
      ...DENIED,
      policyIds: [],
      reason: expect.stringContaining(because),
    });

  it('denies an action that is not <service>:<Operation>', () => {
    deniedBecause({ action: 'TerminateInstances' }, '"TerminateInstances" is not an action of the form');
  });

  it('denies a resource that is not an ARN', () => {
    deniedBecause({ resource: { arn: 'i-0abc' } }, '"i-0abc" is not an ARN');
  });

  it('denies two spellings of one parameter, which could smuggle a second value past a policy', () => {
    const parameters = { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', policyArn: 'x' };
    deniedBecause({ parameters }, 'parameters "PolicyArn" and "policyArn" name the same parameter');
  });

  it('denies a well-known parameter of the wrong type', () => {
    deniedBecause({ parameters: { policyArn: 42 } }, 'parameter "policyArn" must be a String');
  });

  it('denies a malformed classification', () => {
    deniedBecause(
      { classification: { ...aClassification(), severity: 'Severe' } as unknown as RequestClassification },
      'the data classification of the resource is malformed',
    );
  });

  it('denies an entity that does not fit the schema', () => {
    const resourceTags = { team: 5 } as unknown as Record<string, string>;
    deniedBecause({ resourceTags }, 'The request does not match the policy schema, so it is denied');
  });

  it('denies when building the request throws, without throwing', () => {
    deniedBecause({ parameters: { size: 10n } }, 'Policy evaluation failed, so the request is denied');
  });

  it('denies when a policy errors during evaluation: a failing policy could have been a forbid', () => {
    const schema = schemaWithParameters('type Parameters = { days?: Long };');
    const overflowing = createPolicyEngine({
      policies: `@id("all") permit (principal, action, resource);
        @id("overflow") forbid (principal, action, resource)
        when { context.parameters has days && context.parameters.days + 9223372036854775807 > 0 };`,
      schema,
      defaults: DEFAULTS,
    });
    expect(overflowing.problems).toEqual([]);
    expect(overflowing.evaluate(request({ parameters: { days: 1 } }))).toEqual({
      ...DENIED,
      policyIds: ['overflow'],
      reason: expect.stringMatching(
        /^A policy failed to evaluate, so the request is denied .*policy "overflow": /,
      ),
    });
  });
});

describe('fail closed on a bad policy set', () => {
  it('denies everything when made before Cedar is loaded, and says why', async () => {
    // A fresh copy of the adapters: their Cedar has started compiling but nobody has awaited loadCedar().
    vi.resetModules();
    const fresh = await import('../../../../lambdas/adapters/cedar/cedar-policy-engine.ts');
    const engine = fresh.createPolicyEngine({
      policies: 'permit(principal, action, resource);',
      schema: SCHEMA,
      defaults: DEFAULTS,
    });
    expect(engine.problems).toEqual([expect.stringContaining('loadCedar() must complete first')]);
    expect(engine.evaluate(request())).toMatchObject({
      ...DENIED,
      reason: expect.stringContaining('invalid'),
    });
  });

  const problemsOf = (policies: Parameters<typeof createPolicyEngine>[0]['policies'], schema = SCHEMA) => {
    const engine = createPolicyEngine({ policies, schema, defaults: DEFAULTS });
    const decision = engine.evaluate(request());
    expect(decision).toEqual({ ...DENIED, policyIds: [], reason: expect.any(String) });
    expect(decision.reason).toBe(
      `The policy set is invalid, so every request is denied: ${engine.problems.join('; ')}`,
    );
    return engine.problems;
  };

  it('accepts a valid set with no problems', () => {
    expect(engineWith('@id("all") permit (principal, action, resource);').problems).toEqual([]);
  });

  it('reports an unparseable policy with its file, line and column', () => {
    const text =
      '@id("ok") permit (principal, action, resource);\n\n@id("broken")\npermit (principal, action, resource) when { 1 + };';
    expect(problemsOf([{ id: 'iam.cedar', text }])).toEqual([
      expect.stringMatching(/^iam\.cedar:4:49: unexpected token/),
    ]);
  });

  it('names a source without an id by its position and keeps checking the other sources', () => {
    const problems = problemsOf([
      { id: 'good.cedar', text: '@id("a") permit (principal, action, resource);' },
      { text: 'permit (' },
      { text: 'permit (principal, action, resource);' },
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^policies\[1\]:1:9: /),
      'policies[2]: policy #1: every policy needs an @id("…") annotation, its name in decisions',
    ]);
  });

  it('reports a policy that violates the schema, once per policy', () => {
    const problems = problemsOf(`
      @id("everywhere") permit (principal, action, resource) when { context.nope == 1 };
      @id("once") forbid (principal, action == Action::"kms:DisableKey", resource) when { resource.nope };`);
    expect(problems).toEqual([
      expect.stringMatching(/^policy "everywhere" does not match the schema: .*nope.* \(and \d+ more\)$/),
      expect.stringMatching(/^policy "once" does not match the schema: [^(]*nope[^(]*$/),
    ]);
  });

  it('reports a schema that does not parse', () => {
    expect(problemsOf('@id("a") permit (principal, action, resource);', 'entity A = {')).toEqual([
      expect.stringMatching(/^schema:1:13: failed to parse schema/),
    ]);
  });

  it('reports a schema without the fallback action, e.g. a namespaced one', () => {
    expect(
      problemsOf(
        '',
        'namespace Other { entity A; action "aws:Operation" appliesTo { principal: A, resource: A }; }',
      ),
    ).toEqual([`schema: it must declare action "${FALLBACK_ACTION}" (for operations it does not name)`]);
  });

  it('refuses templates, duplicate ids, unknown annotations and approval annotations on a forbid', () => {
    const problems = problemsOf(`
      @id("t") permit (principal == ?principal, action, resource);
      @id("twice") permit (principal, action, resource);
      @id("twice") permit (principal, action, resource);
      @id("typo") @quorom("2") permit (principal, action, resource);
      @id("forbid") @approval("security") forbid (principal, action, resource);`);
    expect(problems).toEqual([
      'policies[0]: templates (policies with ?principal or ?resource) are not supported',
      'policy "typo": unknown annotation @quorom (known: @id, @reason, @approval, @quorum, @timeout, @stepUp, @approvalValidFor, @breakGlass, @executor)',
      'policy "forbid": approval annotations (@approval, @quorum, @timeout, @stepUp) belong on a permit, not a forbid',
      'policy "twice": @id is used by more than one policy',
    ]);
  });

  it.each([
    ['@approval("")', '@approval("") must be comma-separated group names'],
    ['@approval("security, ")', '@approval("security, ") must be comma-separated group names'],
    ['@quorum("zero")', '@quorum("zero") must be a whole number from 1 to 100'],
    ['@quorum("0")', '@quorum("0") must be a whole number from 1 to 100'],
    ['@quorum("101")', '@quorum("101") must be a whole number from 1 to 100'],
    ['@timeout("one hour")', '@timeout("one hour") must be an ISO 8601 duration'],
    ['@timeout("P1Y")', '@timeout("P1Y") must be an ISO 8601 duration'],
    ['@timeout("P366D")', '@timeout("P366D") must be an ISO 8601 duration'],
    ['@timeout("PT0S")', '@timeout("PT0S") must be an ISO 8601 duration'],
    ['@stepUp("yes")', '@stepUp("yes") must be "true" or "false"'],
    ['@stepUp', '@stepUp("") must be "true" or "false"'],
    ['@approvalValidFor("soon")', '@approvalValidFor("soon") must be an ISO 8601 duration'],
    ['@approvalValidFor("PT0S")', '@approvalValidFor("PT0S") must be an ISO 8601 duration'],
    ['@approval("security") @breakGlass("yes")', '@breakGlass("yes") must be "true" or "false"'],
    ['@breakGlass("true")', '@breakGlass belongs on a permit that requires approval'],
  ])('refuses %s', (annotation, problem) => {
    const problems = problemsOf(`@id("p") ${annotation} permit (principal, action, resource);`);
    expect(problems).toEqual([expect.stringContaining(`policy "p": ${problem}`)]);
  });

  it('refuses defaults that are not a group and a timeout', () => {
    const engine = createPolicyEngine({
      policies: '',
      schema: SCHEMA,
      defaults: { approverGroup: 'two words', timeoutSeconds: 0.5 },
    });
    expect(engine.problems).toEqual([
      'defaults: approver group "two words" is not a group name',
      'defaults: timeout 0.5 must be whole seconds from 1 to 31536000',
    ]);
    expect(engine.evaluate(request()).decision).toBe('DENY');
  });

  it('turns an unexpected failure while loading into a problem instead of throwing', () => {
    const unreadable = {
      get text(): string {
        throw new Error('disk unplugged');
      },
    };
    expect(problemsOf([unreadable])).toEqual(['Error: disk unplugged']);
  });
});
