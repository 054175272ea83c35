/** 200 requests at once through PutEvents: every one is recorded and decided, none lost. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';
import type { RunningTwin } from '../../../local/twin/index.ts';
import { agentRequest, demoAgent, E2eClient, idOf, removeDir, startE2eTwin, tempDir } from './harness.ts';

const REQUESTS = 200;
/** PutEvents takes at most 10 entries per call. */
const BATCH = 10;

let twin: RunningTwin;
let client: E2eClient;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDir('concurrency');
  twin = await startE2eTwin({ dataDir });
  client = new E2eClient(twin, await demoAgent());
});

afterAll(async () => {
  client?.destroy();
  await twin?.stop();
  await removeDir(dataDir);
});

/** Every decided request the API lists, following cursors. */
async function allApproved(): Promise<RequestRecord[]> {
  const items: RequestRecord[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ status: 'APPROVED', limit: '100', ...(cursor ? { cursor } : {}) });
    const { status, body } = await client.api('GET', `/api/requests?${query}`, 'alice');
    expect(status).toBe(200);
    items.push(...body.items);
    cursor = body.cursor;
  } while (cursor !== undefined);
  return items;
}

describe('load', () => {
  it(`records and decides ${REQUESTS} concurrent requests, none lost`, { timeout: 180_000 }, async () => {
    const requests = Array.from({ length: REQUESTS }, () =>
      agentRequest(client.agent, { action: 'iam:GetRole', parameters: { roleName: 'invoice-exporter' } }),
    );
    const batches = Array.from({ length: REQUESTS / BATCH }, (_, index) =>
      requests.slice(index * BATCH, (index + 1) * BATCH),
    );
    await Promise.all(batches.map((batch) => client.send(...batch)));

    const expected = new Set(requests.map(idOf));
    const decided = await vi.waitFor(
      async () => {
        const mine = (await allApproved()).filter((record) => expected.has(record.requestId));
        if (mine.length < REQUESTS) throw new Error(`${mine.length} of ${REQUESTS} decided`);
        return mine;
      },
      { timeout: 150_000, interval: 500 },
    );
    expect(new Set(decided.map((record) => record.requestId))).toEqual(expected);
    expect(decided.every((record) => record.decision === 'AUTO_APPROVED')).toBe(true);
  });
});
