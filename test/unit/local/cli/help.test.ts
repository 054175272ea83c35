/**
 * Every `countersign` command answers `--help` with its usage (exit 0, nothing run) and an unknown
 * flag with one usage line on stderr (exit 2), never a stack trace.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commands, main } from '../../../../local/cli/main.ts';

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let stdout: string[];
let stderr: string[];

beforeEach(() => {
  stdout = [];
  stderr = [];
  vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void stdout.push(parts.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void stderr.push(parts.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation(
    (text) => stdout.push(String(text).replace(/\n$/, '')) > 0,
  );
  vi.spyOn(process.stderr, 'write').mockImplementation(
    (text) => stderr.push(String(text).replace(/\n$/, '')) > 0,
  );
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function countersign(...args: string[]): Promise<Captured> {
  const code = await main(args);
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

const names = Object.keys(commands);

describe('countersign <command> --help', () => {
  it('covers every command', () => {
    expect(names.sort()).toEqual([
      'approve',
      'audit',
      'calls',
      'classification',
      'demo',
      'deny',
      'dev',
      'list',
      'mcp',
      'policy',
      'receipt',
      'report',
      'request',
      'show',
      'simulate',
    ]);
  });

  it.each([
    [['--to', '2025-06-01'], /--from and --to are required/],
    [['--from', '2025-06-02', '--to', '2025-06-01'], /--from must be before --to/],
    [['--from', 'yesterday', '--to', '2025-06-01'], /--from must be an ISO 8601 date/],
    [
      ['--from', '2025-06-01', '--to', '2025-06-01', '--format', 'pdf'],
      /--format must be one of html, md, csv/,
    ],
    [['--from', '2025-06-01', '--to', '2025-06-01', '--aws'], /--aws needs the archive bucket/],
  ])('report %j exits 2 with the reason', async (args, reason) => {
    const result = await countersign('report', ...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(reason);
  });

  it.each(names)('%s --help prints its usage and exits 0', async (name) => {
    const result = await countersign(name, '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: countersign ${name}`));
    expect(result.stderr).toBe('');
  });

  it.each(names)('%s with an unknown flag prints one usage line on stderr and exits 2', async (name) => {
    const args = name === 'policy' ? ['eval', 'request.json', '--no-such-flag'] : ['--no-such-flag'];
    const result = await countersign(name, ...args);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^countersign ${name}: Unknown option '--no-such-flag' \\(usage: countersign ${name}`),
      ),
    ]);
    expect(result.stdout).toBe('');
  });

  it('answers an unknown command in one line', async () => {
    const result = await countersign('frobnicate');
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('the installed entry point', () => {
  it('prints no stack trace for an unknown flag', async () => {
    const bin = join(import.meta.dirname, '../../../../bin/countersign.mjs');
    const failure = await promisify(execFile)(process.execPath, [bin, 'demo', '--bogus']).then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^countersign demo: Unknown option '--bogus'/),
    ]);
  });
});
