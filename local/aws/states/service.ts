/**
 * Step Functions' API on the twin (JSON 1.0, `X-Amz-Target: AWSStepFunctions.*`): the operations
 * the project uses, on the local runner. Its failures are StepFunctionsErrors, already in the
 * service's codes.
 */
import { jsonService } from '../front/json-service.ts';
import type { JsonAwsService } from '../front/service.ts';
import type { LocalStepFunctions } from './step-functions.ts';

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

export function stepFunctionsService(stepFunctions: LocalStepFunctions): JsonAwsService {
  return jsonService({
    signingName: 'states',
    targetPrefix: 'AWSStepFunctions',
    jsonVersion: '1.0',
    operations: {
      StartExecution: (input) =>
        stepFunctions.startExecution({
          stateMachineArn: str(input.stateMachineArn),
          name: str(input.name),
          input: str(input.input),
        }),
      DescribeExecution: (input) => stepFunctions.describeExecution(str(input.executionArn)),
      ListExecutions: (input) =>
        stepFunctions.listExecutions({
          stateMachineArn: str(input.stateMachineArn),
          statusFilter: str(input.statusFilter),
          maxResults: num(input.maxResults),
          nextToken: str(input.nextToken),
        }),
      GetExecutionHistory: (input) =>
        stepFunctions.getExecutionHistory({
          executionArn: str(input.executionArn),
          maxResults: num(input.maxResults),
          nextToken: str(input.nextToken),
          reverseOrder: input.reverseOrder === true,
          includeExecutionData: input.includeExecutionData !== false,
        }),
      SendTaskSuccess: (input) => stepFunctions.sendTaskSuccess(str(input.taskToken), str(input.output)),
      SendTaskFailure: (input) =>
        stepFunctions.sendTaskFailure(str(input.taskToken), str(input.error), str(input.cause)),
      SendTaskHeartbeat: (input) => stepFunctions.sendTaskHeartbeat(str(input.taskToken)),
    },
  });
}
