/**
 * Renders the approval state machine's definition from the synthesized template into plain ASL
 * JSON, so an ASL interpreter (aws-local-stepfunctions) can run exactly what would be deployed.
 * CloudFormation intrinsics are resolved to fixed fake values; each Lambda function's ARN encodes
 * its logical id, and `functionEntries` maps both back to the handler module.
 */
import { ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { buildCountersignStack } from './build-stack.ts';

export const FAKE_PARTITION = 'aws';
export const FAKE_REGION = 'us-east-1';
export const FAKE_ACCOUNT = '123456789012';

/** The ARN a function's `Fn::GetAtt [logicalId, Arn]` renders to. */
export function fakeFunctionArn(logicalId: string): string {
  return `arn:${FAKE_PARTITION}:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:${logicalId}`;
}

export interface SynthesizedDefinition {
  /** The ASL definition, with every intrinsic resolved. */
  readonly definition: Record<string, unknown>;
  /** Repo-relative handler entry by function logical id and by its fake ARN. */
  readonly functionEntries: Record<string, string>;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': FAKE_PARTITION,
  'AWS::Region': FAKE_REGION,
  'AWS::AccountId': FAKE_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

function resolveIntrinsic(value: unknown, resources: Record<string, CfnResource>): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const ref = (value as { Ref?: unknown }).Ref;
    if (typeof ref === 'string' && ref in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[ref]!;
    const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (
      Array.isArray(getAtt) &&
      getAtt[1] === 'Arn' &&
      resources[getAtt[0]]?.Type === 'AWS::Lambda::Function'
    ) {
      return fakeFunctionArn(getAtt[0]);
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the state machine definition`);
}

/** Joins a `DefinitionString` (`Fn::Join` of literals and intrinsics, or a plain string) into ASL. */
export function renderDefinitionString(
  definitionString: unknown,
  resources: Record<string, CfnResource>,
): Record<string, unknown> {
  if (typeof definitionString === 'string') return JSON.parse(definitionString);
  const join = (definitionString as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error('DefinitionString is neither a string nor an Fn::Join');
  const [separator, parts] = join;
  return JSON.parse(parts.map((part) => resolveIntrinsic(part, resources)).join(separator));
}

/** Synthesizes the stack (bundling skipped) and renders its one state machine. */
export function synthesizeStateMachineDefinition(
  context: Record<string, unknown> = {},
): SynthesizedDefinition {
  const { template } = buildCountersignStack(context);
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const machines = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);

  const functionEntries: Record<string, string> = {};
  for (const [logicalId, resource] of Object.entries(resources)) {
    const entry = resource.Metadata?.[ENTRY_METADATA_KEY];
    if (resource.Type === 'AWS::Lambda::Function' && typeof entry === 'string') {
      functionEntries[logicalId] = entry;
      functionEntries[fakeFunctionArn(logicalId)] = entry;
    }
  }
  return {
    definition: renderDefinitionString(machines[0]!.Properties?.DefinitionString, resources),
    functionEntries,
  };
}
