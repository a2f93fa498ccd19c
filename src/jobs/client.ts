/**
 * `runJob(url, args)`: the client side of the job protocol. It POSTs the
 * arguments with `Accept: text/event-stream`, follows the 303 to the run,
 * reads the run's events with `events()` (which reconnects with
 * `Last-Event-ID` when the connection breaks, so no event is missed or
 * seen twice), reports progress, and settles with the outcome.
 *
 * @module
 */

import { open } from '../client/client.js';
import { events } from '../sse/index.js';
import { JobCanceledError, JobError } from './errors.js';

/** One progress report: a `queued` or `running` event, or a `dropped` notice (events trimmed by the server's `maxEvents`). */
export interface JobProgress {
  /** The event id (1, 2, 3…). */
  id: number;
  state: 'queued' | 'running' | 'dropped';
  /** The event's JSON value (`dropped`: `{ from, to }`, the ids not kept). */
  value: unknown;
}

/** The options of {@link runJob}. */
export interface RunJobOptions {
  /** Called with every event before the outcome, in order. A throw from it is not caught: it rejects `runJob` (and cancels the run, as an abort does). */
  onProgress?: (progress: JobProgress) => void;
  /** Called once the run exists, with its id and URL (to watch it elsewhere, or to resume). */
  onCreated?: (run: { id: string; url: string }) => void;
  /**
   * Stops waiting: `runJob` rejects with the signal's reason. By default the
   * run is also canceled on the server (a DELETE), since nobody waits for
   * its result any more; `cancelOnAbort: false` leaves it running.
   */
  signal?: AbortSignal;
  /**
   * Send DELETE when `runJob` stops waiting before the outcome (default
   * true): `signal` aborted, `onProgress` threw, or the stream was lost.
   */
  cancelOnAbort?: boolean;
  /** Extra request fields for every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** Milliseconds before reconnecting a broken stream, until the server sends `retry` (default 1000). */
  retry?: number;
  /** Reconnections in a row without an event before giving up with the connection error (default 5). */
  maxReconnects?: number;
  /**
   * Milliseconds for each connect and each silence (the client's `timeout`;
   * default: the client's defaults). On the stream, keep it above the
   * server's heartbeat (15 s by default): a longer silence is taken for a
   * dead connection, which is reopened.
   */
  timeout?: number;
}

const OPTION_KEYS = new Set(['onProgress', 'onCreated', 'signal', 'cancelOnAbort', 'headers', 'retry', 'maxReconnects', 'timeout']);
/** The POST's answer is a small JSON document: more is not the protocol. */
const MAX_POST_ANSWER = 64 * 1024;

function parseData(data: string, url: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch (e) {
    throw new JobError('ERR_JOB_PROTOCOL', `an event of ${url} has data that is not JSON`, { url }, { cause: e });
  }
}

/** DELETE the run, best effort: the server may be gone, and the caller is leaving anyway. */
async function cancel(url: string, headers: Record<string, string>): Promise<void> {
  try {
    const res = await open(url, { method: 'DELETE', httpheaders: headers, timeout: 5000, totalTimeout: 10_000 });
    res.close();
  } catch {
    // Nothing to do: the run will end on its own or be canceled by the server's stop.
  }
}

/**
 * Starts a run of the job resource at `url` (its collection, e.g.
 * `http://host/runs/`) with the JSON value `args`, and resolves with the
 * value of its `success` event. `onProgress` sees the events before it.
 *
 * Rejects with {@link JobError} (`ERR_JOB_FAILED`: the run ended in
 * `error`; `ERR_JOB_REFUSED`: the POST was refused, e.g. 503 when the
 * server is busy; `ERR_JOB_PROTOCOL`), {@link JobCanceledError} (the run
 * was canceled), the signal's reason when `signal` aborts (then the run is
 * canceled too, unless `cancelOnAbort: false`), a client error
 * (`HttpClientError`) when the server cannot be reached, an `SseError`
 * when the run's stream is refused (e.g. 404 once it has expired), and
 * `TypeError` for `args` that JSON cannot encode.
 *
 * @example
 * import { runJob, JobError } from 'repy-http/jobs';
 * const result = await runJob('http://127.0.0.1:8080/runs/', { n: 3 }, {
 *   onProgress: ({ id, state, value }) => console.log(id, state, value),
 *   signal: AbortSignal.timeout(60_000),
 * });
 */
export async function runJob(url: string, args: unknown, options: RunJobOptions = {}): Promise<unknown> {
  if (typeof url !== 'string') throw new TypeError('runJob(url, args): url must be a string');
  if (options === null || typeof options !== 'object') throw new TypeError('runJob: options must be an object');
  for (const k of Object.keys(options)) if (!OPTION_KEYS.has(k)) throw new TypeError(`runJob: unknown option ${JSON.stringify(k)}`);
  const body = JSON.stringify(args) as string | undefined;
  if (body === undefined) throw new TypeError(`runJob: args must be a JSON value, got ${typeof args}`);
  const { onProgress, onCreated, signal } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('runJob: options.onProgress must be a function');
  if (onCreated !== undefined && typeof onCreated !== 'function') throw new TypeError('runJob: options.onCreated must be a function');
  const headers = options.headers ?? {};
  const timing = options.timeout !== undefined ? { timeout: options.timeout } : {};
  signal?.throwIfAborted();

  const res = await open(url, {
    postdata: body,
    httpheaders: { ...headers, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    followRedirects: false,
    maxResponseSize: MAX_POST_ANSWER,
    ...timing,
    ...(signal !== undefined ? { signal } : {}),
  });
  const text = (await res.read()).toString('utf8');
  let answer: unknown;
  try {
    answer = text === '' ? undefined : JSON.parse(text);
  } catch {
    answer = text;
  }
  const location = res.headers['Location'];
  if (res.statuscode !== 303 && res.statuscode !== 201) {
    const detail = (answer as { message?: unknown } | undefined)?.message;
    throw new JobError('ERR_JOB_REFUSED', `${url} refused the run: ${res.statuscode}${typeof detail === 'string' ? ` (${detail})` : ''}`, { url, status: res.statuscode, value: answer });
  }
  if (location === undefined) throw new JobError('ERR_JOB_PROTOCOL', `${url} answered ${res.statuscode} without a Location`, { url, status: res.statuscode });
  // The 303's Location, resolved against the URL that answered (RFC 9110 §10.2.2).
  const runUrl = new URL(location, res.url).href;
  const id = (answer as { id?: unknown } | undefined)?.id;
  onCreated?.({ id: typeof id === 'string' ? id : runUrl.slice(runUrl.lastIndexOf('/') + 1), url: runUrl });

  const cancelOnAbort = options.cancelOnAbort ?? true;
  // The stream has its own controller, so that a failure here (onProgress
  // throwing, a protocol error) can close it too.
  const stream = new AbortController();
  const onAbort = (): void => stream.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let outcome = false; // a terminal event arrived
  try {
    for await (const e of events(runUrl, {
      signal: stream.signal,
      headers,
      retry: options.retry ?? 1000,
      maxReconnects: options.maxReconnects ?? 5,
      ...(options.timeout !== undefined ? { connectTimeout: options.timeout, idleTimeout: options.timeout } : {}),
    })) {
      const value = parseData(e.data, runUrl);
      switch (e.event) {
        case 'success':
          outcome = true;
          return value;
        case 'error':
          outcome = true;
          throw new JobError('ERR_JOB_FAILED', `the run ${runUrl} failed${typeof (value as { message?: unknown })?.message === 'string' ? `: ${(value as { message: string }).message}` : ''}`, { url: runUrl, value });
        case 'canceled':
          outcome = true;
          throw new JobCanceledError(runUrl, value);
        case 'queued':
        case 'running':
        case 'dropped':
          onProgress?.({ id: Number(e.id), state: e.event, value });
          break;
        default:
          throw new JobError('ERR_JOB_PROTOCOL', `the run ${runUrl} sent an event of unknown state ${JSON.stringify(e.event)}`, { url: runUrl });
      }
    }
    // events() ends only when its signal aborts.
    throw signal?.reason ?? new JobError('ERR_JOB_PROTOCOL', `the stream of ${runUrl} ended without an outcome`, { url: runUrl });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.abort();
    if (!outcome && cancelOnAbort) await cancel(runUrl, headers);
  }
}
