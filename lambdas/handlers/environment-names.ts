/**
 * Names of the environment variables the CDK stack gives the handlers. The stack sets them, the
 * handlers read them once at start (failing when one is missing), and the local twin reads the
 * same variables from the synthesized template.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  eventBusName: 'EVENT_BUS_NAME',
  policyDir: 'POLICY_DIR',
  defaultApproverGroup: 'DEFAULT_APPROVER_GROUP',
  defaultTimeoutSeconds: 'DEFAULT_TIMEOUT_SECONDS',
  consoleUrl: 'CONSOLE_URL',
  /** Optional: the directory document (same shape as countersign.local.json) as JSON. */
  directoryJson: 'DIRECTORY_JSON',
} as const;
