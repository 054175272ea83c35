import { Lazy, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface SigningKeyProps {
  /** What the key signs and who may, shown in the KMS console. */
  readonly description: string;
  /**
   * What happens to the key when it leaves the stack (deleted, or replaced by a rotation): what it
   * signed must stay verifiable, so it is kept (a retired receipt key's ARN goes into the JWKS).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Statement ids of the key policy, which tests and operators read it by. */
export const SIGNING_KEY_POLICY_SIDS = {
  accountAdministers: 'AccountAdministersKey',
  signersSign: 'GrantedSignersSign',
  nobodyElseSigns: 'OnlyGrantedSignersSign',
} as const;

/**
 * What the account may do with the key, and so delegate through IAM: manage it, read its public
 * key, verify. Not `kms:Sign`: signing is granted in the key policy itself, to the signers only.
 */
const ACCOUNT_KEY_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:GetKeyPolicy',
  'kms:GetPublicKey',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
  'kms:Verify',
];

/**
 * A KMS asymmetric key that signs for Countersign (ECC_NIST_P256, SIGN_VERIFY; ES256): the decision
 * receipts' key and, separately, the audit digests' key. Only the roles granted with `grantSign`
 * may sign: the key policy allows them and explicitly denies `kms:Sign` to every other principal,
 * whatever its IAM policies say. Asymmetric keys do not rotate automatically: a rotation is a new
 * key (see README), the old one retained.
 */
export class SigningKey extends Construct {
  readonly key: kms.Key;
  readonly #signers: string[] = [];

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: SIGNING_KEY_POLICY_SIDS.accountAdministers,
            principals: [new iam.AccountRootPrincipal()],
            actions: ACCOUNT_KEY_ACTIONS,
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: SIGNING_KEY_POLICY_SIDS.nobodyElseSigns,
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['kms:Sign'],
            resources: ['*'],
            // Resolved at synth, so signers granted after construction are in the list.
            conditions: { ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.#signers }) } },
          }),
        ],
      }),
    });
    this.node.addValidation({
      validate: () =>
        this.#signers.length === 0 ? ['the signing key has no signer: grantSign the role that signs'] : [],
    });
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /**
   * Lets `role` sign (and read the public key, whose thumbprint names the key in what it signs), and
   * nobody else sign.
   */
  grantSign(role: iam.IRole): void {
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `${SIGNING_KEY_POLICY_SIDS.signersSign}${this.#signers.length}`,
        principals: [new iam.ArnPrincipal(role.roleArn)],
        actions: ['kms:Sign', 'kms:GetPublicKey'],
        resources: ['*'],
      }),
    );
    this.#signers.push(role.roleArn);
  }
}
