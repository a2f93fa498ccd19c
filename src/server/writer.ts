/**
 * Writes prepared responses onto a connection's socket: the head and known
 * content in as few writes as possible, a streamed message chunk by chunk
 * with backpressure, and the bookkeeping of the two write timeouts (the
 * client not reading, the message stream not producing). Which response
 * goes next, and what happens to the connection after it, is the
 * connection's business (src/server/connection.ts).
 *
 * @module
 */

import type { Socket } from 'node:net';
import { RequestTimeoutError } from './errors.js';
import type { ServerOptionsResolved } from './options.js';
import type { RequestDict } from './request.js';
import { lengthMismatch, type PreparedResponse } from './response.js';

const CONTINUE_LINE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

/** What the writer needs from its connection. */
export interface WriterHost {
  /** True once the socket closed: a stream being written is abandoned. */
  gone(): boolean;
  /**
   * A streamed response failed after its head went out (the framing cannot
   * be saved): report `err` and end the connection after what was written.
   */
  cut(err: unknown, req: RequestDict | null): void;
}

/** A stream whose writes all complete at once yields to the event loop after this many bytes (fairness between connections). */
const TURN_BYTES = 4 * 1024 * 1024;

/** Small streamed chunks gather up to this many bytes before they are written as one (see writeStream). */
const COALESCE_BYTES = 16 * 1024;

export class ResponseWriter {
  // Timestamps (ms) the sweeper compares with the timeouts; 0 = not waiting.
  private drainSince = 0; // a write waits for the client to read
  private producerSince = 0; // a write waits for the callback's message stream
  private streamTimeout: number | null = null; // the req.setTimeout of the stream being written

  constructor(
    private readonly socket: Socket,
    private readonly host: WriterHost,
  ) {}

  /**
   * Whole text responses written while the connection holds the socket
   * corked (the answers to one read), as one string: one socket write for
   * them all at uncork, instead of one write each that the socket would
   * queue and hand to the kernel as a writev of strings. Every other write
   * goes after it (`flushText` first), so the order on the wire is kept.
   */
  private text = '';

  /** Hands the gathered text responses to the socket. The connection calls it before it uncorks or ends the socket. */
  flushText(): void {
    if (this.text.length === 0) return;
    const t = this.text;
    this.text = '';
    this.socket.write(t, 'latin1');
  }

  /** RFC 9110 §10.1.1: the interim response the client waits for before sending the content. */
  writeContinue(): void {
    this.flushText();
    this.socket.write(CONTINUE_LINE);
  }

  /** Writes a response whose content is known; false when the socket asks to wait for 'drain'. */
  writeWhole(r: PreparedResponse): boolean {
    const sock = this.socket;
    const head = r.head;
    // ASCII text content goes out with the head as one latin1 string: no Buffer is made.
    if (head !== null && r.bodyText !== null) {
      const whole = r.bodyText.length === 0 ? head : head + r.bodyText;
      if (sock.writableCorked > 0 && this.text.length + whole.length <= COALESCE_BYTES) {
        this.text += whole;
        return true;
      }
      this.flushText();
      return sock.write(whole, 'latin1');
    }
    this.flushText();
    if (head === null) {
      // HTTP/0.9: the content only.
      if (r.bodyText !== null) return r.bodyText.length === 0 || sock.write(r.bodyText, 'latin1');
      return r.body === null || r.body.length === 0 || sock.write(r.body);
    }
    if (r.body === null || r.body.length === 0) return sock.write(head, 'latin1');
    sock.cork();
    sock.write(head, 'latin1');
    const ok = sock.write(r.body);
    sock.uncork();
    return ok;
  }

  /**
   * Writes a response whose message is a stream, with backpressure.
   * `timeout` is the request's own `req.setTimeout` (null: the server's
   * `callbackTimeout`), the most the stream may take for one chunk.
   */
  /**
   * Writes a streamed response; resolves with the content bytes written (for the access log).
   *
   * Small chunks are coalesced: they collect in `pending` and leave as one
   * write (one HTTP chunk) when 16 KiB have gathered, or at the next turn
   * of the event loop (`setImmediate`), whichever comes first. A producer
   * that yields many small pieces without waiting for I/O then costs one
   * write per 16 KiB instead of one syscall per piece (100 000 chunks of
   * 10 bytes were 5× slower than node:http's `res.write` loop); a producer
   * that waits between pieces (an event stream) still has each piece on
   * the wire within one turn. The head leaves in the same write as the
   * first chunk. Backpressure is kept: while the socket holds more than its
   * high-water mark (16 KiB) unsent, no chunk is pulled until it drains, so
   * a connection holds at most that plus one write (16 KiB, or one larger
   * chunk) of the stream.
   */
  async writeStream(r: PreparedResponse, req: RequestDict | null, timeout: number | null): Promise<number> {
    this.streamTimeout = timeout;
    this.flushText();
    const sock = this.socket;
    const stream = r.stream!;
    // The head leaves with the first chunk (one write), or alone if the stream ends (or fails) first.
    let head = r.head;
    const writeHead = (): void => {
      if (head === null || this.host.gone()) return;
      sock.write(head, 'latin1');
      head = null;
    };
    let sent = 0;
    const iterator = stream[Symbol.asyncIterator]();
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let full = false; // the socket holds more than its high-water mark: drain before pulling more
    let timer: NodeJS.Immediate | null = null;
    let sizeLine = CRLF; // the last chunk-size line, for chunks of the same size
    let sizeLineFor = -1;
    let sinceTurn = 0; // bytes written since this loop last waited for the event loop
    const flush = (): void => {
      if (timer !== null) {
        clearImmediate(timer);
        timer = null;
      }
      if (pendingBytes === 0) return;
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      if (this.host.gone()) return;
      sock.cork();
      writeHead();
      if (r.chunked) {
        // chunk = chunk-size CRLF chunk-data CRLF (RFC 9112 §7.1), as one
        // writev of Buffers (a string among them costs a conversion).
        if (data.length !== sizeLineFor) {
          sizeLineFor = data.length;
          sizeLine = Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1');
        }
        sock.write(sizeLine);
        sock.write(data);
        sock.write(CRLF);
      } else sock.write(data);
      sock.uncork();
      sinceTurn += data.length;
      // Backpressure on what the socket really holds: a write the kernel
      // took at once leaves nothing queued (write() still answers false
      // for a chunk above the high-water mark, and waiting for its 'drain'
      // cost a turn per chunk); more than the high-water mark queued waits.
      if (sock.writableLength > sock.writableHighWaterMark) full = true;
    };
    // Whatever ends the response early, the message stream is closed (its finally runs).
    const abandon = async (): Promise<void> => {
      if (timer !== null) clearImmediate(timer);
      timer = null;
      pending = [];
      pendingBytes = 0;
      await iterator.return?.().catch(() => {});
    };
    try {
      for (;;) {
        if (full) {
          full = false;
          sinceTurn = 0;
          await this.drain(r.abort ?? null);
          if (this.host.gone()) return await abandon().then(() => sent);
          // The stream gave up while its client was not reading (STREAM_ABORT).
          if (r.abort?.aborted === true) throw r.abort.reason;
        } else if (sinceTurn >= TURN_BYTES) {
          // The kernel took everything at once (a fast reader): nothing
          // made this loop wait for I/O, and a producer that never waits
          // either would keep the event loop from every other connection.
          sinceTurn = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (this.host.gone()) return await abandon().then(() => sent);
        }
        this.producerSince = Date.now();
        const step = await iterator.next();
        this.producerSince = 0;
        if (this.host.gone()) return await abandon().then(() => sent);
        if (step.done) break;
        const chunk = step.value;
        sent += chunk.length;
        const longer = lengthMismatch(r.declaredLength, sent, false);
        if (longer !== null) throw longer;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= COALESCE_BYTES) flush();
        else timer ??= setImmediate(flush);
        if (r.abort?.aborted === true) throw r.abort.reason;
      }
      flush();
      const shorter = lengthMismatch(r.declaredLength, sent, true);
      if (shorter !== null) throw shorter;
      writeHead();
      if (r.chunked) sock.write('0\r\n\r\n', 'latin1');
    } catch (err) {
      // The head is on the wire: the framing cannot be saved, only the
      // connection ended — gracefully, so that what was written (and any
      // earlier responses still corked) reaches the client, which sees the
      // message cut short (no last chunk, or fewer bytes than announced).
      this.producerSince = 0;
      flush(); // what the stream produced before failing still goes out, as before
      writeHead();
      this.host.cut(err, req);
      await abandon();
    }
    return sent;
  }

  /** Resolves once the socket drained (or closed, or `abort` aborted). */
  drain(abort: AbortSignal | null = null): Promise<void> {
    this.drainSince = Date.now();
    return new Promise((resolve) => {
      const done = (): void => {
        this.drainSince = 0;
        this.socket.off('drain', done);
        this.socket.off('close', done);
        abort?.removeEventListener('abort', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
      if (abort !== null) {
        if (abort.aborted) done();
        else abort.addEventListener('abort', done, { once: true });
      }
    });
  }

  /**
   * The write timeout that expired at `now`, if any (the connection reports
   * it and cuts the connection): `writeTimeout` while the client does not
   * read, the callback's time while a message stream does not produce.
   */
  expired(now: number, o: ServerOptionsResolved): RequestTimeoutError | null {
    if (this.drainSince !== 0 && o.writeTimeout > 0 && now - this.drainSince > o.writeTimeout) {
      return new RequestTimeoutError('ERR_WRITE_TIMEOUT', 'the client did not read the response in time (writeTimeout)');
    }
    if (this.producerSince !== 0) {
      // A message stream that stops producing holds the connection: it gets
      // the callback's time (per chunk), then the connection is cut.
      const limit = this.streamTimeout ?? o.callbackTimeout;
      if (limit > 0 && now - this.producerSince > limit) {
        return new RequestTimeoutError('ERR_CALLBACK_TIMEOUT', `the message stream produced nothing for ${limit} ms (callbackTimeout)`);
      }
    }
    return null;
  }
}
