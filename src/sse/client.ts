/**
 * `events(url)`: an `EventSource` for Node, over the project's own client
 * (`open`, its strict response parser, its connect and idle timeouts) and
 * the incremental event-stream parser of ./parse.ts.
 *
 * It follows the reconnection rules of WHATWG HTML §9.2.3: when the
 * connection ends or breaks, wait the reconnection time (3 s, or the last
 * `retry` the server sent) and open it again with `Last-Event-ID`; a 204,
 * any other status than 200, or a response that is not
 * `text/event-stream` ends it for good (an {@link SseError}).
 *
 * @module
 */

import { open, HttpBrokenServerError, HttpConnectionError, HttpTimeoutError, type HttpResponse } from '../client/client.js';
import { SseError } from './errors.js';
import { EventStreamParser, PARSER_DEFAULTS, type SseMessage } from './parse.js';
import { MAX_TIMER } from '../message/timers.js';

/** The options of {@link events}. */
export interface EventsOptions {
  /** Ends the iteration and closes the connection at once (also while connecting or waiting to reconnect). */
  signal?: AbortSignal;
  /** Extra request header fields (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** Sent as `Last-Event-ID` on the first connection (later ones send the last id received). */
  lastEventId?: string;
  /** The reconnection delay in ms until the server sends `retry` (default 3000). */
  retry?: number;
  /** Most reconnections in a row that receive no event; one more rethrows the connection error (default Infinity, as EventSource). */
  maxReconnects?: number;
  /** Milliseconds for the name lookup and connect (the client's `connectTimeout`, default 10 000). */
  connectTimeout?: number;
  /**
   * Milliseconds without a byte before the connection is taken as dead and
   * reopened (default 300 000; 0: none). A server's heartbeats (15 s with
   * `eventStream`) keep a healthy stream under it.
   */
  idleTimeout?: number;
  /** Most characters in one line (default 4 Mi); past it: `ERR_SSE_LINE_TOO_LONG`. */
  maxLineLength?: number;
  /** Most characters of data in one event (default 16 Mi); past it: `ERR_SSE_EVENT_TOO_LARGE`. */
  maxEventSize?: number;
}

const DEFAULT_RETRY = 3000;
const DEFAULT_IDLE = 300_000;

const OPTION_KEYS = new Set(['signal', 'headers', 'lastEventId', 'retry', 'maxReconnects', 'connectTimeout', 'idleTimeout', 'maxLineLength', 'maxEventSize']);

function nonNegative(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`events: options.${name} must be a non-negative number`);
  return v;
}

/**
 * Opens an event stream and yields its events `{ id, event, data }` as they
 * arrive, reconnecting (with `Last-Event-ID`) whenever the connection ends.
 * `break` out of the loop, or abort `signal`, to close it.
 *
 * Throws {@link SseError} when the server refuses the stream (204,
 * another status, not `text/event-stream`) or sends a line or event past
 * the limits; the client's own errors (`ValueError` for a bad URL, an
 * `HttpBrokenServerError` for a response that is not HTTP) as they are.
 * Connection errors and timeouts lead to a reconnection.
 *
 * @example
 * import { events } from 'repy-http/sse';
 * const ac = new AbortController();
 * for await (const e of events('http://127.0.0.1:8080/clock', { signal: ac.signal })) {
 *   console.log(e.id, e.event, e.data);
 *   if (e.data === 'done') break; // closes the connection
 * }
 */
export function events(url: string, options: EventsOptions = {}): AsyncIterableIterator<SseMessage> {
  if (typeof url !== 'string') throw new TypeError('events(url): url must be a string');
  if (options === null || typeof options !== 'object') throw new TypeError('events: options must be an object');
  for (const k of Object.keys(options)) if (!OPTION_KEYS.has(k)) throw new TypeError(`events: unknown option ${JSON.stringify(k)}`);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('events: options.signal must be an AbortSignal');
  const headers = options.headers === undefined ? {} : options.headers;
  if (headers === null || typeof headers !== 'object') throw new TypeError('events: options.headers must be an object');
  if (options.lastEventId !== undefined && typeof options.lastEventId !== 'string') throw new TypeError('events: options.lastEventId must be a string');
  const settings = {
    retry: nonNegative('retry', options.retry, DEFAULT_RETRY),
    maxReconnects: nonNegative('maxReconnects', options.maxReconnects, Infinity),
    connectTimeout: nonNegative('connectTimeout', options.connectTimeout, 10_000),
    idleTimeout: nonNegative('idleTimeout', options.idleTimeout, DEFAULT_IDLE),
    maxLineLength: nonNegative('maxLineLength', options.maxLineLength, PARSER_DEFAULTS.maxLineLength),
    maxEventSize: nonNegative('maxEventSize', options.maxEventSize, PARSER_DEFAULTS.maxEventSize),
  };
  // return() on a generator waits for a pending next(); aborting `stop`
  // first makes that next() end at once, so `return()` (what `break` and a
  // throw in the loop call) closes the connection whatever the iteration
  // is waiting for.
  const stop = new AbortController();
  const both = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  const gen = run(url, headers, options.lastEventId ?? '', both, settings);
  return {
    next: () => gen.next(),
    return: (value?: unknown) => {
      stop.abort();
      return gen.return(value as undefined);
    },
    throw: (err?: unknown) => {
      stop.abort();
      return gen.throw(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function* run(
  url: string,
  headers: Record<string, string>,
  startId: string,
  signal: AbortSignal | undefined,
  s: { retry: number; maxReconnects: number; connectTimeout: number; idleTimeout: number; maxLineLength: number; maxEventSize: number },
): AsyncGenerator<SseMessage, void, undefined> {
  let lastEventId = startId;
  let retry = s.retry;
  let failures = 0;
  for (;;) {
    if (signal?.aborted) return;
    const parser = new EventStreamParser({ maxLineLength: s.maxLineLength, maxEventSize: s.maxEventSize, lastEventId });
    let res: HttpResponse | null = null;
    let lost: unknown = null; // why the connection ended, when it broke
    try {
      res = await open(url, {
        httpheaders: {
          Accept: 'text/event-stream',
          'Cache-Control': 'no-cache',
          ...headers,
          ...(lastEventId !== '' ? { 'Last-Event-ID': lastEventId } : {}),
        },
        // A stream has no end: neither a total time nor a size bounds it
        // (the parser bounds each line and event, idleTimeout a dead peer).
        totalTimeout: 0,
        maxResponseSize: Infinity,
        connectTimeout: s.connectTimeout,
        idleTimeout: s.idleTimeout,
        ...(signal !== undefined ? { signal } : {}),
      });
      checkResponse(res);
      failures = 0;
      for await (const chunk of res) {
        for (const message of parser.push(chunk)) {
          lastEventId = parser.lastEventId;
          yield message;
        }
        lastEventId = parser.lastEventId; // an id-only block moves it too
        if (parser.retry !== null) retry = parser.retry;
      }
      parser.end(); // the server ended the stream: reconnect
    } catch (err) {
      if (signal?.aborted) return;
      if (!reconnectable(err)) throw err;
      lost = err;
    } finally {
      res?.close();
    }
    if (parser.retry !== null) retry = parser.retry;
    lastEventId = parser.lastEventId;
    if (lost !== null && ++failures > s.maxReconnects) throw lost;
    if (!(await sleep(Math.min(retry, MAX_TIMER), signal))) return;
  }
}

/** HTML §9.2.3: only a 200 `text/event-stream` response is a stream; anything else fails it for good. */
function checkResponse(res: HttpResponse): void {
  if (res.statuscode === 204) {
    throw new SseError('ERR_SSE_NO_CONTENT', `the server answered 204 No Content: the stream is over (${res.url})`, { status: 204 });
  }
  if (res.statuscode !== 200) {
    throw new SseError('ERR_SSE_STATUS', `the server answered ${res.statuscode} instead of 200 (${res.url})`, { status: res.statuscode });
  }
  const type = res.headers['Content-Type'] ?? '';
  const semi = type.indexOf(';');
  const essence = (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase();
  if (essence !== 'text/event-stream') {
    throw new SseError('ERR_SSE_CONTENT_TYPE', `the response is ${JSON.stringify(type)}, not text/event-stream (${res.url})`, { status: res.statuscode });
  }
}

/** A broken connection (reset, refused, timed out, cut mid-message) is retried; anything else is not. */
function reconnectable(err: unknown): boolean {
  if (err instanceof HttpConnectionError || err instanceof HttpTimeoutError) return true;
  return err instanceof HttpBrokenServerError && err.code === 'UNEXPECTED_EOF';
}

/** Waits `ms`; resolves false at once if `signal` aborts. Leaves no timer or listener behind. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
