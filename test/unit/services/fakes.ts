/** Recording fakes for the ports around the store (the store itself is the real adapter on dynalite). */
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { DueReviewReminder, Review } from '../../../lambdas/domain/after-the-fact-review.ts';
import { WorkflowTokenError, WorkflowTokenProblem } from '../../../lambdas/domain/errors.ts';
import type { ExecutableAction } from '../../../lambdas/domain/executors.ts';
import { RECEIPT_ALGORITHM, RECEIPT_TYPE, type ReceiptClaims } from '../../../lambdas/domain/receipt.ts';
import type {
  ActionDecidedDetail,
  AgentRequestEvent,
  PolicyDecision,
  Principal,
  RequestRecord,
} from '../../../lambdas/domain/schemas.ts';
import type {
  ActionExecutor,
  ApprovalWorkflows,
  Clock,
  DecisionPublisher,
  Directory,
  DirectoryAgent,
  ExecutionResult,
  IdentityRef,
  PolicyEngine,
  PolicyRequest,
  ReceiptSigner,
  ReviewAlerts,
  ReviewNotifier,
  Workflow,
} from '../../../lambdas/ports/index.ts';

export class ManualClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  set(at: Date): void {
    this.current = at;
  }
}

export class FakeDirectory implements Directory {
  readonly users: Principal[] = [
    { id: 'alice', type: 'user', groups: ['security'], email: 'alice@example.com' },
    { id: 'bob', type: 'user', groups: ['security'], email: 'bob@example.com' },
    { id: 'carol', type: 'user', groups: ['platform'], email: 'carol@example.com' },
    { id: 'dave', type: 'user', groups: ['security'], email: 'dave@example.com' },
    { id: 'olga', type: 'user', groups: ['security'], email: 'olga@example.com' },
  ];
  readonly agents: Record<string, DirectoryAgent> = { 'invoice-bot': { id: 'invoice-bot', owner: 'olga' } };
  failure?: Error;

  async resolve(ref: IdentityRef): Promise<Principal | undefined> {
    if (this.failure) throw this.failure;
    if (ref.kind === 'id' && this.agents[ref.value] !== undefined) {
      return { id: ref.value, type: 'agent', groups: [] };
    }
    return this.users.find((user) =>
      ref.kind === 'email' ? user.email?.toLowerCase() === ref.value.toLowerCase() : user.id === ref.value,
    );
  }

  async agent(agentId: string): Promise<DirectoryAgent | undefined> {
    if (this.failure) throw this.failure;
    return this.agents[agentId];
  }
}

/** What a policy answers for a read it allows outright (the fast path decides it at once). */
export const ALLOWED_READ: PolicyDecision = {
  decision: 'ALLOW',
  groups: [],
  quorum: 0,
  timeoutSeconds: 0,
  stepUp: false,
  policyIds: ['read-only-allowed'],
  reason: 'Allowed by policy "read-only-allowed".',
};

export class FakePolicyEngine implements PolicyEngine {
  readonly requests: PolicyRequest[] = [];
  /** The schema's action groups, as the default policies declare the ones classification cares about. */
  groups: Record<string, readonly string[]> = {
    's3:CopyObject': ['data-export'],
    's3:GetObject': ['data-read'],
    's3:PutBucketPolicy': ['data-export'],
  };
  constructor(public answer: PolicyDecision | (() => PolicyDecision)) {}
  actionGroups(action: string): readonly string[] {
    return this.groups[action] ?? [];
  }
  evaluate(request: PolicyRequest): PolicyDecision {
    this.requests.push(request);
    return typeof this.answer === 'function' ? this.answer() : this.answer;
  }
}

export type WorkflowCall =
  | { kind: 'succeed'; taskToken: string; output: { decision: string; approvers: readonly string[] } }
  | { kind: 'fail'; taskToken: string; error: string; cause: string };

/** Records what resumed the workflow; like Step Functions, takes a token's result once and refuses the rest. */
export class RecordingWorkflow implements Workflow {
  readonly calls: WorkflowCall[] = [];
  failure?: Error;
  async succeed(
    taskToken: string,
    output: { decision: string; approvers: readonly string[] },
  ): Promise<void> {
    this.#accept({ kind: 'succeed', taskToken, output });
  }
  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    this.#accept({ kind: 'fail', taskToken, error, cause });
  }
  #accept(call: WorkflowCall): void {
    if (this.failure) throw this.failure;
    if (this.calls.some((earlier) => earlier.taskToken === call.taskToken)) {
      throw new WorkflowTokenError(WorkflowTokenProblem.timedOut, `task ${call.taskToken} already ended`);
    }
    this.calls.push(call);
  }
}

export class RecordingNotifier implements ReviewNotifier {
  readonly requested: RequestRecord[] = [];
  /** Each call's `firstAsk`, failed calls too. */
  readonly firstAsks: boolean[] = [];
  readonly updated: RequestRecord[] = [];
  failure?: Error;
  async requestReview(record: RequestRecord, options: { readonly firstAsk?: boolean } = {}): Promise<void> {
    this.firstAsks.push(options.firstAsk === true);
    if (this.failure) throw this.failure;
    this.requested.push(record);
  }
  async updateReview(record: RequestRecord): Promise<void> {
    if (this.failure) throw this.failure;
    this.updated.push(record);
  }
}

export class RecordingPublisher implements DecisionPublisher {
  readonly published: ActionDecidedDetail[] = [];
  failure?: Error;
  async publish(detail: ActionDecidedDetail): Promise<void> {
    if (this.failure) throw this.failure;
    this.published.push(detail);
  }
}

/** Signs real receipts (ES256 JWS) with a key of its own, as KMS would; counts what it signed. */
export class TestReceiptSigner implements ReceiptSigner {
  readonly signed: ReceiptClaims[] = [];
  failure?: Error;
  private constructor(
    private readonly key: CryptoKey,
    readonly publicJwk: JWK & { kid: string },
  ) {}

  static async create(kid = 'test-receipt-key'): Promise<TestReceiptSigner> {
    const { privateKey, publicKey } = await generateKeyPair(RECEIPT_ALGORITHM);
    return new TestReceiptSigner(privateKey, {
      ...(await exportJWK(publicKey)),
      kid,
      alg: RECEIPT_ALGORITHM,
    });
  }

  get jwks() {
    return { keys: [this.publicJwk] };
  }

  async sign(claims: ReceiptClaims): Promise<string> {
    if (this.failure) throw this.failure;
    this.signed.push(claims);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: RECEIPT_ALGORITHM, typ: RECEIPT_TYPE, kid: this.publicJwk.kid })
      .sign(this.key);
  }
}

/** Records what reviewers would be told about after-the-fact reviews. */
export class RecordingAlerts implements ReviewAlerts {
  readonly alerted: Review[] = [];
  readonly updated: Review[] = [];
  readonly reminded: { review: Review; reminder: DueReviewReminder }[] = [];
  failure?: Error;
  async alert(review: Review): Promise<void> {
    if (this.failure) throw this.failure;
    this.alerted.push(review);
  }
  async update(review: Review): Promise<void> {
    if (this.failure) throw this.failure;
    this.updated.push(review);
  }
  async remind(review: Review, reminder: DueReviewReminder): Promise<void> {
    if (this.failure) throw this.failure;
    this.reminded.push({ review, reminder });
  }
}

/** Records the workflows the fast path starts; a start of the same request twice starts one. */
export class RecordingWorkflows implements ApprovalWorkflows {
  readonly started = new Map<string, AgentRequestEvent>();
  readonly starts: string[] = [];
  failure?: Error;
  async start(requestId: string, event: AgentRequestEvent): Promise<void> {
    if (this.failure) throw this.failure;
    this.starts.push(requestId);
    if (!this.started.has(requestId)) this.started.set(requestId, event);
  }
  async hasStarted(requestId: string): Promise<boolean> {
    return this.started.has(requestId);
  }
}

/** Records what it is asked to run and answers as told (a result, or a thrown error). */
export class RecordingExecutor implements ActionExecutor {
  readonly runs: { action: ExecutableAction; sessionName: string }[] = [];
  answer: ExecutionResult | Error = { awsRequestId: 'aws-request-1' };
  /** Resolves each run only when the test says so (to hold runs in flight). */
  gate?: Promise<void>;
  async run(action: ExecutableAction, sessionName: string): Promise<ExecutionResult> {
    this.runs.push({ action, sessionName });
    await this.gate;
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}
