import { describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  ExitCode,
  parseCommandLine,
  renderFields,
  renderTable,
  runCommand,
} from '../../../../local/cli/output.ts';

describe('renderTable', () => {
  it('pads every column but the last to its widest cell', () => {
    const rows = [
      { id: 'a', status: 'PENDING', action: 'iam:AttachRolePolicy' },
      { id: 'long-id', status: 'APPROVED', action: 's3:GetObject' },
    ];
    const table = renderTable(rows, [
      { header: 'ID', value: (row) => row.id },
      { header: 'STATUS', value: (row) => row.status },
      { header: 'ACTION', value: (row) => row.action },
    ]);
    expect(table.split('\n')).toEqual([
      'ID       STATUS    ACTION',
      'a        PENDING   iam:AttachRolePolicy',
      'long-id  APPROVED  s3:GetObject',
    ]);
  });
});

describe('renderFields', () => {
  it('aligns the values after the labels', () => {
    expect(
      renderFields([
        ['Status', 'PENDING'],
        ['Action hash', 'ab12'],
      ]),
    ).toBe('Status:      PENDING\nAction hash: ab12');
  });
});

describe('runCommand', () => {
  it('exits 2 with the usage for usage errors, including unknown flags', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    const code = await runCommand('list', 'countersign list', ['--bogus'], async () => {
      parseCommandLine({ args: ['--bogus'], options: {} });
      return ExitCode.ok;
    });
    expect(code).toBe(ExitCode.usage);
    expect(stderr.mock.calls[0]?.[0]).toMatch(/--bogus[\s\S]*usage: countersign list/);
    stderr.mockRestore();
  });

  it('exits 1 with the API reason, and prints it as JSON with --json', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    const stdout = vi.spyOn(console, 'log').mockImplementation(() => {});
    const code = await runCommand('approve', 'usage', ['--json'], async () => {
      throw new ApiError(403, 'REQUESTER', 'no self-approval');
    });
    expect(code).toBe(ExitCode.failure);
    expect(JSON.parse(String(stdout.mock.calls[0]?.[0]))).toEqual({
      error: { status: 403, code: 'REQUESTER', message: 'no self-approval' },
    });
    expect(stderr.mock.calls[0]?.[0]).toContain('no self-approval (REQUESTER, HTTP 403)');
    stderr.mockRestore();
    stdout.mockRestore();
  });

  it('exits 1 on any other failure and passes the body exit code through', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await runCommand('x', 'u', [], async () => Promise.reject(new Error('boom')))).toBe(
      ExitCode.failure,
    );
    expect(await runCommand('x', 'u', [], async () => 0)).toBe(ExitCode.ok);
    stderr.mockRestore();
  });
});
