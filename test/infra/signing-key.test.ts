/**
 * The signing keys: the receipt key only the decision publisher may sign with and the audit digest
 * key only the digester may sign with, proven by evaluating the synthesized key policies as IAM
 * does; their public keys served to anyone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { AGENT_DECISIONS_HANDLER_ENTRY } from '../../lib/agent-decisions.ts';
import { AUDIT_DIGESTER_HANDLER_ENTRY } from '../../lib/audit-digester.ts';
import { PUBLIC_KEYS_HANDLER_ENTRY, WORKFLOW_HANDLER_ENTRIES } from '../../lib/countersign-stack.ts';
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { SIGNING_KEY_POLICY_SIDS } from '../../lib/signing-key.ts';
import { authorize, type PolicyStatement } from '../support/iam-policy.ts';
import { buildCountersignStack, TEST_FULL_CONTEXT } from './build-stack.ts';
import { ACCOUNT, concrete, identityOf, type Json, type Resources, roleArnOf } from './concrete-template.ts';

const SLOW_SYNTH_MS = 120_000;
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/receipt`;

let resources: Resources;
const signingKeys = (prefix: string) =>
  Object.entries(resources).filter(
    ([id, r]) =>
      id.startsWith(prefix) && r.Type === 'AWS::KMS::Key' && r.Properties.KeySpec === 'ECC_NIST_P256',
  );
const receiptKeys = () => signingKeys('ReceiptKey');
const roleOf = (entry: string) => {
  const fn = Object.values(resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[ENTRY_METADATA_KEY] === entry,
  )!;
  return fn.Properties.Role['Fn::GetAtt'][0] as string;
};
beforeAll(() => {
  resources = buildCountersignStack(TEST_FULL_CONTEXT).template.toJSON().Resources;
}, SLOW_SYNTH_MS);

describe('the receipt signing key', () => {
  it('is one retained ECC_NIST_P256 SIGN_VERIFY key', () => {
    const keys = receiptKeys();
    expect(keys).toHaveLength(1);
    const [, key] = keys[0]!;
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.DeletionPolicy).toBe('Retain');
  });

  it('lets only the decision publishers sign, whatever the other roles’ own policies allow', () => {
    const [, key] = receiptKeys()[0]!;
    const keyPolicy = concrete(key.Properties.KeyPolicy.Statement, resources) as PolicyStatement[];
    const sign = (principalArn: string, identity: PolicyStatement[]) =>
      authorize(
        { principalArn, action: 'kms:Sign', resource: KEY_ARN, context: {} },
        { identity, resource: keyPolicy },
      );

    // The decision publishers: the workflow's finish step and the fast decision path.
    for (const entry of [WORKFLOW_HANDLER_ENTRIES.finish, AGENT_DECISIONS_HANDLER_ENTRY]) {
      const signer = roleOf(entry);
      expect(sign(roleArnOf(signer), identityOf(resources, signer))).toEqual({
        verdict: 'Allowed',
        denyingSids: [],
      });
    }
    const everything: PolicyStatement = { Effect: 'Allow', Action: 'kms:*', Resource: '*' };
    for (const other of [
      roleArnOf(roleOf(PUBLIC_KEYS_HANDLER_ENTRY)),
      roleArnOf(roleOf(WORKFLOW_HANDLER_ENTRIES.evaluate)),
      roleArnOf(roleOf(WORKFLOW_HANDLER_ENTRIES.requestApproval)),
      `arn:aws:iam::${ACCOUNT}:role/admin`,
    ]) {
      expect(sign(other, [everything])).toEqual({
        verdict: 'ExplicitDeny',
        denyingSids: [SIGNING_KEY_POLICY_SIDS.nobodyElseSigns],
      });
    }
    // The account administers the key but is never given kms:Sign to delegate.
    const account = keyPolicy.find(
      (statement) => statement.Sid === SIGNING_KEY_POLICY_SIDS.accountAdministers,
    )!;
    expect([account.Action].flat()).not.toContain('kms:Sign');
    expect([account.Action].flat().some((action) => action.includes('*'))).toBe(false);
  });

  it('is read (GetPublicKey) by the JWKS function, which holds no other KMS right, and by its signer', () => {
    const [keyId, key] = receiptKeys()[0]!;
    const [digestKeyId] = signingKeys('AuditDigester')[0]!;
    const jwksRole = roleOf(PUBLIC_KEYS_HANDLER_ENTRY);
    const kmsStatements = identityOf(resources, jwksRole).filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('kms:')),
    );
    expect(kmsStatements).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:GetPublicKey',
        Resource: concrete(
          [{ 'Fn::GetAtt': [keyId, 'Arn'] }, { 'Fn::GetAtt': [digestKeyId, 'Arn'] }],
          resources,
        ),
      },
    ]);
    const publisher = roleOf(WORKFLOW_HANDLER_ENTRIES.finish);
    const fn = Object.values(resources).find((r) => r.Properties.Role?.['Fn::GetAtt']?.[0] === publisher)!;
    expect(fn.Properties.Environment.Variables[ENV.receiptKeyId]).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    // The signer names the key by its public key's thumbprint, so it reads the public key too.
    const keyPolicy = concrete(key.Properties.KeyPolicy.Statement, resources) as PolicyStatement[];
    expect(
      authorize(
        { principalArn: roleArnOf(publisher), action: 'kms:GetPublicKey', resource: KEY_ARN, context: {} },
        { identity: [], resource: keyPolicy },
      ).verdict,
    ).toBe('Allowed');
  });
});

describe('the audit digest signing key', () => {
  it('is its own retained P-256 key, which only the digester may sign with', () => {
    const keys = signingKeys('AuditDigester');
    expect(keys).toHaveLength(1);
    const [, key] = keys[0]!;
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.DeletionPolicy).toBe('Retain');
    const keyPolicy = concrete(key.Properties.KeyPolicy.Statement, resources) as PolicyStatement[];
    const sign = (principalArn: string, identity: PolicyStatement[]) =>
      authorize(
        { principalArn, action: 'kms:Sign', resource: KEY_ARN, context: {} },
        { identity, resource: keyPolicy },
      ).verdict;
    const digester = roleOf(AUDIT_DIGESTER_HANDLER_ENTRY);
    expect(sign(roleArnOf(digester), identityOf(resources, digester))).toBe('Allowed');
    const everything: PolicyStatement = { Effect: 'Allow', Action: 'kms:*', Resource: '*' };
    for (const other of [
      roleArnOf(roleOf(WORKFLOW_HANDLER_ENTRIES.finish)),
      roleArnOf(roleOf(PUBLIC_KEYS_HANDLER_ENTRY)),
      `arn:aws:iam::${ACCOUNT}:role/admin`,
    ]) {
      expect(sign(other, [everything])).toBe('ExplicitDeny');
    }
  });
});

describe('rotation', () => {
  it(
    'signs with a new key per generation and keeps listing the retired ones in the JWKS',
    () => {
      const retired = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1111aaaa-22bb-33cc-44dd-5555eeee6666`;
      const rotated = buildCountersignStack({
        'countersign:receiptKeyGeneration': 2,
        'countersign:retiredReceiptKeyArns': [retired],
      }).template.toJSON().Resources as Resources;
      const [keyId] = Object.entries(rotated).find(
        ([, r]) => r.Type === 'AWS::KMS::Key' && r.Properties.KeySpec === 'ECC_NIST_P256',
      )!;
      expect(keyId).toMatch(/^ReceiptKeyGeneration2/);
      const jwksFunction = Object.values(rotated).find(
        (r) =>
          r.Type === 'AWS::Lambda::Function' &&
          r.Metadata?.[ENTRY_METADATA_KEY] === PUBLIC_KEYS_HANDLER_ENTRY,
      )!;
      expect(JSON.parse(jwksFunction.Properties.Environment.Variables[ENV.receiptRetiredKeyIds])).toEqual([
        retired,
      ]);
      const roleId = jwksFunction.Properties.Role['Fn::GetAtt'][0];
      const statements = Object.values(rotated)
        .filter(
          (r) =>
            r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: Json) => role.Ref === roleId),
        )
        .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'kms:GetPublicKey',
        Resource: [
          { 'Fn::GetAtt': [keyId, 'Arn'] },
          retired,
          { 'Fn::GetAtt': [expect.stringMatching(/^AuditDigester/), 'Arn'] },
        ],
      });
    },
    SLOW_SYNTH_MS,
  );
});
