/**
 * The console as a reviewer uses it, in Chromium (@sparticuz/chromium, test/support/browser.ts) driven by playwright-core: carol and
 * erin approve the AdministratorAccess request from the demo, and dave is told why he cannot vote.
 * Screenshots land in test-artifacts/browser/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalConfig } from '../../local/product/config.ts';
import { startLocalTwin } from '../../local/product/local-twin.ts';
import { launchChromium } from '../support/browser.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'browser');

let twin: Awaited<ReturnType<typeof startLocalTwin>>;
let browser: Browser;
let page: Page;
let dataDir: string;

async function signInAs(user: string): Promise<void> {
  await page.getByLabel('Identity').selectOption(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.locator('#whoami').textContent(), EVENTUALLY).toBe(`Signed in as ${user}`);
}

function adminRequestCard() {
  return page.locator('article.card').filter({ hasText: 'AdministratorAccess' });
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'countersign-browser-'));
  twin = await startLocalTwin({ port: 0, host: '127.0.0.1', dataDir, reset: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await browser?.close();
  await twin?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** How long the console may take to show what the twin did (the machine may be shared and busy). */
const EVENTUALLY = { timeout: 30_000, interval: 100 } as const;

describe('the web console', () => {
  it('lets two platform approvers countersign the admin attachment and tells dave why he cannot vote', async () => {
    await page.goto(twin.url);
    await signInAs('carol');
    await page.getByRole('button', { name: 'Run the demo' }).click();
    await expect.poll(() => page.locator('#status-line').textContent(), EVENTUALLY).toContain('Demo started');

    await page.getByRole('button', { name: 'Pending' }).click();
    await adminRequestCard().waitFor();
    await expect
      .poll(() => adminRequestCard().textContent(), EVENTUALLY)
      .toContain('0 of 2 approvals from platform');
    await page.screenshot({ path: join(ARTIFACTS, '1-carol-pending.png'), fullPage: true });
    // AdministratorAccess asks for a step-up: the approval needs the role's name typed.
    await adminRequestCard().getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => page.locator('#status-line').textContent(), EVENTUALLY)
      .toContain('Type invoice-exporter to confirm');
    await adminRequestCard().getByLabel('Step-up: type invoice-exporter to approve').fill('invoice-exporter');
    await adminRequestCard().getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => adminRequestCard().textContent(), EVENTUALLY)
      .toContain('1 of 2 approvals from platform');
    await expect
      .poll(() => adminRequestCard().locator('.ineligible').textContent(), EVENTUALLY)
      .toMatch(/already voted/i);

    await signInAs('dave');
    await adminRequestCard().waitFor();
    const daveNotice = adminRequestCard().locator('.ineligible');
    await expect
      .poll(() => daveNotice.textContent(), EVENTUALLY)
      .toMatch(/person it acts for.*no self-approval/i);
    await expect
      .poll(() => adminRequestCard().getByRole('button', { name: 'Approve' }).count(), EVENTUALLY)
      .toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, '2-dave-ineligible.png'), fullPage: true });

    await signInAs('erin');
    await adminRequestCard().waitFor();
    await adminRequestCard().getByLabel('Step-up: type invoice-exporter to approve').fill('invoice-exporter');
    await adminRequestCard().getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => adminRequestCard().count(), EVENTUALLY).toBe(0);

    await page.getByRole('button', { name: 'History' }).click();
    const row = page.locator('tr').filter({ hasText: 'attach-admin' });
    await expect.poll(() => row.textContent(), EVENTUALLY).toContain('APPROVED');
    await expect.poll(() => row.textContent(), EVENTUALLY).toContain('carol, erin');
    await row.getByRole('button').click();
    const detail = page.locator('section.detail');
    await expect.poll(() => detail.textContent(), EVENTUALLY).toContain('Decision published');
    await page.screenshot({ path: join(ARTIFACTS, '3-erin-decided.png'), fullPage: true });
  });

  it('lists an unapproved direct S3 call by the agent and lets a security reviewer acknowledge it with a reason', async () => {
    const agent = (await readLocalConfig()).agents[0]!;
    const s3 = new S3Client({
      endpoint: twin.endpoint,
      region: twin.region,
      forcePathStyle: true,
      credentials: {
        accessKeyId: twin.operatorCredentials.accessKeyId,
        secretAccessKey: twin.operatorCredentials.secretAccessKey,
      },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'console-exports' }));
    const asAgent = new S3Client({
      endpoint: twin.endpoint,
      region: twin.region,
      forcePathStyle: true,
      credentials: { accessKeyId: agent.accessKeyId, secretAccessKey: agent.secretAccessKey },
    });
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:DeleteObject',
          Resource: 'arn:aws:s3:::console-exports/*',
        },
      ],
    };
    await asAgent.send(
      new PutBucketPolicyCommand({ Bucket: 'console-exports', Policy: JSON.stringify(policy) }),
    );
    s3.destroy();
    asAgent.destroy();

    await signInAs('bob');
    await page.getByRole('button', { name: 'Privileged calls' }).click();
    const row = page.locator('tr').filter({ hasText: 'arn:aws:s3:::console-exports' });
    await expect.poll(() => row.textContent()).toContain('review OPEN');
    await expect.poll(() => row.textContent()).toContain('s3:PutBucketPolicy');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.locator('#status-line').textContent()).toContain('A reason is required');
    await row.getByLabel('Reason (required to acknowledge)').fill('delete protection, agreed in CHG-12');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => row.textContent()).toContain('review ACKNOWLEDGED by bob: delete protection');
    await page.screenshot({ path: join(ARTIFACTS, '4-bob-privileged-calls.png'), fullPage: true });
  });
});
