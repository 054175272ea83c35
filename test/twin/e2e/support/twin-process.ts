/**
 * The twin as its own process, for tests that kill it: `node --import tsx twin-process.ts <dataDir>
 * <directoryPath> [<policyDir>]`. Prints one line `{"url": …}` once it serves, then runs until killed.
 */
import { ENV } from '../../../../lambdas/handlers/environment-names.ts';
import { startLocalTwin } from '../../../../local/product/local-twin.ts';

const [dataDir, directoryPath, policyDir] = process.argv.slice(2);
if (dataDir === undefined || directoryPath === undefined) {
  console.error('usage: twin-process.ts <dataDir> <directoryPath> [<policyDir>]');
  process.exit(2);
}
const twin = await startLocalTwin({
  port: 0,
  host: '127.0.0.1',
  dataDir,
  directoryPath,
  log: () => undefined,
  ...(policyDir === undefined ? {} : { extend: () => ({ environment: { [ENV.policyDir]: policyDir } }) }),
});
console.log(JSON.stringify({ url: twin.url, operator: twin.operatorCredentials }));
