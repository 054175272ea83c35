/**
 * The fast decision path's function: what it may do beyond the table (sign receipts and publish
 * decisions are proven with the key and bus policies), how it is configured, and how agents reach it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/handlers/environment-names.ts';
import { AGENT_DECISIONS_HANDLER_ENTRY } from '../../lib/agent-decisions.ts';
import { BUNDLED_POLICY_DIR, ENTRY_METADATA_KEY } from '../../lib/handler-function.ts';
import { authorize, type PolicyStatement } from '../support/iam-policy.ts';
import { buildCountersignStack, TEST_AGENT } from './build-stack.ts';
import { ACCOUNT, identityOf, type Json, type Resources, roleArnOf } from './concrete-template.ts';

const SLOW_SYNTH_MS = 120_000;

let resources: Resources;
let outputs: Record<string, Json>;
let fn: Json;
let role: string;
let machine: string;

beforeAll(() => {
  const json = buildCountersignStack().template.toJSON();
  resources = json.Resources;
  outputs = json.Outputs;
  fn = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      r.Metadata?.[ENTRY_METADATA_KEY] === AGENT_DECISIONS_HANDLER_ENTRY,
  );
  role = fn.Properties.Role['Fn::GetAtt'][0];
  machine = Object.entries(resources).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')![0];
}, SLOW_SYNTH_MS);

describe('the fast decision path', () => {
  it('starts and describes executions of the approval workflow only', () => {
    const machineArn = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${machine}`;
    const identity = identityOf(resources, role) as PolicyStatement[];
    // The template names the machine by reference; the evaluator sees the reference's logical id.
    const may = (action: string, resource: string) =>
      authorize({ principalArn: roleArnOf(role), action, resource, context: {} }, { identity, resource: [] })
        .verdict;
    const states = identity.filter((statement) =>
      [statement.Action].flat().some((a) => a.startsWith('states:')),
    );
    expect(states.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([
      'states:DescribeExecution',
      'states:StartExecution',
    ]);
    expect(may('states:StartExecution', machine)).toBe('Allowed');
    expect(may('states:StartExecution', machineArn.replace(machine, 'other'))).toBe('ImplicitDeny');
    expect(may('states:SendTaskSuccess', machine)).toBe('ImplicitDeny');
  });

  it('evaluates with the bundled policies, knows the agents’ principals, and may wait 20 s for a decision', () => {
    const variables = fn.Properties.Environment.Variables;
    expect(variables[ENV.policyDir]).toBe(BUNDLED_POLICY_DIR);
    expect(JSON.parse(variables[ENV.agentPrincipals])).toEqual([TEST_AGENT]);
    expect(variables[ENV.stateMachineArn]).toEqual({ Ref: machine });
    expect(variables[ENV.receiptKeyId]).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^ReceiptKey/), 'Arn'],
    });
    expect(fn.Properties.Timeout).toBe(29);
  });

  it('tells operators what to grant agents: execute-api:Invoke on its routes', () => {
    expect(outputs.AgentDecisionsInvokeArn.Value['Fn::Join'][1].at(-1)).toBe('/*/*/api/agent/decisions*');
  });
});
