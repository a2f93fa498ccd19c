/**
 * The program a module-mode worker runs (`cluster.setupPrimary({ exec })`):
 * read the configuration the primary put in the environment, import the
 * module, register its callback, serve until told to stop. Imported (not
 * run as a forked worker) it does nothing, and it has no top-level await, so
 * that `require()` of every module in dist/ works.
 *
 * @module
 */

import cluster from 'node:cluster';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readWorkerConfig } from './protocol.js';
import { registerModule, runWorker } from './worker.js';

const config = cluster.isWorker ? readWorkerConfig() : null;
if (config !== null && config.module !== undefined) {
  const moduleConfig = config;
  // runWorker reports a failed setup and exits 1 itself; anything else is a bug worth the same exit.
  /* c8 ignore next 4 */
  runWorker(() => registerModule(moduleConfig)).catch((err: unknown) => {
    process.stderr.write(`repy-http cluster: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
} else if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stderr.write('repy-http cluster: this program runs only as a worker forked by serveCluster({ module })\n');
  process.exit(2);
}
