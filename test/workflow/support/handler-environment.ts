/**
 * The environment the stack gives the workflow handlers, pointed at a local table: the handler
 * modules read it when imported, so it is set before the (dynamic) import, as Lambda would.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_PRIVILEGED_ACTIONS } from '../../../lambdas/domain/privileged-actions.ts';
import { ENV } from '../../../lambdas/handlers/environment-names.ts';
import type { LocalTable } from '../../support/dynalite.ts';
import { TEST_RECEIPT_KEY_ARN } from '../../support/kms-signing-key.ts';

export const TEST_EVENT_BUS = 'countersign-test-bus';
/** The role the executor function assumes (test/support/executor-session.ts grants its sessions). */
export const TEST_EXECUTOR_ROLE_ARN = 'arn:aws:iam::123456789012:role/countersign-executor';
/** The executor function Finish invokes (synthesized-workflow.ts serves it under its template name). */
export const TEST_EXECUTOR_FUNCTION_NAME = 'countersign-ExecuteAction';
/** The functions' role credentials, as Lambda gives them; the local Lambda endpoint checks them. */
export const TEST_FUNCTION_CREDENTIALS = {
  accessKeyId: 'AKIATESTFUNCTIONS001',
  secretAccessKey: 'test-secret-of-the-functions-role-0001',
} as const;
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** The table's endpoint, as the SDK's AWS_ENDPOINT_URL_DYNAMODB expects it. */
async function endpointOf(table: LocalTable): Promise<string> {
  const endpoint = await table.client.config.endpoint?.();
  if (endpoint === undefined) throw new Error('the local table client has no endpoint');
  return `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
}

export async function workflowHandlerEnvironment(
  table: LocalTable,
  overrides: Readonly<Record<string, string>> = {},
): Promise<Record<string, string>> {
  return {
    [ENV.tableName]: table.tableName,
    [ENV.eventBusName]: TEST_EVENT_BUS,
    [ENV.policyDir]: resolve(REPO_ROOT, 'policies'),
    [ENV.defaultApproverGroup]: 'security',
    [ENV.defaultTimeoutSeconds]: '3600',
    [ENV.directoryJson]: readFileSync(resolve(REPO_ROOT, 'countersign.local.json'), 'utf8'),
    // Answered by mockKmsSigningKey (test/support/kms-signing-key.ts), which the test must install.
    [ENV.receiptKeyId]: TEST_RECEIPT_KEY_ARN,
    [ENV.executorRoleArn]: TEST_EXECUTOR_ROLE_ARN,
    [ENV.executorAllowedPolicyArns]: JSON.stringify(['arn:aws:iam::aws:policy/ReadOnlyAccess']),
    [ENV.executorFunctionName]: TEST_EXECUTOR_FUNCTION_NAME,
    [ENV.privilegedActions]: JSON.stringify(DEFAULT_PRIVILEGED_ACTIONS),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: TEST_FUNCTION_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_FUNCTION_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: await endpointOf(table),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...overrides,
  };
}

/** Sets `variables` and returns a function restoring what was there before. */
export function setEnvironment(variables: Readonly<Record<string, string>>): () => void {
  const previous = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  return () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
