/**
 * One bench module measured in a process of its own: started by bench/measure-in-child.ts as
 * `bench-process.ts <module URL> <options as JSON>`, it imports the module, runs its `measure` and
 * sends the runner a ChildReport over the IPC channel (never stdout: the bench's own output goes
 * to the terminal), then exits.
 */
import '../local/aws/states/polyfills.ts';
import type { BenchModule, BenchOptions } from './figures.ts';
import type { ChildReport } from './measure-in-child.ts';

// The AWS SDK's notice about its future Node 22 floor would interleave with the table on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function measureModule(moduleUrl: string, options: BenchOptions): Promise<ChildReport> {
  try {
    const module = (await import(moduleUrl)) as Partial<BenchModule>;
    if (typeof module.measure !== 'function') throw new Error(`${moduleUrl} exports no measure function`);
    return { outcome: 'measured', figures: await module.measure(options) };
  } catch (error) {
    return {
      outcome: 'failed',
      stack: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
}

const [moduleUrl, options] = process.argv.slice(2);
if (moduleUrl === undefined || options === undefined || process.send === undefined) {
  throw new Error('bench-process.ts runs forked by bench/measure-in-child.ts, with a module URL and options');
}
const report = await measureModule(moduleUrl, JSON.parse(options) as BenchOptions);
// Exits once the report is sent rather than when the event loop empties: a handle the bench left
// open (a timer, a kept-alive socket) must not hold up the next bench; it ends with this process.
// A handle left open (a timer, a socket, a child process) is said, so that a leak stays visible;
// requests still in flight (an fs call, a socket's close) end by themselves. The IPC pipe and the
// terminal are the runner's own.
const IN_FLIGHT_REQUEST = /Req(Wrap|Callback|Promise)?$|ConnectWrap$|^(ShutdownWrap|WriteWrap)$/;
const leftOpen = process
  .getActiveResourcesInfo()
  .filter(
    (resource) => resource !== 'PipeWrap' && resource !== 'TTYWrap' && !IN_FLIGHT_REQUEST.test(resource),
  );
if (leftOpen.length > 0) {
  console.error(`bench ${moduleUrl.split('/').at(-1)} left open: ${leftOpen.join(', ')}`);
}
process.send(report, () => process.exit(report.outcome === 'failed' ? 1 : 0));
