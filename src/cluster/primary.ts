/**
 * The primary's side: fork the workers, replace a crashed one with
 * exponential backoff, roll a restart one worker at a time, and stop them
 * all gracefully with a hard deadline.
 *
 * @module
 */

import cluster, { type Worker } from 'node:cluster';
import { restartDelay, type BackoffOptions } from './backoff.js';
import { ClusterError } from './errors.js';
import { CONFIG_ENV, isMessage, type WorkerConfig } from './protocol.js';

/**
 * A moment in the cluster's life, for `onEvent` (logging, tests).
 *
 * @example
 * onEvent: (e) => { if (e.type === 'restart') console.log(`slot ${e.slot} restarts in ${e.delay} ms`); }
 */
export type ClusterEvent =
  | { type: 'fork'; pid: number; slot: number }
  | { type: 'ready'; pid: number; slot: number; address: [string, number] }
  | { type: 'exit'; pid: number; slot: number; exitCode: number | null; signal: string | null; planned: boolean }
  | { type: 'restart'; slot: number; delay: number; crashes: number }
  | { type: 'roll'; phase: 'start' | 'end' }
  | { type: 'stop'; phase: 'start' | 'end' };

/** What the primary needs, every option resolved. */
export interface PrimaryConfig {
  workers: number;
  address: [string, number];
  /** The program a worker runs and its arguments (`cluster.setupPrimary`). */
  exec: string;
  args: string[];
  /** Module mode's part of each worker's configuration. */
  module?: string;
  serverOptions?: Record<string, unknown>;
  backoff: Readonly<Required<BackoffOptions>>;
  stopTimeout: number;
  onError: (err: ClusterError) => void;
  onEvent: (event: ClusterEvent) => void;
}

interface Slot {
  index: number;
  /** Consecutive crashes (reset once a worker of the slot stayed up `resetAfter`). */
  crashes: number;
  timer: NodeJS.Timeout | null;
}

type State = 'starting' | 'ready' | 'stopping';

interface Entry {
  worker: Worker;
  pid: number;
  slot: Slot;
  state: State;
  readyAt: number;
  /** Resolves once listening; rejects if the worker exits before. */
  ready: Promise<void>;
  exited: Promise<void>;
}

/** A cluster's primary. One per process: `node:cluster` has one set of workers. */
export class Primary {
  private readonly entries = new Set<Entry>();
  private readonly slots: Slot[];
  private stopping: Promise<void> | null = null;
  private rolling: Promise<void> | null = null;
  private rollAgain = false;
  private starting = true;
  private resolveStopped!: () => void;
  /** Resolves once every worker has exited after a stop. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(private readonly cfg: PrimaryConfig) {
    this.slots = Array.from({ length: cfg.workers }, (_, index) => ({ index, crashes: 0, timer: null }));
  }

  /** Forks every worker; resolves once all listen. A worker that exits first stops the rest and rejects. */
  async start(): Promise<void> {
    cluster.setupPrimary({ exec: this.cfg.exec, args: this.cfg.args });
    const first = this.slots.map((slot) => this.fork(slot));
    try {
      await Promise.all(first.map((e) => e.ready));
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      this.starting = false;
    }
  }

  /** The pids of the workers that are listening (not those starting or stopping). */
  pids(): number[] {
    return [...this.entries].filter((e) => e.state === 'ready').map((e) => e.pid);
  }

  private fork(slot: Slot): Entry {
    const config: WorkerConfig = { address: this.cfg.address, slot: slot.index };
    if (this.cfg.module !== undefined) config.module = this.cfg.module;
    if (this.cfg.serverOptions !== undefined) config.options = this.cfg.serverOptions;
    const worker = cluster.fork({ [CONFIG_ENV]: JSON.stringify(config) });
    let markReady!: () => void;
    let failStart!: (err: ClusterError) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    ready.catch(() => {}); // awaited by whoever needs it; never an unhandled rejection
    let onExited!: () => void;
    const exited = new Promise<void>((resolve) => (onExited = resolve));
    const entry: Entry = { worker, pid: worker.process.pid ?? 0, slot, state: 'starting', readyAt: 0, ready, exited };
    this.entries.add(entry);
    this.cfg.onEvent({ type: 'fork', pid: entry.pid, slot: slot.index });
    worker.on('message', (m: unknown) => {
      if (!isMessage(m, 'ready') || entry.state !== 'starting') return;
      entry.state = 'ready';
      entry.readyAt = Date.now();
      this.cfg.onEvent({ type: 'ready', pid: entry.pid, slot: slot.index, address: m.address });
      markReady();
    });
    // A failed IPC send (the worker died meanwhile): its 'exit' follows and says it all.
    worker.on('error', () => {});
    worker.on('exit', (code: number | null, signal: string | null) => {
      const was = entry.state;
      this.entries.delete(entry);
      onExited();
      this.cfg.onEvent({ type: 'exit', pid: entry.pid, slot: slot.index, exitCode: code, signal, planned: was === 'stopping' });
      if (was === 'starting') {
        failStart(new ClusterError('ERR_CLUSTER_START', `worker ${entry.pid} exited before listening (${how(code, signal)}); its output above says why`, { pid: entry.pid, exitCode: code, signal }));
      }
      if (was !== 'stopping') this.crashed(entry, was, code, signal);
    });
    return entry;
  }

  /** An unplanned exit: report it, and fork a replacement unless the slot still has a worker. */
  private crashed(entry: Entry, was: State, code: number | null, signal: string | null): void {
    // At start, a worker that never listened fails start() instead (which stops the rest).
    if (this.stopping !== null || (this.starting && was === 'starting')) return;
    const slot = entry.slot;
    const stillServed = [...this.entries].some((e) => e.slot === slot && e.state !== 'stopping');
    if (was === 'ready') {
      if (Date.now() - entry.readyAt >= this.cfg.backoff.resetAfter) slot.crashes = 0;
    }
    if (stillServed || slot.timer !== null) {
      // A rolling restart's new worker of this slot died: the roll reports it; the old one serves on.
      if (was === 'ready') this.cfg.onError(new ClusterError('ERR_WORKER_EXIT', `worker ${entry.pid} exited (${how(code, signal)}); its slot is still served`, { pid: entry.pid, exitCode: code, signal }));
      return;
    }
    slot.crashes++;
    const delay = restartDelay(slot.crashes, this.cfg.backoff);
    this.cfg.onError(new ClusterError('ERR_WORKER_EXIT', `worker ${entry.pid} exited (${how(code, signal)}); restarting it in ${delay} ms`, { pid: entry.pid, exitCode: code, signal, restartIn: delay }));
    this.cfg.onEvent({ type: 'restart', slot: slot.index, delay, crashes: slot.crashes });
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (this.stopping === null) this.fork(slot);
    }, delay);
  }

  /** Asks one worker to stop (graceful), SIGKILLs it at the deadline; resolves once it has exited. */
  private async stopEntry(entry: Entry): Promise<void> {
    if (!this.entries.has(entry)) return;
    const wasStarting = entry.state === 'starting';
    entry.state = 'stopping';
    if (wasStarting) {
      // Not listening yet, so nothing to answer, and maybe not yet reading
      // its IPC messages: a signal reaches it whatever it is doing.
      entry.worker.process.kill('SIGTERM');
    } else {
      try {
        entry.worker.send({ repyHttpCluster: 'stop' });
      } catch {
        // The channel is already closed: the worker is on its way out.
      }
    }
    const deadline = setTimeout(() => {
      this.cfg.onError(new ClusterError('ERR_WORKER_EXIT', `worker ${entry.pid} did not stop within ${this.cfg.stopTimeout} ms: killed`, { pid: entry.pid, signal: 'SIGKILL' }));
      entry.worker.process.kill('SIGKILL');
    }, this.cfg.stopTimeout);
    await entry.exited;
    clearTimeout(deadline);
  }

  /**
   * A rolling restart: for each listening worker, one at a time, fork its
   * replacement, wait until the replacement listens, then stop the old one
   * (gracefully) and wait for it to exit. The port always has a listening
   * worker, so no connection is refused. A replacement that fails to start
   * ends the roll (rejects); the old workers serve on. A restart asked for
   * during a roll runs once more after it.
   */
  restart(): Promise<void> {
    if (this.stopping !== null) return Promise.reject(new ClusterError('ERR_CLUSTER_STOPPED', 'the cluster is stopping or stopped'));
    if (this.rolling !== null) {
      this.rollAgain = true;
      return this.rolling;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.rollAgain = false;
          await this.rollOnce();
        } while (this.rollAgain && this.stopping === null);
      } finally {
        this.rolling = null;
      }
    };
    this.rolling = run();
    return this.rolling;
  }

  private async rollOnce(): Promise<void> {
    this.cfg.onEvent({ type: 'roll', phase: 'start' });
    for (const old of [...this.entries].filter((e) => e.state === 'ready')) {
      if (this.stopping !== null) return;
      if (!this.entries.has(old) || old.state !== 'ready') continue; // crashed meanwhile: already replaced
      const fresh = this.fork(old.slot);
      await fresh.ready;
      await this.stopEntry(old);
    }
    this.cfg.onEvent({ type: 'roll', phase: 'end' });
  }

  /** Stops every worker gracefully (each within `stopTimeout`, else SIGKILL); idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.cfg.onEvent({ type: 'stop', phase: 'start' });
      for (const slot of this.slots) {
        if (slot.timer !== null) clearTimeout(slot.timer);
        slot.timer = null;
      }
      await Promise.all([...this.entries].map((e) => this.stopEntry(e)));
      this.cfg.onEvent({ type: 'stop', phase: 'end' });
      this.resolveStopped();
    })();
    return this.stopping;
  }

  /** A second Ctrl-C: no more waiting. */
  kill(): void {
    for (const e of this.entries) e.worker.process.kill('SIGKILL');
  }
}

function how(code: number | null, signal: string | null): string {
  return signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
}
