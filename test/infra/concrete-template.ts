/**
 * A synthesized template's policy statements with their references made concrete, so they can be
 * evaluated as IAM would (test/support/iam-policy.ts): a role's ARN is named after its logical id,
 * the event bus has one fixed ARN, a bucket's is `arn:aws:s3:::<logical id>`, pseudo parameters
 * are the test account's (us-east-1, aws), and `Fn::Join`s are joined (the account root principal,
 * object ARNs).
 */

import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';

// biome-ignore lint/suspicious/noExplicitAny: template JSON is navigated freely; the assertions check its shape.
export type Json = any;
export type Resources = Record<
  string,
  { Type: string; Properties: Record<string, Json>; Metadata?: Json; DeletionPolicy?: string }
>;

/** The template's resources of one type, as [logical id, resource] pairs. */
export function resourcesOfType(resources: Resources, type: string): [string, Resources[string]][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

/** The function built from a handler entry (HandlerFunction's metadata), as [logical id, resource]. */
export function functionOfEntry(resources: Resources, entry: string): [string, Resources[string]] {
  const found = resourcesOfType(resources, 'AWS::Lambda::Function').find(
    ([, resource]) => resource.Metadata?.[ENTRY_METADATA_KEY] === entry,
  );
  if (found === undefined) throw new Error(`no function of ${entry} in the template`);
  return found;
}

/** The logical id of the role of the function built from a handler entry. */
export function roleOfEntry(resources: Resources, entry: string): string {
  return functionOfEntry(resources, entry)[1].Properties.Role['Fn::GetAtt'][0] as string;
}

export const ACCOUNT = '123456789012';
export const BUS_ARN = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/countersign`;
export const roleArnOf = (logicalId: string) => `arn:aws:iam::${ACCOUNT}:role/${logicalId}`;

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': 'us-east-1',
  'AWS::URLSuffix': 'amazonaws.com',
};

export function concrete(value: Json, resources: Resources): Json {
  if (Array.isArray(value)) return value.map((item) => concrete(item, resources));
  if (value === null || typeof value !== 'object') return value;
  const getAtt = value['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt !== undefined) {
    const type = resources[getAtt[0]]?.Type;
    if (type === 'AWS::IAM::Role') return roleArnOf(getAtt[0]);
    if (type === 'AWS::Events::EventBus') return BUS_ARN;
    if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${getAtt[0]}`;
    // Log groups, keys, tables …: their exact ARN plays no part in who may do what.
    return `arn:aws:${type}:us-east-1:${ACCOUNT}:${getAtt[0]}`;
  }
  const ref = value.Ref as string | undefined;
  if (ref !== undefined && PSEUDO_PARAMETERS[ref] !== undefined) return PSEUDO_PARAMETERS[ref];
  if (ref !== undefined) return ref;
  const join = value['Fn::Join'] as [string, Json[]] | undefined;
  if (join !== undefined) {
    const parts = concrete(join[1], resources) as Json[];
    if (parts.every((part) => typeof part === 'string')) return parts.join(join[0]);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, concrete(item, resources)]));
}

/** The identity policy statements attached to a role. */
export function identityOf(resources: Resources, roleId: string): Json[] {
  return Object.values(resources)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        resource.Properties.Roles.some((role: Json) => role.Ref === roleId),
    )
    .flatMap((resource) => concrete(resource.Properties.PolicyDocument.Statement, resources));
}
