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
  /** The REST API's token issuer (`iss`), e.g. a Cognito user pool URL; the twin's dev issuer locally. */
  jwtIssuer: 'JWT_ISSUER',
  /** The audience the REST API accepts (`aud`, or `client_id` for access tokens), as the JWT authorizer. */
  jwtAudience: 'JWT_AUDIENCE',
  /** Optional: the issuer's JWKS URL; read from its OpenID metadata when absent. */
  jwtJwksUrl: 'JWT_JWKS_URL',
} as const;

/** Powertools' own settings (service name, metrics namespace, log level), set by the stack on every handler. */
export const POWERTOOLS_ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;
