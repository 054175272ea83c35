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

  it('names the agent and its owner as requesters, and only the agent when it has no owner', async () => {
    await expect(localDirectory.agentRequesters('invoice-bot')).resolves.toEqual(['invoice-bot', 'dave']);
    await expect(localDirectory.agentRequesters('unlisted-bot')).resolves.toEqual(['unlisted-bot']);
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
