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
 * an event that would take it past `maxQueue` closes the stream: a reader
 * that stopped reading cannot make the server buffer without bound.
 *
 * @module
 */

import type { RequestDict } from '../server/request.js';
import type { ResponseDict } from '../server/response.js';
import { header } from '../server/helpers.js';
import { SseError } from './errors.js';
import { checkRetry, formatComment, formatEvent, type SseEvent } from './format.js';

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
   * Queued bytes past which the stream is closed (default 1 MiB): the
   * client is not reading. The connection is then cut and the error
   * reported to the server's `onError` (code `ERR_SSE_QUEUE_FULL`).
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
   * that cannot be written (see `formatEvent`).
   */
  send(event: SseEvent): Promise<boolean>;
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
  const heartbeat = nonNegative('heartbeat', options.heartbeat, DEFAULTS.heartbeat);
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
  let waiters: Array<(ok: boolean) => void> = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastWrite = Date.now();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  req.setTimeout(0);
  const signal = req.signal;
  const onAbort = (): void => finish();
  signal.addEventListener('abort', onAbort, { once: true });

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

  function enqueue(text: string): Promise<boolean> {
    if (ended) return Promise.resolve(false);
    const size = Buffer.byteLength(text);
    if (queued + size > maxQueue) {
      // The reader is this far behind: stop here. The queued events are
      // dropped now (that is the memory bound); the next pull reports it.
      failure = new SseError('ERR_SSE_QUEUE_FULL', `the client fell more than ${maxQueue} bytes behind (maxQueue); the event stream was closed`);
      ended = true;
      queue = [];
      queued = 0;
      wake(false);
      if (pullFail !== null) {
        const f = pullFail;
        pull = pullFail = null;
        f(failure);
      }
      return Promise.resolve(false);
    }
    queue.push(text);
    queued += size;
    if (pull !== null) {
      const p = pull;
      pull = pullFail = null;
      p({ done: false, value: take() });
    }
    if (queued < highWaterMark) return Promise.resolve(true);
    return new Promise((resolve) => waiters.push(resolve));
  }

  const iterator: AsyncIterableIterator<Buffer> = {
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
  };

  const response: ResponseDict = {
    statuscode: 200,
    headers: {
      ...options.headers,
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    },
    message: iterator,
  };
  if (signal.aborted) finish();

  return {
    response,
    send: (event) => enqueue(formatEvent(event)),
    comment: (text) => enqueue(formatComment(text)),
    close(): void {
      if (ended) return;
      ended = true;
      if (pull !== null && queued === 0) finish();
    },
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
