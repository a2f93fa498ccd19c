/**
 * The worker's side: register (the module's callback, or the user's
 * `setup`), tell the primary once listening, and stop gracefully when the
 * primary says so, on SIGTERM/SIGINT, or when the primary is gone.
 *
 * @module
 */

import { boundAddress, registerCallback, stopCallback } from '../server/server.js';
import { reportToStderr } from '../server/options.js';
import { loadCallback } from './load-callback.js';
import { isMessage, type ClusterMessage, type WorkerConfig } from './protocol.js';

/**
 * What `setup` returns: the id (or ids) of the worker's registrations, which
 * its graceful stop passes to `stopCallback`.
 *
 * @example
 * setup: async (address) => [await registerCallback(address, app), await registerCallback(['127.0.0.1', 9100], metrics)]
 */
export type SetupResult = number | readonly number[];

/**
 * The handle `serveCluster` returns inside a worker (setup mode): this worker alone.
 *
 * @example
 * const h = await serveCluster({ workers: 2, address: ['127.0.0.1', 8080], setup });
 * if (h.role === 'worker') console.log(`worker ${h.workers()[0]} on port ${h.address[1]}`);
 */
export interface WorkerHandle {
  readonly role: 'worker';
  /** The address this worker's first registration listens on. */
  readonly address: [string, number];
  /** This worker's pid, alone. */
  workers(): number[];
  /** Stops this worker gracefully (its registrations, then the process exits 0). */
  stop(): Promise<void>;
  /** Only the primary rolls: in a worker it resolves without doing anything. */
  restart(): Promise<void>;
  /** Never resolves in a worker: the process exits once it has stopped. */
  readonly stopped: Promise<void>;
}

/** The `stopIdleTimeout` of module-mode workers (ms): how long a kept-alive connection may still bring a request once stopping. */
export const WORKER_STOP_IDLE_TIMEOUT = 1000;

/** Module mode: register the module's callback with the configured options. */
export async function registerModule(config: WorkerConfig): Promise<number[]> {
  const { callback, options } = await loadCallback(config.module!);
  // A roll or a stop answers the requests that cross our FIN on kept-alive connections (see stopIdleTimeout).
  return [await registerCallback(config.address, callback, { stopIdleTimeout: WORKER_STOP_IDLE_TIMEOUT, ...config.options, ...options })];
}

/**
 * Runs this process as a worker: `setup()` registers, the primary hears
 * `ready`, and a stop (a `stop` message, SIGTERM, or the IPC channel
 * closing because the primary died; SIGINT is left to the primary) runs `stopCallback` on every id —
 * in-flight requests are answered — then exits 0. A `setup` that fails is
 * reported on stderr and the process exits 1 (the primary restarts it with
 * backoff, or `serveCluster` rejects at start).
 *
 * @example
 * await runWorker(() => registerModule(config));
 */
export async function runWorker(setup: () => SetupResult | Promise<SetupResult>): Promise<WorkerHandle> {
  let ids: readonly number[] = [];
  let stopping: Promise<void> | null = null;
  let setupDone: Promise<unknown> = Promise.resolve();
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await setupDone.catch(() => {});
      await Promise.allSettled(ids.map((id) => stopCallback(id)));
      process.exit(0);
    })();
    return stopping;
  };
  const onMessage = (m: unknown): void => {
    if (isMessage(m, 'stop')) void stop();
  };
  process.on('message', onMessage);
  process.on('SIGTERM', () => void stop());
  // Ctrl-C reaches the whole process group: the primary got it too and tells each worker when to
  // stop (a worker that stopped by itself first would look like a crash to it).
  process.on('SIGINT', () => {});
  // The primary is gone (killed): nobody hands out connections any more, finish and go.
  process.on('disconnect', () => void stop());
  try {
    setupDone = Promise.resolve(setup());
    const result = (await setupDone) as SetupResult;
    ids = typeof result === 'number' ? [result] : [...result];
    if (ids.length === 0 || !ids.every((id) => Number.isInteger(id))) throw new TypeError('setup must resolve with the id (or ids) registerCallback gave');
  } catch (err) {
    reportToStderr(err, null);
    process.exit(1);
  }
  const address = boundAddress(ids[0]!);
  const ready: ClusterMessage = { repyHttpCluster: 'ready', address };
  if (stopping === null) process.send?.(ready);
  return {
    role: 'worker',
    address,
    workers: () => [process.pid],
    stop,
    restart: async () => {},
    stopped: new Promise<void>(() => {}),
  };
}
