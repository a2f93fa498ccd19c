/**
 * The cluster add-on's error class.
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';

/**
 * A failure of `serveCluster`, with a stable `code`:
 * - `ERR_CLUSTER_OPTION`: a bad option (the message names it);
 * - `ERR_CLUSTER_MODULE`: the module exports no callback (neither a default
 *   export nor a `callback` export that is a function);
 * - `ERR_CLUSTER_START`: a worker exited before it was listening, at start
 *   or during a rolling restart (`pid`, `exitCode`, `signal` say how);
 * - `ERR_WORKER_EXIT`: a listening worker exited unasked (reported through
 *   `onError`; `restartIn` says when its replacement is forked);
 * - `ERR_CLUSTER_STOPPED`: `restart()` after `stop()`;
 * - `ERR_CLUSTER_WORKER`: `serveCluster` in a worker that it did not fork.
 *
 * @example
 * try { await serveCluster({ workers: 2, address: ['127.0.0.1', 8080], module: './app.mjs' }); }
 * catch (e) { if (e instanceof ClusterError && e.code === 'ERR_CLUSTER_START') console.error('the app does not start'); }
 */
export class ClusterError extends RepyHttpError {
  override name = 'ClusterError';
  /** The worker's process id, when the error is about one worker. */
  readonly pid: number | null;
  /** The worker's exit code (null when a signal ended it). */
  readonly exitCode: number | null;
  /** The signal that ended the worker, e.g. `'SIGKILL'`. */
  readonly signal: string | null;
  /** Milliseconds until the replacement is forked (`ERR_WORKER_EXIT`), else null. */
  readonly restartIn: number | null;
  constructor(code: string, message: string, detail: { pid?: number; exitCode?: number | null; signal?: string | null; restartIn?: number } = {}) {
    super(code, message);
    this.pid = detail.pid ?? null;
    this.exitCode = detail.exitCode ?? null;
    this.signal = detail.signal ?? null;
    this.restartIn = detail.restartIn ?? null;
  }
}
