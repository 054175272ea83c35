/**
 * The AWS side of the twin, started for one stack and wired as AWS wires it: rules deliver to state
 * machines and functions, Task states invoke functions and put events, schedules fire rules, the
 * HTTP API invokes its routes' functions, and one front serves every API. What only the product
 * knows (functions' local settings, the bus policy, callers' permissions, secrets' values, the JWT
 * authorizer, more routes) it asks the extension for. This is the one place a new service is
 * registered: start it here and add it to the list in `serve`, and the AWS front serves it.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../../lambdas/domain/errors.ts';
import { serveHttpApi } from '../aws/apigateway/http-api.ts';
import { createIamAuthorizer } from '../aws/apigateway/iam-authorizer.ts';
import { athenaService, openLocalAthena } from '../aws/athena/index.ts';
import { LOCAL_REGION } from '../aws/cloudformation/intrinsics.ts';
import type { TwinStack } from '../aws/cloudformation/template.ts';
import { createLocalTrail, type ServiceCall } from '../aws/cloudtrail/trail.ts';
import { startLocalDynamo } from '../aws/dynamodb/dynalite-server.ts';
import { dynamoDbService } from '../aws/dynamodb/service.ts';
import { LocalDynamoStreams } from '../aws/dynamodb/streams.ts';
import { LocalEventBus, type TargetDelivery } from '../aws/events/event-bus.ts';
import { compilePattern } from '../aws/events/pattern/index.ts';
import { LocalScheduler } from '../aws/events/schedule.ts';
import { eventBridgeService } from '../aws/events/service.ts';
import type { FaultInjector } from '../aws/faults/injector.ts';
import { faultsService } from '../aws/faults/service.ts';
import type { AwsCredentials, KeyRing } from '../aws/front/credentials.ts';
import { AwsProtocolError } from '../aws/front/errors.ts';
import { createAwsFront } from '../aws/front/front.ts';
import type { AwsAuthorizer, AwsCaller } from '../aws/front/service.ts';
import { kmsService, LocalKms } from '../aws/kms/service.ts';
import { lambdaEnvironment } from '../aws/lambda/environment.ts';
import { type PolledStream, StreamEventSourceMapping } from '../aws/lambda/event-source-mapping.ts';
import { LambdaFunctionError } from '../aws/lambda/invocation.ts';
import { lambdaInvokeService } from '../aws/lambda/invoke-service.ts';
import { LambdaRuntime } from '../aws/lambda/runtime.ts';
import { LocalMacie } from '../aws/macie/jobs.ts';
import { macieService } from '../aws/macie/service.ts';
import { createLocalS3, type PrivilegedCall, templateBuckets } from '../aws/s3/index.ts';
import { s3Service } from '../aws/s3/service.ts';
import { LocalSecretsManager, secretsManagerService } from '../aws/secretsmanager/service.ts';
import { TaskFailure } from '../aws/states/errors.ts';
import { ExecutionStore } from '../aws/states/execution-store.ts';
import { stepFunctionsService } from '../aws/states/service.ts';
import { LocalStepFunctions } from '../aws/states/step-functions.ts';
import { createLocalSts } from '../aws/sts/service.ts';
import { sessionPolicyAllows } from '../aws/sts/session-policy.ts';
import type { UsageMeter } from '../aws/usage.ts';
import { awsEventReplayRoute } from './aws-event-replay.ts';
import type { TwinExtension } from './extension.ts';
import type { TwinHandlers } from './server.ts';

export interface AwsServicesOptions {
  readonly stack: TwinStack;
  readonly dataDir: string;
  /** The twin's URL: every function's AWS endpoint. */
  readonly endpoint: string;
  /** What the functions' role gives them (the operator's key). */
  readonly credentials: AwsCredentials;
  /** The product's extension, as it is when asked (it is built once the services exist). */
  readonly extension: () => TwinExtension;
  readonly log: (line: string) => void;
  /** Counts what the functions and callers use, as AWS bills it (the cost model). */
  readonly meter?: UsageMeter;
  /** Fails chosen calls as AWS would, controlled through its own API on the front. @default none */
  readonly faults?: FaultInjector;
}

export interface AwsServices {
  readonly lambda: LambdaRuntime<TwinStack['functions'][number]>;
  readonly stepFunctions: LocalStepFunctions;
  readonly scheduler: LocalScheduler;
  /** Serves a request with a template HTTP API route's function (API Gateway v2 event, version 2.0). */
  readonly invokeHttpRoute: ReturnType<typeof serveHttpApi>['invoke'];
  /** Delivers every stream record written so far to its event source mappings' functions, and waits. */
  drainEventSourceMappings(): Promise<void>;
  /** Opens the services that need the extension's values, and answers for the twin's port. */
  serve(keys: KeyRing): Promise<TwinHandlers>;
  /** Warms the functions (failing when one cannot start), then re-drives unfinished executions and arms the schedules. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A function's failure as Step Functions reports it: `error` = errorType, `cause` = Lambda's error payload. */
export function asTaskFailure(error: unknown): unknown {
  if (error instanceof LambdaFunctionError)
    return new TaskFailure(error.errorType, JSON.stringify(error.payload()));
  if (error instanceof AwsProtocolError) {
    return new TaskFailure(
      `Lambda.${error.code}`,
      JSON.stringify({ errorType: error.code, errorMessage: error.message }),
    );
  }
  return error;
}

const SECRET_TYPE = 'AWS::SecretsManager::Secret';
/** The one shard of each of the twin's streams. */
const SHARD_ID = 'shardId-00000000000000000000-00000001';
const KMS_KEY_TYPE = 'AWS::KMS::Key';

/** An S3 privileged call as the trail records it: the bucket is its resource, signed in the header. */
export function s3TrailCall(call: PrivilegedCall<AwsCaller>): ServiceCall {
  return {
    service: 's3',
    operation: call.operation,
    caller: call.caller,
    requestParameters: call.requestParameters,
    responseElements: null,
    resources: [{ type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${call.bucket}` }],
    additionalEventData: { SignatureVersion: 'SigV4', AuthenticationMethod: 'AuthHeader' },
    requestId: call.requestId,
    eventTime: call.eventTime,
    ...(call.errorCode === undefined ? {} : { errorCode: call.errorCode }),
    ...(call.errorMessage === undefined ? {} : { errorMessage: call.errorMessage }),
    ...(call.sourceIp === undefined ? {} : { sourceIp: call.sourceIp }),
    ...(call.userAgent === undefined ? {} : { userAgent: call.userAgent }),
  };
}

/** Without an extension saying otherwise, the operator may call anything and nobody else anything. */
const operatorOnly = (caller: AwsCaller) => caller.kind === 'operator';

/**
 * A role session may do only what its session policy allows (the twin's STS sessions), and then
 * only what the composition allows the caller: the session policy narrows, as in IAM.
 */
function withSessionPolicies(authorize: AwsAuthorizer): AwsAuthorizer {
  return (caller, action, permissions) =>
    (caller.kind !== 'session' || sessionPolicyAllows(caller.sessionPolicy, permissions)) &&
    authorize(caller, action, permissions);
}

export async function startAwsServices(options: AwsServicesOptions): Promise<AwsServices> {
  const { stack, dataDir, log, extension } = options;
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const dynamo = await startLocalDynamo({ path: join(dataDir, 'dynamodb'), tables: stack.tables, log });
    cleanups.push(() => dynamo.stop());
    const streams = await LocalDynamoStreams.open({
      directory: join(dataDir, 'dynamodb-streams'),
      tables: stack.tables,
      dynalite: dynamo,
      region: LOCAL_REGION,
      log,
    });
    cleanups.push(() => streams.close());
    const lambda = new LambdaRuntime({
      functions: stack.functions,
      environment: (fn) => {
        const { environment = {}, functionEnvironment = (_fn, variables) => variables } = extension();
        return lambdaEnvironment(fn, functionEnvironment(fn, { ...fn.environment, ...environment }), {
          endpoint: options.endpoint,
          region: LOCAL_REGION,
          credentials: options.credentials,
        });
      },
      log,
      meter: options.meter,
    });
    cleanups.push(() => lambda.stop());

    let stepFunctions: LocalStepFunctions | undefined;
    const deliver: TargetDelivery = async (target, input) => {
      if (stack.stateMachines.some((machine) => machine.arn === target.arn)) {
        await stepFunctions!.startExecution({ stateMachineArn: target.arn, input: JSON.stringify(input) });
      } else if (lambda.find(target.arn) !== undefined) {
        await lambda.invoke(target.arn, input);
      } else {
        log(`no local target for ${target.arn}; event dropped`);
      }
    };
    const eventBus = new LocalEventBus({
      buses: stack.eventBuses,
      rules: stack.rules,
      log,
      deliver,
      policy: (entry, caller) => extension().putEventsPolicy?.(entry, caller) ?? true,
      ...(options.faults === undefined
        ? {}
        : { injectedFailure: options.faults.putEventsEntry.bind(options.faults) }),
    });
    cleanups.push(() => eventBus.settled());
    const scheduler = new LocalScheduler({ rules: stack.rules, deliver, log });
    cleanups.push(() => scheduler.stop());
    stepFunctions = await LocalStepFunctions.open({
      stateMachines: stack.stateMachines,
      store: new ExecutionStore(join(dataDir, 'executions')),
      log,
      integrations: {
        invokeLambda: (name, payload) =>
          lambda.invoke(name, payload).catch((error: unknown) => Promise.reject(asTaskFailure(error))),
        putEvents: async (entries) => eventBus.putEvents(entries, undefined),
      },
    });
    const running = stepFunctions;
    cleanups.push(() => running.close());
    // The keys are the twin's once it serves (the operator's, the agents', the STS sessions').
    let keyRing: KeyRing | undefined;
    const httpApi = serveHttpApi({
      routes: stack.httpRoutes,
      invoke: (route, event) => {
        const fn = stack.functions.find((candidate) => candidate.logicalId === route.functionLogicalId)!;
        return lambda.invoke(fn.arn, event);
      },
      authorize: (token, route) => extension().jwtAuthorizer?.(token, route),
      authorizeIam: createIamAuthorizer({
        keys: () => keyRing!,
        authorize: (caller, action, permissions) =>
          withSessionPolicies(extension().authorize ?? operatorOnly)(caller, action, permissions),
      }),
      log,
    });
    // CloudTrail: the privileged calls the services report, as events on the default bus.
    const trail = createLocalTrail({ deliver: (event) => eventBus.deliverAwsEvent(event) });
    // Buckets and objects live under <dataDir>/s3; the engine reads them back at start, and the
    // template's buckets are made (or brought up to date) as CloudFormation would.
    const s3 = await createLocalS3<AwsCaller>({
      directory: join(dataDir, 's3'),
      region: LOCAL_REGION,
      log,
      principalOf: (caller) => caller.principalArn,
      onPrivilegedCall: (call) => trail.record(s3TrailCall(call)),
    });
    for (const bucket of templateBuckets(stack.resources)) await s3.provision(bucket);

    // Macie reads the twin's S3 and publishes its findings on the default bus, as Macie does.
    const macie = await LocalMacie.open({
      dataDir,
      objects: s3.reader,
      log,
      publish: (finding) =>
        eventBus.publishAwsEvent({
          source: 'aws.macie',
          detailType: 'Macie Finding',
          detail: finding,
          time: new Date(String(finding.updatedAt)),
        }),
    });
    cleanups.push(() => macie.idle());
    const sts = createLocalSts();

    const mappings = stack.eventSourceMappings.map((mapping) => {
      const fn = lambda.find(mapping.functionName);
      const source = streams.source(mapping.eventSourceArn, mapping.logicalId);
      if (fn === undefined || source === undefined) {
        throw new ConfigurationError(
          `event source mapping ${mapping.logicalId}: the twin has no ${fn === undefined ? `function ${mapping.functionName}` : `stream ${mapping.eventSourceArn}`}`,
        );
      }
      const stream: PolledStream = {
        arn: mapping.eventSourceArn,
        shardId: SHARD_ID,
        read: (after, limit) =>
          source.read(after, limit).map((record) => ({
            sequenceNumber: record.dynamodb.SequenceNumber,
            arrivedAt: record.dynamodb.ApproximateCreationDateTime * 1000,
            payload: record,
          })),
        latest: () => source.latest(),
        release: (upTo) => source.release(upTo),
      };
      const filters = mapping.filterPatterns.map((pattern) => compilePattern(pattern));
      return new StreamEventSourceMapping({
        mapping,
        functionArn: fn.arn,
        stream,
        matches: (payload) => filters.length === 0 || filters.some((filter) => filter.matches(payload)),
        invoke: (event) => lambda.invoke(fn.arn, event),
        // The twin has no SQS: what Lambda would send the on-failure queue is kept in a file per queue.
        onFailure: async (destination, record) => {
          const directory = join(dataDir, 'on-failure');
          await mkdir(directory, { recursive: true });
          await appendFile(
            join(directory, `${destination.split(':').at(-1)}.jsonl`),
            `${JSON.stringify(record)}\n`,
          );
        },
        checkpointPath: join(dataDir, 'event-source-mappings', `${mapping.logicalId}.json`),
        log,
      });
    });
    cleanups.push(async () => {
      for (const mapping of mappings) await mapping.stop();
    });

    return {
      lambda,
      stepFunctions,
      scheduler,
      invokeHttpRoute: httpApi.invoke,
      async drainEventSourceMappings() {
        await Promise.all(mappings.map((mapping) => mapping.drain()));
      },
      async serve(keys) {
        const product = extension();
        const secrets = await LocalSecretsManager.open({
          dataDir,
          secrets: stack.resources
            .filter((resource) => resource.type === SECRET_TYPE)
            .map((resource) => {
              const properties = resource.properties();
              return {
                name: resource.name,
                arn: resource.arn,
                ...(typeof properties.Description === 'string'
                  ? { description: properties.Description }
                  : {}),
                ...(typeof properties.SecretString === 'string'
                  ? { secretString: properties.SecretString }
                  : {}),
                ...(properties.GenerateSecretString === undefined
                  ? {}
                  : { generate: properties.GenerateSecretString as Record<string, never> }),
              };
            }),
          values: product.secretValues ?? {},
        });
        const kms = await LocalKms.open({
          dataDir,
          keys: stack.resources
            .filter((resource) => resource.type === KMS_KEY_TYPE)
            .map((resource) => {
              const properties = resource.properties();
              const text = (value: unknown) => (typeof value === 'string' ? { value } : undefined);
              return {
                keyId: resource.name,
                arn: resource.arn,
                ...(text(properties.KeySpec) && { keySpec: text(properties.KeySpec)!.value }),
                ...(text(properties.KeyUsage) && { keyUsage: text(properties.KeyUsage)!.value }),
                ...(text(properties.Description) && { description: text(properties.Description)!.value }),
              };
            }),
        });
        // DuckDB over the archive objects at the Glue table's location, with the template's named queries.
        const athena = await openLocalAthena({ resources: stack.resources, reader: s3.reader, dataDir });
        cleanups.push(() => athena.close());
        const services = [
          eventBridgeService(eventBus, options.meter),
          stepFunctionsService(running),
          dynamoDbService(dynamo, streams, options.meter),
          lambdaInvokeService(lambda, log),
          secretsManagerService(secrets),
          s3Service(s3),
          kmsService(kms),
          macieService(macie),
          sts.service,
          athenaService(athena),
          ...(options.faults === undefined ? [] : [faultsService(options.faults)]),
        ];
        keyRing = keys.with(sts);
        return {
          aws: createAwsFront({
            services: [...services, ...(product.awsServices ?? [])],
            keys: keyRing,
            authorize: withSessionPolicies(product.authorize ?? operatorOnly),
            log,
            meter: options.meter,
            ...(options.faults === undefined ? {} : { faults: options.faults }),
          }),
          app: httpApi.withRoutes([
            awsEventReplayRoute((event) => eventBus.deliverAwsEvent(event)),
            ...(product.routes ?? []),
          ]),
        };
      },
      async start() {
        await lambda.prewarm();
        const resumed = running.resumeRunning();
        if (resumed.length > 0) log(`re-driving ${resumed.length} unfinished execution(s)`);
        scheduler.start();
        for (const mapping of mappings) await mapping.start();
        if (scheduler.rules.length > 0) {
          log(
            `scheduled rules: ${scheduler.rules.map((rule) => `${rule.name} ${rule.scheduleExpression}`).join(', ')}`,
          );
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
