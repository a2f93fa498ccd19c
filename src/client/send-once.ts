/**
 * One attempt: one request, one response, on a new connection or (with the
 * `keepAlive` option) a pooled one (src/client/pool.ts). {@link sendOnce}
 * connects (directly or to the proxy), writes the request, and resolves with
 * the {@link HttpResponse} once the final response head arrived (interim 1xx
 * responses are skipped); the content is then read through it. Redirects are
 * not followed here (src/client/redirects.ts does, by calling this again).
 *
 * Whether the request may have reached the server: every
 * {@link HttpClientError} it rejects with (and every error a read of the
 * content rejects with) has `requestSent`. False means no byte of the
 * request was handed to the network (the connection was never made: refused,
 * DNS failure, connect timeout, or the total deadline passed first), so
 * sending it again cannot repeat its effect. True means the server may have
 * received it, whole or in part, and may have acted on it.
 *
 * On a reused connection, a failure before any byte of the response (reset,
 * EPIPE, or the server's FIN) is most likely the server closing the idle
 * connection as the request was written (RFC 9112 §9.3.1): an idempotent
 * request (RFC 9110 §9.2.2) is then sent once more on a new connection;
 * any other fails with `requestSent` true. A failure on a new connection is
 * never retried.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { HttpParseError } from '../errors.js';
import { ResponseParser, type ResponseHead } from '../parser/parser.js';
import { HttpBrokenServerError, HttpConnectionError, HttpResponseTooLargeError, HttpTimeoutError } from './errors.js';
import type { Resolved } from './options.js';
import type { ConnectionPool, PoolWaiter } from './pool.js';
import { requestHead, type Prepared } from './request.js';
import { HttpResponse, ResponseBody } from './response.js';
import { MAX_TIMER } from '../message/timers.js';

/** Request content is written in slices of this size, so that upload progress keeps the idle timer alive. */
const WRITE_SLICE = 64 * 1024;

/**
 * Sends `req` once over a new connection and resolves with the response
 * once its final head arrived. `deadline` (a `Date.now()` time) bounds the
 * whole exchange, reading the content included; `redirects` is only
 * recorded on the response.
 *
 * Rejects with HttpConnectionError, HttpTimeoutError,
 * HttpBrokenServerError or HttpResponseTooLargeError, each with
 * `requestSent` (see the module comment).
 *
 * @example
 * const res = await sendOnce(prepare('http://127.0.0.1:8080/', {}), resolveOptions({}), Date.now() + 5000, 0);
 */
export async function sendOnce(req: Prepared, o: Resolved, deadline: number, redirects: number): Promise<HttpResponse> {
  const exchange = new Exchange(req, o, deadline);
  const head = await exchange.start();
  return new HttpResponse(head, exchange, req.url, redirects);
}

/**
 * RFC 9110 §9.2.2: the methods whose repetition has the same effect as one
 * request, which a client may retry automatically after a connection
 * failure (RFC 9112 §9.3.1). Never POST or PATCH.
 */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Ignores a late error of a socket the exchange has let go of. */
const ignore = (): void => {};

/** Identities of `lookup` functions, for the pool key (two functions may resolve a name differently). */
const lookupIds = new WeakMap<object, number>();
let nextLookupId = 1;

/**
 * Digests of PEM items already hashed: the pool key is made for every
 * request, and a CA bundle can be hundreds of KiB, hashed again each time
 * otherwise. Buffers are held weakly; strings (the same string object
 * each request, in the usual case of a file read once) in a bounded map.
 */
const bufferDigests = new WeakMap<Buffer, string>();
const stringDigests = new Map<string, string>();
const STRING_DIGESTS_MAX = 64;

function itemDigest(item: string | Buffer): string {
  let d = typeof item === 'string' ? stringDigests.get(item) : bufferDigests.get(item);
  if (d !== undefined) return d;
  d = createHash('sha256').update(item).digest('base64');
  if (typeof item !== 'string') bufferDigests.set(item, d);
  else if (stringDigests.size < STRING_DIGESTS_MAX) stringDigests.set(item, d);
  return d;
}

/** A digest of PEM options: the pool key must tell apart two `ca` without holding them. */
function pemDigest(list: (string | Buffer)[] | null): string {
  if (list === null) return '-';
  if (list.length === 1) return itemDigest(list[0]!);
  return list.map(itemDigest).join(',');
}

/**
 * The pool key of a request: what a connection is bound to. The scheme,
 * host and port, the proxy, the lookup function, and for https every TLS
 * option that decides how the server was verified (a socket verified with
 * one `ca`, `servername` or `rejectUnauthorized` is never lent to a request
 * with others).
 *
 * @example originKey(prepare('http://127.0.0.1:8080/', {}), resolveOptions({})); // 'http://127.0.0.1:8080'
 */
export function originKey(req: Prepared, o: Resolved): string {
  let key = `${req.secure ? 'https' : 'http'}://${req.hostname}:${req.port}`;
  if (o.proxy !== null) key += ` proxy=${o.proxy[0]}:${o.proxy[1]}`;
  if (o.lookup !== null) {
    let id = lookupIds.get(o.lookup);
    if (id === undefined) lookupIds.set(o.lookup, (id = nextLookupId++));
    key += ` lookup=${id}`;
  }
  if (req.secure) {
    const t = o.tls;
    key += ` tls=${t.rejectUnauthorized ? 1 : 0} sni=${t.servername ?? '-'} ca=${pemDigest(t.ca)} cert=${pemDigest(t.cert)} key=${pemDigest(t.key)}`;
  }
  return key;
}

/** No lease, a pool slot, or a request the pool could not count (every origin busy): its socket is not kept. */
const NO_LEASE = 0;
const LEASED = 1;
const UNCOUNTED = 2;

/**
 * One request and its response, on a new connection or (with `keepAlive`)
 * on one from the pool, which it gives back when the response ended cleanly.
 */
class Exchange {
  readonly body: ResponseBody;
  private socket: Socket | null = null;
  private parser: ResponseParser;
  private head: ResponseHead | null = null;
  private settled = false; // open's promise resolved or rejected
  private finished = false; // the content ended, failed, or the response was closed
  private paused = false;
  private connected = false;
  /**
   * Bytes of the request were handed to the socket, so the server may have
   * them. Set on connect, when the head is written in the same turn: before
   * it, no byte can have left.
   */
  private requestSent = false;
  private eof = false;
  /** The whole request was handed to the socket (a connection is reusable only then). */
  private requestWritten = false;
  /** A byte of the response arrived on the current socket. */
  private received = false;
  /** The current socket came from the pool (a failure before any response byte may be the server closing it). */
  private reused = false;
  private retried = false;
  private readonly pool: ConnectionPool | null;
  private poolKey = '';
  private lease = NO_LEASE;
  private waiter: PoolWaiter | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private totalTimer: NodeJS.Timeout | null = null;
  private readonly host: string;
  private readonly port: number;
  private readonly onAbort = (): void => this.fail(this.o.signal!.reason as Error);
  private readonly onConnectEvent = (): void => this.onConnected(this.socket!);
  private readonly onDataEvent = (chunk: Buffer): void => this.onData(chunk);
  private readonly onEndEvent = (): void => this.onEnd();
  private readonly onErrorEvent = (err: Error): void => this.onSocketError(err);
  private readonly onCloseEvent = (): void => {
    // A close without 'end' or 'error' (e.g. destroyed by the peer's reset after end).
    if (!this.finished && !this.eof) this.onSocketError(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' }));
  };
  private resolveHead!: (head: ResponseHead) => void;
  private rejectHead!: (err: Error) => void;

  constructor(
    private readonly req: Prepared,
    private readonly o: Resolved,
    private readonly deadline: number,
  ) {
    this.parser = this.newParser();
    this.body = new ResponseBody(() => this.demand());
    // A pool closed between the hops of a redirect chain is no longer used: one connection per request again.
    this.pool = o.pool !== null && !o.pool.closed ? o.pool : null;
    [this.host, this.port] = o.proxy ?? [req.hostname, req.port];
  }

  private newParser(): ResponseParser {
    const parser = new ResponseParser({ maxBodySize: this.o.maxResponseSize, maxHeaderSize: this.o.maxHeaderSize });
    if (this.req.method === 'HEAD') parser.expectNoBody('HEAD');
    return parser;
  }

  /** Connects (or takes a pooled connection) and sends; resolves with the final response head. */
  start(): Promise<ResponseHead> {
    const headPromise = new Promise<ResponseHead>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    const signal = this.o.signal;
    if (signal !== null) {
      if (signal.aborted) {
        this.fail(signal.reason as Error);
        return headPromise;
      }
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    const left = this.deadline - Date.now();
    // Node's timers hold at most 2^31-1 ms (a longer delay fires at once): beyond that, no deadline.
    if (left <= MAX_TIMER) {
      // After redirects the deadline may have passed already: the timer then fires at once.
      this.totalTimer = setTimeout(() => this.fail(new HttpTimeoutError('ETIMEDOUT_TOTAL', this.o.totalTimeout, this.req.url, this.requestSent)), Math.max(0, left));
    }
    if (this.pool === null) {
      this.connectNew();
      return headPromise;
    }
    this.poolKey = originKey(this.req, this.o);
    const waiter: PoolWaiter = { grant: (socket) => this.granted(socket), cancelled: false };
    this.waiter = waiter;
    const r = this.pool.acquire(this.poolKey, waiter);
    if (r === 'uncounted') this.lease = UNCOUNTED;
    // The wait for a free connection counts against connectTimeout too (an idle one was taken at once: no timer).
    else if (r === 'queued') this.armConnect();
    return headPromise;
  }

  /** Starts the connect timer, unless it runs already (since the request started waiting in the pool's queue). */
  private armConnect(): void {
    if (this.connectTimer === null && this.o.connectTimeout <= MAX_TIMER) {
      this.connectTimer = setTimeout(() => this.fail(new HttpTimeoutError('ETIMEDOUT_CONNECT', this.o.connectTimeout, this.req.url, this.requestSent)), this.o.connectTimeout);
    }
  }

  /** The pool gave this request a slot: an idle connection to reuse, or null to open one. */
  private granted(socket: Socket | null): void {
    this.waiter = null;
    this.lease = LEASED;
    if (socket === null) {
      this.connectNew();
      return;
    }
    this.reused = true;
    this.attach(socket);
    this.onConnected(socket);
  }

  /** Opens a new connection (directly or to the proxy). */
  private connectNew(): void {
    this.armConnect();
    const socket = this.req.secure
      ? this.connectSecure(this.host, this.port)
      : connect({ host: this.host, port: this.port, noDelay: true, ...(this.o.lookup !== null ? { lookup: this.o.lookup } : {}) });
    this.attach(socket);
    // Over TLS nothing is sent before the handshake is done (and the server's certificate verified).
    socket.once(this.req.secure ? 'secureConnect' : 'connect', this.onConnectEvent);
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', this.onDataEvent);
    socket.on('end', this.onEndEvent);
    socket.on('error', this.onErrorEvent);
    socket.on('close', this.onCloseEvent);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onDataEvent);
    socket.off('end', this.onEndEvent);
    socket.off('error', this.onErrorEvent);
    socket.off('close', this.onCloseEvent);
    socket.off(this.req.secure ? 'secureConnect' : 'connect', this.onConnectEvent);
  }

  private onConnected(socket: Socket): void {
    this.connected = true;
    this.requestSent = true;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.armIdle();
    void this.send(socket);
  }

  /**
   * An https connection: node:tls with the server's certificate and host
   * name verified unless `rejectUnauthorized: false` (RFC 9110 §4.3.4: a
   * client MUST verify the server's identity). ALPN offers http/1.1 only.
   * The connect timeout covers the TCP connect and the handshake.
   */
  private connectSecure(host: string, port: number): Socket {
    const t = this.o.tls;
    // SNI names the host (RFC 6066 §3: never an address); tls.connect sends none unless told.
    const servername = t.servername ?? (isIP(host) === 0 ? host : null);
    const socket = connectTls({
      host, port,
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: t.rejectUnauthorized,
      ...(servername !== null ? { servername } : {}),
      ...(t.ca !== null ? { ca: t.ca } : {}),
      ...(t.cert !== null ? { cert: t.cert } : {}),
      ...(t.key !== null ? { key: t.key } : {}),
      ...(this.o.lookup !== null ? { lookup: this.o.lookup } : {}),
    });
    socket.setNoDelay(true);
    return socket;
  }

  /**
   * Writes the head, then the content in slices. Until the response starts,
   * each slice handed to the kernel re-arms the idle timer: a slow upload
   * that makes progress is not idle.
   */
  private async send(socket: Socket): Promise<void> {
    const progress = (): void => {
      if (this.head === null && this.socket === socket) this.armIdle();
    };
    // A pooled request leaves out `Connection: close`: HTTP/1.1 connections are persistent by default (RFC 9112 §9.3).
    socket.write(requestHead(this.req, this.o.proxy !== null, this.lease === LEASED), progress);
    const body = this.req.body;
    if (body !== null) {
      for (let off = 0; off < body.length; off += WRITE_SLICE) {
        if (this.finished || socket.destroyed || this.socket !== socket) return;
        if (!socket.write(body.subarray(off, off + WRITE_SLICE), progress)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              socket.off('drain', done);
              socket.off('close', done);
              resolve();
            };
            socket.on('drain', done);
            socket.on('close', done);
          });
        }
      }
    }
    if (this.socket === socket) this.requestWritten = true;
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    this.received = true;
    this.armIdle();
    this.parser.push(chunk);
    this.pump();
  }

  private onEnd(): void {
    if (this.finished) return;
    if (this.mayRetry()) {
      this.retryOrFail(Object.assign(new Error('the server closed the reused connection before responding'), { code: 'ECONNRESET' }));
      return;
    }
    this.eof = true;
    this.parser.finish();
    this.pump();
  }

  /** Takes every event the parser can give now. */
  private pump(): void {
    while (!this.finished) {
      const ev = this.parser.next();
      switch (ev.type) {
        case 'head': {
          const h = ev.head;
          if (h.status === 101) {
            this.fail(new HttpBrokenServerError('UNEXPECTED_UPGRADE', h.offset, `The server switched protocols (101) although the client did not ask to (${this.req.url})`, this.req.url));
            return;
          }
          if (h.status < 200) continue; // interim response (100 Continue, 103 Early Hints): skipped
          this.head = h;
          this.settled = true;
          this.resolveHead(h);
          continue;
        }
        case 'data':
          this.body.push(ev.data);
          if (this.body.full && !this.paused) {
            this.paused = true;
            this.socket?.pause();
            this.clearIdle();
          }
          continue;
        case 'end':
          if (this.head === null) continue; // the end of an interim response
          this.body.end(ev.trailers);
          this.cleanup(this.reusable(this.head), keepAliveHint(this.head));
          return;
        case 'error':
          this.fail(parseFailure(ev.error, this.req.url, this.o.maxResponseSize));
          return;
        default: // partial
          if (this.eof) {
            // The peer closed between messages: before any (final) response.
            const e = new HttpParseError('UNEXPECTED_EOF', this.parser.offset, 'the server closed the connection before sending a response');
            this.fail(parseFailure(e, this.req.url, this.o.maxResponseSize));
          }
          return;
      }
    }
  }

  /**
   * Whether the connection may carry the next request, now that the
   * response ended: it was read to its end by its framing (never a
   * close-delimited one), it is HTTP/1.1 without `Connection: close`
   * (RFC 9112 §9.3), the whole request went out, and nothing followed the
   * response (a server that sends more than it framed is broken: whatever
   * it sent would be taken for the next response).
   */
  private reusable(head: ResponseHead): boolean {
    return this.lease === LEASED && this.requestWritten && !this.eof && head.versionMinor >= 1 && head.keepAlive && this.parser.takeRemaining().length === 0;
  }

  /** The reader wants bytes: resume the socket if it was paused for backpressure. */
  private demand(): void {
    if (this.paused && !this.finished && !this.body.full) {
      this.paused = false;
      this.socket?.resume();
      this.armIdle();
    }
  }

  /**
   * A reused connection failed before any byte of the response: most likely
   * the server closed it while idle, just as the request was written
   * (RFC 9112 §9.3.1). The request may or may not have been processed.
   */
  private mayRetry(): boolean {
    return this.reused && !this.received && this.head === null;
  }

  /**
   * Retries once on a new connection when the method is idempotent (RFC 9110
   * §9.2.2: repeating it has the effect of one request); otherwise the
   * failure is reported, with `requestSent` true.
   */
  private retryOrFail(err: Error): void {
    if (this.retried || !IDEMPOTENT.has(this.req.method)) {
      this.fail(this.connectionError(err));
      return;
    }
    this.retried = true;
    const old = this.socket!;
    this.detach(old);
    old.on('error', ignore);
    old.destroy();
    this.socket = null;
    this.reused = false;
    this.received = false;
    this.connected = false;
    this.requestWritten = false;
    this.parser = this.newParser();
    this.clearIdle();
    this.connectNew();
  }

  private onSocketError(err: Error): void {
    if (this.finished) return;
    if (this.mayRetry()) this.retryOrFail(err);
    else this.fail(this.connectionError(err));
  }

  private connectionError(err: Error): HttpConnectionError {
    const what = this.connected ? `Connection to ${this.host}:${this.port} failed` : `Could not connect to ${this.host}:${this.port}`;
    const code = (err as { code?: string }).code;
    return new HttpConnectionError(`${what}${code ? ` (${code})` : ''}: ${err.message}`, this.req.url, this.host, this.port, err, this.requestSent);
  }

  private armIdle(): void {
    this.clearIdle();
    if (this.finished || this.paused || !(this.o.idleTimeout <= MAX_TIMER)) return;
    this.idleTimer = setTimeout(() => this.fail(new HttpTimeoutError('ETIMEDOUT_IDLE', this.o.idleTimeout, this.req.url, true)), this.o.idleTimeout);
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** The exchange failed: reject `open` or, once the response was returned, its reads. */
  fail(err: Error): void {
    if (this.finished) return;
    if (!this.settled) {
      this.settled = true;
      this.rejectHead(err);
    } else this.body.fail(err);
    this.cleanup(false);
  }

  /** Stops everything (the response was closed, or followed as a redirect). */
  destroy(): void {
    this.cleanup(false);
  }

  /**
   * Ends the exchange: timers and listeners go, and the connection either
   * goes back to the pool (`keep`) or is destroyed — a response closed
   * before its end is not drained (that could take forever), its connection
   * is closed. A request still waiting for a pool slot leaves the queue.
   */
  private cleanup(keep: boolean, keepFor = Infinity): void {
    this.finished = true;
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.clearIdle();
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.totalTimer !== null) clearTimeout(this.totalTimer);
    this.connectTimer = null;
    this.totalTimer = null;
    if (this.waiter !== null) {
      this.pool!.cancel(this.poolKey, this.waiter);
      this.waiter = null;
    }
    const socket = this.socket;
    this.socket = null;
    if (keep) {
      this.detach(socket!);
      this.lease = NO_LEASE;
      this.pool!.release(this.poolKey, socket, keepFor);
      return;
    }
    socket?.destroy();
    if (this.lease === LEASED) this.pool!.release(this.poolKey, null);
    this.lease = NO_LEASE;
  }
}

/** Closing this long before the server's announced keep-alive timeout makes the close race rarer (as Node's Agent does). */
const KEEP_ALIVE_MARGIN = 1000;

/**
 * How long the server said it keeps the connection idle: `Keep-Alive:
 * timeout=N` (seconds, RFC 2068 §19.7.1.1, still sent by node:http, Apache,
 * nginx on request), less a margin, in milliseconds; Infinity without one.
 * Without it, a pool whose idleTimeout equals the server's (5 s for both
 * node:http and the pool) would often lose the race.
 */
export function keepAliveHint(head: ResponseHead): number {
  let hint = Infinity;
  for (const [name, value] of head.rawHeaders) {
    if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
    for (const param of value.split(',')) {
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'timeout') continue;
      const digits = param.slice(eq + 1).trim();
      let n = 0;
      let ok = digits.length > 0 && digits.length <= 9;
      for (let i = 0; ok && i < digits.length; i++) {
        const c = digits.charCodeAt(i);
        ok = c >= 0x30 && c <= 0x39;
        n = n * 10 + c - 0x30;
      }
      if (ok) hint = Math.min(hint, n * 1000 - KEEP_ALIVE_MARGIN);
    }
  }
  return hint;
}

function parseFailure(e: HttpParseError, url: string, limit: number): Error {
  if (e.code === 'BODY_TOO_LARGE') return new HttpResponseTooLargeError(limit, url, e);
  return new HttpBrokenServerError(e.code, e.offset, `The server sent a malformed response: ${e.message} (${url})`, url, e);
}
