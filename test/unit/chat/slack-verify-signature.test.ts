import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeSlackSignature,
  verifySlackSignature,
} from '../../../lambdas/adapters/slack/verify-signature.ts';
import { AuthenticationError } from '../../../lambdas/domain/errors.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/slack/${name}`, import.meta.url), 'utf8');
const vector = JSON.parse(fixture('signature-test-vector.json')) as {
  signing_secret: string;
  timestamp: string;
  body: string;
  expected_signature: string;
  clock_for_valid_case: number;
};
const signed = JSON.parse(fixture('block_actions.signed.json')) as {
  signing_secret: string;
  timestamp: string;
  expected_signature: string;
};
const blockActionsBody = fixture('block_actions.raw_body.txt');

const headersOf = (signature: string, timestamp: string) => ({
  'X-Slack-Signature': signature,
  'X-Slack-Request-Timestamp': timestamp,
});
const now = vector.clock_for_valid_case;

describe('verifySlackSignature', () => {
  it('computes the official test vector', () => {
    expect(computeSlackSignature(vector.signing_secret, vector.timestamp, vector.body)).toBe(
      vector.expected_signature,
    );
  });

  it('accepts the official vector at its clock, with header names in any case', () => {
    expect(() =>
      verifySlackSignature(
        { headers: headersOf(vector.expected_signature, vector.timestamp), rawBody: vector.body },
        vector.signing_secret,
        now,
      ),
    ).not.toThrow();
    expect(() =>
      verifySlackSignature(
        {
          headers: {
            'x-slack-signature': vector.expected_signature,
            'x-slack-request-timestamp': vector.timestamp,
          },
          rawBody: Buffer.from(vector.body),
        },
        vector.signing_secret,
        now,
      ),
    ).not.toThrow();
  });

  it('accepts the signed block_actions form body', () => {
    expect(() =>
      verifySlackSignature(
        { headers: headersOf(signed.expected_signature, signed.timestamp), rawBody: blockActionsBody },
        signed.signing_secret,
        Number(signed.timestamp),
      ),
    ).not.toThrow();
  });

  it('accepts a request exactly five minutes old or ahead, as Slack does', () => {
    const request = { headers: headersOf(vector.expected_signature, vector.timestamp), rawBody: vector.body };
    expect(() => verifySlackSignature(request, vector.signing_secret, now + 300)).not.toThrow();
    expect(() => verifySlackSignature(request, vector.signing_secret, now - 300)).not.toThrow();
  });

  const refused: Array<[string, Record<string, string>, string, number, string?]> = [
    ['a tampered body', headersOf(vector.expected_signature, vector.timestamp), `${vector.body}------`, now],
    [
      'a stale (replayed) request',
      headersOf(vector.expected_signature, vector.timestamp),
      vector.body,
      now + 301,
    ],
    [
      'a request from the future',
      headersOf(vector.expected_signature, vector.timestamp),
      vector.body,
      now - 301,
    ],
    [
      'the real clock (stale by years)',
      headersOf(vector.expected_signature, vector.timestamp),
      vector.body,
      Math.floor(Date.now() / 1000),
    ],
    ['a missing signature', { 'X-Slack-Request-Timestamp': vector.timestamp }, vector.body, now],
    ['a missing timestamp', { 'X-Slack-Signature': vector.expected_signature }, vector.body, now],
    ['no headers and no body', {}, '', now],
    ['a non-numeric timestamp', headersOf(vector.expected_signature, '1531420618abc'), vector.body, now],
    ['a negative timestamp', headersOf(vector.expected_signature, '-1531420618'), vector.body, now],
    [
      'another signature version',
      headersOf(vector.expected_signature.replace('v0=', 'v1='), vector.timestamp),
      vector.body,
      now,
    ],
    [
      'a truncated signature',
      headersOf(vector.expected_signature.slice(0, -2), vector.timestamp),
      vector.body,
      now,
    ],
    ['a forged signature', headersOf(`v0=${'0'.repeat(64)}`, vector.timestamp), vector.body, now],
    [
      'a signature re-used with a new timestamp',
      headersOf(vector.expected_signature, String(now + 1)),
      vector.body,
      now,
    ],
    [
      'the wrong secret',
      headersOf(vector.expected_signature, vector.timestamp),
      vector.body,
      now,
      'another-secret',
    ],
    ['an empty secret', headersOf(vector.expected_signature, vector.timestamp), vector.body, now, ''],
  ];

  it.each(refused)('refuses %s', (_what, headers, body, clock, secret = vector.signing_secret) => {
    expect(() => verifySlackSignature({ headers, rawBody: body }, secret, clock)).toThrow(
      AuthenticationError,
    );
  });
});
