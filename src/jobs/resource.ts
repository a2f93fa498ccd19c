/**
 * `jobResource(options)`: long runs over HTTP, the longrun protocol
 * (factorysh/longrun, issue #11). `POST {prefix}` starts a run and answers
 * at once with its id; `GET {prefix}{id}` streams its events as
 * Server-Sent Events or long-polls them as JSON; `HEAD` says whether it
 * exists; `DELETE` cancels it. docs/jobs.md describes the protocol.
 *
 * Where it differs from longrun's Go code, on purpose: a resume is
 * exclusive (`Last-Event-ID: n` gives the events after n, so a browser that
 * reconnects never sees an event twice); DELETE is implemented; the TTL is
 * enforced; the JSON GET really waits for the next event; a run that throws
 * is recovered as an `error` event.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { RepyHttpError } from '../errors.js';
import type { RequestDict } from '../server/request.js';
import type { ResponseDict } from '../server/response.js';
import type { Callback } from '../server/server.js';
import { body, BodyError, header, json } from '../server/helpers.js';
import { eventStream, lastEventId, type EventStream } from '../sse/index.js';
import { memoryStore, TERMINAL_STATES, type JobEvent, type JobState, type JobStore } from './store.js';

/** What a run function receives besides its arguments. */
export interface JobContext {
  /** The run's id (22 characters of base64url: 128 random bits). */
  readonly id: string;
  /** Aborted by DELETE, by `stop()`, or when the server stops: give up then. */
  readonly signal: AbortSignal;
  /**
   * Reports progress: a `running` event with `value` (a JSON value;
   * `undefined` becomes `null`). Resolves `true` once stored, `false` when
   * the run has already ended (canceled) and the event was dropped. Throws
   * `TypeError` at once for a value JSON cannot encode.
   */
  progress(value?: unknown): Promise<boolean>;
}

/** The function that does the work: `args` is the POSTed JSON value; its result is the `success` event's value. */
export type JobRun = (args: unknown, job: JobContext) => unknown;

/** The options of {@link jobResource}. */
export interface JobResourceOptions {
  /** The work. Required. */
  run: JobRun;
  /**
   * The path of the collection, ending with `/` (default `'/'`): `POST
   * /runs/` creates, `/runs/{id}` is one run. Mount the callback where the
   * requests arrive with this path (standalone, or `route` without `strip`).
   */
  prefix?: string;
  /** Milliseconds a finished run is kept (its events readable) before it is forgotten (default 600 000). */
  ttl?: number;
  /** Most runs running at once in this process (default 100); one more POST gets 503 with `Retry-After`. */
  maxJobs?: number;
  /**
   * Most events kept per run (default 1000, at least 3). Past it the
   * oldest `running` event is dropped; the `queued` and the terminal event
   * are always kept. A reader that resumes from before the kept window is
   * told: see docs/jobs.md, "Dropped events".
   */
  maxEvents?: number;
  /** Where events live (default: a {@link memoryStore} made for this resource, closed by `stop()`). */
  store?: JobStore;
  /** Most bytes of a POST's JSON content (default 1 MiB); more is 413. */
  bodyLimit?: number;
  /** Milliseconds between heartbeat comments on a quiet event stream (default 15 000; 0: none). */
  heartbeat?: number;
  /**
   * Told about failures the client must not see: a run that throws or
   * returns something JSON cannot encode, a store that fails in the
   * background. Default: printed on stderr. `null`: silent.
   */
  onError?: ((err: unknown, job: string | null) => void) | null;
}

/** What {@link jobResource} returns. */
export interface JobResource {
  /** The request callback: give it to `registerCallback`, or mount it with `route`. */
  readonly callback: Callback;
  /**
   * Cancels every run of this process (a `canceled` event, its signal
   * aborted), ends every open event stream and long poll, refuses new runs
   * (503), and closes the default store's timer. Idempotent.
   */
  stop(): Promise<void>;
  /** Runs of this process whose function has not returned yet (canceled ones included until they do). */
  readonly running: number;
  /** Event streams and long polls following a run now (a stream stops following after its terminal event). */
  readonly watchers: number;
  /** True once `stop()` was called (or the server was seen stopping). */
  readonly stopped: boolean;
}

/**
 * The `value` of the `error` event: the client learns that the run failed,
 * not why (that goes to `onError`).
 *
 * @example
 * // data of the last event of a run that threw:
 * JSON.stringify(RUN_FAILED) // '{"message":"the run failed"}'
 */
export const RUN_FAILED = Object.freeze({ message: 'the run failed' });

const DEFAULTS = { prefix: '/', ttl: 600_000, maxJobs: 100, maxEvents: 1000, bodyLimit: 1024 * 1024, heartbeat: 15_000 };
/** The long poll's `?wait=` in seconds: default and most. */
const WAIT_DEFAULT = 25;
const WAIT_MAX = 60;
/** An id is 16 random bytes in base64url: 22 characters. */
const ID_LENGTH = 22;

function reportToStderr(err: unknown, job: string | null): void {
  console.error(`repy-http/jobs: ${job === null ? '' : `run ${job}: `}`, err);
}

/** An integer option, at least `min`; `Infinity` only where `unbounded` (no limit makes sense there). */
function checkCount(name: string, v: unknown, fallback: number, min: number, unbounded = true): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= min) || (!Number.isSafeInteger(v) && !(unbounded && v === Infinity))) {
    throw new TypeError(`jobResource: options.${name} must be an integer >= ${min}${unbounded ? ' (or Infinity)' : ''}`);
  }
  return v;
}

function isIdChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
}

function looksLikeId(s: string): boolean {
  if (s.length !== ID_LENGTH) return false;
  for (let i = 0; i < s.length; i++) if (!isIdChar(s.charCodeAt(i))) return false;
  return true;
}

/** Whether a comma-separated media-type list (Accept, Content-Type) names `type`, parameters ignored. */
function namesMediaType(value: string | undefined, type: string, list: boolean): boolean {
  if (value === undefined) return false;
  for (const item of list ? value.split(',') : [value]) {
    const semi = item.indexOf(';');
    const media = (semi === -1 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (media === type) return true;
  }
  return false;
}

/** A JSON value copied (a later change by the run does not show), or a TypeError for what JSON cannot encode. */
function jsonCopy(value: unknown): unknown {
  if (value === undefined) return null;
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError(`a job value must be a JSON value, got ${typeof value}`);
  return JSON.parse(text) as unknown;
}

/** `GET`'s `since`: the Last-Event-ID (header or query), a non-negative integer; `null` when malformed. */
function sinceOf(req: RequestDict): number | null {
  const raw = lastEventId(req);
  if (raw === undefined || raw === '') return 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/** The `?wait=` of a long poll in ms: default 25 s, at most 60 s; `null` when malformed. */
function waitOf(req: RequestDict): number | null {
  const q = req.querydict;
  const raw = q !== null && Object.hasOwn(q, 'wait') ? q['wait'] : undefined;
  if (raw === undefined) return WAIT_DEFAULT * 1000;
  if (raw === null || raw.trim() === '') return null;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0) return null;
  return Math.round(Math.min(s, WAIT_MAX) * 1000);
}

/**
 * The events to send after `since`, with a `dropped` notice where ids skip
 * (events trimmed by `maxEvents`): `{ id: n - 1, state: 'dropped', value:
 * { from, to } }` before event n. Its id moves the reader's position past
 * the gap, so resuming from it does not report the gap again.
 */
function withNotices(events: readonly JobEvent[], since: number): { list: Array<{ id: number; state: string; value: unknown }>; last: number } {
  const list: Array<{ id: number; state: string; value: unknown }> = [];
  let last = since;
  for (const e of events) {
    if (e.id <= last) continue;
    if (e.id > last + 1) list.push({ id: e.id - 1, state: 'dropped', value: { from: last + 1, to: e.id - 1 } });
    list.push(e);
    last = e.id;
  }
  return { list, last };
}

/**
 * An event's `data:` text, made once per event rather than once per
 * watcher: one run fanned out to a thousand streams would otherwise
 * serialize each value a thousand times. Keyed weakly by the event object,
 * so the cache lives as long as the store keeps the event.
 */
const dataText = new WeakMap<object, string>();
function dataOf(e: { value: unknown }): string {
  let text = dataText.get(e);
  if (text === undefined) dataText.set(e, (text = JSON.stringify(e.value)));
  return text;
}

/**
 * A store call failed (its cause is the store's own error): the request
 * gets 503 with `Retry-After`, like any dependency that is down, and the
 * cause goes to `onError`. Wrapped here so that the resource can tell a
 * store's failure from a bug of its own, which stays the server's 500.
 */
class JobStoreFailure extends RepyHttpError {
  override name = 'JobStoreFailure';
}

/** `store` with every failure turned into a {@link JobStoreFailure}. */
function guarded(store: JobStore): JobStore {
  const wrap = <A extends unknown[], R>(name: string, f: (...a: A) => Promise<R>) => (...a: A): Promise<R> => {
    let p: Promise<R>;
    try {
      p = f(...a);
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.catch((err: unknown) => {
      throw new JobStoreFailure('ERR_JOB_STORE', `the job store failed (${name})`, { cause: err });
    });
  };
  return {
    create: wrap('create', store.create.bind(store)),
    append: wrap('append', store.append.bind(store)),
    read: wrap('read', store.read.bind(store)),
    subscribe: wrap('subscribe', store.subscribe.bind(store)),
    cancel: wrap('cancel', store.cancel.bind(store)),
    expire: wrap('expire', store.expire.bind(store)),
    ...(store.close === undefined ? {} : { close: store.close.bind(store) }),
  };
}

function problem(status: number, error: string, message: string, headers: Record<string, string> = {}): ResponseDict {
  const r = json({ error, message }, status);
  return { ...r, headers: { ...r.headers, 'Cache-Control': 'no-store', ...headers } };
}

/**
 * The job resource: a callback that serves the longrun protocol for `run`.
 *
 * - `POST {prefix}` with a JSON body (`Content-Type: application/json`,
 *   else 415; bad JSON 400; more than `bodyLimit` 413) starts a run:
 *   `201 Created`, `Location: {prefix}{id}`, `{"id": …}`; with `Accept:
 *   text/event-stream`, `303 See Other` to the same place. `maxJobs` runs
 *   already running: 503 with `Retry-After: 1`.
 * - `GET {prefix}{id}` with `Accept: text/event-stream`: the events after
 *   `Last-Event-ID` (exclusive), then live ones, ending after the terminal
 *   event. Otherwise a JSON array of the events after it, waiting up to
 *   `?wait=` seconds (default 25, at most 60) for one when there is none.
 * - `HEAD {prefix}{id}`: 200 or 404. `DELETE {prefix}{id}`: 202, 409 when
 *   it has finished, 404 when unknown.
 *
 * @example
 * import { registerCallback } from 'repy-http';
 * import { jobResource } from 'repy-http/jobs';
 * const jobs = jobResource({
 *   prefix: '/runs/',
 *   run: async (args, job) => {
 *     for (let i = 1; i <= 3; i++) {
 *       job.signal.throwIfAborted();
 *       await job.progress({ step: i });
 *       await new Promise((r) => setTimeout(r, 100));
 *     }
 *     return { sum: args.a + args.b };
 *   },
 * });
 * const id = await registerCallback(['127.0.0.1', 8080], jobs.callback);
 * // curl -i localhost:8080/runs/ -H 'Content-Type: application/json' -d '{"a":1,"b":2}'
 */
export function jobResource(options: JobResourceOptions): JobResource {
  if (options === null || typeof options !== 'object') throw new TypeError('jobResource(options): options must be an object');
  const run = options.run;
  if (typeof run !== 'function') throw new TypeError('jobResource: options.run must be a function');
  const prefix = options.prefix ?? DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || !prefix.endsWith('/')) {
    throw new TypeError("jobResource: options.prefix must start and end with '/' (e.g. '/runs/')");
  }
  const ttl = checkCount('ttl', options.ttl, DEFAULTS.ttl, 0);
  const maxJobs = checkCount('maxJobs', options.maxJobs, DEFAULTS.maxJobs, 1);
  const maxEvents = checkCount('maxEvents', options.maxEvents, DEFAULTS.maxEvents, 3);
  const bodyLimit = checkCount('bodyLimit', options.bodyLimit, DEFAULTS.bodyLimit, 0, false);
  const heartbeat = checkCount('heartbeat', options.heartbeat, DEFAULTS.heartbeat, 0, false);
  const onError = options.onError === undefined ? reportToStderr : options.onError;
  if (onError !== null && typeof onError !== 'function') throw new TypeError('jobResource: options.onError must be a function or null');
  const ownStore = options.store === undefined;
  const store: JobStore = guarded(options.store ?? memoryStore());

  /** Runs of this process: id → the controller behind their signal. */
  const local = new Map<string, AbortController>();
  /** Slots taken: running runs plus POSTs between the capacity check and the run's start. */
  let slots = 0;
  /** Open streams and long polls: each one's way to end now. */
  const watchers = new Set<() => void>();
  let stopped = false;

  function report(err: unknown, job: string | null): void {
    if (onError === null) return;
    if (err instanceof JobStoreFailure) err = err.cause ?? err; // the store's own error is the news
    try {
      onError(err, job);
    } catch {
      // A throwing onError must not take a run or the server down.
    }
  }

  /** The run is over (a terminal event is stored): forget it after `ttl`. */
  function finished(job: string): void {
    store.expire(job, ttl).catch((e: unknown) => report(e, job));
  }

  async function start(job: string, args: unknown): Promise<void> {
    const controller = new AbortController();
    local.set(job, controller);
    let settled = false;
    let unsubscribe = (): void => {};
    let outcome: { state: JobState; value: unknown };
    try {
      // Cancellation arrives as an event, from this process or another one
      // (a DELETE served elsewhere, with a shared store): abort where it runs.
      const cancel = (): void => {
        if (!settled) controller.abort(new DOMException('the run was canceled', 'AbortError'));
      };
      unsubscribe = await store.subscribe(job, (e) => {
        if (e.state === 'canceled') cancel();
      });
      // A cancel stored before the subscription took (another process's DELETE): seen here.
      if ((await store.read(job, 1))?.some((e) => e.state === 'canceled') === true) cancel();
      const context: JobContext = {
        id: job,
        signal: controller.signal,
        async progress(value?: unknown): Promise<boolean> {
          const copy = jsonCopy(value);
          if (settled || controller.signal.aborted) return false;
          return (await store.append(job, 'running', copy, maxEvents)) !== null;
        },
      };
      const result: unknown = await run(args, context);
      outcome = { state: 'success', value: jsonCopy(result) };
    } catch (err) {
      // Expected when the run gave up after a cancel; reported otherwise.
      if (!controller.signal.aborted) report(err, job);
      outcome = { state: 'error', value: RUN_FAILED };
    } finally {
      settled = true;
      unsubscribe();
      local.delete(job);
      slots--;
    }
    // After a cancel the store refuses this append: the late result is dropped.
    if ((await store.append(job, outcome.state, outcome.value, maxEvents)) !== null) finished(job);
  }

  async function post(req: RequestDict, wantsStream: boolean): Promise<ResponseDict> {
    if (stopped) return problem(503, 'stopping', 'the job resource is stopping', { 'Retry-After': '5' });
    if (!namesMediaType(header(req, 'content-type'), 'application/json', false)) {
      return problem(415, 'unsupported_media_type', 'send the arguments as JSON with Content-Type: application/json');
    }
    if (slots >= maxJobs) return problem(503, 'busy', `${maxJobs} runs are running; retry later`, { 'Retry-After': '1' });
    slots++; // taken now, so that concurrent POSTs cannot all pass the check while reading their bodies
    let started = false;
    try {
      let args: unknown;
      try {
        args = await body.json(req, { limit: bodyLimit });
      } catch (e) {
        if (e instanceof BodyError) return problem(e.status, e.status === 413 ? 'too_large' : 'bad_json', e.message);
        throw e;
      }
      if (stopped) return problem(503, 'stopping', 'the job resource is stopping', { 'Retry-After': '5' });
      const job = randomBytes(16).toString('base64url');
      if ((await store.create(job, null)) === null) {
        return problem(503, 'full', 'too many runs are kept; retry later', { 'Retry-After': '1' });
      }
      if (stopped) {
        // stop() ran while the store created it: it must not start now.
        if ((await store.cancel(job, { reason: 'the server is stopping' })) !== null) finished(job);
        return problem(503, 'stopping', 'the job resource is stopping', { 'Retry-After': '5' });
      }
      started = true;
      start(job, args).catch((e: unknown) => report(e, job));
      const location = prefix + job;
      const r = json({ id: job }, wantsStream ? 303 : 201);
      return { ...r, headers: { ...r.headers, Location: location, 'Cache-Control': 'no-store' } };
    } finally {
      if (!started) slots--;
    }
  }

  /** Ends the wait when the server stops: that is how `stopCallback` cancels this resource's runs. */
  function watchServerStop(req: RequestDict): void {
    req.signal.addEventListener('abort', () => {
      const reason = req.signal.reason as { code?: unknown } | undefined;
      if (reason?.code === 'ERR_SERVER_STOPPING') void stop();
    }, { once: true });
  }

  async function stream(req: RequestDict, job: string, since: number): Promise<ResponseDict> {
    // Subscribe before reading, so that no event falls between the two;
    // what both deliver is sent once (ids only grow).
    const pending: JobEvent[] = [];
    let s: EventStream | null = null;
    const end = (): void => s?.close();
    let last = since;
    const deliver = (events: readonly JobEvent[]): void => {
      const { list, last: to } = withNotices(events, last);
      last = to;
      for (const e of list) {
        void s!.send({ id: e.id, event: e.state, data: dataOf(e) });
        if (TERMINAL_STATES.has(e.state as JobState)) s!.close();
      }
      if (s!.isClosed) release();
    };
    const unsubscribe = await store.subscribe(job, (e) => {
      if (s === null) pending.push(e);
      else if (e.id === last + 1) {
        // The live case, once per watcher per event: no list to build.
        last = e.id;
        void s.send({ id: e.id, event: e.state, data: dataOf(e) });
        if (TERMINAL_STATES.has(e.state)) s.close();
        if (s.isClosed) release();
      } else deliver([e]);
    });
    /**
     * The stream takes no more events: ended after the terminal event, or
     * cut because its reader fell `maxQueue` bytes behind (its connection
     * lingers until the server's writeTimeout, but nothing more is queued).
     * Stop following the run now.
     */
    let released = false;
    function release(): void {
      if (released) return;
      released = true;
      unsubscribe();
      watchers.delete(end);
    }
    let backlog: JobEvent[] | null;
    try {
      backlog = await store.read(job, since);
    } catch (e) {
      unsubscribe();
      throw e;
    }
    if (backlog === null) {
      unsubscribe();
      return problem(404, 'not_found', 'no such run');
    }
    watchServerStop(req);
    s = eventStream(req, { heartbeat });
    watchers.add(end);
    void s.closed.then(release);
    deliver(backlog);
    deliver(pending);
    // A resume from the terminal event or beyond: nothing more will come.
    const tail = backlog.length > 0 ? backlog[backlog.length - 1]! : null;
    if (tail === null && (await isFinished(job))) s.close();
    if (stopped) s.close();
    return s.response;
  }

  async function isFinished(job: string): Promise<boolean> {
    const all = await store.read(job, 0);
    return all === null || (all.length > 0 && TERMINAL_STATES.has(all[all.length - 1]!.state));
  }

  async function poll(req: RequestDict, job: string, since: number): Promise<ResponseDict> {
    const wait = waitOf(req);
    if (wait === null) return problem(400, 'bad_wait', `wait must be a number of seconds from 0 to ${WAIT_MAX}`);
    let wake: (() => void) | null = null;
    let woken = false;
    const unsubscribe = await store.subscribe(job, () => {
      woken = true;
      wake?.();
    });
    try {
      let events = await store.read(job, since);
      if (events === null) return problem(404, 'not_found', 'no such run');
      if (events.length === 0 && wait > 0 && !stopped && !(await isFinished(job))) {
        // The long poll: the server's callbackTimeout must not cut it.
        req.setTimeout(wait + 10_000);
        watchServerStop(req);
        if (!woken) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, wait);
            const signal = req.signal;
            function done(): void {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              watchers.delete(done);
              wake = null;
              resolve();
            }
            wake = done;
            watchers.add(done);
            signal.addEventListener('abort', done, { once: true });
            if (signal.aborted) done();
          });
        }
        events = (await store.read(job, since)) ?? [];
      }
      const r = json(withNotices(events, since).list, 200);
      return { ...r, headers: { ...r.headers, 'Cache-Control': 'no-store' } };
    } finally {
      unsubscribe();
    }
  }

  async function head(job: string): Promise<ResponseDict> {
    const events = await store.read(job, 0);
    if (events === null) return { statuscode: 404, headers: { 'Cache-Control': 'no-store' } };
    const r = json(withNotices(events, 0).list, 200);
    return { ...r, headers: { ...r.headers, 'Cache-Control': 'no-store' } };
  }

  async function remove(job: string): Promise<ResponseDict> {
    const result = await store.cancel(job, { reason: 'canceled by DELETE' });
    if (result === null) return problem(404, 'not_found', 'no such run');
    if (result === 'finished') return problem(409, 'finished', 'the run has already finished');
    local.get(job)?.abort(new DOMException('the run was canceled', 'AbortError'));
    finished(job);
    return json({ id: job, state: 'canceled' }, 202);
  }

  async function callback(req: RequestDict): Promise<ResponseDict> {
    try {
      return await dispatch(req);
    } catch (err) {
      if (!(err instanceof JobStoreFailure)) throw err;
      report(err, null);
      return problem(503, 'store_unavailable', 'the job store is unavailable; retry later', { 'Retry-After': '1' });
    }
  }

  async function dispatch(req: RequestDict): Promise<ResponseDict> {
    const path = req.path;
    if (path === prefix || path === prefix.slice(0, -1)) {
      if (req.verb === 'POST') return post(req, namesMediaType(header(req, 'accept'), 'text/event-stream', true));
      return problem(405, 'method_not_allowed', 'POST a run here', { Allow: 'POST' });
    }
    if (!path.startsWith(prefix)) return problem(404, 'not_found', 'not a run');
    const job = path.slice(prefix.length);
    if (!looksLikeId(job)) return problem(404, 'not_found', 'no such run');
    switch (req.verb) {
      case 'GET': {
        const since = sinceOf(req);
        if (since === null) return problem(400, 'bad_last_event_id', 'Last-Event-ID must be an event id (a non-negative integer)');
        if (namesMediaType(header(req, 'accept'), 'text/event-stream', true)) return stream(req, job, since);
        return poll(req, job, since);
      }
      case 'HEAD':
        return head(job);
      case 'DELETE':
        return remove(job);
      default:
        return problem(405, 'method_not_allowed', 'GET, HEAD or DELETE a run', { Allow: 'GET, HEAD, DELETE' });
    }
  }

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    const jobs = [...local.keys()];
    await Promise.all(jobs.map(async (job) => {
      try {
        const r = await store.cancel(job, { reason: 'the server is stopping' });
        if (r !== null && r !== 'finished') finished(job);
      } catch (e) {
        report(e, job);
      }
      local.get(job)?.abort(new DOMException('the server is stopping', 'AbortError'));
    }));
    for (const end of [...watchers]) end();
    if (ownStore) await store.close?.();
  }

  return {
    callback,
    stop,
    get running() {
      return local.size;
    },
    get watchers() {
      return watchers.size;
    },
    get stopped() {
      return stopped;
    },
  };
}
