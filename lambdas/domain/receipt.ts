/**
 * Decision receipts: what an agent trusts instead of an event. A receipt is a compact JWS (ES256,
 * header `kid`, explicitly typed) over the claims below, signed by Countersign's receipt key; anyone
 * verifies it with the public keys (a JWKS). Pure: the claims schema, how a decided request becomes
 * claims, and the verification every consumer (the CLI, the agent SDK, the reconciliation) shares.
 */
import { createHash } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { CountersignError } from './errors.ts';
import { AgentId, DecisionValue, Executor, RequestId, type RequestRecord } from './schemas.ts';
import * as z from './zod.ts';

export const RECEIPT_ISSUER = 'countersign';
export const RECEIPT_ALGORITHM = 'ES256';
/** The JWS `typ` (RFC 8725 explicit typing): a receipt is never taken for another kind of token. */
export const RECEIPT_TYPE = 'countersign-receipt+jwt';
/** How long an approval may be acted on when its policy does not say (`@approvalValidFor`). */
export const DEFAULT_APPROVAL_VALID_FOR_SECONDS = 3600;

const EpochSeconds = z.number().check(z.int(), z.nonnegative());

export const ReceiptClaims = z
  .strictObject({
    iss: z.literal(RECEIPT_ISSUER),
    requestId: RequestId,
    agentId: AgentId,
    actionHash: z.string().check(z.regex(/^[a-f0-9]{64}$/)),
    decision: DecisionValue,
    /** Directory ids of the people who approved, in the order they voted; empty unless APPROVED. */
    approvers: z.array(z.string()),
    /** When the decision was made. */
    iat: EpochSeconds,
    /** After this the decision may no longer be acted on. */
    exp: EpochSeconds,
    /**
     * Present when Countersign runs the approved action itself: the agent must not run it (again),
     * whatever the decision says.
     */
    executor: z.optional(Executor),
  })
  .check(
    z.refine((claims) => claims.exp > claims.iat, { message: 'exp must be after iat', path: ['exp'] }),
    z.refine((claims) => claims.requestId.startsWith(`${claims.agentId}:`), {
      message: 'requestId must be the agent’s own',
      path: ['requestId'],
    }),
  );
export type ReceiptClaims = z.infer<typeof ReceiptClaims>;

/** The claims of a decided request: issued at the decision, valid for as long as its policy says. */
export function receiptClaimsFor(record: RequestRecord): ReceiptClaims {
  if (record.decision === undefined || record.decidedAt === undefined) {
    throw new ReceiptError('NOT_DECIDED', `request ${record.requestId} is not decided yet`);
  }
  const iat = Math.floor(Date.parse(record.decidedAt) / 1000);
  const validFor = record.policy.approvalValidForSeconds ?? DEFAULT_APPROVAL_VALID_FOR_SECONDS;
  return ReceiptClaims.parse({
    iss: RECEIPT_ISSUER,
    requestId: record.requestId,
    agentId: record.agent.id,
    actionHash: record.actionHash,
    decision: record.decision,
    approvers: [...record.approvers],
    iat,
    exp: iat + validFor,
    ...(record.policy.executor === undefined ? {} : { executor: record.policy.executor }),
  });
}

export const ReceiptProblem = {
  notDecided: 'NOT_DECIDED',
  malformed: 'MALFORMED',
  unknownKey: 'UNKNOWN_KEY',
  badSignature: 'BAD_SIGNATURE',
  wrongIssuer: 'WRONG_ISSUER',
  expired: 'EXPIRED',
  hashMismatch: 'HASH_MISMATCH',
  wrongAgent: 'WRONG_AGENT',
} as const;
export type ReceiptProblem = (typeof ReceiptProblem)[keyof typeof ReceiptProblem];

/** A receipt that cannot be trusted (or made), with the reason as a stable code. */
export class ReceiptError extends CountersignError {
  readonly code: ReceiptProblem;
  constructor(code: ReceiptProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface VerifyReceiptOptions {
  /** The public keys: a JWKS document, or a key resolver such as jose's createRemoteJWKSet. */
  readonly keys: JSONWebKeySet | JWTVerifyGetKey;
  /** The hash of exactly the action about to run; a receipt for anything else is refused. */
  readonly actionHash?: string;
  /** The agent that will act; a receipt issued to another agent is refused. */
  readonly agentId?: string;
  /** @default new Date() */
  readonly now?: Date;
}

function problemOf(error: unknown): ReceiptError {
  const because = (code: ReceiptProblem, message: string) =>
    new ReceiptError(code, message, { cause: error });
  if (error instanceof joseErrors.JWTExpired)
    return because(ReceiptProblem.expired, 'the receipt has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'iss') {
    return because(ReceiptProblem.wrongIssuer, `the receipt was not issued by ${RECEIPT_ISSUER}`);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return because(ReceiptProblem.unknownKey, 'no published key matches the receipt’s kid');
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return because(ReceiptProblem.badSignature, 'the receipt’s signature does not verify');
  }
  return because(ReceiptProblem.malformed, `not a Countersign receipt: ${(error as Error).message}`);
}

/**
 * Verifies a receipt: ES256 signature under a published key (by `kid`), explicit type, issuer,
 * expiry (no leeway), the claims' shape and, when given, the action hash and the agent. Returns the
 * claims; throws ReceiptError naming the first check that failed. Whether the decision lets the
 * agent act (APPROVED, AUTO_APPROVED, BREAK_GLASS) is the caller's question: the claims say which it is.
 */
export async function verifyReceipt(jws: string, options: VerifyReceiptOptions): Promise<ReceiptClaims> {
  const keys = typeof options.keys === 'function' ? options.keys : createLocalJWKSet(options.keys);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(jws.trim(), keys, {
      algorithms: [RECEIPT_ALGORITHM],
      issuer: RECEIPT_ISSUER,
      typ: RECEIPT_TYPE,
      requiredClaims: ['iat', 'exp'],
      currentDate: options.now ?? new Date(),
    }));
  } catch (error) {
    throw problemOf(error);
  }
  const claims = ReceiptClaims.safeParse(payload);
  if (!claims.success) {
    throw new ReceiptError(
      ReceiptProblem.malformed,
      `the receipt's claims are malformed: ${claims.error.message}`,
    );
  }
  if (options.actionHash !== undefined && claims.data.actionHash !== options.actionHash.toLowerCase()) {
    throw new ReceiptError(
      ReceiptProblem.hashMismatch,
      'the receipt is for another action (actionHash differs)',
    );
  }
  if (options.agentId !== undefined && claims.data.agentId !== options.agentId) {
    throw new ReceiptError(
      ReceiptProblem.wrongAgent,
      `the receipt was issued to agent ${claims.data.agentId}`,
    );
  }
  return claims.data;
}

/** Whether the decision lets the action go ahead (whoever runs it): approved, by people or policy, or break-glass. */
export function approvesAction(claims: ReceiptClaims): boolean {
  return (
    claims.decision === 'APPROVED' || claims.decision === 'AUTO_APPROVED' || claims.decision === 'BREAK_GLASS'
  );
}

/**
 * Whether the decision lets the agent go ahead itself: approved, and not an action Countersign
 * runs (an agent that ran it too would run it twice).
 */
export function permitsAction(claims: ReceiptClaims): boolean {
  return approvesAction(claims) && claims.executor === undefined;
}

/**
 * What the audit trail says of a signed receipt, without copying it: the signing key's `kid` and the
 * SHA-256 of the compact JWS. Throws ReceiptError (MALFORMED) for anything that is not a JWS with a kid.
 */
export function receiptFingerprint(jws: string): { readonly keyId: string; readonly sha256: string } {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch (error) {
    throw new ReceiptError(ReceiptProblem.malformed, 'not a compact JWS', { cause: error });
  }
  if (typeof kid !== 'string' || kid.length === 0) {
    throw new ReceiptError(ReceiptProblem.malformed, 'the receipt names no signing key (kid)');
  }
  return { keyId: kid, sha256: createHash('sha256').update(jws, 'ascii').digest('hex') };
}
