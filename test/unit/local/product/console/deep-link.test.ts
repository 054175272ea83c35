import { describe, expect, it } from 'vitest';
import { deepLinkedRequest } from '../../../../../local/product/console/view-model.ts';

describe('deepLinkedRequest', () => {
  it('reads the request a chat review links to', () => {
    expect(deepLinkedRequest('?request=req-42')).toBe('req-42');
    expect(deepLinkedRequest('?tab=x&request=e2e%2F1%20a')).toBe('e2e/1 a');
  });

  it('is undefined without a request', () => {
    expect(deepLinkedRequest('')).toBeUndefined();
    expect(deepLinkedRequest('?request=')).toBeUndefined();
    expect(deepLinkedRequest('?other=1')).toBeUndefined();
  });
});
