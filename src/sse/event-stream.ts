/**
 * `eventStream(req)`: a response whose message is a live Server-Sent Events
 * stream, and the handle to write events into it.
 *
 * How it fits the server: the response's `message` is an async iterable,
 * which the connection pulls one chunk at a time and only when the socket
 * has drained (docs/api.md, "The response dictionary"). Events sent while
 * the socket is busy wait in a queue and leave together as one chunk at
 * the next pull, so a fast producer costs one write per drain, not one
 * per event. The queue is bounded: `send` resolves at once while it holds
 * less than `highWaterMark` bytes and waits otherwise (backpressure), and
 * an event sent while `maxQueue` bytes wait closes the stream: a reader
 * that stopped reading cannot make the server buffer without bound.
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';
import type { RequestDict } from '../server/request.js';
import type { ResponseDict } from '../server/response.js';
import { header } from '../server/helpers.js';
import { STREAM_ABORT } from '../server/response.js';
import { SseError } from './errors.js';
import { checkRetry, formatComment, formatEvent, isPrepared, type PreparedEvent, type SseEvent } from './format.js';
import { MAX_TIMER } from '../message/timers.js';

/** The options of {@link eventStream}. */
export interface EventStreamOptions {
  /**
   * Milliseconds of silence after which a comment line is sent (default
   * 15 000; 0: none). Proxies and idle timers close connections that stay
   * quiet (nginx's `proxy_read_timeout` is 60 s by default), and a write is
   * also how a server learns that a client has gone away.
   */
  heartbeat?: number;
  /** Sent first as `retry:`: the client's reconnection delay in ms. */
  retry?: number;
  /** Queued bytes under which `send` resolves at once (default 64 KiB). */
  highWaterMark?: number;
  /**
   * Queued bytes at which the stream is closed (default 1 MiB): an event
   * sent while this much waits means the client is not reading. The
   * connection is then cut and the error reported to the server's
   * `onError` (code `ERR_SSE_QUEUE_FULL`). A stream holds at most this
   * plus one event.
   */
  maxQueue?: number;
  /** Extra response header fields (e.g. CORS), added to the defaults. */
  headers?: Record<string, string>;
}

/** The handle {@link eventStream} returns. */
export interface EventStream {
  /** The response dictionary to return from the callback. */
  readonly response: ResponseDict;
  /**
   * Queues one event. Resolves with `true` once the queue is below
   * `highWaterMark` again (at once, usually), or `false` when the stream
   * is closed and the event was dropped. Throws `TypeError` for an event
   * that cannot be written (see `formatEvent`). An event from
   * `prepareEvent` is queued as it is (formatted once for many streams).
   */
  send(event: SseEvent | PreparedEvent): Promise<boolean>;
  /** Queues a comment line (ignored by clients); same result as `send`. */
  comment(text: string): Promise<boolean>;
  /** Ends the stream after what is queued (the response ends cleanly). Idempotent. */
  close(): void;
  /** Resolves when the stream has ended: closed, the client gone, the server stopping, or overflow. */
  readonly closed: Promise<void>;
  /** True once the stream has ended or is ending. */
  readonly isClosed: boolean;
  /** Bytes queued and not yet handed to the socket. */
  readonly queuedBytes: number;
}

const DEFAULTS = { heartbeat: 15_000, highWaterMark: 64 * 1024, maxQueue: 1024 * 1024 };
// One settled promise each, shared: a fan-out calls send once per watcher per event.
const SENT = Promise.resolve(true);
const DROPPED = Promise.resolve(false);
/** The fields eventStream sets; `headers` may replace the last two, not the type. */
const OWN_FIELDS = new Set(['content-type', 'cache-control', 'x-accel-buffering']);

function nonNegative(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`eventStream: options.${name} must be a non-negative number`);
  return v;
}

/**
 * Starts a Server-Sent Events response for `req`. Return `response` from
 * the callback, then `send` events for as long as the client stays.
 *
 * The response is `200` with `Content-Type: text/event-stream`,
 * `Cache-Control: no-cache` and `X-Accel-Buffering: no` (so that nginx
 * passes each event on at once). The request's own timeouts are lifted
 * (`req.setTimeout(0)`): a stream may stay quiet between events; the
 * heartbeat keeps it alive. When the client goes away or the server
 * stops, `req.signal` aborts and the stream closes itself: its timer and
 * listener are removed and `closed` resolves.
 *
 * @example
 * import { registerCallback } from 'repy-http';
 * import { eventStream } from 'repy-http/sse';
 * await registerCallback(['127.0.0.1', 8080], (req) => {
 *   const s = eventStream(req, { heartbeat: 10_000 });
 *   let n = 0;
 *   const timer = setInterval(() => s.send({ id: ++n, data: `tick ${n}` }), 1000);
 *   s.closed.then(() => clearInterval(timer));
 *   return s.response;
 * });
 */
export function eventStream(req: RequestDict, options: EventStreamOptions = {}): EventStream {
  if (req === null || typeof req !== 'object' || typeof req.setTimeout !== 'function') {
    throw new TypeError('eventStream(req): req must be a request dictionary');
  }
  const beat = nonNegative('heartbeat', options.heartbeat, DEFAULTS.heartbeat);
  // Infinity (or beyond what a timer holds) means none, like 0.
  const heartbeat = beat > MAX_TIMER ? 0 : beat;
  const headers = responseHeaders(options.headers);
  const highWaterMark = nonNegative('highWaterMark', options.highWaterMark, DEFAULTS.highWaterMark);
  const maxQueue = nonNegative('maxQueue', options.maxQueue, DEFAULTS.maxQueue);
  const prelude = (options.retry !== undefined ? `retry: ${checkRetry(options.retry)}\n` : '') + ': stream open\n\n';

  let queue: string[] = [prelude];
  let queued = Buffer.byteLength(prelude);
  let ended = false; // no more events accepted
  let failure: SseError | null = null; // set on overflow: the next pull throws it
  let finished = false; // the iterator is done: nothing will be pulled again
  let pull: ((r: IteratorResult<Buffer>) => void) | null = null;
  let pullFail: ((err: unknown) => void) | null = null;
  let flushing = false; // a flush of the queue to the waiting pull is scheduled
  let waiters: Array<(ok: boolean) => void> = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastWrite = Date.now();
  // Aborted on overflow: the writer may be waiting for the socket to drain
  // (the client stopped reading), when no pull can carry the error.
  const overflow = new AbortController();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  req.setTimeout(0);
  const signal = req.signal;
  // The server stopping still writes the responses in flight (stopCallback
  // waits for them, up to stopTimeout): end the stream after what is queued,
  // so that events sent just before the stop (a job's "canceled") arrive.
  // Any other reason (the client gone, a timeout) ends it at once.
  const onAbort = (): void => {
    const reason = signal.reason as { code?: unknown } | null | undefined;
    if (reason instanceof RepyHttpError && reason.code === 'ERR_SERVER_STOPPING') endGracefully();
    else finish();
  };
  signal.addEventListener('abort', onAbort, { once: true });

  /** No more events; the iterator ends once what is queued has been pulled. */
  function endGracefully(): void {
    if (ended) return;
    ended = true;
    if (pull !== null && queued === 0) finish();
  }

  /** Everything is over: release the timer, the listener, the waiters and a pending pull. */
  function finish(): void {
    if (finished) return;
    finished = true;
    ended = true;
    queue = [];
    queued = 0;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    signal.removeEventListener('abort', onAbort);
    wake(false);
    if (pull !== null) {
      const p = pull;
      pull = pullFail = null;
      p({ done: true, value: undefined });
    }
    resolveClosed();
  }

  function wake(ok: boolean): void {
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve(ok);
  }

  /** The next chunk: everything queued, as one Buffer. */
  function take(): Buffer {
    const chunk = Buffer.from(queue.length === 1 ? queue[0]! : queue.join(''), 'utf8');
    queue = [];
    queued = 0;
    lastWrite = Date.now();
    wake(true);
    return chunk;
  }

  /**
   * The heartbeat fires `heartbeat` ms after the last write, not on a fixed
   * beat, so the stream is never quiet for longer than that; a stream that
   * is busy anyway gets no extra writes.
   */
  function startHeartbeat(): void {
    if (heartbeat === 0 || timer !== null || finished) return;
    const beat = (): void => {
      const quiet = Date.now() - lastWrite;
      if (quiet >= heartbeat) {
        if (queued === 0) enqueue(': heartbeat\n');
        timer = setTimeout(beat, heartbeat);
      } else timer = setTimeout(beat, heartbeat - quiet);
      timer.unref?.();
    };
    timer = setTimeout(beat, heartbeat);
    timer.unref?.();
  }

  /** Hands what is queued to the waiting pull (see enqueue). */
  function flush(): void {
    flushing = false;
    if (pull === null || queued === 0) return;
    const p = pull;
    pull = pullFail = null;
    p({ done: false, value: take() });
  }

  function enqueue(text: string, size = Buffer.byteLength(text)): Promise<boolean> {
    if (ended) return DROPPED;
    // Refused once what waits already reaches maxQueue: the reader is that
    // far behind. An event is judged by what waits before it, not by its own
    // size, so one large event never closes a stream whose reader keeps up;
    // the bound per stream is maxQueue plus the largest event.
    if (queued >= maxQueue && queued > 0) {
      // The reader is this far behind: stop here. The queued events are
      // dropped now (that is the memory bound). The writer, most likely
      // waiting for a socket that does not drain, is woken by `overflow`
      // and reports the failure; otherwise the next pull throws it.
      failure = new SseError('ERR_SSE_QUEUE_FULL', `the client fell more than ${maxQueue} bytes behind (maxQueue); the event stream was closed`);
      ended = true;
      queue = [];
      queued = 0;
      wake(false);
      overflow.abort(failure);
      // A pull may be waiting for the flush of this very burst.
      if (pullFail !== null) {
        const fail = pullFail;
        pull = pullFail = null;
        fail(failure);
      }
      return DROPPED;
    }
    queue.push(text);
    queued += size;
    // A waiting pull is answered in a microtask, not now: the other events
    // sent in the same synchronous run (a fan-out loop sends several events
    // to every stream in one go) then leave in the same chunk.
    if (pull !== null && !flushing) {
      flushing = true;
      queueMicrotask(flush);
    }
    if (queued < highWaterMark) return SENT;
    return new Promise((resolve) => waiters.push(resolve));
  }

  const iterator: AsyncIterableIterator<Buffer> & { destroy(): void; [STREAM_ABORT]: AbortSignal } = {
    next(): Promise<IteratorResult<Buffer>> {
      startHeartbeat();
      if (queued > 0) return Promise.resolve({ done: false, value: take() });
      if (failure !== null) {
        const err = failure;
        finish();
        return Promise.reject(err);
      }
      if (ended || finished) {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      }
      return new Promise((resolve, reject) => {
        pull = resolve;
        pullFail = (err) => {
          finish();
          reject(err);
        };
      });
    },
    return(): Promise<IteratorResult<Buffer>> {
      // The server abandoned the response (HEAD, client gone, cut) or finished it.
      finish();
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    // The server calls destroy() once the response is written or abandoned,
    // also when it never pulled (a HEAD request): the stream is over.
    destroy(): void {
      finish();
    },
    [STREAM_ABORT]: overflow.signal,
  };

  const response: ResponseDict = {
    statuscode: 200,
    headers,
    message: iterator,
  };
  if (signal.aborted) finish();

  return {
    response,
    send: (event) => (isPrepared(event) ? enqueue(event.text, event.bytes) : enqueue(formatEvent(event))),
    comment: (text) => enqueue(formatComment(text)),
    close: endGracefully,
    closed,
    get isClosed() {
      return ended;
    },
    get queuedBytes() {
      return queued;
    },
  };
}

/**
 * The response's fields: the type, `Cache-Control: no-cache` (no cache may
 * keep a live stream) and `X-Accel-Buffering: no` (nginx then passes each
 * event on at once instead of buffering the response), then the caller's.
 * A caller's `Cache-Control` or `X-Accel-Buffering` replaces the default
 * whatever its case; a `Content-Type` is refused (the stream is
 * `text/event-stream` or it is not a stream).
 */
function responseHeaders(extra: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' };
  if (extra === undefined) return out;
  if (extra === null || typeof extra !== 'object') throw new TypeError('eventStream: options.headers must be an object');
  for (const [name, value] of Object.entries(extra)) {
    const lower = name.toLowerCase();
    if (lower === 'content-type') throw new TypeError('eventStream: options.headers cannot set Content-Type (it is text/event-stream)');
    if (OWN_FIELDS.has(lower)) for (const k of Object.keys(out)) if (k.toLowerCase() === lower) delete out[k];
    out[name] = value;
  }
  return out;
}

/**
 * The id of the last event the client saw: the `Last-Event-ID` header that
 * an `EventSource` sends when it reconnects (decoded as UTF-8, as the
 * browser encodes it), or else the `lastEventId` or `last-event-id` query
 * parameter (for the first connection, which cannot set headers).
 * `undefined` when there is none.
 *
 * @example
 * const since = Number(lastEventId(req) ?? 0); // resume after this id
 */
export function lastEventId(req: RequestDict): string | undefined {
  const h = header(req, 'last-event-id');
  if (h !== undefined) return Buffer.from(h, 'latin1').toString('utf8');
  const q = req.querydict;
  if (q === null || q === undefined) return undefined;
  const v = Object.hasOwn(q, 'lastEventId') ? q['lastEventId'] : Object.hasOwn(q, 'last-event-id') ? q['last-event-id'] : undefined;
  return v ?? undefined;
}
