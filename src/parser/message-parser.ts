/**
 * The input side and the event loop shared by the request and response
 * parsers. Pure: it never touches a socket, so it can be fed bytes at every
 * split point by tests, by the CLI, by the server's connection loop and by
 * the client.
 *
 * Use: `push()` bytes as they arrive, then call `next()` until it answers
 * `partial` (needs more bytes). Each call returns one event:
 *
 * | event     | meaning                                                       |
 * | --------- | ------------------------------------------------------------- |
 * | `head`    | a complete request line / status line and header section     |
 * | `data`    | a piece of decoded content (a view into the pushed bytes)    |
 * | `end`     | the message is complete (with its trailer fields, if any)    |
 * | `error`   | the bytes are rejected: code, HTTP status and byte offset    |
 * | `partial` | nothing more can be said until more bytes arrive (or EOF)    |
 *
 * A message goes through the states M_HEAD (head.ts, or fast-path.ts for a
 * head that arrived whole), then the body framing.ts chose: M_BODY_LENGTH,
 * M_CHUNK_LINE / M_CHUNK_DATA / M_CHUNK_DATA_END / M_TRAILERS (chunked.ts),
 * or M_BODY_EOF; then M_END, and the next message, M_CLOSED or M_UPGRADED.
 *
 * The head is scanned once, byte by byte through table lookups, resuming
 * where the previous chunk stopped: no byte is scanned twice, so a head fed
 * one byte at a time costs the same as a head fed whole. A head split across
 * chunks is gathered into one growing buffer (amortised copies); a head that
 * arrives whole is parsed in place.
 *
 * @module
 */

import { DEFAULT_LIMITS } from './constants.js';
import { CHUNK_STATES, ChunkedDecoder } from './chunked.js';
import type { BodyKind } from './framing.js';
import { HeadWindow, wholeHead } from './fast-path.js';
import { HEAD_STATES, HeadScanner } from './head.js';
import { CR, LF } from './text.js';
import type { HeadBase, ParseEvent, ParserOptions, RawHeader } from './types.js';
import { HttpParseError, type ParseErrorCode } from '../errors.js';

const PARTIAL = Object.freeze({ type: 'partial' as const });
/** The `end` event of a message without trailers (most of them): one shared, frozen object. */
const END_NO_TRAILERS = Object.freeze({ type: 'end' as const, trailers: Object.freeze([]) as unknown as RawHeader[] });

/** Message-level states, named for tracing. */
export const MESSAGE_STATES = [
  'head', 'content (Content-Length)', 'chunk-size line', 'chunk-data', 'chunk-data CRLF', 'trailer-section',
  'content (until close)', 'end', 'closed', 'upgraded', 'error',
] as const;
export const M_HEAD = 0; // line mode: start line + field section
const M_BODY_LENGTH = 1; // Content-Length body
const M_CHUNK_LINE = 2; // chunk-size [ chunk-ext ] CRLF
const M_CHUNK_DATA = 3;
const M_CHUNK_DATA_END = 4; // the CRLF after chunk-data
const M_TRAILERS = 5; // line mode: trailer section
const M_BODY_EOF = 6; // close-delimited response body
const M_END = 7; // message complete: emit 'end'
export const M_CLOSED = 8; // no further message on this connection
export const M_UPGRADED = 9; // the rest is another protocol
const M_ERROR = 10;

export abstract class MessageParser<H extends HeadBase> {
  /** Bytes consumed so far: the absolute offset of the next unread byte. */
  offset = 0;
  protected readonly o: Required<Omit<ParserOptions, 'trace'>>;
  protected readonly isRequest: boolean;
  /** The head scanner, and what the head says. */
  protected readonly h: HeadScanner;
  private readonly chunk: ChunkedDecoder;
  private readonly win = new HeadWindow();

  // Input: `cur[pos..]` then `queue`.
  private cur: Buffer | null = null;
  private pos = 0;
  private queue: Buffer[] = [];
  private eof = false;

  // Accumulator for a head or trailer section split across chunks.
  private acc: Buffer = Buffer.allocUnsafe(0);
  private accLen = 0;
  private accBase = 0; // absolute offset of acc[0]

  protected m = M_HEAD;
  private failedIn = '';
  private err: HttpParseError | null = null;
  private head: H | null = null;
  private remaining = 0; // content bytes left (Content-Length or current chunk)
  private bodyBytes = 0;

  constructor(isRequest: boolean, options: ParserOptions = {}) {
    this.isRequest = isRequest;
    this.o = {
      maxRequestLineSize: options.maxRequestLineSize ?? DEFAULT_LIMITS.maxRequestLineSize,
      maxHeaderSize: options.maxHeaderSize ?? DEFAULT_LIMITS.maxHeaderSize,
      maxHeaderCount: options.maxHeaderCount ?? DEFAULT_LIMITS.maxHeaderCount,
      maxBodySize: options.maxBodySize ?? DEFAULT_LIMITS.maxBodySize,
      maxChunkLineSize: options.maxChunkLineSize ?? DEFAULT_LIMITS.maxChunkLineSize,
      maxChunkExtensionsSize: options.maxChunkExtensionsSize ?? DEFAULT_LIMITS.maxChunkExtensionsSize,
      allowBareLF: options.allowBareLF ?? false,
      requireHost: options.requireHost ?? true,
    };
    this.h = new HeadScanner(isRequest, this.o, options.trace);
    this.chunk = new ChunkedDecoder(this.o);
    this.resetMessage();
  }

  /**
   * Appends bytes. The parser keeps a reference (no copy) until they are
   * consumed; `data` events are views into them.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.win.forget(b);
    if (this.cur === null) {
      this.cur = b;
      this.pos = 0;
    } else this.queue.push(b);
  }

  /** Signals the end of the stream (the peer closed its side). */
  finish(): void {
    this.eof = true;
  }

  /** True once no further message can follow (after a closing message or an error). */
  /**
   * Where the parser is, named after the RFC 9112 rule it is reading: the
   * message state, and inside a head or a chunk line the rule of the byte
   * it expects next. `--trace` prints it with an error.
   *
   * @example 'head: field-value', 'chunk-size line: chunk-ext-name', 'content (Content-Length)'
   */
  get state(): string {
    if (this.m === M_ERROR) return `error (in ${this.failedIn})`;
    const m = MESSAGE_STATES[this.m]!;
    if (this.m === M_HEAD || this.m === M_TRAILERS) return `${m}: ${HEAD_STATES[this.h.l]!}`;
    if (this.m === M_CHUNK_LINE) return `${m}: ${CHUNK_STATES[this.chunk.state]!}`;
    return m;
  }

  get done(): boolean {
    return this.m === M_CLOSED || this.m === M_UPGRADED || this.m === M_ERROR;
  }

  /** True after a message whose following bytes belong to another protocol (CONNECT, Upgrade, 101). */
  get upgraded(): boolean {
    return this.m === M_UPGRADED;
  }

  /** True between messages: nothing of a next message has been consumed yet (empty lines aside). */
  get idle(): boolean {
    return this.m === M_HEAD && this.accLen === 0 && this.h.atStart;
  }

  /** Bytes pushed but not consumed (e.g. the first bytes of an upgraded protocol). */
  takeRemaining(): Buffer {
    const parts: Buffer[] = [];
    if (this.accLen > 0) parts.push(Buffer.from(this.acc.subarray(0, this.accLen)));
    if (this.cur) parts.push(this.cur.subarray(this.pos));
    parts.push(...this.queue);
    this.cur = null;
    this.queue = [];
    this.accLen = 0;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Returns the next event; `partial` when more bytes (or `finish()`) are needed. */
  next(): ParseEvent<H> {
    for (;;) {
      switch (this.m) {
        case M_HEAD:
        case M_TRAILERS: {
          const r = this.lines();
          if (r !== null) return r;
          continue;
        }
        case M_BODY_LENGTH:
        case M_CHUNK_DATA:
          return this.input() ? this.content() : this.atEof();
        case M_BODY_EOF: {
          if (this.input()) return this.contentUntilClose();
          if (!this.eof) return PARTIAL;
          this.m = M_END;
          continue;
        }
        case M_CHUNK_LINE: {
          if (!this.input()) return this.atEof();
          const r = this.chunkLine();
          if (r !== null) return r;
          continue;
        }
        case M_CHUNK_DATA_END: {
          if (!this.input()) return this.atEof();
          const r = this.chunk.dataEnd(this.cur![this.pos]!, this.offset);
          if (r instanceof HttpParseError) return this.failWith(r);
          this.advance(1);
          if (r === true) this.startChunkLine();
          continue;
        }
        case M_END: {
          const trailers = this.h.trailers;
          const head = this.head!;
          this.resetMessage();
          this.m = this.afterMessage(head);
          return trailers.length === 0 ? END_NO_TRAILERS : { type: 'end', trailers };
        }
        case M_CLOSED: {
          // Empty lines after the last message are ignored (RFC 9112 §2.2), anything else is refused.
          if (!this.input()) return PARTIAL;
          const b = this.cur![this.pos]!;
          if (b !== CR && b !== LF) return this.fail('DATA_AFTER_CLOSE', this.offset);
          this.advance(1);
          continue;
        }
        case M_UPGRADED:
          return PARTIAL;
        default:
          return { type: 'error', error: this.err! };
      }
    }
  }

  /** Content of a known length (Content-Length, or one chunk's chunk-data): a view of what is here. */
  private content(): ParseEvent<H> {
    const cur = this.cur!;
    const n = Math.min(this.remaining, cur.length - this.pos);
    const data = cur.subarray(this.pos, this.pos + n);
    this.advance(n);
    this.remaining -= n;
    if (this.remaining === 0) this.m = this.m === M_BODY_LENGTH ? M_END : M_CHUNK_DATA_END;
    return { type: 'data', data };
  }

  /** Content that runs until the connection closes (RFC 9112 §6.3 rule 8). */
  private contentUntilClose(): ParseEvent<H> {
    const cur = this.cur!;
    // Deliver up to the budget, then refuse: the same bytes whatever the chunking.
    const room = this.o.maxBodySize - this.bodyBytes;
    if (room <= 0) return this.fail('BODY_TOO_LARGE', this.offset);
    const n = Math.min(cur.length - this.pos, room);
    this.bodyBytes += n;
    const data = cur.subarray(this.pos, this.pos + n);
    this.advance(n);
    return { type: 'data', data };
  }

  /** What follows a complete message: another message, nothing, or another protocol. */
  protected afterMessage(head: H): number {
    if (head.upgrade) return M_UPGRADED;
    return head.keepAlive ? M_HEAD : M_CLOSED;
  }

  // ---------------------------------------------------------------- input

  /** Makes `cur` hold at least one unread byte; false when there is none. */
  private input(): boolean {
    while (this.cur !== null && this.pos >= this.cur.length) {
      this.cur = this.queue.length > 0 ? this.queue.shift()! : null;
      this.pos = 0;
    }
    return this.cur !== null;
  }

  private advance(n: number): void {
    this.pos += n;
    this.offset += n;
  }

  /** No more input: partial, or an error when the peer closed mid-message. */
  private atEof(): ParseEvent<H> {
    if (!this.eof) return PARTIAL;
    return this.fail('UNEXPECTED_EOF', this.offset);
  }

  protected fail(code: ParseErrorCode, offset: number, detail?: string): ParseEvent<H> {
    return this.failWith(new HttpParseError(code, offset, detail));
  }

  private failWith(err: HttpParseError): ParseEvent<H> {
    this.err = err;
    this.failedIn = this.state;
    this.m = M_ERROR;
    this.cur = null;
    this.queue = [];
    this.accLen = 0;
    return { type: 'error', error: err };
  }

  private resetMessage(): void {
    this.h.reset(this.offset);
    this.head = null;
    this.bodyBytes = 0;
    this.chunk.reset();
  }

  // ------------------------------------------------------------ line mode

  /**
   * Runs the head scanner over the available bytes (the header section, or
   * the trailer section). Returns an event, or null when the section is
   * complete and `next()` should go on.
   */
  private lines(): ParseEvent<H> | null {
    const h = this.h;
    for (;;) {
      if (!this.input()) {
        if (!this.eof || this.idle) return PARTIAL;
        return this.fail('UNEXPECTED_EOF', this.offset);
      }
      const cur = this.cur!;
      if (this.accLen === 0) {
        // Fast path: scan the current chunk in place.
        const base = this.offset - this.pos;
        const start = this.pos;
        h.scan = start;
        let r = this.m === M_HEAD && h.atStart ? wholeHead(h, this.win, cur, base, start) : undefined;
        if (r === undefined) r = h.scanSection(cur, base, cur.length);
        if (r === undefined) {
          // The section goes on past this chunk: keep the unfinished line's bytes.
          const keepFrom = h.keepFrom();
          h.rebase(keepFrom);
          this.appendAcc(cur.subarray(keepFrom), base + keepFrom);
          this.advance(cur.length - start);
          continue;
        }
        if (r !== null) return this.failWith(r);
        this.advance(h.scan - start);
        return this.sectionDone();
      }
      // Slow path: the section started in an earlier chunk (offset === accBase + accLen).
      const n = cur.length - this.pos;
      this.appendAcc(cur.subarray(this.pos), this.offset);
      this.advance(n);
      const r = h.scanSection(this.acc, this.accBase, this.accLen);
      if (r === undefined) continue;
      if (r !== null) return this.failWith(r);
      // The section ended inside acc at `scan`: the rest goes back to the input.
      const restLen = this.accLen - h.scan;
      this.offset -= restLen;
      if (restLen > 0) {
        this.cur = Buffer.from(this.acc.subarray(h.scan, this.accLen));
        this.pos = 0;
      }
      this.accLen = 0;
      return this.sectionDone();
    }
  }

  private sectionDone(): ParseEvent<H> | null {
    if (this.m === M_TRAILERS) {
      this.m = M_END;
      return null;
    }
    return this.completeHead();
  }

  private appendAcc(bytes: Buffer, absStart: number): void {
    if (this.accLen === 0) this.accBase = absStart;
    const need = this.accLen + bytes.length;
    if (need > this.acc.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.acc.length * 2, 1024));
      this.acc.copy(grown, 0, 0, this.accLen);
      this.acc = grown;
    }
    bytes.copy(this.acc, this.accLen);
    this.accLen = need;
  }

  /**
   * Builds and validates the head once the field section is complete, and
   * says how its body is read (framing.ts decides).
   */
  protected abstract buildHead(): H | HttpParseError;

  /** How the body of the head just built is read: set by `buildHead` from framing.ts. */
  protected body: BodyKind = 'none';

  private completeHead(): ParseEvent<H> | null {
    const h = this.h;
    if (h.trace !== undefined && h.versionMajor === 0) h.trace({ step: 'start-line', offset: h.msgStart, detail: `${h.startLine.join(' ')} (HTTP/0.9)` });
    const head = this.buildHead();
    if (head instanceof HttpParseError) return this.failWith(head);
    this.head = head;
    const body = this.body;
    if (body === 'chunked') {
      this.startChunkLine();
    } else if (body === 'length' && head.contentLength! > 0) {
      this.remaining = head.contentLength!;
      this.m = M_BODY_LENGTH;
    } else if (body === 'until-close') {
      this.m = M_BODY_EOF;
    } else {
      this.m = M_END;
    }
    return { type: 'head', head };
  }

  /** Budget check for a declared Content-Length, at the end of the head. */
  protected bodyFits(length: number): boolean {
    return length <= this.o.maxBodySize;
  }

  // ----------------------------------------------------------- chunk lines

  private startChunkLine(): void {
    this.m = M_CHUNK_LINE;
    this.chunk.beginLine(this.offset);
  }

  /** One chunk-size line (chunked.ts), then its chunk-data, or the trailer section after the last chunk. */
  private chunkLine(): ParseEvent<H> | null {
    const c = this.chunk;
    const i = c.line(this.cur!, this.pos, this.offset - this.pos);
    if (i instanceof HttpParseError) return this.failWith(i);
    this.advance(i - this.pos);
    if (!c.lineDone) return null; // need more bytes: next() sees no input and answers partial
    const size = c.size;
    if (this.h.trace !== undefined) this.h.trace({ step: 'chunk-size', offset: c.lineStart, detail: `${size}${size === 0 ? ' (last chunk)' : ''}` });
    if (size === 0) {
      // last-chunk: the trailer section follows (RFC 9112 §7.1.2).
      this.m = M_TRAILERS;
      this.h.beginTrailers(this.offset);
      return null;
    }
    if (this.bodyBytes + size > this.o.maxBodySize) return this.fail('BODY_TOO_LARGE', c.lineStart);
    this.bodyBytes += size;
    this.remaining = size;
    this.m = M_CHUNK_DATA;
    return null;
  }
}
