/**
 * One client connection: reads bytes into the parser, hands each request to
 * the callback, and writes the responses back in request order (RFC 9112
 * §9.3.2), however the callbacks finish.
 *
 * @module
 */

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { RepyHttpError, type HttpParseError } from '../errors.js';
import { RequestParser, type RequestHead } from '../parser/parser.js';
import { buildRequest, DataStream, LazyAbort, type RequestDict, type TlsInfo } from './request.js';
import { peerCertificateOf } from './tls.js';
import { closing, errorResponse, prepareResponse, primeStream, type PreparedResponse, type ResponseContext } from './response.js';
import type { ServerOptionsResolved } from './options.js';
import { ClientGoneError, RequestTimeoutError } from './errors.js';
import { ResponseWriter } from './writer.js';
import { accessLine } from './access-log.js';
import { installTap } from './tap.js';
import { MAX_TIMER } from '../message/timers.js';

/** What a connection needs from its registration. */
export interface ServerContext {
  id: number;
  callback: (req: RequestDict) => unknown;
  options: ServerOptionsResolved;
  /** True once stopCallback was called: finish what is in flight, accept nothing new. */
  stopping: boolean;
  /** Reports a callback failure or another problem that the client only sees as a 500 or a close. */
  report(err: unknown, req: RequestDict | null): void;
  /** The connection is gone. */
  closed(conn: Connection): void;
}

const CONTINUE_NONE = 0;
const CONTINUE_WANTED = 1;
const CONTINUE_SENT = 2;

/** A request and its response slot. */
interface Exchange {
  head: RequestHead | null; // null for a parse-error answer
  req: RequestDict | null;
  stream: DataStream | null;
  controller: LazyAbort | null;
  result: PreparedResponse | null;
  /** The connection closes after this exchange whatever the response says. */
  closeAfter: boolean;
  bodyDone: boolean;
  continueState: number;
  finished: boolean;
  /** When the callback was called, or its streamed message's first chunk asked for (0 once it answered). */
  callbackSince: number;
  /** Gives up the streamed message whose first chunk is awaited, or null. */
  priming: (() => void) | null;
}

export class Connection {
  private readonly parser: RequestParser;
  private readonly queue: Exchange[] = [];
  private bodyTarget: Exchange | null = null;
  private pumping = false;
  private writing = false;
  private paused = false;
  private stopReading = false;
  private peerEnded = false;
  private broken = false; // a response was cut short: nothing more may be written
  private corks = 0; // cork() calls not yet undone
  private uncorkScheduled = false;
  private running = 0; // callbacks called and not yet answered
  private destroyed = false;
  private drained = 0;
  // Timestamps (ms) the registration's sweeper compares with the timeouts; 0 = not running.
  private headSince = 0; // a request head is arriving
  private idleSince = 0; // nothing in flight (keep-alive idle)
  private bodySince = 0; // last progress of the content being received
  private readonly writer: ResponseWriter;
  private readonly remoteAddress: string;
  private readonly remotePort: number;
  /** What requests learn about the TLS connection; null on plain HTTP. */
  private readonly tls: TlsInfo | null;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ServerContext,
  ) {
    this.parser = new RequestParser(ctx.options);
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.tls = (socket as TLSSocket).encrypted === true ? { peercert: peerCertificateOf(socket as TLSSocket) } : null;
    this.writer = new ResponseWriter(socket, {
      gone: () => this.destroyed,
      cut: (err, req) => {
        if (!this.destroyed) this.ctx.report(err, req);
        this.broken = true;
        this.closeSoon();
      },
    });
    socket.setNoDelay(true);
    // The raw-traffic tap (options.onRaw), only when asked for: installed
    // before our own 'data' listener so that a read is reported before the
    // responses it causes; when off, the read path has not one more check.
    if (ctx.options.onRaw !== null) installTap(socket, ctx.options.onRaw, (err) => ctx.report(err, null));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {
      // ECONNRESET and the like: 'close' follows and cleans up.
    });
    socket.on('close', () => this.onClose());
    this.track();
  }

  /** True when nothing is in flight: no request being received or answered. */
  get idle(): boolean {
    return this.queue.length === 0 && this.bodyTarget === null && this.parser.idle;
  }

  // ----------------------------------------------------------------- input

  private onData(chunk: Buffer): void {
    if (this.stopReading) return; // lingering after the last response: drop
    this.parser.push(chunk);
    // The responses to one read leave in one write: corked until the
    // callbacks that answer at once (sync, or async within this turn) did.
    this.socket.cork();
    this.corks++;
    this.pump();
    if (this.running === 0) this.uncork();
    else if (!this.uncorkScheduled) {
      this.uncorkScheduled = true;
      setImmediate(this.uncorkLater);
    }
  }

  private readonly uncorkLater = (): void => {
    this.uncorkScheduled = false;
    this.uncork();
  };

  private uncork(): void {
    this.writer.flushText();
    while (this.corks > 0) {
      this.corks--;
      this.socket.uncork();
    }
  }

  private onEnd(): void {
    // The client finished sending (half-close; the server allows it, so the
    // responses still in flight are written before our side ends). A request
    // cut short here gets a 400 UNEXPECTED_EOF (RFC 9112 §8).
    this.peerEnded = true;
    // Callbacks still working are told the client is leaving (their signal
    // fires); what they answer is still written, then our side ends.
    const leaving = new ClientGoneError('client closed its side of the connection');
    for (const ex of this.queue) if (ex.result === null) ex.controller?.abort(leaving);
    this.parser.finish();
    if (!this.stopReading) this.pump();
    if (this.queue.length === 0 && !this.writing) this.closeSoon();
  }

  /** Pulls parser events until it needs bytes or a consumer needs time. */
  private pump(): void {
    if (this.pumping || this.destroyed) return;
    this.pumping = true;
    // The clock, read at most once per pump: the bytes it delivers arrived
    // by now (the progress the body timeout measures). Date.now() costs about
    // as much as parsing a short head, once per request adds up.
    let now = 0;
    try {
      while (!this.stopReading && !this.destroyed) {
        const target = this.bodyTarget;
        if (target !== null ? target.stream!.full : this.queue.length >= this.ctx.options.maxPipelined) {
          this.pause();
          return;
        }
        const ev = this.parser.next();
        if (ev.type === 'partial') {
          this.resume();
          break;
        }
        if (ev.type === 'head') this.onHead(ev.head, now === 0 ? (now = Date.now()) : now);
        else if (ev.type === 'data') {
          const stream = target!.stream!;
          if (target!.finished) {
            this.drained += ev.data.length;
            if (this.drained > this.ctx.options.maxDrainSize) {
              // The client keeps sending content nobody reads: stop here (RFC 9112 §9.6).
              this.closeSoon();
              return;
            }
          }
          this.bodySince = now === 0 ? (now = Date.now()) : now;
          stream.push(ev.data);
        } else if (ev.type === 'end') {
          target!.stream!.end(ev.trailers);
          target!.bodyDone = true;
          this.bodyTarget = null;
          this.drained = 0;
          if (this.parser.done || this.ctx.stopping) this.stopReading = true;
        } else {
          this.onParseError(ev.error);
          return;
        }
      }
    } finally {
      this.pumping = false;
      this.track();
    }
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private resume(): void {
    if (this.paused) {
      this.paused = false;
      // The wait while paused was ours, not the client's: the body timeout restarts.
      this.bodySince = Date.now();
      this.socket.resume();
    }
  }

  /** A request head, delivered by a pump that read the clock as `now`. */
  private onHead(head: RequestHead, now: number): void {
    const controller = new LazyAbort();
    const ex: Exchange = {
      head, req: null, stream: null, controller, result: null,
      closeAfter: !head.keepAlive || head.upgrade, bodyDone: false, continueState: CONTINUE_NONE, finished: false,
      callbackSince: 0, priming: null,
    };
    const stream = new DataStream(this.ctx.options.highWaterMark, () => this.onDemand(ex));
    ex.stream = stream;
    ex.req = buildRequest(head, stream, this.ctx.id, this.remoteAddress, this.remotePort, controller, this.tls);
    this.queue.push(ex);
    this.bodyTarget = ex;
    this.bodySince = now;
    if (head.expectOther !== null) {
      // RFC 9110 §10.1.1: an expectation this server cannot meet.
      ex.result = this.answer(417, `unsupported expectation ${JSON.stringify(head.expectOther)}`, head.method === 'HEAD');
      ex.closeAfter = true;
      this.flush();
      return;
    }
    this.invoke(ex);
  }

  /** Runs the callback; a throw, a rejection or a bad result becomes a 500. */
  private invoke(ex: Exchange): void {
    this.running++;
    let ret: unknown;
    try {
      ret = this.ctx.callback(ex.req!);
    } catch (err) {
      this.settle(ex, err, true);
      return;
    }
    // A hostile result (a `then` getter or method that throws, a Proxy) must
    // become a 500, not an exception out of the socket's data handler.
    try {
      if (ret !== null && typeof ret === 'object' && typeof (ret as PromiseLike<unknown>).then === 'function') {
        // callbackTimeout runs from here: an answer given at once is not
        // timed (its synchronous work could not be cut short anyway), and
        // it does not pay for reading the clock.
        ex.callbackSince = Date.now();
        (ret as PromiseLike<unknown>).then(
          (value) => this.settle(ex, value, false),
          (err: unknown) => this.settle(ex, err, true),
        );
        return;
      }
    } catch (err) {
      this.settle(ex, err, true);
      return;
    }
    this.settle(ex, ret, false);
  }

  private settle(ex: Exchange, value: unknown, threw: boolean): void {
    this.running--;
    ex.callbackSince = 0;
    if (ex.finished || ex.result !== null) return; // the connection went away, or the server answered already
    const head = ex.head!;
    if (!ex.bodyDone) {
      // Answered before the content was read (RFC 9110 §10.1.1, RFC 9112 §9.6):
      // say Connection: close when the connection cannot be reused — the
      // client waits for a 100 Continue that will not come, or the rest is
      // more than the server will read and drop.
      const rest = head.contentLength !== null ? head.contentLength - ex.stream!.received : 0;
      if ((head.expectContinue && ex.continueState !== CONTINUE_SENT) || rest > this.ctx.options.maxDrainSize) ex.closeAfter = true;
    }
    // While stopping, the last request in flight closes the connection; those before it are answered as usual.
    const lastWhileStopping = this.ctx.stopping && this.queue[this.queue.length - 1] === ex;
    const rctx: ResponseContext = { method: head.method, version: head.version, keepAlive: head.keepAlive && !ex.closeAfter && !lastWhileStopping };
    if (threw) {
      this.ctx.report(value, ex.req);
      ex.result = this.internalError(rctx);
    } else {
      let r: PreparedResponse;
      try {
        r = prepareResponse(value, rctx);
      } catch (err) {
        this.ctx.report(err, ex.req);
        ex.result = this.internalError(rctx);
        this.flush();
        return;
      }
      if (r.stream !== null) {
        this.prime(ex, r, rctx);
        return;
      }
      ex.result = r;
    }
    this.flush();
  }

  /**
   * A streamed message: its first chunk is pulled before the head is
   * committed, so that a stream that fails at once (a missing file) is a
   * clean 500, reported like a callback failure. The wait counts as the
   * callback's (callbackTimeout: 503); a timeout or a disconnect gives the
   * stream up.
   */
  private prime(ex: Exchange, r: PreparedResponse, rctx: ResponseContext): void {
    const p = primeStream(r);
    ex.priming = p.cancel;
    ex.callbackSince = Date.now();
    p.response.then(
      (primed) => {
        if (ex.priming === null || ex.finished || ex.result !== null) {
          ex.priming = null;
          primed.cleanup(); // timed out, gone or answered by the server meanwhile
          return;
        }
        ex.priming = null;
        ex.callbackSince = 0;
        ex.result = primed;
        this.flush();
      },
      (err: unknown) => {
        p.cancel();
        if (ex.priming === null || ex.finished || ex.result !== null) {
          ex.priming = null;
          return;
        }
        ex.priming = null;
        ex.callbackSince = 0;
        this.ctx.report(err, ex.req);
        ex.result = this.internalError(rctx);
        this.flush();
      },
    );
  }

  /** The generic 500: no detail of the failure reaches the client. */
  private internalError(rctx: ResponseContext): PreparedResponse {
    return prepareResponse({ statuscode: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, message: 'Internal Server Error\n' }, rctx);
  }

  /** A short answer of the server's own (parse errors, 417, 408, 503): always closes. */
  private answer(status: number, text: string, headRequest = false): PreparedResponse {
    return {
      status, head: errorResponse(status, text, '1.1', headRequest).toString('latin1'), body: null, bodyText: null, stream: null,
      chunked: false, declaredLength: null, close: true, cleanup: () => {},
    };
  }

  private onParseError(err: HttpParseError): void {
    const text = `${err.code} at byte ${err.offset}: ${err.reason}`;
    if (this.bodyTarget !== null) this.contentBroken(this.bodyTarget, err, err.status, text);
    else this.serverAnswer(err.status, text);
  }

  /**
   * The content being received is broken (bad framing, or it stopped
   * arriving): nothing more is read. The callback's reads reject and its
   * signal fires; unless its response is already on the wire the client
   * gets `status` instead. If the response went out already (the rest was
   * being drained), there is nothing more to say, only to close.
   */
  private contentBroken(target: Exchange, err: Error, status: number, text: string): void {
    this.bodyTarget = null;
    this.stopReading = true;
    if (target.finished) {
      this.closeSoon();
      return;
    }
    target.stream!.fail(err);
    target.controller!.abort(err);
    target.closeAfter = true;
    if (!(this.writing && this.queue[0] === target)) {
      target.result = this.answer(status, text, target.head!.method === 'HEAD');
      target.priming?.();
      target.priming = null;
    }
    this.flush();
  }

  /** The reader of `ex`'s datastream wants bytes. */
  private onDemand(ex: Exchange): void {
    if (ex.head!.expectContinue && ex.continueState === CONTINUE_NONE && !ex.bodyDone) {
      ex.continueState = CONTINUE_WANTED;
      if (this.queue[0] === ex && !this.writing) this.flush();
    }
    this.pump();
  }

  // ---------------------------------------------------------------- output

  /**
   * Writes every ready response at the front of the queue, in order:
   * synchronously while it can (so the responses to one read leave in one
   * corked write), asynchronously for a streamed message or a full socket.
   */
  private flush(): void {
    if (this.writing || this.destroyed) return;
    // `writing` is checked on every turn: completed() pumps, and a callback
    // answering synchronously may flush (and start a stream) from inside.
    while (this.queue.length > 0 && !this.destroyed && !this.writing) {
      const ex = this.queue[0]!;
      const r = ex.result;
      if (r === null) {
        if (ex.continueState === CONTINUE_WANTED && !ex.bodyDone) {
          // RFC 9110 §10.1.1: the client waits for this before sending the content.
          ex.continueState = CONTINUE_SENT;
          this.writer.writeContinue();
        }
        break;
      }
      // The server began to stop after this answer was prepared and it is the
      // last in flight: it says Connection: close, as the connection ends after it.
      const last = this.ctx.stopping && this.queue.length === 1 && this.bodyTarget === null && !r.close;
      const out = last ? closing(r) : r;
      if (last) ex.result = out;
      if (out.stream !== null) {
        void this.flushStream(ex, out);
        return;
      }
      const ok = this.writer.writeWhole(out);
      if (!this.completed(ex, out)) return;
      if (!ok) {
        this.writing = true;
        void this.writer.drain().then(() => {
          this.writing = false;
          this.flush();
        });
        return;
      }
    }
    if (this.writing) return;
    if ((this.ctx.stopping || this.peerEnded) && this.queue.length === 0 && this.bodyTarget === null) this.closeSoon();
    this.track();
  }

  /** Writes a response whose message is a stream, then goes on with the queue. */
  private async flushStream(ex: Exchange, r: PreparedResponse): Promise<void> {
    this.writing = true;
    let sent = 0;
    try {
      sent = await this.writer.writeStream(r, ex.req, ex.controller?.timeout ?? null);
    } finally {
      this.writing = false;
    }
    if (this.completed(ex, r, sent)) this.flush();
  }

  /**
   * A response is on the wire: dequeue it and decide whether the connection
   * goes on (false: it is closing).
   */
  private completed(ex: Exchange, r: PreparedResponse, streamed = 0): boolean {
    this.queue.shift();
    ex.finished = true;
    r.cleanup();
    const log = this.ctx.options.log;
    if (log !== null) {
      const bytes = r.body !== null ? r.body.length : r.bodyText !== null ? r.bodyText.length : streamed;
      try {
        log(accessLine(this.remoteAddress, ex.head, r.status, bytes, new Date()), ex.req);
      } catch {
        // A log function that throws must not take the connection down.
      }
    }
    if (this.destroyed || this.broken) return false;
    const closeNow = r.close || ex.closeAfter || (this.ctx.stopping && this.queue.length === 0 && this.bodyTarget === null);
    if (!ex.bodyDone && ex.stream !== null) {
      // The response went out before the content was read.
      if (ex.head!.expectContinue && ex.continueState !== CONTINUE_SENT) {
        // The client is waiting for 100 Continue that will never come: it must not send the content.
        this.closeSoon();
        return false;
      }
      ex.stream.discard();
    }
    if (closeNow) {
      this.closeSoon();
      return false;
    }
    this.pump();
    return true;
  }

  // ------------------------------------------------------------- lifecycle

  /**
   * Ends the connection after what is written: FIN now, then drop what the
   * client still sends for a moment, so that a close with unread input does
   * not turn into a reset that destroys the response before it is read.
   */
  private closeSoon(): void {
    if (this.destroyed) return;
    this.stopReading = true;
    this.headSince = 0;
    this.idleSince = 0;
    this.resume();
    this.writer.flushText();
    this.socket.end();
    const linger = timer(() => this.destroy(), this.ctx.options.lingerTimeout);
    if (linger !== null) this.socket.once('close', () => clearTimeout(linger));
  }

  /**
   * Stop was asked: close now if nothing is in flight, else after the
   * in-flight responses. With `stopIdleTimeout`, a connection with nothing
   * in flight stays open that long first: a request the client sent before
   * it could see our FIN (the keep-alive race of RFC 9112 §9.3.1) is then
   * answered, with `Connection: close`, instead of being lost.
   */
  shutdown(): void {
    for (const ex of this.queue) ex.controller?.abort(new RepyHttpError('ERR_SERVER_STOPPING', 'server stopping'));
    if (this.queue.length === 0 && this.bodyTarget === null) {
      const grace = this.ctx.options.stopIdleTimeout;
      if (grace === 0) {
        this.closeSoon();
        return;
      }
      const t = timer(() => {
        if (this.queue.length === 0 && this.bodyTarget === null) this.closeSoon();
      }, grace);
      if (t !== null) this.socket.once('close', () => clearTimeout(t));
    } else if (this.bodyTarget === null) this.stopReading = true;
  }

  /** Tears the connection down at once. */
  destroy(): void {
    if (!this.destroyed) this.socket.destroy();
  }

  private onClose(): void {
    this.destroyed = true;
    const gone = new ClientGoneError('client disconnected');
    for (const ex of this.queue) {
      if (!ex.finished) {
        ex.finished = true;
        ex.controller?.abort(gone);
        ex.stream?.fail(gone);
        ex.result?.cleanup();
        ex.priming?.();
        ex.priming = null;
      }
    }
    if (this.bodyTarget !== null && !this.bodyTarget.finished) this.bodyTarget.stream?.fail(gone);
    this.queue.length = 0;
    this.bodyTarget = null;
    this.ctx.closed(this);
  }

  // ---------------------------------------------------------------- timers

  /** Notes which waits are running, for the sweeper (no timer per request or per connection). */
  private track(): void {
    if (this.destroyed || this.stopReading) {
      this.headSince = 0;
      this.idleSince = 0;
      return;
    }
    const nothingInFlight = this.queue.length === 0 && this.bodyTarget === null;
    if (this.bodyTarget === null && !this.parser.idle) {
      if (this.headSince === 0) this.headSince = Date.now();
    } else this.headSince = 0;
    if (nothingInFlight && this.parser.idle) {
      if (this.idleSince === 0) this.idleSince = Date.now();
    } else this.idleSince = 0;
  }

  /**
   * Called by the registration's sweeper with the current time:
   * - headers timeout: a request head takes too long (slowloris) → 408;
   * - body timeout: the content stops arriving while it is read → 408
   *   (not while reading is paused for backpressure: that wait is ours);
   * - callback timeout: the callback does not answer → 503, onError;
   * - write timeout: the client does not read the response → cut;
   * - keep-alive timeout: nothing in flight → closed quietly.
   * RFC 9112 §9.5 lets a server close an idle or slow connection at any time.
   */
  sweep(now: number): void {
    if (this.destroyed) return;
    const o = this.ctx.options;
    const writeExpired = this.writer.expired(now, o);
    if (writeExpired !== null) {
      this.ctx.report(writeExpired, null);
      this.destroy();
      return;
    }
    if (this.idleSince !== 0 && o.keepAliveTimeout > 0 && now - this.idleSince > o.keepAliveTimeout) {
      this.closeSoon();
      return;
    }
    if (this.headSince !== 0 && o.headersTimeout > 0 && now - this.headSince > o.headersTimeout) {
      this.headSince = 0;
      this.serverAnswer(408, 'the request head did not arrive in time');
      return;
    }
    const target = this.bodyTarget;
    // Not while the client rightly holds the content back, waiting for a 100 Continue (RFC 9110 §10.1.1).
    const held = target !== null && target.head!.expectContinue && target.continueState !== CONTINUE_SENT;
    if (target !== null && !this.paused && !held) {
      const limit = target.controller?.timeout ?? o.bodyTimeout;
      if (limit > 0 && now - this.bodySince > limit) {
        const err = new RequestTimeoutError('ERR_BODY_TIMEOUT', 'the request content stopped arriving (bodyTimeout)');
        this.contentBroken(target, err, 408, 'the request content did not arrive in time');
        return;
      }
    }
    for (const ex of this.queue) {
      if (ex.callbackSince === 0 || ex.result !== null) continue;
      const limit = ex.controller?.timeout ?? o.callbackTimeout;
      if (limit > 0 && now - ex.callbackSince > limit) {
        const err = ex.priming !== null
          ? new RequestTimeoutError('ERR_CALLBACK_TIMEOUT', `the message stream produced nothing for ${limit} ms (callbackTimeout)`)
          : new RequestTimeoutError('ERR_CALLBACK_TIMEOUT', `the callback did not answer within ${limit} ms (callbackTimeout)`);
        ex.callbackSince = 0;
        ex.priming?.();
        ex.priming = null;
        ex.controller?.abort(err);
        this.ctx.report(err, ex.req);
        ex.result = this.answer(503, 'the request took too long', ex.head!.method === 'HEAD');
        ex.closeAfter = true;
        this.flush();
      }
    }
  }

  /** Queues an answer of the server's own after what is in flight, then closes. */
  private serverAnswer(status: number, text: string): void {
    this.stopReading = true;
    this.queue.push({
      head: null, req: null, stream: null, controller: null,
      result: this.answer(status, text),
      closeAfter: true, bodyDone: true, continueState: CONTINUE_NONE, finished: false, callbackSince: 0, priming: null,
    });
    this.flush();
  }
}

/**
 * An unref'd timer, or null for a delay that means "never" (Infinity, or
 * beyond what Node's timers hold: 2^31-1 ms would otherwise fire at once).
 */
export function timer(fn: () => void, ms: number): NodeJS.Timeout | null {
  if (!(ms >= 0) || ms > MAX_TIMER) return null;
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
}
