/**
 * The test oracle for policies (test/support/iam-policy.ts) against the IAM User Guide's own rules
 * and examples, so a bus-policy test cannot pass because the evaluator is lenient.
 */
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationRequest,
  applies,
  authorize,
  type PolicyStatement,
} from '../support/iam-policy.ts';

const ROLE = 'arn:aws:iam::123456789012:role/app';
const request = (context: AuthorizationRequest['context']): AuthorizationRequest => ({
  principalArn: ROLE,
  action: 'events:PutEvents',
  resource: 'arn:aws:events:us-east-1:123456789012:event-bus/b',
  context,
});
const statement = (
  Condition: PolicyStatement['Condition'],
  Effect: 'Allow' | 'Deny' = 'Deny',
): PolicyStatement => ({
  Effect,
  Principal: '*',
  Action: 'events:PutEvents',
  Resource: '*',
  Condition,
});

describe('condition operators and set qualifiers', () => {
  it('ForAnyValue: true when any value matches, false when the key is missing', () => {
    const any = statement({ 'ForAnyValue:StringEquals': { 'events:source': ['a'] } });
    expect(applies(any, request({ 'events:source': ['b', 'a'] }))).toBe(true);
    expect(applies(any, request({ 'events:source': ['b'] }))).toBe(false);
    expect(applies(any, request({}))).toBe(false);
  });

  it('ForAllValues: true when every value matches, and (as IAM warns) when the key is missing', () => {
    const all = statement({ 'ForAllValues:StringEquals': { 'events:source': ['a', 'b'] } });
    expect(applies(all, request({ 'events:source': ['a', 'b', 'a'] }))).toBe(true);
    expect(applies(all, request({ 'events:source': ['a', 'c'] }))).toBe(false);
    expect(applies(all, request({}))).toBe(true);
  });

  it('negated operators match values equal to none of the policy values, and a missing key', () => {
    const notAny = statement({ 'ForAnyValue:StringNotEquals': { 'events:source': ['a'] } });
    expect(applies(notAny, request({ 'events:source': ['a', 'b'] }))).toBe(true);
    expect(applies(notAny, request({ 'events:source': ['a'] }))).toBe(false);
    const notEquals = statement({ StringNotEquals: { 'aws:SourceAccount': ['1'] } });
    expect(applies(notEquals, request({}))).toBe(true);
    expect(applies(notEquals, request({ 'aws:SourceAccount': ['1'] }))).toBe(false);
  });

  it('Like and Arn operators take * and ? wildcards; aws:PrincipalArn is always in the context', () => {
    expect(
      applies(statement({ 'ForAnyValue:StringLike': { 's:k': ['x.*'] } }), request({ 's:k': ['x.y'] })),
    ).toBe(true);
    expect(
      applies(statement({ 'ForAnyValue:StringLike': { 's:k': ['x.?'] } }), request({ 's:k': ['x.yz'] })),
    ).toBe(false);
    expect(applies(statement({ ArnNotEquals: { 'aws:PrincipalArn': [ROLE] } }), request({}))).toBe(false);
    expect(
      applies(statement({ ArnLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/*'] } }), request({})),
    ).toBe(true);
  });

  it('Null tests whether the key is present; every operator of a block must hold', () => {
    expect(applies(statement({ Null: { 's:k': 'false' } }), request({ 's:k': ['v'] }))).toBe(true);
    expect(applies(statement({ Null: { 's:k': 'false' } }), request({}))).toBe(false);
    const both = statement({ Null: { 's:k': 'false' }, 'ForAnyValue:StringEquals': { 's:k': ['w'] } });
    expect(applies(both, request({ 's:k': ['v'] }))).toBe(false);
  });

  it('refuses operators and qualifiers it does not know, and a multivalued key without a qualifier', () => {
    expect(() =>
      applies(statement({ NumericLessThan: { 's:k': '1' } }), request({ 's:k': ['0'] })),
    ).toThrow();
    expect(() =>
      applies(statement({ 'Some:StringEquals': { 's:k': 'v' } }), request({ 's:k': ['v'] })),
    ).toThrow();
    expect(() =>
      applies(statement({ StringEquals: { 's:k': 'v' } }), request({ 's:k': ['v', 'w'] })),
    ).toThrow();
  });
});

describe('evaluation', () => {
  it('lets an explicit Deny win over any Allow, and denies implicitly without an Allow', () => {
    const allow: PolicyStatement = { Effect: 'Allow', Action: 'events:*', Resource: '*' };
    const deny = { ...statement({ 'ForAnyValue:StringEquals': { 'events:source': ['a'] } }), Sid: 'NoA' };
    expect(authorize(request({ 'events:source': ['a'] }), { identity: [allow], resource: [deny] })).toEqual({
      verdict: 'ExplicitDeny',
      denyingSids: ['NoA'],
    });
    expect(
      authorize(request({ 'events:source': ['b'] }), { identity: [allow], resource: [deny] }).verdict,
    ).toBe('Allowed');
    expect(authorize(request({ 'events:source': ['b'] }), { identity: [], resource: [deny] }).verdict).toBe(
      'ImplicitDeny',
    );
  });

  it('applies a resource statement only to the principals it names', () => {
    const forOther: PolicyStatement = {
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:role/other' },
      Action: 'events:PutEvents',
      Resource: '*',
    };
    expect(authorize(request({}), { identity: [], resource: [forOther] }).verdict).toBe('ImplicitDeny');
  });
});
