/**
 * One attempt: one connection, one request, one response. {@link sendOnce}
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
 * @module
 */

import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { HttpParseError } from '../errors.js';
import { ResponseParser, type ResponseHead } from '../parser/parser.js';
import { HttpBrokenServerError, HttpConnectionError, HttpResponseTooLargeError, HttpTimeoutError } from './errors.js';
import type { Resolved } from './options.js';
import { requestHead, type Prepared } from './request.js';
import { HttpResponse, ResponseBody } from './response.js';

/** The longest delay Node's timers hold; a longer one would fire at once. */
const MAX_TIMER = 0x7fffffff;
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

/** One connection: send one request, parse one response. */
class Exchange {
  readonly body: ResponseBody;
  private socket: Socket | null = null;
  private readonly parser: ResponseParser;
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
  private connectTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private totalTimer: NodeJS.Timeout | null = null;
  private readonly onAbort = (): void => this.fail(this.o.signal!.reason as Error);
  private resolveHead!: (head: ResponseHead) => void;
  private rejectHead!: (err: Error) => void;

  constructor(
    private readonly req: Prepared,
    private readonly o: Resolved,
    private readonly deadline: number,
  ) {
    this.parser = new ResponseParser({ maxBodySize: o.maxResponseSize, maxHeaderSize: o.maxHeaderSize });
    if (req.method === 'HEAD') this.parser.expectNoBody('HEAD');
    this.body = new ResponseBody(() => this.demand());
  }

  /** Connects and sends; resolves with the final response head. */
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
    const [host, port] = this.o.proxy ?? [this.req.hostname, this.req.port];
    if (this.o.connectTimeout <= MAX_TIMER) {
      this.connectTimer = setTimeout(() => this.fail(new HttpTimeoutError('ETIMEDOUT_CONNECT', this.o.connectTimeout, this.req.url, false)), this.o.connectTimeout);
    }
    const socket = this.req.secure ? this.connectSecure(host, port) : connect({ host, port, noDelay: true, ...(this.o.lookup !== null ? { lookup: this.o.lookup } : {}) });
    this.socket = socket;
    // Over TLS nothing is sent before the handshake is done (and the server's certificate verified).
    socket.on(this.req.secure ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.requestSent = true;
      if (this.connectTimer !== null) clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.armIdle();
      void this.send(socket);
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.eof = true;
      this.parser.finish();
      this.pump();
    });
    socket.on('error', (err) => this.onSocketError(err, host, port));
    socket.on('close', () => {
      // A close without 'end' or 'error' (e.g. destroyed by the peer's reset after end).
      if (!this.finished && !this.eof) this.onSocketError(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' }), host, port);
    });
    return headPromise;
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
      if (this.head === null) this.armIdle();
    };
    socket.write(requestHead(this.req, this.o.proxy !== null), progress);
    const body = this.req.body;
    if (body === null) return;
    for (let off = 0; off < body.length; off += WRITE_SLICE) {
      if (this.finished || socket.destroyed) return;
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

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    this.armIdle();
    this.parser.push(chunk);
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
          // Done: bytes after the content (beyond Content-Length) are ignored and the connection closed.
          this.cleanup();
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

  /** The reader wants bytes: resume the socket if it was paused for backpressure. */
  private demand(): void {
    if (this.paused && !this.finished && !this.body.full) {
      this.paused = false;
      this.socket?.resume();
      this.armIdle();
    }
  }

  private onSocketError(err: Error, host: string, port: number): void {
    if (this.finished) return;
    const what = this.connected ? `Connection to ${host}:${port} failed` : `Could not connect to ${host}:${port}`;
    const code = (err as { code?: string }).code;
    this.fail(new HttpConnectionError(`${what}${code ? ` (${code})` : ''}: ${err.message}`, this.req.url, host, port, err, this.requestSent));
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
    this.cleanup();
  }

  /** Stops everything (the response was closed, or followed as a redirect). */
  destroy(): void {
    this.cleanup();
  }

  private cleanup(): void {
    this.finished = true;
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.clearIdle();
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.totalTimer !== null) clearTimeout(this.totalTimer);
    this.connectTimer = null;
    this.totalTimer = null;
    this.socket?.destroy();
  }
}

function parseFailure(e: HttpParseError, url: string, limit: number): Error {
  if (e.code === 'BODY_TOO_LARGE') return new HttpResponseTooLargeError(limit, url, e);
  return new HttpBrokenServerError(e.code, e.offset, `The server sent a malformed response: ${e.message} (${url})`, url, e);
}
