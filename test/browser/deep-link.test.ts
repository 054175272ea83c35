/**
 * The link in a Slack or Teams review (`/?request=<id>`) opens the console on that request's
 * detail, in the History tab with its row selected, once the reviewer is signed in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalTwin } from '../../local/product/local-twin.ts';
import { launchChromium } from '../support/browser.ts';

let twin: Awaited<ReturnType<typeof startLocalTwin>>;
let browser: Browser;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'countersign-deep-link-'));
  twin = await startLocalTwin({ port: 0, host: '127.0.0.1', dataDir, reset: true, log: () => undefined });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await twin?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('console deep link', () => {
  it('opens the linked request in History, selected', async () => {
    const demo = await fetch(`${twin.url}/local/demo`, { method: 'POST', body: '{}' });
    const { requestIds } = (await demo.json()) as { requestIds: string[] };
    const linked = requestIds.at(-1)!;

    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${twin.url}/?request=${encodeURIComponent(linked)}`);
    // alice is in security, an auditor group: she may read every request (carol may read only hers).
    await page.getByLabel('Identity').selectOption('alice');
    await page.getByRole('button', { name: 'Sign in' }).click();

    const detail = page.getByRole('region', { name: `Details of ${linked}` });
    await detail.waitFor();
    await expect
      .poll(() => page.locator('nav button[data-tab="history"]').getAttribute('aria-current'))
      .toBe('true');
    await expect.poll(() => page.locator('tr[aria-current="true"]').textContent()).toContain(linked);
    await page.close();
  });
});
