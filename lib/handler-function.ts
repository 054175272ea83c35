import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  CREATE_REQUIRE_BANNER,
  HANDLER_ALIASES,
  HANDLER_MAIN_FIELDS,
  HANDLER_TARGET,
} from './handler-bundle.ts';

/** The repository root: entries and bundled assets are given relative to it. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * CloudFormation metadata key on every handler's `AWS::Lambda::Function`, holding the
 * repo-relative entry path, so the local twin can map a function in the template to its source.
 */
export const ENTRY_METADATA_KEY = 'countersign:entry';

/** Where a function that evaluates policies finds the Cedar policies inside its bundle. */
export const BUNDLED_POLICY_DIR = '/var/task/policies';

/**
 * What a function that evaluates policies ships (Evaluate, the fast decision path, the CloudTrail
 * reconciler): the policies, prepared when the bundle is built, and cedar-wasm unbundled beside
 * them, since its .wasm is read next to its glue (its web build, which compiles the wasm off the
 * main thread: lambdas/adapters/cedar/cedar-wasm.ts; and the package.json whose exports map
 * resolves to it; not the Node.js build, which compiles it synchronously on import).
 */
export const POLICY_ENGINE_BUNDLE = {
  bundledPaths: [
    'policies',
    'node_modules/@cedar-policy/cedar-wasm/package.json',
    'node_modules/@cedar-policy/cedar-wasm/web',
  ],
  preparedPolicyDir: 'policies',
  externalModules: ['@cedar-policy/cedar-wasm'],
  memorySize: 1024,
} as const;

/**
 * The build step that writes a policy directory's prepared form into it (parsed, validated and
 * checked once, not at every cold start) and fails the build when the policies cannot be used.
 */
const PREPARE_POLICIES_ENTRY = 'lambdas/handlers/prepare-policies.ts';

export interface HandlerFunctionProps {
  /** Repo-relative path of the handler module, e.g. `lambdas/handlers/evaluate.ts`; it exports `handler`. */
  readonly entry: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** Environment variables, by the names in `lambdas/handlers/environment-names.ts`. */
  readonly environment: Readonly<Record<string, string>>;
  /** Key encrypting the function's log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Repo-relative paths copied into the bundle at the same relative path (e.g. `policies`),
   * for files the code reads at run time.
   * @default - nothing is copied
   */
  readonly bundledPaths?: readonly string[];
  /**
   * A copied path (of `bundledPaths`) holding Cedar policies: prepared in the bundle when it is built,
   * and the build fails when they cannot be used.
   * @default - no policies are prepared
   */
  readonly preparedPolicyDir?: string;
  /**
   * Packages left out of the esbuild bundle; ship them with `bundledPaths` (`node_modules/<pkg>`).
   * Needed for packages that load files next to themselves, such as WebAssembly.
   * @default - everything is bundled, including the AWS SDK (the version the tests ran with)
   */
  readonly externalModules?: readonly string[];
  /**
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Concurrent executions reserved for (and capping) the function; 1 runs it one at a time.
   * @default - unreserved: the account's pool
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Countersign Lambda handler: Node.js 24 on arm64, bundled locally by esbuild (never Docker) as
 * minified ESM (lib/handler-bundle.ts) with an external source map without sources, X-Ray
 * active, JSON logs into its own encrypted log group with retention,
 * and a role that may write to that log group and nothing else until granted more.
 */
export class HandlerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly entry: string;
  /** Packages left out of the bundle (the bundle-budget test builds the handler as this does). */
  readonly externalModules: readonly string[];

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    this.externalModules = props.externalModules ?? [];
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.logEncryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Countersign ${id}: runs ${props.entry}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const bundledPaths = props.bundledPaths ?? [];
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup: this.logGroup,
      role: this.role,
      // No NODE_OPTIONS=--enable-source-maps: with it Node reads and parses each bundle's map (larger
      // than the bundle) at every cold start. The map ships beside the bundle instead: set the option
      // on a function while debugging it, or map a logged trace offline with that file.
      environment: { ...props.environment },
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: HANDLER_TARGET,
        mainFields: [...HANDLER_MAIN_FIELDS],
        banner: CREATE_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourceMapMode: nodejs.SourceMapMode.DEFAULT,
        sourcesContent: false,
        bundleAwsSDK: true,
        externalModules: [...this.externalModules],
        esbuildArgs: Object.fromEntries(
          Object.entries(HANDLER_ALIASES).map(([module, path]) => [`--alias:${module}`, path]),
        ),
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            ...bundledPaths.map(
              (path) =>
                `mkdir -p "${dirname(join(outputDir, path))}" && cp -r "${join(inputDir, path)}" "${join(outputDir, path)}"`,
            ),
            ...(props.preparedPolicyDir === undefined
              ? []
              : [
                  // tsx runs the TypeScript step, as it runs this app; resolved from the project root.
                  `cd "${inputDir}" && "${process.execPath}" --import tsx "${PREPARE_POLICIES_ENTRY}" "${join(outputDir, props.preparedPolicyDir)}"`,
                ]),
          ],
        },
      },
    });
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata(ENTRY_METADATA_KEY, props.entry);

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
    });
  }

  metricErrors(): ReturnType<lambda.IFunction['metricErrors']> {
    return this.function.metricErrors({ period: Duration.minutes(5) });
  }
}
