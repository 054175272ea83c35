/**
 * The evidence report from an archive written by the archiver (and issue 12's kinds as archive
 * lines), queried through the twin's Athena with @aws-sdk/client-athena: every decision of the
 * period and nothing outside it, receipts really verified against a JWKS (one signed by a key that
 * is not published fails), refusals with self-approval first, unapproved calls and break-glass
 * with their reviews, classification, the archive verifier's own result, the queries and their
 * execution ids; untrusted record text escaped in HTML, Markdown and CSV; the HTML opened in
 * Chromium with every network request refused, screenshot in test-artifacts/.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { type JSONWebKeySet, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAthenaQuery } from '../../../lambdas/adapters/athena/athena-query-runner.ts';
import { KmsEs256Signer } from '../../../lambdas/adapters/kms/receipt-signer.ts';
import type { AuditRecord } from '../../../lambdas/domain/audit-record.ts';
import { RECEIPT_ISSUER, RECEIPT_TYPE, receiptFingerprint } from '../../../lambdas/domain/receipt.ts';
import { verifyAuditArchive } from '../../../lambdas/services/verify-audit-archive.ts';
import { writeAuditDigest } from '../../../lambdas/services/write-audit-digest.ts';
import { CONTROLS } from '../../../local/cli/report/controls.ts';
import { type EvidenceReport, gatherEvidence } from '../../../local/cli/report/evidence.ts';
import { renderCsv, renderHtml, renderMarkdown } from '../../../local/cli/report/render.ts';
import {
  ARCHIVE_BUCKET,
  type AthenaTwin,
  type RequestStory,
  requestRecords,
  sampleReconciliation,
  sampleStories,
  startAthenaTwin,
  WORKGROUP,
} from '../../support/audit-history.ts';
import { launchChromium } from '../../support/browser.ts';
import { type KmsSigningKey, mockKmsSigningKey } from '../../support/kms-signing-key.ts';

const DAY1 = '2025-06-01';
const DAY2 = '2025-06-02';
const DAY3 = '2025-06-03';
const PERIOD = { from: new Date(`${DAY1}T00:00:00Z`), to: new Date(`${DAY3}T00:00:00Z`) };
const HOSTILE = '<img src=x onerror="alert(1)">|=cmd()*';
const DIGEST_KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/digest';

let twin: AthenaTwin;
let kms: KmsSigningKey;
let digestKeys: Map<string, KeyObject>;
const receipts = new Map<string, string>();
let receiptKeys: JSONWebKeySet;
let report: EvidenceReport;

const receiptKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const foreignKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** A real receipt for the story's decision, signed by `key` under kid `receipt-key`. */
async function receiptFor(records: AuditRecord[], key: KeyObject): Promise<string> {
  const requested = records.find((record) => record.kind === 'REQUESTED')!;
  const decided = records.find((record) => record.kind === 'DECIDED')!;
  const iat = Math.floor(Date.parse(decided.at) / 1000);
  return new SignJWT({
    requestId: requested.requestId,
    agentId: requested.actor,
    actionHash: 'a'.repeat(64),
    decision: (decided.data as { decision: string }).decision,
    approvers: (decided.data as { approvers: string[] }).approvers,
  })
    .setProtectedHeader({ alg: 'ES256', typ: RECEIPT_TYPE, kid: 'receipt-key' })
    .setIssuer(RECEIPT_ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(key);
}

/** The story's records with its SIGNED record naming the receipt (kept for the receipts port). */
async function signedStory(story: RequestStory, key = receiptKey.privateKey): Promise<AuditRecord[]> {
  const records = requestRecords(story);
  const jws = await receiptFor(records, key);
  receipts.set(story.requestId, jws);
  const { sha256 } = receiptFingerprint(jws);
  return records.map((record) =>
    record.kind === 'SIGNED' ? { ...record, data: { ...record.data, receiptSha256: sha256 } } : record,
  );
}

beforeAll(async () => {
  twin = await startAthenaTwin();
  receiptKeys = {
    keys: [
      { ...receiptKey.publicKey.export({ format: 'jwk' }), kid: 'receipt-key', alg: 'ES256', use: 'sig' },
    ],
  };
  const [r1, r2, r3, r4] = sampleStories(DAY1, DAY2) as [
    RequestStory,
    RequestStory,
    RequestStory,
    RequestStory,
  ];
  await twin.archiveRecords([
    ...(await signedStory({
      ...r1,
      classification: {
        status: 'CLASSIFIED',
        severity: 'High',
        categories: ['PERSONAL_INFORMATION'],
        types: ['NAME', 'ADDRESS'],
      },
    })),
    ...(await signedStory({ ...r2, resource: `arn:aws:s3:::invoices/${HOSTILE}` }, foreignKey.privateKey)),
    ...(await signedStory(r3)),
    ...requestRecords(r4),
    ...(await signedStory({
      requestId: 'invoice-bot:later',
      agent: 'invoice-bot',
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::invoices/2025/03.csv',
      requestedAt: `${DAY3}T09:00:00.000Z`,
      approvers: ['alice'],
    })),
  ]);
  kms = mockKmsSigningKey(DIGEST_KEY_ARN);
  const signer = new KmsEs256Signer({
    client: new KMSClient({ region: 'us-east-1' }),
    keyId: DIGEST_KEY_ARN,
  });
  digestKeys = new Map([
    [await signer.thumbprint(), createPublicKey({ key: kms.spki, format: 'der', type: 'spki' })],
  ]);
  await writeAuditDigest({
    archive: twin.archive,
    signer,
    clock: { now: () => new Date() },
    bucket: ARCHIVE_BUCKET,
    retentionDays: 1,
    lookbackSeconds: 300,
    maxRecordDelaySeconds: 10 * 365 * 86_400,
  });
  report = await gatherEvidence(
    {
      query: (sql) => runAthenaQuery(twin.athena, { sql, workGroup: WORKGROUP, pollIntervalMs: 20 }),
      receiptOf: async (requestId) => {
        const jws = receipts.get(requestId);
        return jws === undefined ? { unavailable: 'no such receipt' } : { jws };
      },
      receiptKeys,
      verifyArchive: () =>
        verifyAuditArchive(
          { archive: twin.archive, publicKeys: digestKeys },
          { bucket: ARCHIVE_BUCKET, from: PERIOD.from },
        ),
    },
    PERIOD,
  );
}, 90_000);

afterAll(async () => {
  kms?.kms.restore();
  await twin?.close();
});

describe('the evidence report', () => {
  it('names every decision of the period with requester, approvers, policies, and nothing outside it', () => {
    expect(
      report.decisions.map((decision) => [
        decision.requestId,
        decision.decision,
        decision.requester,
        decision.approvers,
        decision.policyIds,
      ]),
    ).toEqual([
      ['invoice-bot:r1', 'APPROVED', 'invoice-bot', ['alice'], ['approval-for-exports']],
      ['invoice-bot:r2', 'APPROVED', 'invoice-bot', ['alice', 'carol'], ['approval-for-exports']],
      ['deploy-bot:r3', 'DENIED', 'deploy-bot', [], ['iam-changes']],
    ]);
    expect(report.decisions[1]!.secondsToDecision).toBe(120);
  });

  it('verifies each receipt against the JWKS: one signed by an unpublished key fails', () => {
    expect(report.decisions.map((decision) => [decision.requestId, decision.receipt.status])).toEqual([
      ['invoice-bot:r1', 'VERIFIED'],
      ['invoice-bot:r2', 'FAILED'],
      ['deploy-bot:r3', 'VERIFIED'],
    ]);
  });

  it('lists refused votes with the self-approval attempt first, and the classification used', () => {
    expect(report.refusals.map((row) => [row.actor, row.code, row.requester])).toEqual([
      ['invoice-owner', 'REQUESTER', 'invoice-bot'],
      ['bob', 'NOT_IN_GROUP', 'invoice-bot'],
    ]);
    expect(report.decisions[0]).toMatchObject({
      severity: 'High',
      categories: ['PERSONAL_INFORMATION'],
      dataTypes: ['NAME', 'ADDRESS'],
    });
  });

  it('lists each query with its execution id, and the archive verifier’s result', () => {
    expect(report.queries).toHaveLength(4);
    for (const query of report.queries) expect(query.executionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(report.verification.holds).toBe(true);
    expect(report.verification.summary).toMatch(/1 digest\(s\).*the archive holds/);
  });

  it('maps every control to evidence with a rationale', () => {
    expect(CONTROLS.map((control) => control.id)).toEqual([
      'CC6.1',
      'CC6.3',
      'CC7.2',
      'CC8.1',
      'A.5.15',
      'A.8.2',
      'A.8.15',
      'A.8.32',
      'AC-5',
      'AC-6',
      'AU-9',
      'AU-10',
      'CM-3',
    ]);
    for (const control of CONTROLS) {
      expect(control.evidence.length).toBeGreaterThan(0);
      expect(control.rationale.length).toBeGreaterThan(20);
    }
  });

  it('escapes untrusted record text in HTML, Markdown and CSV', () => {
    const html = renderHtml(report);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('\\<img src=x onerror="alert\\(1\\)"\\>\\|=cmd\\(\\)\\*');
    const csv = renderCsv(report);
    expect(csv).toContain(`decisions,2,Resource,"arn:aws:s3:::invoices/${HOSTILE.replaceAll('"', '""')}"`);
    expect(
      renderCsv({ ...report, decisions: [{ ...report.decisions[0]!, requester: '=HYPERLINK()' }] }),
    ).toContain("Requester,'=HYPERLINK()");
  });
});

describe('issue 12’s records in the report', () => {
  let withReviews: EvidenceReport;
  beforeAll(async () => {
    await twin.archiveLooseRecords(sampleReconciliation(DAY2, { actor: 'carol', outcome: 'ACKNOWLEDGED' }));
    withReviews = await gatherEvidence(
      {
        query: (sql) => runAthenaQuery(twin.athena, { sql, workGroup: WORKGROUP, pollIntervalMs: 20 }),
        receiptOf: async () => ({ unavailable: 'not fetched' }),
        receiptKeys: undefined,
        verifyArchive: async () => {
          throw new Error('the bucket cannot be read');
        },
      },
      PERIOD,
    );
  }, 60_000);

  it('shows unapproved calls and break-glass uses with how each review ended', () => {
    expect(
      withReviews.unapprovedCalls.map((row) => [row.event_id, row.review_outcome, row.reviewer]),
    ).toEqual([['evt-deploy-bot-call-1', 'ESCALATED', 'alice']]);
    expect(withReviews.breakGlass.map((row) => [row.request_id, row.review_outcome, row.reviewer])).toEqual([
      ['deploy-bot:bg1', 'ACKNOWLEDGED', 'carol'],
    ]);
    expect(withReviews.decisions.map((decision) => decision.requestId)).toContain('deploy-bot:bg1');
  });

  it('fails closed: a receipt it cannot fetch or an archive it cannot verify is never shown as verified', () => {
    expect(new Set(withReviews.decisions.map((decision) => decision.receipt.status))).toEqual(
      new Set(['UNAVAILABLE', 'NONE']),
    );
    expect(withReviews.verification).toMatchObject({ holds: false });
    expect(withReviews.verification.summary).toContain('the bucket cannot be read');
    expect(renderHtml(withReviews)).toContain('DOES NOT VERIFY');
  });
});

describe('in Chromium', () => {
  it('opens offline (every request refused), shows every decision of the period and the charts', async () => {
    const html = renderHtml(report);
    await mkdir('test-artifacts', { recursive: true });
    const file = join('test-artifacts', 'evidence-report.html');
    await writeFile(file, html);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requested: string[] = [];
      await page.route('**/*', (route) => {
        requested.push(route.request().url());
        return route.abort();
      });
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.setContent(html, { waitUntil: 'load' });
      const body = await page.locator('body').innerText();
      for (const decision of report.decisions) expect(body).toContain(decision.requestId);
      expect(body).toContain('CC6.1');
      expect(body).toContain('AU-10');
      expect(await page.locator('svg').count()).toBe(2);
      expect(await page.locator('svg rect').count()).toBeGreaterThan(2);
      // The stylesheet applied: its hash is in the CSP.
      expect(
        await page
          .locator('th')
          .first()
          .evaluate((th) => getComputedStyle(th).backgroundColor),
      ).toBe('rgb(246, 248, 250)');
      expect(requested).toEqual([]);
      expect(violations).toEqual([]);
      await page.screenshot({ path: join('test-artifacts', 'evidence-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
