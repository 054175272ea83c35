import { describe, expect, it } from 'vitest';
import { WORKFLOW_HANDLER_ENTRIES } from '../../lib/countersign-stack.ts';
import { WORKFLOW_STATES } from '../../lib/workflow-states.ts';
import {
  fakeFunctionArn,
  renderDefinitionString,
  synthesizeStateMachineDefinition,
} from './synth-definition.ts';

describe('synthesizeStateMachineDefinition', () => {
  it('renders the deployed definition with every Lambda task pointing at a known handler entry', () => {
    const { definition, functionEntries } = synthesizeStateMachineDefinition();
    const states = (
      definition as { States: Record<string, { Resource?: string; Parameters?: { FunctionName?: string } }> }
    ).States;
    // A task invokes its function through the lambda:invoke integration (FunctionName) or, when it
    // wants the function's answer alone, by the function's ARN as its Resource.
    const invoked = Object.fromEntries(
      Object.entries(states)
        .filter(([, state]) => state.Resource?.startsWith('arn:aws:states:::lambda:invoke'))
        .map(([name, state]) => [name, functionEntries[state.Parameters!.FunctionName!]])
        .concat(
          Object.entries(states)
            .filter(([, state]) => state.Resource?.startsWith('arn:aws:lambda:'))
            .map(([name, state]) => [name, functionEntries[state.Resource!]]),
        ),
    );
    expect(invoked).toEqual({
      [WORKFLOW_STATES.evaluate]: WORKFLOW_HANDLER_ENTRIES.evaluate,
      [WORKFLOW_STATES.requestApproval]: WORKFLOW_HANDLER_ENTRIES.requestApproval,
      [WORKFLOW_STATES.finish]: WORKFLOW_HANDLER_ENTRIES.finish,
      [WORKFLOW_STATES.finishEvaluationFailure]: WORKFLOW_HANDLER_ENTRIES.finish,
      [WORKFLOW_STATES.publishDecision]: WORKFLOW_HANDLER_ENTRIES.finish,
    });
  }, 120_000);

  it('resolves pseudo parameters and function ARNs, and refuses anything else', () => {
    const resources = { Fn1: { Type: 'AWS::Lambda::Function' }, Bucket: { Type: 'AWS::S3::Bucket' } };
    expect(
      renderDefinitionString(
        {
          'Fn::Join': [
            '',
            ['{"a":"arn:', { Ref: 'AWS::Partition' }, '","f":"', { 'Fn::GetAtt': ['Fn1', 'Arn'] }, '"}'],
          ],
        },
        resources,
      ),
    ).toEqual({ a: 'arn:aws', f: fakeFunctionArn('Fn1') });
    expect(fakeFunctionArn('Fn1')).toBe('arn:aws:lambda:us-east-1:123456789012:function:Fn1');
    expect(() =>
      renderDefinitionString(
        { 'Fn::Join': ['', ['{"b":"', { 'Fn::GetAtt': ['Bucket', 'Arn'] }, '"}']] },
        resources,
      ),
    ).toThrow(/cannot resolve/);
    expect(renderDefinitionString('{"plain":true}', resources)).toEqual({ plain: true });
  });
});
