/** Fuzz counterexample kept: zod's z.json()/z.record() drop a "__proto__" key, so it is refused first. */
import { describe, expect, it } from 'vitest';
import { holdsProtoKey, Json, JsonObject } from '../../../lambdas/domain/json.ts';
import { AgentRequestDetail } from '../../../lambdas/domain/schemas.ts';

const withProto = (text: string) => JSON.parse(text) as unknown;

describe('untrusted JSON', () => {
  it('finds a "__proto__" key at any depth, in objects and arrays', () => {
    expect(holdsProtoKey(withProto('{"__proto__":{}}'))).toBe(true);
    expect(holdsProtoKey(withProto('{"a":[1,{"b":{"__proto__":null}}]}'))).toBe(true);
    expect(holdsProtoKey(withProto('{"a":[1,{"b":{"proto":null}}],"c":"__proto__"}'))).toBe(false);
    expect(holdsProtoKey(null)).toBe(false);
    expect(holdsProtoKey('__proto__')).toBe(false);
    const deep = withProto(`${'['.repeat(20_000)}{"__proto__":1}${']'.repeat(20_000)}`);
    expect(holdsProtoKey(deep)).toBe(true);
  });

  it('refuses such a key instead of dropping it, and keeps everything else as sent', () => {
    expect(Json.safeParse(withProto('{"a":1,"__proto__":{"x":1}}')).success).toBe(false);
    expect(JsonObject.safeParse(withProto('{"a":{"__proto__":{"x":1}}}')).success).toBe(false);
    expect(Json.parse(withProto('{"a":[1,"x",null,{"b":true}]}'))).toEqual({
      a: [1, 'x', null, { b: true }],
    });
    expect(JsonObject.safeParse([1]).success).toBe(false);
  });

  it('so a request whose parameters carry one is invalid, not silently a different request', () => {
    const detail = withProto(
      '{"agent":{"id":"invoice-bot"},"action":"iam:GetRole","resource":{"arn":"arn:aws:iam::123456789012:role/x"},"parameters":{"roleName":"x","__proto__":{"roleName":"admin"}},"justification":"j"}',
    );
    expect(AgentRequestDetail.safeParse(detail).success).toBe(false);
  });
});
