/**
 * CloudFormation intrinsic functions, resolved to the twin's local values. Each resource gets the
 * names and ARNs it would have in an account, in the fixed local account and region, so the
 * handlers and the state machine see the same shapes as in AWS.
 */
import { createHash } from 'node:crypto';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'local';
export const LOCAL_PARTITION = 'aws';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export type CfnResources = Readonly<Record<string, CfnResource>>;

/** What `Ref` and `Fn::GetAtt` give for a resource, when the template alone cannot tell. */
export interface LocalValueOverrides {
  /** e.g. the twin's own URL for an HTTP API's `ApiEndpoint`. */
  readonly getAtt?: (logicalId: string, resource: CfnResource, attribute: string) => string | undefined;
}

function stringProperty(resource: CfnResource, name: string): string | undefined {
  const value = resource.Properties?.[name];
  return typeof value === 'string' ? value : undefined;
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::Region': LOCAL_REGION,
  'AWS::Partition': LOCAL_PARTITION,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'countersign-local',
  'AWS::NoValue': '',
};

export function arn(service: string, resource: string): string {
  return `arn:${LOCAL_PARTITION}:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
}

/** The physical name a resource has locally: its name property when the template sets one. */
export function physicalName(logicalId: string, resource: CfnResource): string {
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return stringProperty(resource, 'FunctionName') ?? logicalId;
    case 'AWS::StepFunctions::StateMachine':
      return stringProperty(resource, 'StateMachineName') ?? logicalId;
    case 'AWS::Events::EventBus':
      return stringProperty(resource, 'Name') ?? logicalId;
    case 'AWS::Events::Rule':
      return stringProperty(resource, 'Name') ?? logicalId;
    case 'AWS::DynamoDB::Table':
      return stringProperty(resource, 'TableName') ?? logicalId;
    case 'AWS::SQS::Queue':
      return stringProperty(resource, 'QueueName') ?? logicalId;
    case 'AWS::S3::Bucket':
      return stringProperty(resource, 'BucketName') ?? logicalId.toLowerCase();
    case 'AWS::SecretsManager::Secret':
      return stringProperty(resource, 'Name') ?? logicalId;
    case 'AWS::Athena::WorkGroup':
      return stringProperty(resource, 'Name') ?? logicalId;
    default:
      return logicalId;
  }
}

function resourceArn(logicalId: string, resource: CfnResource): string {
  const name = physicalName(logicalId, resource);
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return arn('lambda', `function:${name}`);
    case 'AWS::StepFunctions::StateMachine':
      return arn('states', `stateMachine:${name}`);
    case 'AWS::Events::EventBus':
      return arn('events', `event-bus/${name}`);
    case 'AWS::Events::Rule':
      return arn('events', `rule/${name}`);
    case 'AWS::DynamoDB::Table':
      return arn('dynamodb', `table/${name}`);
    case 'AWS::SQS::Queue':
      return arn('sqs', name);
    case 'AWS::S3::Bucket':
      return `arn:${LOCAL_PARTITION}:s3:::${name}`;
    case 'AWS::IAM::Role':
      return `arn:${LOCAL_PARTITION}:iam::${LOCAL_ACCOUNT}:role/${name}`;
    case 'AWS::SecretsManager::Secret':
      // Secrets Manager ends a secret's ARN with six characters; the same name gives the same ones.
      return arn(
        'secretsmanager',
        `secret:${name}-${createHash('sha256').update(name).digest('hex').slice(0, 6)}`,
      );
    default: {
      const service = resource.Type.split('::')[1]?.toLowerCase() ?? 'cloudformation';
      return arn(service, `${resource.Type.split('::')[2]?.toLowerCase() ?? 'resource'}/${name}`);
    }
  }
}

/** `Ref` of a resource: what CloudFormation returns for that type (name, ARN or URL). */
function refValue(logicalId: string, resource: CfnResource): string {
  switch (resource.Type) {
    case 'AWS::StepFunctions::StateMachine':
    case 'AWS::SNS::Topic':
    case 'AWS::SecretsManager::Secret':
      return resourceArn(logicalId, resource);
    case 'AWS::SQS::Queue':
      return `http://sqs.${LOCAL_REGION}.localhost/${LOCAL_ACCOUNT}/${physicalName(logicalId, resource)}`;
    default:
      return physicalName(logicalId, resource);
  }
}

function getAttValue(
  logicalId: string,
  resource: CfnResource,
  attribute: string,
  overrides: LocalValueOverrides,
): string {
  const overridden = overrides.getAtt?.(logicalId, resource, attribute);
  if (overridden !== undefined) return overridden;
  if (attribute === 'Arn') return resourceArn(logicalId, resource);
  if (attribute === 'Name' || attribute === 'QueueName' || attribute === 'TableName') {
    return physicalName(logicalId, resource);
  }
  if (attribute === 'StreamArn') return `${resourceArn(logicalId, resource)}/stream/local`;
  return `${logicalId}.${attribute}`;
}

export class IntrinsicResolver {
  readonly #resources: CfnResources;
  readonly #overrides: LocalValueOverrides;

  constructor(resources: CfnResources, overrides: LocalValueOverrides = {}) {
    this.#resources = resources;
    this.#overrides = overrides;
  }

  #resource(logicalId: string): CfnResource {
    const resource = this.#resources[logicalId];
    if (resource === undefined)
      throw new ConfigurationError(`template references unknown resource ${logicalId}`);
    return resource;
  }

  ref(name: string): string {
    const pseudo = PSEUDO_PARAMETERS[name];
    if (pseudo !== undefined) return pseudo;
    return refValue(name, this.#resource(name));
  }

  getAtt(logicalId: string, attribute: string): string {
    return getAttValue(logicalId, this.#resource(logicalId), attribute, this.#overrides);
  }

  #sub(template: string, variables: Record<string, unknown>): string {
    return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in variables) return String(this.resolve(variables[name]));
      const dot = name.indexOf('.');
      return dot > 0 ? this.getAtt(name.slice(0, dot), name.slice(dot + 1)) : this.ref(name);
    });
  }

  /** Resolves every intrinsic inside `value`, leaving plain values as they are. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [[key, argument]] = entries as [[string, unknown]];
      switch (key) {
        case 'Ref':
          return this.ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(argument)
            ? (argument as string[])
            : String(argument).split(/\.(.*)/s);
          return this.getAtt(String(logicalId), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = argument as [string, unknown];
          const resolved = this.resolve(parts) as unknown[];
          return resolved.map(String).join(separator);
        }
        case 'Fn::Sub': {
          const [template, variables] = Array.isArray(argument) ? argument : [argument, {}];
          return this.#sub(String(template), variables as Record<string, unknown>);
        }
        case 'Fn::Select': {
          const [index, list] = argument as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, text] = argument as [string, unknown];
          return String(this.resolve(text)).split(separator);
        }
        default:
          if (key.startsWith('Fn::')) throw new ConfigurationError(`the twin cannot resolve ${key}`);
      }
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(item)]));
  }
}
