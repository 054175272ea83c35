import { describe, expect, it } from 'vitest';
import { settleAll } from '../../../lambdas/domain/settle-all.ts';

describe('settleAll', () => {
  it('answers every value, in order', async () => {
    expect(await settleAll([Promise.resolve(1), Promise.resolve('two')])).toEqual([1, 'two']);
  });

  it('throws the first failure only once every promise has settled', async () => {
    let slowFinished = false;
    const slow = new Promise<void>((resolve) =>
      setTimeout(() => {
        slowFinished = true;
        resolve();
      }, 20),
    );
    const first = new Error('first');
    await expect(settleAll([Promise.reject(first), slow, Promise.reject(new Error('second'))])).rejects.toBe(
      first,
    );
    // Promise.all would have answered before the slow one finished.
    expect(slowFinished).toBe(true);
  });
});
