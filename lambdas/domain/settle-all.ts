/**
 * Like `Promise.all`, but it answers only once every promise has settled: the first failure is
 * thrown after the others have finished, so nothing a call started is still running when its caller
 * answers (a Lambda function frozen mid-call would go on with it during a later invocation, racing
 * the retry of the call that failed).
 */
export async function settleAll<T extends readonly unknown[] | []>(
  work: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results: PromiseSettledResult<unknown>[] = await Promise.allSettled(work as readonly unknown[]);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
