import { describe, expect, it } from 'vitest';
import { ReceiptError } from '../../../lambdas/domain/receipt.ts';
import { signedFact } from '../../../lambdas/services/decision-facts.ts';
import { aRecord, NOW } from '../domain/fixtures.ts';

describe('signedFact', () => {
  it('refuses a decided request that has no receipt yet: there is nothing to say was signed', () => {
    const decided = aRecord({
      status: 'APPROVED',
      decision: 'AUTO_APPROVED',
      decidedAt: NOW.toISOString(),
    });
    expect(() => signedFact(decided)).toThrow(ReceiptError);
    expect(() => signedFact(decided)).toThrow(expect.objectContaining({ code: 'NOT_DECIDED' }));
  });
});
