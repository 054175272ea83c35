/**
 * `npm run fuzz`: every door of the twin, 10,000 cases each by default, each door bounded in time.
 *
 *   npm run fuzz -- [--runs N] [--seconds S] [--door NAME]... [--seed N] [--json]
 *
 * Prints per door the cases run, the failures and the shrunk counterexample of each; `--json` also
 * writes fuzz-results.json (the reports, as DoorReport in framework.ts). Exits 1 when any door failed.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DOORS } from './doors.ts';
import { type DoorReport, formatReport, fuzzDoor } from './framework.ts';
import { startFuzzTwin } from './twin-context.ts';

// The AWS SDK's notice about its future Node 22 floor would interleave with the table on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const RESULTS_FILE = 'fuzz-results.json';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '120' },
    door: { type: 'string', multiple: true },
    seed: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const runs = Number(values.runs);
const seconds = Number(values.seconds);
if (!Number.isInteger(runs) || runs < 1 || !Number.isFinite(seconds) || seconds <= 0) {
  console.error('--runs must be a positive integer and --seconds a positive number');
  process.exit(2);
}

const context = await startFuzzTwin();
const reports: DoorReport[] = [];
try {
  const doors = DOORS.map((build) => build(context));
  const unknown = (values.door ?? []).filter((name) => !doors.some((door) => door.name === name));
  if (unknown.length > 0) {
    console.error(
      `no such door: ${unknown.join(', ')} (doors: ${doors.map((door) => door.name).join(', ')})`,
    );
    process.exitCode = 2;
  } else {
    for (const door of doors) {
      if (values.door !== undefined && !values.door.includes(door.name)) continue;
      const report = await fuzzDoor(door as Parameters<typeof fuzzDoor>[0], {
        runs,
        seconds,
        ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
      });
      reports.push(report);
      console.log(formatReport(report));
    }
    if (values.json) {
      await writeFile(RESULTS_FILE, `${JSON.stringify({ runs, seconds, reports }, null, 2)}\n`);
      console.log(`wrote ${RESULTS_FILE}`);
    }
    if (reports.some((report) => report.failures > 0)) process.exitCode = 1;
  }
} finally {
  await context.stop();
}
