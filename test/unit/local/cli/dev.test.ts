import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { describeTwin, parsePort, run } from '../../../../local/cli/commands/dev.ts';
import { readLocalConfig } from '../../../../local/product/config.ts';

describe('countersign dev', () => {
  it('defaults to port 4710 and refuses what is not a port', () => {
    expect(parsePort(undefined)).toBe(4710);
    expect(parsePort('0')).toBe(0);
    expect(parsePort('5000')).toBe(5000);
    expect(() => parsePort('http')).toThrow(/not a port/);
    expect(() => parsePort('70000')).toThrow(/not a port/);
  });

  it('prints the console, the SDK endpoint, the callbacks, every demo identity and how to get a token', async () => {
    const config = await readLocalConfig();
    const banner = describeTwin(
      { url: 'http://127.0.0.1:4710', endpoint: 'http://127.0.0.1:4710', region: 'local', dataDir: '/d' },
      config,
    );
    expect(banner).toContain('Console            http://127.0.0.1:4710/');
    expect(banner).toContain('AWS SDK endpoint   http://127.0.0.1:4710');
    expect(banner).toContain('http://127.0.0.1:4710/slack/interactions');
    expect(banner).toContain('http://127.0.0.1:4710/teams/messages');
    expect(banner).toContain('POST http://127.0.0.1:4710/local/token');
    for (const user of ['alice', 'bob', 'carol', 'erin', 'dave'])
      expect(banner).toMatch(new RegExp(`\\n  ${user}\\s`));
    expect(banner).toMatch(/invoice-bot\s+dave\s+AKIACOUNTERSIGNDEMO1/);
    expect(banner).not.toContain(config.agents[0]!.secretAccessKey);
  });

  it('refuses to bind anywhere but loopback without --insecure-expose: one clear error, exit 2', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cs-dev-'));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await run(['--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir])).toBe(2);
      expect(errors.mock.calls.join('\n')).toMatch(
        /refusing to bind the twin to 0\.0\.0\.0.*--insecure-expose/s,
      );
    } finally {
      errors.mockRestore();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
