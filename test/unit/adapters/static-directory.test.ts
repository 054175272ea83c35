import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import { ValidationError } from '../../../lambdas/domain/errors.ts';

const localDirectory = StaticDirectory.fromJson(readFileSync('countersign.local.json', 'utf8'));

describe('StaticDirectory', () => {
  it('reads countersign.local.json and resolves a user by id, email, Slack and Teams identity', async () => {
    const carol = {
      id: 'carol',
      type: 'user',
      groups: ['platform'],
      email: 'carol@example.com',
      displayName: 'Carol Jensen',
    };
    await expect(localDirectory.resolve({ kind: 'id', value: 'carol' })).resolves.toEqual(carol);
    await expect(localDirectory.resolve({ kind: 'email', value: 'Carol@Example.com' })).resolves.toEqual(
      carol,
    );
    await expect(localDirectory.resolve({ kind: 'slack', value: 'U0CA40003' })).resolves.toEqual(carol);
    await expect(
      localDirectory.resolve({ kind: 'teams', value: '6f1c2a4e-3333-4a8b-9c01-ca4010000003' }),
    ).resolves.toEqual(carol);
  });

  it('resolves an agent as an agent principal with no groups, so it can never be an eligible voter', async () => {
    await expect(localDirectory.resolve({ kind: 'id', value: 'invoice-bot' })).resolves.toEqual({
      id: 'invoice-bot',
      type: 'agent',
      groups: [],
    });
  });

  it('answers undefined for unknown identities, and never matches agents by chat identity', async () => {
    await expect(localDirectory.resolve({ kind: 'slack', value: 'U999' })).resolves.toBeUndefined();
    await expect(localDirectory.resolve({ kind: 'email', value: 'invoice-bot' })).resolves.toBeUndefined();
    await expect(localDirectory.resolve({ kind: 'id', value: 'mallory' })).resolves.toBeUndefined();
  });

  it('registers each agent with its owner, and knows no other agent', async () => {
    await expect(localDirectory.agent('invoice-bot')).resolves.toEqual({ id: 'invoice-bot', owner: 'dave' });
    await expect(localDirectory.agent('unlisted-bot')).resolves.toBeUndefined();
  });

  it('refuses an agent without an owner, and an agent id no agent can have', () => {
    expect(() => StaticDirectory.fromJson('{"agents":[{"id":"lonely-bot"}]}')).toThrow(/agents\.0\.owner/);
    expect(() => StaticDirectory.fromJson('{"agents":[{"id":"Bad:Bot","owner":"dave"}]}')).toThrow(
      /agents\.0\.id/,
    );
  });

  it('answers an agent, never a user listed under the same id, so the agent cannot become a voter', async () => {
    const shadowed = new StaticDirectory({
      users: [{ id: 'invoice-bot', groups: ['security'] }],
      agents: [{ id: 'invoice-bot', owner: 'dave' }],
    });
    await expect(shadowed.resolve({ kind: 'id', value: 'invoice-bot' })).resolves.toMatchObject({
      type: 'agent',
      groups: [],
    });
  });

  it('treats missing lists as empty', async () => {
    const empty = StaticDirectory.fromJson('{}');
    await expect(empty.resolve({ kind: 'id', value: 'alice' })).resolves.toBeUndefined();
  });

  it('rejects a document that is not JSON or has the wrong shape, listing the problems', () => {
    expect(() => StaticDirectory.fromJson('{not json')).toThrow(ValidationError);
    expect(() => StaticDirectory.fromJson('{"users":[{"id":"x"}]}')).toThrow(/users\.0\.groups/);
  });
});
