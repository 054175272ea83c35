import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { HandlerFunction } from './handler-function.ts';

/** The Identity Store calls IdentityStoreDirectory makes, and nothing else (no List*, no writes). */
export const IDENTITY_STORE_READ_ACTIONS = [
  'identitystore:GetUserId',
  'identitystore:DescribeUser',
  'identitystore:ListGroupMembershipsForMember',
  'identitystore:DescribeGroup',
] as const;

/** Users, groups and memberships have region- and account-less ARNs (Service Authorization Reference). */
const MEMBER_RESOURCE_TYPES = ['user', 'group', 'membership'] as const;

/**
 * Lets a handler resolve people in one identity store: the store named by its ARN in this
 * account, plus the user, group and membership resource types those reads also require.
 */
export function grantIdentityStoreRead(handler: HandlerFunction, identityStoreId: string): void {
  const stack = Stack.of(handler);
  const memberArns = MEMBER_RESOURCE_TYPES.map((type) => `arn:${stack.partition}:identitystore:::${type}/*`);
  handler.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...IDENTITY_STORE_READ_ACTIONS],
      resources: [
        `arn:${stack.partition}:identitystore::${stack.account}:identitystore/${identityStoreId}`,
        ...memberArns,
      ],
    }),
  );
  for (const type of MEMBER_RESOURCE_TYPES) {
    Validations.of(handler.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:identitystore:::${type}/*]`,
      reason: `Identity Center ${type} ids are minted by Identity Center and only known at lookup time; the statement also requires the one identity store of this stack's account, and grants reads only.`,
    });
  }
}
