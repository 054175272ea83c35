/**
 * Slack request signing (v0): `X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{raw body}"))`.
 * Verified on the raw body bytes before anything parses them; every failure is the same
 * AuthenticationError so a caller cannot tell which check failed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../../domain/errors.ts';

/** Slack's replay window: a timestamp more than five minutes from now, either way, is refused. */
export const SLACK_MAX_SKEW_SECONDS = 300;
const SIGNATURE_VERSION = 'v0';
const SIGNATURE_PATTERN = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;

export interface SlackSignedRequest {
  /** Header names in any case, as API Gateway or Node hand them over. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly rawBody: string | Buffer;
}

function header(headers: SlackSignedRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

export function computeSlackSignature(
  signingSecret: string,
  timestamp: string,
  rawBody: string | Buffer,
): string {
  const mac = createHmac('sha256', signingSecret);
  mac.update(`${SIGNATURE_VERSION}:${timestamp}:`);
  mac.update(rawBody);
  return `${SIGNATURE_VERSION}=${mac.digest('hex')}`;
}

/** Why the request is not authentic, or undefined when it is. */
function rejectionReason(
  request: SlackSignedRequest,
  signingSecret: string,
  nowSeconds: number,
): string | undefined {
  if (signingSecret.length === 0) return 'no signing secret configured';
  const signature = header(request.headers, 'x-slack-signature');
  const timestamp = header(request.headers, 'x-slack-request-timestamp');
  if (signature === undefined || timestamp === undefined) return 'missing signature headers';
  if (!TIMESTAMP_PATTERN.test(timestamp)) return 'timestamp is not a number';
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_MAX_SKEW_SECONDS) {
    return 'timestamp is more than five minutes from now';
  }
  if (!SIGNATURE_PATTERN.test(signature)) return 'unknown signature version or format';
  const expected = Buffer.from(computeSlackSignature(signingSecret, timestamp, request.rawBody));
  // Both sides match the v0 pattern, so their lengths are equal, as timingSafeEqual requires.
  return timingSafeEqual(expected, Buffer.from(signature)) ? undefined : 'signature mismatch';
}

/**
 * Throws AuthenticationError unless the request carries a valid, fresh Slack signature.
 * `nowSeconds` is injected so the replay window is testable.
 */
export function verifySlackSignature(
  request: SlackSignedRequest,
  signingSecret: string,
  nowSeconds: number,
): void {
  const reason = rejectionReason(request, signingSecret, nowSeconds);
  if (reason !== undefined) throw new AuthenticationError(`Slack request refused: ${reason}`);
}
