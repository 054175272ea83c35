/**
 * The environment Lambda gives a function: its configured variables, with the task root
 * (`/var/task`, where Lambda unpacks the code) standing for the code directory, plus the reserved
 * variables Lambda sets itself (region, credentials of the function's role, the function's name,
 * memory and log group) and, in the twin, the endpoint through which every AWS SDK client of the
 * function reaches the twin's AWS front (`AWS_ENDPOINT_URL`, which the SDK reads for every service).
 */
import type { AwsCredentials } from '../front/credentials.ts';
import type { LambdaFunction } from './runtime.ts';

export const LAMBDA_TASK_ROOT = '/var/task';

export interface LambdaEnvironmentContext {
  readonly endpoint: string;
  readonly region: string;
  /** The credentials the function's role would give it; in the twin, the operator's key. */
  readonly credentials: AwsCredentials;
}

function inTaskRoot(value: string, codeDir: string | undefined): string {
  return codeDir !== undefined && (value === LAMBDA_TASK_ROOT || value.startsWith(`${LAMBDA_TASK_ROOT}/`))
    ? `${codeDir}${value.slice(LAMBDA_TASK_ROOT.length)}`
    : value;
}

export function lambdaEnvironment(
  fn: LambdaFunction,
  configured: Readonly<Record<string, string>>,
  context: LambdaEnvironmentContext,
): Record<string, string> {
  const variables = Object.fromEntries(
    Object.entries(configured).map(([name, value]) => [name, inTaskRoot(value, fn.codeDir)]),
  );
  return {
    ...variables,
    ...(fn.codeDir === undefined ? {} : { LAMBDA_TASK_ROOT: fn.codeDir }),
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_REGION: context.region,
    AWS_DEFAULT_REGION: context.region,
    AWS_ACCESS_KEY_ID: context.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: context.credentials.secretAccessKey,
    AWS_ENDPOINT_URL: context.endpoint,
  };
}
