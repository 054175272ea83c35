/**
 * Chromium for the browser tests, from the npm registry: @sparticuz/chromium ships a headless
 * Chromium inside the package and unpacks it to /tmp/chromium on first use (nothing is downloaded).
 * A system Chromium (/usr/bin/chromium) is the fallback when the packaged one cannot be unpacked.
 * Test files run in parallel, so the first unpack is serialized with a lock file.
 */
import { existsSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sparticuz from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const UNPACK_LOCK = join(tmpdir(), 'countersign-chromium-unpack.lock');
const STALE_LOCK_MS = 120_000;

async function withUnpackLock<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      const handle = await open(UNPACK_LOCK, 'wx');
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(UNPACK_LOCK).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS || Date.now() > deadline) await rm(UNPACK_LOCK, { force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    await rm(UNPACK_LOCK, { force: true });
  }
}

async function executablePath(): Promise<string> {
  try {
    return await withUnpackLock(() => sparticuz.executablePath());
  } catch (error) {
    if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
    throw new Error(
      `no Chromium for the browser tests: @sparticuz/chromium could not be unpacked (${(error as Error).message}) and ${SYSTEM_CHROMIUM} is missing`,
      { cause: error },
    );
  }
}

/** Headless Chromium without its network chatter; no sandbox when running as root (CI does). */
export async function launchChromium(): Promise<Browser> {
  const asRoot = process.getuid?.() === 0;
  return chromium.launch({
    executablePath: await executablePath(),
    headless: true,
    args: [
      ...(asRoot ? ['--no-sandbox', '--no-zygote'] : []),
      '--disable-gpu',
      '--use-gl=angle',
      '--use-angle=swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-domain-reliability',
      '--no-first-run',
      '--no-default-browser-check',
      '--no-pings',
    ],
  });
}
