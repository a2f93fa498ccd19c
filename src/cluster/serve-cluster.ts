/**
 * `serveCluster`: one port served by several processes through
 * `node:cluster`. The same call runs in the primary (it forks and supervises
 * the workers) and, in setup mode, in every worker (it runs `setup`).
 *
 * @module
 */

import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKOFF_DEFAULTS, type BackoffOptions } from './backoff.js';
import { ClusterError } from './errors.js';
import { moduleUrl } from './load-callback.js';
import { Primary, type ClusterEvent } from './primary.js';
import { readWorkerConfig } from './protocol.js';
import { registerModule, runWorker, type SetupResult, type WorkerHandle } from './worker.js';

/**
 * Options of {@link serveCluster}. Give exactly one of `module` and `setup`.
 *
 * @example
 * await serveCluster({ workers: 4, address: ['0.0.0.0', 8080], module: './app.mjs' });
 */
export interface ClusterOptions {
  /** How many workers (default: `os.availableParallelism()`). */
  workers?: number;
  /**
   * `[host, port]` every worker listens on. Port 0: the primary picks a free
   * port once (bind, read, close) and gives that port to every worker and
   * every replacement; `handle.address` tells it.
   */
  address: readonly [string, number];
  /**
   * Module mode: a path or URL of an ES module whose default export (or
   * `callback` export) is the callback, as for `repy-http serve MODULE`; an
   * `options` export is passed to `registerCallback`. Workers run only this
   * module (not the program that called `serveCluster`).
   */
  module?: string | URL;
  /**
   * Setup mode: run in each worker, where the program that called
   * `serveCluster` runs again from the start (the usual `node:cluster`
   * pattern) and reaches this call; it registers on `address` and returns
   * the id (or ids) for the worker's graceful stop.
   */
  setup?: (address: [string, number]) => SetupResult | Promise<SetupResult>;
  /** Module mode: server options for each worker's `registerCallback` (JSON values only: numbers, booleans). */
  serverOptions?: Record<string, number | boolean>;
  /** Restart policy for crashed workers: exponential backoff, bounded, reset after a healthy run. */
  backoff?: BackoffOptions;
  /**
   * Milliseconds a stopping worker has to exit before the primary kills it
   * (SIGKILL): the hard deadline of a stop or of a roll's step (default
   * 15 000, above the registration's own `stopTimeout` of 10 000, after
   * which it cuts what is left itself).
   */
  stopTimeout?: number;
  /** Install SIGTERM/SIGINT (stop) and SIGHUP (rolling restart) handlers in the primary (default true). */
  signals?: boolean;
  /** A worker that exits unasked or does not stop in time. Default: one line on stderr. */
  onError?: (err: ClusterError) => void;
  /** Every fork, ready, exit, restart, roll and stop (default: nothing). */
  onEvent?: (event: ClusterEvent) => void;
}

/**
 * What `serveCluster` returns in the primary.
 *
 * @example
 * const h = await serveCluster({ workers: 2, address: ['127.0.0.1', 0], module: './app.mjs', signals: false });
 * h.address;   // ['127.0.0.1', 40123]
 * h.workers(); // [4242, 4243]
 * await h.stop();
 */
export interface ClusterHandle {
  readonly role: 'primary';
  /** The address the workers listen on (the real port when 0 was asked). */
  readonly address: [string, number];
  /** The pids of the workers that are listening now. */
  workers(): number[];
  /** A rolling restart (as SIGHUP): one worker at a time, the new one listening before the old one stops. */
  restart(): Promise<void>;
  /** A graceful stop (as SIGTERM/SIGINT): resolves once every worker has exited. */
  stop(): Promise<void>;
  /** Resolves once the cluster has stopped, by `stop()` or a signal. */
  readonly stopped: Promise<void>;
}

/** Whether this process runs a cluster's primary now. */
let running = false;

/** A line on stderr per cluster error: a crash must be visible. */
function reportClusterError(err: ClusterError): void {
  process.stderr.write(`repy-http cluster: ${err.message}\n`);
}

function bad(message: string): ClusterError {
  return new ClusterError('ERR_CLUSTER_OPTION', message);
}

function nonNegative(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(`${name} must be a non-negative integer (milliseconds), got ${String(v)}`);
  return v;
}

/** Asks the system for a free port on `host` (bind port 0, read it, close). */
function pickPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const a = s.address();
      s.close(() => resolve(a !== null && typeof a === 'object' ? a.port : 0));
    });
  });
}

/** The program module-mode workers run: worker-main beside this file (.ts in the sources, .js in dist/). */
function workerMain(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), `worker-main${extname(here)}`);
}

/**
 * Serves one address from several processes. In the primary it forks
 * `workers` workers through `node:cluster` and resolves once all listen
 * (rejects with `ClusterError` `ERR_CLUSTER_START` if one exits first); the
 * primary accepts connections and hands them to the workers in turn. Then:
 *
 * - a worker that exits unasked is reported (`onError`) and replaced after
 *   `initialDelay · 2^(crashes−1)` ms, at most `maxDelay`; a slot's count of
 *   crashes resets once a worker stayed up `resetAfter` ms;
 * - SIGTERM or SIGINT (or `stop()`): every worker stops gracefully — its
 *   listener closes, in-flight requests are answered, then it exits; a
 *   worker still there after `stopTimeout` is killed. A second signal kills
 *   at once;
 * - SIGHUP (or `restart()`): a rolling restart, one worker at a time, the
 *   new one listening before the old one stops: no connection is refused.
 *
 * In a worker forked by it (setup mode), it runs `setup(address)` and
 * returns a handle on this worker alone.
 *
 * Bad options reject with `ClusterError` `ERR_CLUSTER_OPTION`.
 *
 * @example
 * // app.mjs: export default (req) => ({ statuscode: 200, headers: {}, message: `pid ${process.pid}\n` });
 * const cluster = await serveCluster({ workers: 2, address: ['127.0.0.1', 8080], module: './app.mjs' });
 * cluster.workers(); // [4242, 4243]
 * await cluster.restart(); // new code, no request refused
 * await cluster.stop();
 */
export async function serveCluster(options: ClusterOptions): Promise<ClusterHandle | WorkerHandle> {
  if (options === null || typeof options !== 'object') throw bad('options must be an object');
  const { address, module, setup } = options;
  if (!Array.isArray(address) || address.length !== 2 || typeof address[0] !== 'string' || address[0] === '' || !Number.isInteger(address[1]) || (address[1] as number) < 0 || (address[1] as number) > 65535) {
    throw bad('address must be [host, port] with a non-empty host and a port 0-65535');
  }
  if ((module === undefined) === (setup === undefined)) throw bad('give exactly one of module (a path or URL of an ES module) and setup (a function)');
  if (setup !== undefined && typeof setup !== 'function') throw bad('setup must be a function');
  if (module !== undefined && typeof module !== 'string' && !(module instanceof URL)) throw bad('module must be a path or a URL');
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw bad(`workers must be a positive integer, got ${String(workers)}`);
  const b = options.backoff ?? {};
  if (b === null || typeof b !== 'object') throw bad('backoff must be an object');
  const backoff = {
    initialDelay: nonNegative('backoff.initialDelay', b.initialDelay, BACKOFF_DEFAULTS.initialDelay),
    maxDelay: nonNegative('backoff.maxDelay', b.maxDelay, BACKOFF_DEFAULTS.maxDelay),
    resetAfter: nonNegative('backoff.resetAfter', b.resetAfter, BACKOFF_DEFAULTS.resetAfter),
  };
  const stopTimeout = nonNegative('stopTimeout', options.stopTimeout, 15_000);
  let serverOptions: Record<string, unknown> | undefined;
  if (options.serverOptions !== undefined) {
    const so = options.serverOptions;
    if (so === null || typeof so !== 'object') throw bad('serverOptions must be an object');
    for (const [k, v] of Object.entries(so)) {
      if (typeof v !== 'number' && typeof v !== 'boolean') throw bad(`serverOptions.${k}: only numbers and booleans cross to the workers (export options from the module for functions)`);
    }
    serverOptions = { ...so };
  }
  for (const name of ['onError', 'onEvent'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw bad(`${name} must be a function`);
  }

  if (cluster.isWorker) {
    const config = readWorkerConfig();
    if (config === null) throw new ClusterError('ERR_CLUSTER_WORKER', 'serveCluster in a cluster worker that serveCluster did not fork');
    if (setup !== undefined) return runWorker(() => setup(config.address));
    return runWorker(() => registerModule(config));
  }

  // node:cluster keeps one set of settings (the program workers run) per process.
  if (running) throw bad('a cluster is already running in this process: stop it first');
  running = true;
  const host = address[0] as string;
  let port = address[1] as number;
  try {
    if (port === 0) port = await pickPort(host);
  } catch (err) {
    running = false;
    throw err;
  }
  const primary = new Primary({
    workers,
    address: [host, port],
    exec: module !== undefined ? workerMain() : process.argv[1]!,
    args: module !== undefined ? [] : process.argv.slice(2),
    ...(module !== undefined ? { module: moduleUrl(module) } : {}),
    ...(serverOptions !== undefined ? { serverOptions } : {}),
    backoff,
    stopTimeout,
    onError: options.onError ?? reportClusterError,
    onEvent: options.onEvent ?? (() => {}),
  });
  const signals = options.signals ?? true;
  const onStop = (): void => {
    if (stopAsked) primary.kill();
    stopAsked = true;
    void primary.stop();
  };
  const onRoll = (): void => {
    primary.restart().catch((err: unknown) => (options.onError ?? reportClusterError)(err instanceof ClusterError ? err : new ClusterError('ERR_CLUSTER_START', String(err))));
  };
  let stopAsked = false;
  if (signals) {
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onRoll);
  }
  void primary.stopped.then(() => {
    running = false;
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onRoll);
  });
  await primary.start();
  return {
    role: 'primary',
    address: [host, port],
    workers: () => primary.pids(),
    restart: () => primary.restart(),
    stop: () => primary.stop(),
    stopped: primary.stopped,
  };
}
