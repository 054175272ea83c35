/**
 * A refused chat vote is audited under the chat account that clicked; a forged account id (the fuzzer's
 * counterexample: Teams `aadObjectId` "\u0000") must still make a valid record, not a 500.
 */
import { describe, expect, it } from 'vitest';
import { recordChatRefusal } from '../../../lambdas/adapters/chat-reviewers.ts';
import { NewAuditRecord } from '../../../lambdas/domain/audit-record.ts';

async function refusalOf(chatUserId: string): Promise<NewAuditRecord> {
  const written: unknown[] = [];
  await recordChatRefusal(
    { appendAudit: async (record) => void written.push(record) },
    {
      requestId: 'invoice-bot:req-1',
      channel: 'teams',
      chatUserId,
      code: 'UNKNOWN_IDENTITY',
      reason: 'This Teams account is not linked to a Countersign identity.',
      vote: 'approve',
      at: new Date('2026-01-01T00:00:00Z'),
    },
  );
  expect(written).toHaveLength(1);
  return NewAuditRecord.parse(written[0]);
}

describe('recordChatRefusal', () => {
  it('names a plausible chat account as it is', async () => {
    const record = await refusalOf('6f1c2a4e-2222-4a8b-9c01-b0b000000002');
    expect(record.actor).toBe('teams:6f1c2a4e-2222-4a8b-9c01-b0b000000002');
    expect(record.key).toBe('REFUSED#teams:6f1c2a4e-2222-4a8b-9c01-b0b000000002#UNKNOWN_IDENTITY');
  });

  it('names a forged account id (control characters, spaces, any length) by a stable digest', async () => {
    for (const forged of ['\u0000', 'two words', 'x'.repeat(5000), '\ud800']) {
      const record = await refusalOf(forged);
      expect(record.actor).toMatch(/^teams:sha256:[a-f0-9]{32}$/);
      expect((await refusalOf(forged)).key).toBe(record.key);
    }
    expect((await refusalOf('\u0000')).actor).not.toBe((await refusalOf('\u0001')).actor);
  });
});
