/**
 * `repy-http/cluster`: one port served by several processes through
 * `node:cluster` — crashed workers replaced with backoff, a graceful stop on
 * SIGTERM/SIGINT, a rolling restart on SIGHUP. docs/cluster.md.
 *
 * @example
 * import { serveCluster } from 'repy-http/cluster';
 * await serveCluster({ workers: 2, address: ['127.0.0.1', 8080], module: './app.mjs' });
 *
 * @module
 */

export { serveCluster, type ClusterOptions, type ClusterHandle } from './serve-cluster.js';
export { type WorkerHandle, type SetupResult } from './worker.js';
export { type ClusterEvent } from './primary.js';
export { ClusterError } from './errors.js';
export { restartDelay, BACKOFF_DEFAULTS, type BackoffOptions } from './backoff.js';
