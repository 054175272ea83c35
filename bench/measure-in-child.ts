/**
 * Runs one bench module in a fresh Node process (bench/bench-process.ts) and returns its figures.
 * In one process the later benches measured the earlier ones too: their ~500 MB heap's major GCs
 * and leftover timers landed inside the twin's latency samples (p99 139 ms in a full run, 80–116 ms
 * alone). The child reports over the IPC channel, apart from its stdout and stderr, which stay the
 * terminal's; what it sends is parsed, never trusted.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { type BenchOptions, Figure } from './figures.ts';

const BENCH_PROCESS = fileURLToPath(new URL('./bench-process.ts', import.meta.url));

/** What the child sends once: the module's figures, or why it failed (the error's stack). */
export const ChildReport = z.discriminatedUnion('outcome', [
  z.strictObject({ outcome: z.literal('measured'), figures: z.array(Figure) }),
  z.strictObject({ outcome: z.literal('failed'), stack: z.string() }),
]);
export type ChildReport = z.infer<typeof ChildReport>;

/**
 * Measures the module in a child started with `execArgv` (by default this process's own: the same
 * tsx loader `npm run bench` runs under). Rejects, with the child's stack where it has one, when the
 * module fails, when the child reports anything but figures, or exits other than cleanly after them.
 */
export function measureInChild(
  benchModule: URL,
  options: BenchOptions,
  execArgv: readonly string[] = process.execArgv,
): Promise<Figure[]> {
  return new Promise((resolve, reject) => {
    const child = fork(BENCH_PROCESS, [benchModule.href, JSON.stringify(options)], {
      execArgv: [...execArgv],
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    });
    const reports: unknown[] = [];
    child.on('message', (message) => reports.push(message));
    child.on('error', reject);
    // 'close', not 'exit': a message the child sent just before exiting may arrive after 'exit'.
    child.on('close', (code, signal) => {
      const ended = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      if (reports.length !== 1) {
        const reported =
          reports.length === 0 ? 'without reporting figures' : `after ${reports.length} reports, not one`;
        reject(new Error(`its process ${ended} ${reported}`));
        return;
      }
      const report = ChildReport.safeParse(reports[0]);
      if (!report.success) {
        reject(new Error(`its process reported no valid figures:\n${z.prettifyError(report.error)}`));
      } else if (report.data.outcome === 'failed') {
        reject(new Error(report.data.stack));
      } else if (code !== 0) {
        reject(new Error(`its process ${ended} after reporting its figures`));
      } else {
        resolve(report.data.figures);
      }
    });
  });
}
