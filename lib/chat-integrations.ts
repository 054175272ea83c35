import { Duration, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/handlers/environment-names.ts';
import type { CountersignHttpApi } from './countersign-http-api.ts';
import { HandlerFunction } from './handler-function.ts';
import type { RequestTable } from './request-table.ts';

/** Repo-relative modules of the chat endpoints. */
export const CHAT_HANDLER_ENTRIES = {
  slack: 'lambdas/handlers/slack-interactions.ts',
  teams: 'lambdas/handlers/teams-messages.ts',
} as const;

export const CHAT_ROUTES = {
  slack: { method: apigwv2.HttpMethod.POST, path: '/slack/interactions' },
  teams: { method: apigwv2.HttpMethod.POST, path: '/teams/messages' },
} as const;

/** Context keys that switch the channels on (read by the stack's config). */
export const CHAT_CONTEXT_KEYS = {
  slackChannelId: 'countersign:slackChannelId',
  teamsConversationId: 'countersign:teamsConversationId',
  teamsServiceUrl: 'countersign:teamsServiceUrl',
} as const;

export interface SlackIntegrationOptions {
  /** The channel id (`C…`) reviews are posted to. */
  readonly channelId: string;
}

export interface TeamsIntegrationOptions {
  /** The conversation id (`19:…@thread.tacv2`) reviews are posted to. */
  readonly conversationId: string;
  /** The Bot Connector service URL of that conversation, e.g. `https://smba.trafficmanager.net/emea/`. */
  readonly serviceUrl: string;
}

export interface ChatIntegrationsProps {
  /** The HTTP API the callback routes are added to. */
  readonly httpApi: CountersignHttpApi;
  readonly table: RequestTable;
  /** The approval workflow a deciding vote resumes. */
  readonly stateMachine: sfn.IStateMachine;
  /** Encrypts the secrets and the handlers' log groups. */
  readonly encryptionKey: kms.IKey;
  /** The environment every handler gets (table, console URL, directory, Powertools). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * @default logs.RetentionDays.ONE_YEAR (HandlerFunction's default)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Slack: the `/slack/interactions` route, its handler and the credentials secret.
   * @default - no Slack integration
   */
  readonly slack?: SlackIntegrationOptions;
  /**
   * Teams: the `/teams/messages` route, its handler and the credentials secret.
   * @default - no Teams integration
   */
  readonly teams?: TeamsIntegrationOptions;
}

const ROTATION_REASON =
  'Chat credentials are issued by Slack / Microsoft Entra ID, not by AWS: they are rotated in the chat platform and then put here (README), so there is no rotation Lambda.';

/**
 * Approvals in Slack and Teams: one Secrets Manager secret per platform (a JSON document the
 * operator fills in; until then every callback is refused, since the generated value parses as
 * nothing), a handler per platform behind an unauthenticated route (each verifies its caller: the
 * Slack signature, the Bot Framework JWT), and the grants they need, nothing more. The secrets
 * are read at run time; only their ARNs are in the environment.
 */
export class ChatIntegrations extends Construct {
  readonly slackSecret?: secretsmanager.Secret;
  readonly teamsSecret?: secretsmanager.Secret;
  readonly slackHandler?: HandlerFunction;
  readonly teamsHandler?: HandlerFunction;
  /** What a function that posts reviews (the request-approval task) needs in its environment. */
  readonly notifierEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ChatIntegrationsProps) {
    super(scope, id);
    const notifier: Record<string, string> = {};
    if (props.slack !== undefined) {
      this.slackSecret = this.#secret('SlackCredentials', 'Slack app: {"signingSecret","botToken"}', props);
      notifier[ENV.slackSecretArn] = this.slackSecret.secretArn;
      notifier[ENV.slackChannelId] = props.slack.channelId;
    }
    if (props.teams !== undefined) {
      this.teamsSecret = this.#secret('TeamsCredentials', 'Teams bot: {"appId","appPassword"}', props);
      notifier[ENV.teamsSecretArn] = this.teamsSecret.secretArn;
      notifier[ENV.teamsConversationId] = props.teams.conversationId;
      notifier[ENV.teamsServiceUrl] = props.teams.serviceUrl;
    }
    this.notifierEnvironment = notifier;

    if (this.slackSecret !== undefined) {
      this.slackHandler = this.#handler('SlackInteractions', CHAT_HANDLER_ENTRIES.slack, props, {
        description: 'Countersign: Slack interactivity (verify, acknowledge, vote)',
      });
      // The acknowledgement hands the verified vote to an asynchronous invocation of itself. A
      // separate policy (not the role's default one) so the function does not depend on it.
      new iam.Policy(this, 'SlackSelfInvoke', {
        roles: [this.slackHandler.role],
        statements: [
          new iam.PolicyStatement({
            actions: ['lambda:InvokeFunction'],
            resources: [this.slackHandler.function.functionArn],
          }),
        ],
      });
      props.httpApi.addUnauthenticatedRoute('SlackInteractionsRoute', {
        ...CHAT_ROUTES.slack,
        handler: this.slackHandler.function,
        authenticatedBy: 'the handler verifies the Slack v0 request signature (HMAC-SHA256, 5 minute window)',
      });
    }
    if (this.teamsSecret !== undefined) {
      this.teamsHandler = this.#handler('TeamsMessages', CHAT_HANDLER_ENTRIES.teams, props, {
        description: 'Countersign: Teams bot endpoint (Bot Framework JWT, Action.Execute votes)',
      });
      props.httpApi.addUnauthenticatedRoute('TeamsMessagesRoute', {
        ...CHAT_ROUTES.teams,
        handler: this.teamsHandler.function,
        authenticatedBy:
          'the handler validates the Bot Framework JWT (issuer, audience, signature, serviceUrl)',
      });
    }
  }

  /** Lets a function post and update reviews: read the chat secrets and the message refs. */
  grantNotify(grantee: iam.IGrantable): void {
    this.slackSecret?.grantRead(grantee);
    this.teamsSecret?.grantRead(grantee);
  }

  #secret(id: string, description: string, props: ChatIntegrationsProps): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      description: `Countersign ${description}; fill in after deploy (see README)`,
      encryptionKey: props.encryptionKey,
    });
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: ROTATION_REASON });
    return secret;
  }

  #handler(
    id: string,
    entry: string,
    props: ChatIntegrationsProps,
    options: { readonly description: string },
  ): HandlerFunction {
    const fn = new HandlerFunction(this, id, {
      entry,
      description: options.description,
      environment: { ...props.environment, ...this.notifierEnvironment },
      logEncryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      // Slack gives up after 3 s and Teams after about 5 s; a vote never needs longer than this.
      timeout: Duration.seconds(15),
    });
    this.grantNotify(fn.role);
    props.table.grantReadWrite(fn.role);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    return fn;
  }
}
