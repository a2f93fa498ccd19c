/**
 * Where a job resource keeps its runs' events: the {@link JobStore}
 * interface, and {@link memoryStore}, the in-memory default.
 *
 * The interface is asynchronous and small on purpose, because a shared
 * store for several processes implements it too (issue #14, Redis): every
 * method is one atomic step there (a script or a MULTI), and `subscribe`
 * is a pub/sub subscription. The job resource never reads a store's
 * internals, so whatever it needs must be here:
 *
 * | method | what it does | in a shared store |
 * | --- | --- | --- |
 * | `create` | a new run with its first event, `queued` (id 1) | `SET NX` of the run, its event list |
 * | `append` | the next event (ids 1, 2, 3…), refused after a terminal one; keeps at most `maxEvents` | a script: check the last state, `INCR`, `RPUSH`, trim, `PUBLISH` |
 * | `read` | the kept events with an id above `since` | `LRANGE` |
 * | `subscribe` | a listener for the run's new events; returns the unsubscribe function | `SUBSCRIBE` to the run's channel |
 * | `cancel` | appends `canceled` unless the run has finished (404 / 409 / 202) | the `append` script |
 * | `expire` | forget a finished run after `ms` | `PEXPIRE` |
 *
 * Cancellation goes through the store, not through memory: the process
 * that runs a job subscribes to its events, so a `canceled` event appended
 * by any process (a DELETE that reached another one) aborts the run where
 * it runs.
 *
 * @module
 */

import { MAX_TIMER } from '../message/timers.js';

/** The state an event reports. `queued` is first; `running` repeats; the last three are terminal. */
export type JobState = 'queued' | 'running' | 'success' | 'error' | 'canceled';

/**
 * The terminal states: exactly one of them ends every run.
 *
 * @example
 * const events = await store.read(id, 0);
 * const finished = events !== null && TERMINAL_STATES.has(events.at(-1).state);
 */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set<JobState>(['success', 'error', 'canceled']);

/** One event of a run: its rank (1, 2, 3… per run), its state, and a JSON value. */
export interface JobEvent {
  readonly id: number;
  readonly state: JobState;
  readonly value: unknown;
}

/**
 * The storage of a job resource. Every method is async (a shared store
 * talks to a server). `value`s are JSON values, already copied by the
 * resource: a store may keep them as they are or serialize them.
 *
 * @example
 * // A store that logs every event it stores, around the memory store:
 * const inner = memoryStore();
 * const logged: JobStore = { ...inner, async append(job, state, value, max) {
 *   const e = await inner.append(job, state, value, max);
 *   if (e) console.log(job, e.id, e.state);
 *   return e;
 * } };
 */
export interface JobStore {
  /**
   * Records a new run `job` whose first event is `{ id: 1, state:
   * 'queued', value }`, and resolves with that event; with `null` when the
   * store cannot take another run (full: the resource answers 503).
   * Rejects for an id that already exists (ids are random, so never).
   */
  create(job: string, value: unknown): Promise<JobEvent | null>;
  /**
   * Appends the run's next event (id: the last id + 1) and delivers it to
   * its subscribers; resolves with it. Resolves with `null` when the run
   * is unknown or has finished (its last event is terminal): that is how a
   * late result of a canceled run is dropped. When the run then holds more
   * than `maxEvents` events, its oldest `running` event is dropped (the
   * first and the terminal event are always kept).
   */
  append(job: string, state: JobState, value: unknown, maxEvents: number): Promise<JobEvent | null>;
  /** The kept events with an id above `since`, in order; `null` for an unknown run. */
  read(job: string, since: number): Promise<JobEvent[] | null>;
  /**
   * Calls `listener` with every event appended to `job` from now on, in
   * order, until the returned function is called. Works for any id, known
   * or not (as a pub/sub channel does). A listener must not throw; if it
   * does, the store ignores it.
   */
  subscribe(job: string, listener: (event: JobEvent) => void): Promise<() => void>;
  /**
   * Appends the terminal `canceled` event with `value` unless the run has
   * finished. Resolves with the event, `'finished'` (the run had already
   * ended: 409), or `null` (unknown: 404).
   */
  cancel(job: string, value: unknown): Promise<JobEvent | 'finished' | null>;
  /** Forgets `job` (its events, and it answers 404) `ms` milliseconds from now; `Infinity`: never. */
  expire(job: string, ms: number): Promise<void>;
  /** Releases timers and connections. The resource calls it on `stop()` only for the store it made itself. */
  close?(): Promise<void>;
}

/** The options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most runs held at once, running or finished but not yet expired
   * (default 10 000). Past it `create` resolves `null` and a POST gets 503:
   * a flood of short runs cannot grow memory beyond this × `maxEvents`.
   */
  maxRuns?: number;
}

interface Run {
  events: JobEvent[];
  last: number;
  finished: boolean;
}

/**
 * The in-memory {@link JobStore}: a Map of runs, each with its event
 * array; subscribers are called synchronously, in subscription order.
 *
 * Expiry: one timer for the whole store, set for the earliest deadline
 * and `unref`'d (it never keeps a process alive), cleared by `close()`.
 * Deadlines are kept in the order `expire` was called, so with one `ttl`
 * per store (the job resource's case) each run is forgotten on time; a
 * shorter `ms` than an earlier call's is honoured when that earlier one
 * falls due, never before its own time.
 *
 * @example
 * import { jobResource, memoryStore } from 'repy-http/jobs';
 * const jobs = jobResource({ run, store: memoryStore({ maxRuns: 1000 }) });
 */
export function memoryStore(options: MemoryStoreOptions = {}): JobStore & { readonly size: number; close(): Promise<void> } {
  const maxRuns = options.maxRuns ?? 10_000;
  if (!Number.isSafeInteger(maxRuns) || maxRuns < 1) throw new TypeError('memoryStore: maxRuns must be a positive integer');
  const runs = new Map<string, Run>();
  const channels = new Map<string, Set<(e: JobEvent) => void>>();
  /** job → deadline, in the order expire() was called (delete + set moves a job to the end). */
  const deadlines = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  function publish(job: string, event: JobEvent): void {
    const set = channels.get(job);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure is its own; the event is stored either way.
      }
    }
  }

  function push(job: string, run: Run, state: JobState, value: unknown, maxEvents: number): JobEvent {
    const event: JobEvent = Object.freeze({ id: ++run.last, state, value });
    run.events.push(event);
    if (TERMINAL_STATES.has(state)) run.finished = true;
    if (run.events.length > maxEvents) {
      const i = run.events.findIndex((e) => e.state === 'running');
      if (i !== -1) run.events.splice(i, 1);
    }
    publish(job, event);
    return event;
  }

  function reap(): void {
    timer = null;
    const now = Date.now();
    for (const [job, at] of deadlines) {
      if (at > now) break;
      deadlines.delete(job);
      runs.delete(job);
    }
    schedule();
  }

  function schedule(): void {
    if (closed || timer !== null) return;
    const first = deadlines.values().next();
    if (first.done === true) return;
    // Node's timers hold at most 2^31 - 1 ms; a later deadline is checked again then.
    timer = setTimeout(reap, Math.min(Math.max(0, first.value - Date.now()), MAX_TIMER));
    timer.unref();
  }

  return {
    get size() {
      return runs.size;
    },
    async create(job, value) {
      if (runs.has(job)) throw new Error(`memoryStore: run ${job} exists`);
      if (runs.size >= maxRuns) return null;
      const event: JobEvent = Object.freeze({ id: 1, state: 'queued', value });
      runs.set(job, { events: [event], last: 1, finished: false });
      return event;
    },
    async append(job, state, value, maxEvents) {
      const run = runs.get(job);
      if (run === undefined || run.finished) return null;
      return push(job, run, state, value, maxEvents);
    },
    async read(job, since) {
      const run = runs.get(job);
      if (run === undefined) return null;
      // Ids ascend: skip to the first above `since` from the end, since a
      // resume usually asks for the last few.
      let i = run.events.length;
      while (i > 0 && run.events[i - 1]!.id > since) i--;
      return run.events.slice(i);
    },
    async subscribe(job, listener) {
      let set = channels.get(job);
      if (set === undefined) channels.set(job, (set = new Set()));
      const mine = (e: JobEvent): void => listener(e);
      set.add(mine);
      return () => {
        const s = channels.get(job);
        if (s === undefined) return;
        s.delete(mine);
        if (s.size === 0) channels.delete(job);
      };
    },
    async cancel(job, value) {
      const run = runs.get(job);
      if (run === undefined) return null;
      if (run.finished) return 'finished';
      return push(job, run, 'canceled', value, Infinity);
    },
    async expire(job, ms) {
      if (!runs.has(job)) return;
      deadlines.delete(job);
      if (ms === Infinity) return; // kept for good (a ttl of Infinity)
      deadlines.set(job, Date.now() + ms);
      schedule();
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
