/**
 * The program a module-mode worker runs (`cluster.setupPrimary({ exec })`):
 * read the configuration the primary put in the environment, import the
 * module, register its callback, serve until told to stop.
 *
 * @module
 */

import { readWorkerConfig } from './protocol.js';
import { registerModule, runWorker } from './worker.js';

const config = readWorkerConfig();
if (config === null || config.module === undefined) {
  process.stderr.write('repy-http cluster: this program runs only as a worker forked by serveCluster({ module })\n');
  process.exit(2);
}
await runWorker(() => registerModule(config));
