/**
 * The domain's policy rules without an engine: what annotations mean, and the strictest
 * determining policy winning (the Cedar adapter's tests cover the same through real policies).
 */
import { describe, expect, it } from 'vitest';
import { type PolicyRule, readPolicyRule } from '../../../lambdas/domain/policy-annotations.ts';
import { combineDecision } from '../../../lambdas/domain/policy-combining.ts';
import { withBreakGlass } from '../../../lambdas/domain/policy-decision.ts';

const DEFAULTS = { approverGroup: 'security', timeoutSeconds: 3600 };
const ABOUT = { action: 'iam:AttachRolePolicy', resourceArn: 'arn:aws:iam::123456789012:role/x' };

function rule(effect: PolicyRule['effect'], annotations: Record<string, string>): PolicyRule {
  const read = readPolicyRule(new Map(Object.entries(annotations)), effect, 'test', DEFAULTS);
  expect(read.problems).toEqual([]);
  return read.rule;
}

describe('strictest wins', () => {
  it('combines approval requirements: groups united, the highest quorum, the shortest timeout, step-up if any', () => {
    const decision = combineDecision(
      'permit',
      [
        rule('permit', { id: 'a', approval: 'platform', quorum: '2', timeout: 'PT2H' }),
        rule('permit', {
          id: 'b',
          approval: 'security,platform',
          timeout: 'PT30M',
          stepUp: 'true',
          reason: 'admin',
        }),
        rule('permit', { id: 'c' }),
      ],
      DEFAULTS,
      ABOUT,
    );
    const { groups, quorum, timeoutSeconds, stepUp, policyIds } = decision;
    expect(decision.decision).toBe('REQUIRE_APPROVAL');
    expect([groups, quorum, timeoutSeconds, stepUp, policyIds]).toEqual([
      ['platform', 'security'],
      2,
      1800,
      true,
      ['a', 'b'],
    ]);
    expect(decision.reason).toMatch(/^Approval required by policies "a", "b" \(admin\)\. Needs 2 approvals/);
  });

  it('denies on a determining forbid, allows on plain permits, and asks the default group when nothing applies', () => {
    expect(combineDecision('deny', [rule('forbid', { id: 'no' })], DEFAULTS, ABOUT)).toMatchObject({
      decision: 'DENY',
      policyIds: ['no'],
    });
    expect(combineDecision('permit', [rule('permit', { id: 'read' })], DEFAULTS, ABOUT)).toMatchObject({
      decision: 'ALLOW',
      reason: 'Allowed by policy "read".',
    });
    expect(combineDecision('deny', [], DEFAULTS, ABOUT)).toMatchObject({
      decision: 'REQUIRE_APPROVAL',
      groups: ['security'],
      quorum: 1,
      timeoutSeconds: 3600,
      policyIds: [],
      reason: expect.stringMatching(
        /^No policy applies to iam:AttachRolePolicy on arn:aws:iam::123456789012:role\/x/,
      ),
    });
  });
});

describe('annotations', () => {
  it('refuses what would weaken a policy: a missing @id, an unknown annotation, approval on a forbid, bad values', () => {
    const { problems } = readPolicyRule(
      new Map([
        ['aproval', 'platform'],
        ['quorum', '0'],
        ['timeout', 'P2Y'],
        ['stepUp', 'yes'],
        ['approval', 'bad group!'],
      ]),
      'forbid',
      'file.cedar: policy #1',
      DEFAULTS,
    );
    expect(problems).toEqual([
      expect.stringMatching(/^file\.cedar: policy #1: every policy needs an @id/),
      expect.stringMatching(/unknown annotation @aproval/),
      expect.stringMatching(/@approval\("bad group!"\)/),
      expect.stringMatching(/@quorum\("0"\)/),
      expect.stringMatching(/@timeout\("P2Y"\)/),
      expect.stringMatching(/@stepUp\("yes"\)/),
      expect.stringMatching(/belong on a permit, not a forbid/),
    ]);
  });
});

describe('break-glass', () => {
  const approval = (id: string, extra: Record<string, string> = {}) =>
    rule('permit', { id, approval: 'platform', ...extra });

  it('is allowed when every determining approval policy says @breakGlass("true"), and only then', () => {
    const both = combineDecision(
      'permit',
      [
        approval('a', { breakGlass: 'true' }),
        approval('b', { breakGlass: 'true' }),
        rule('permit', { id: 'read' }),
      ],
      DEFAULTS,
      ABOUT,
    );
    expect(both.breakGlassAllowed).toBe(true);
    const one = combineDecision(
      'permit',
      [approval('a', { breakGlass: 'true' }), approval('b')],
      DEFAULTS,
      ABOUT,
    );
    expect(one).not.toHaveProperty('breakGlassAllowed');
    expect(approval('c', { breakGlass: 'false' })).not.toHaveProperty('breakGlass');
  });

  it('belongs on approval permits only, as "true" or "false"', () => {
    const problems = (effect: PolicyRule['effect'], annotations: Record<string, string>) =>
      readPolicyRule(new Map(Object.entries({ id: 'p', ...annotations })), effect, 'test', DEFAULTS).problems;
    expect(problems('permit', { breakGlass: 'true' })).toEqual([
      'policy "p": @breakGlass belongs on a permit that requires approval (@approval …): it lets the wait for approvers be skipped, and only they review afterwards',
    ]);
    expect(problems('forbid', { breakGlass: 'true' })).toHaveLength(1);
    expect(problems('permit', { approval: 'platform', breakGlass: 'yes' })).toEqual([
      'policy "p": @breakGlass("yes") must be "true" or "false"',
    ]);
  });

  it('turns a permitted break-glass request into BREAK_GLASS and refuses any other with the reason', () => {
    const request = {
      action: 'iam:AttachRolePolicy',
      resource: { arn: 'arn:aws:iam::123456789012:role/x' },
      breakGlass: { reason: 'production is down', incident: 'INC-42' },
    };
    const allowed = combineDecision('permit', [approval('a', { breakGlass: 'true' })], DEFAULTS, ABOUT);
    expect(withBreakGlass(request, allowed)).toMatchObject({
      decision: 'BREAK_GLASS',
      groups: ['platform'],
      policyIds: ['a'],
    });
    expect(withBreakGlass(request, allowed).reason).toMatch(
      /^Break-glass: allowed to run at once and reviewed afterwards by platform\./,
    );
    const refusal = withBreakGlass(request, combineDecision('permit', [approval('a')], DEFAULTS, ABOUT));
    expect(refusal).toMatchObject({ decision: 'DENY', policyIds: ['a'] });
    expect(refusal.reason).toBe(
      'break-glass is not permitted for iam:AttachRolePolicy on arn:aws:iam::123456789012:role/x: no policy that applies allows it (@breakGlass("true") on the approval policies)',
    );
    // An allow needs no emergency: claiming one is refused too.
    expect(
      withBreakGlass(request, combineDecision('permit', [rule('permit', { id: 'read' })], DEFAULTS, ABOUT))
        .decision,
    ).toBe('DENY');
    const forbidden = combineDecision('deny', [rule('forbid', { id: 'no' })], DEFAULTS, ABOUT);
    expect(withBreakGlass(request, forbidden)).toBe(forbidden);
    const { breakGlass: _none, ...ordinary } = request;
    expect(withBreakGlass(ordinary, allowed)).toBe(allowed);
    // What Countersign executes runs only once approved: an agent may not act on it at once.
    const executed = withBreakGlass(request, { ...allowed, executor: 'countersign' });
    expect(executed).toMatchObject({ decision: 'DENY', policyIds: ['a'] });
    expect(executed.reason).toMatch(/^break-glass is not permitted for .*: Countersign executes it/);
  });
});

describe('@executor', () => {
  it('makes Countersign run what any determining permit says it runs, approved or allowed', () => {
    const executed = rule('permit', { id: 'run', executor: 'countersign' });
    expect(
      combineDecision('permit', [rule('permit', { id: 'read' }), executed], DEFAULTS, ABOUT),
    ).toMatchObject({
      decision: 'ALLOW',
      executor: 'countersign',
    });
    expect(
      combineDecision(
        'permit',
        [rule('permit', { id: 'a', approval: 'platform' }), executed],
        DEFAULTS,
        ABOUT,
      ),
    ).toMatchObject({ decision: 'REQUIRE_APPROVAL', executor: 'countersign' });
    expect(combineDecision('permit', [rule('permit', { id: 'read' })], DEFAULTS, ABOUT)).not.toHaveProperty(
      'executor',
    );
  });

  it('is refused on a forbid and for any executor but countersign', () => {
    const onForbid = readPolicyRule(
      new Map([
        ['id', 'no'],
        ['executor', 'countersign'],
      ]),
      'forbid',
      'f',
      DEFAULTS,
    );
    expect(onForbid.problems).toEqual([expect.stringMatching(/@executor belongs on a permit/)]);
    expect(onForbid.rule).not.toHaveProperty('executor');
    const other = readPolicyRule(
      new Map([
        ['id', 'x'],
        ['executor', 'lambda'],
      ]),
      'permit',
      'f',
      DEFAULTS,
    );
    expect(other.problems).toEqual([
      expect.stringMatching(/@executor\("lambda"\) must be @executor\("countersign"\)/),
    ]);
    expect(other.rule).not.toHaveProperty('executor');
  });
});
