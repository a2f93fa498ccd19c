/**
 * A strict, incremental HTTP/0.9–1.1 message parser. Pure: it never touches a
 * socket, so it can be fed bytes at every split point by tests, by the CLI,
 * by the server's connection loop and by the client.
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
 * The head is scanned once, byte by byte through table lookups, resuming
 * where the previous chunk stopped: no byte is scanned twice, so a head fed
 * one byte at a time costs the same as a head fed whole. A head split across
 * chunks is gathered into one growing buffer (amortised copies); a head that
 * arrives whole is parsed in place.
 *
 * @module
 */

import { DEFAULT_LIMITS, FIELD_VALUE, HEX, HOST_CHAR, QDTEXT, REASON, TARGET, TOKEN } from './constants.js';
import { HttpParseError, type ParseErrorCode } from '../errors.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A field line as received: `[name, value]`, name in wire case, value without surrounding OWS. */
export type RawHeader = [name: string, value: string];

/** Options of {@link RequestParser} and {@link ResponseParser}. Defaults: {@link DEFAULT_LIMITS}. */
export interface ParserOptions {
  /** Longest request line (status line), CRLF excluded; beyond: 414 `URI_TOO_LONG`. */
  maxRequestLineSize?: number;
  /** Largest header section (and trailer section) in bytes; beyond: 431 `HEADERS_TOO_LARGE`. */
  maxHeaderSize?: number;
  /** Most field lines in the header (and trailer) section; beyond: 431 `TOO_MANY_HEADERS`. */
  maxHeaderCount?: number;
  /** Most content bytes of one message; beyond: 413 `BODY_TOO_LARGE`. `Infinity` for none. */
  maxBodySize?: number;
  /** Longest chunk-size line with its extensions (RFC 9112 §7.1.1). */
  maxChunkLineSize?: number;
  /** Most chunk-extension bytes over one message (RFC 9112 §7.1.1). */
  maxChunkExtensionsSize?: number;
  /**
   * Leniency: accept a bare LF as a line terminator in the head, the chunk
   * lines and the trailers (RFC 9112 §2.2 allows a recipient to do so).
   * Default false: a bare LF is rejected with `BARE_LF`.
   */
  allowBareLF?: boolean;
  /**
   * Requests only: an HTTP/1.1 request without a Host field is rejected with
   * `HOST_MISSING` (RFC 9112 §3.2 "MUST respond with 400"). Default true;
   * false is a leniency for conformance work against parsers that do not check.
   */
  requireHost?: boolean;
  /**
   * Called at each step of the parse, for learning and debugging (the CLI's
   * `--trace`): the start line, each field line, each chunk-size line, each
   * trailer field, with the byte offset where it starts.
   */
  trace?: ((step: TraceStep) => void) | undefined;
}

/** One step reported to the `trace` option. */
export interface TraceStep {
  step: 'start-line' | 'field' | 'chunk-size' | 'trailer';
  /** Byte offset of the first byte of the line. */
  offset: number;
  /** The line's meaning: the start-line parts, `name: value`, the chunk size. */
  detail: string;
}
interface HeadBase {
  /** `'0.9'`, `'1.0'` or `'1.1'` (an `HTTP/1.x` with x > 1 is handled as `'1.1'`, RFC 9112 §2.3). */
  version: '0.9' | '1.0' | '1.1';
  /** The minor version digit as received (`HTTP/1.7` → 7). */
  versionMinor: number;
  /** Every field line in wire order and case. */
  rawHeaders: RawHeader[];
  /** The decoded Content-Length, or null when absent (or when chunked). */
  contentLength: number | null;
  /** True when the body is chunked (RFC 9112 §7.1). */
  chunked: boolean;
  /** True when the connection may carry another message after this one (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** True when the bytes after this message belong to another protocol (CONNECT, Upgrade, 101). */
  upgrade: boolean;
  /** Byte offset of the first byte of the message (after ignored leading empty lines). */
  offset: number;
  /** Bytes of the head, request line to the empty line included. */
  headSize: number;
}

/**
 * A parsed request head.
 *
 * @example
 * { method: 'GET', target: '/a?b=1', version: '1.1', versionMinor: 1,
 *   rawHeaders: [['Host', 'example.com']], contentLength: null, chunked: false,
 *   keepAlive: true, upgrade: false, expectContinue: false, offset: 0, headSize: 37 }
 */
export interface RequestHead extends HeadBase {
  /** The method as sent (case-sensitive, RFC 9110 §9.1). */
  method: string;
  /** The request-target as sent, undecoded (RFC 9112 §3.2). */
  target: string;
  /** True when the request carries `Expect: 100-continue` (RFC 9110 §10.1.1). */
  expectContinue: boolean;
  /** The Expect field value when it asks for something else than 100-continue (a server answers 417), else null. */
  expectOther: string | null;
}

/**
 * A parsed response head.
 *
 * @example { status: 200, reason: 'OK', version: '1.1', rawHeaders: [...], ... }
 */
export interface ResponseHead extends HeadBase {
  /** The three-digit status code. */
  status: number;
  /** The reason phrase as sent (possibly empty). */
  reason: string;
  /** True when the body runs until the connection closes (RFC 9112 §6.3 rule 8). */
  closeDelimited: boolean;
}

/** One answer of `next()`: complete pieces, partial, or error (as httparse answers). */
export type ParseEvent<H> =
  | { type: 'head'; head: H }
  | { type: 'data'; data: Buffer }
  | { type: 'end'; trailers: RawHeader[] }
  | { type: 'error'; error: HttpParseError }
  | { type: 'partial' };

const PARTIAL = Object.freeze({ type: 'partial' as const });
/** The `end` event of a message without trailers (most of them): one shared, frozen object. */
const END_NO_TRAILERS = Object.freeze({ type: 'end' as const, trailers: Object.freeze([]) as unknown as RawHeader[] });

// Message-level states.
const M_HEAD = 0; // line mode: start line + field section
const M_BODY_LENGTH = 1; // Content-Length body
const M_CHUNK_LINE = 2; // chunk-size [ chunk-ext ] CRLF
const M_CHUNK_DATA = 3;
const M_CHUNK_DATA_CR = 4;
const M_CHUNK_DATA_LF = 5;
const M_TRAILERS = 6; // line mode: trailer section
const M_BODY_EOF = 7; // close-delimited response body
const M_END = 8; // message complete: emit 'end'
const M_CLOSED = 9; // no further message on this connection
const M_UPGRADED = 10; // the rest is another protocol
const M_ERROR = 11;

// Line-mode states.
const L_LEADING = 0; // before the start line: empty lines are ignored (RFC 9112 §2.2)
const L_LEADING_LF = 1;
const L_METHOD = 2;
const L_TARGET = 3;
const L_VERSION = 4; // "HTTP/" DIGIT "." DIGIT, position in `vpos`
const L_START_CR = 5; // start line ends: expect CR (or LF when lenient)
const L_START_LF = 6;
const L_STATUS_CODE = 7;
const L_REASON = 8;
const L_FIELD_BEGIN = 9; // a field line or the empty line
const L_NAME = 10;
const L_OWS = 11; // after the colon
const L_VALUE = 12;
const L_FIELD_LF = 13;
const L_END_LF = 14;

// Chunk-line states.
const C_SIZE_FIRST = 0;
const C_SIZE = 1;
const C_EXT_NAME_FIRST = 2;
const C_EXT_NAME = 3;
const C_EXT_VALUE_FIRST = 4;
const C_EXT_TOKEN = 5;
const C_EXT_QUOTED = 6;
const C_EXT_QUOTED_PAIR = 7;
const C_EXT_AFTER_QUOTED = 8;
const C_LF = 9;
const C_SIZE_BWS = 10; // SP/HTAB after the size: only ";" may follow (BWS ";", RFC 9112 §7.1.1)
const C_EXT_BWS_SEMI = 11; // SP/HTAB after an extension value: only ";" may follow
const C_EXT_NAME_BWS = 12; // SP/HTAB after an extension name: "=" or ";" may follow

const MAX_HEX_SIZE = Math.floor(Number.MAX_SAFE_INTEGER / 16);

/**
 * `buf.latin1Slice(start, end)`: Node's undocumented but long-stable fast
 * path behind `toString('latin1', ...)` (one char per byte, no decoding).
 */
const latin1 = (buf: Buffer, start: number, end: number): string =>
  (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end);

/** Fields whose value frames the message or the connection: never unfolded. */
const FRAMING_NAMES = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'upgrade', 'expect']);

/** request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3), TOKEN and TARGET tables as classes. */
const REQUEST_LINE = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/([0-9])\.([0-9])\r\n/y;
/** status-line = HTTP-version SP status-code [ SP reason-phrase ] CRLF (RFC 9112 §4), as the scanner accepts it. */
const STATUS_LINE = /HTTP\/([0-9])\.([0-9]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?\r\n/y;
/**
 * field-line = field-name ":" OWS field-value OWS CRLF (RFC 9112 §5): the
 * name, then everything up to the CR — OWS included, stripped afterwards by
 * `trimOWS`. Linear by construction: each quantified class is followed by a
 * character it cannot match (the name class excludes ":", the value class
 * excludes CR), so a failed match gives back at most one class run. Writing
 * the OWS as quantifiers of their own (`:[\t ]*(…)[\t ]*\r\n`) would put
 * three adjacent quantifiers over SP/HTAB: cubic backtracking (issue #8).
 */
const FIELD_LINE = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+):([\t\x20-\x7e\x80-\xff]*)\r\n/y;

/**
 * Where the value of field line `k` starts in `w` (lines from `first`): the
 * byte a framing error points at. Worked out only when there is an error.
 */
function valueOffset(w: string, first: number, k: number): number {
  let p = first;
  for (let n = 0; n < k; n++) p = w.indexOf('\r\n', p) + 2;
  p = w.indexOf(':', p) + 1;
  while (w.charCodeAt(p) === SP || w.charCodeAt(p) === HTAB) p++;
  return p;
}
/** The end of a head: CRLF CRLF (RFC 9112 §2.1). */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** The longest string sliced at once for the whole-head path. */
const WINDOW = 32 * 1024;

/** The first character a field value may not contain (see FIELD_VALUE). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Strips trailing SP / HTAB (the leading OWS is skipped before the value starts). */
function trimTrailingOWS(s: string): string {
  let e = s.length;
  while (e > 0) {
    const c = s.charCodeAt(e - 1);
    if (c !== SP && c !== HTAB) break;
    e--;
  }
  return e === s.length ? s : s.slice(0, e);
}

/** Lower-case ASCII comparison of `s` with an already lower-case `lower`. */
function equalsLower(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  // `lower` is [a-z-] only; in a token, c | 0x20 equals one of those only for its two cases.
  for (let k = 0; k < s.length; k++) if ((s.charCodeAt(k) | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * Strips OWS (SP / HTAB, RFC 9110 §5.6.3) from both ends. Not
 * `String.prototype.trim`, which also strips NBSP (0xA0), NEL (0x85) and
 * friends: stripping those is the http-garden "server-12" smuggling bug.
 */
export function trimOWS(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === SP || s.charCodeAt(a) === HTAB)) a++;
  while (b > a && (s.charCodeAt(b - 1) === SP || s.charCodeAt(b - 1) === HTAB)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Splits a comma-separated list (RFC 9110 §5.6.1) into OWS-trimmed, lower-cased members. */
function listMembers(value: string): string[] {
  return value.split(',').map((m) => trimOWS(m).toLowerCase());
}

abstract class MessageParser<H extends HeadBase> {
  /** Bytes consumed so far: the absolute offset of the next unread byte. */
  offset = 0;
  protected readonly o: Required<Omit<ParserOptions, 'trace'>>;
  private readonly trace: ((step: TraceStep) => void) | undefined;
  protected readonly isRequest: boolean;

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
  private err: HttpParseError | null = null;

  // Line-mode state (positions relative to the buffer being scanned).
  private l = L_LEADING;
  private scan = 0; // next byte to scan
  private tokStart = 0;
  private tokEnd = 0;
  private valStart = 0;
  private valEnd = 0;
  private folding = false; // the current line continues the previous field (responses only)
  // The whole-head path's string window over the current chunk.
  private winBuf: Buffer | null = null;
  private win = '';
  private winFrom = 0;
  private winTo = 0;
  private vpos = 0;
  private lineCap = 0; // absolute offset where the current section's byte budget ends
  private lineCount = 0;

  // Message state.
  protected msgStart = 0;
  protected startLine: string[] = [];
  protected versionMajor = 0;
  protected versionMinor = 0;
  protected fields: RawHeader[] = [];
  private trailers: RawHeader[] = [];
  protected head: H | null = null;
  private remaining = 0; // content bytes left (Content-Length or current chunk)
  private bodyBytes = 0;
  private extBytes = 0;
  private c = C_SIZE_FIRST;
  private chunkSize = 0;
  private chunkLineStart = 0;

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
    this.trace = options.trace;
    this.resetMessage();
  }

  /**
   * Appends bytes. The parser keeps a reference (no copy) until they are
   * consumed; `data` events are views into them.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    // The same Buffer pushed again may hold new bytes: its cached string is stale.
    if (b === this.winBuf) this.winBuf = null;
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
  get done(): boolean {
    return this.m === M_CLOSED || this.m === M_UPGRADED || this.m === M_ERROR;
  }

  /** True after a message whose following bytes belong to another protocol (CONNECT, Upgrade, 101). */
  get upgraded(): boolean {
    return this.m === M_UPGRADED;
  }

  /** True between messages: nothing of a next message has been consumed yet. */
  get idle(): boolean {
    if (this.m !== M_HEAD || this.accLen !== 0) return false;
    return this.isRequest ? this.l === L_LEADING : this.l === L_VERSION && this.vpos === 0;
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
        case M_CHUNK_DATA: {
          if (!this.input()) return this.atEof();
          const cur = this.cur!;
          const n = Math.min(this.remaining, cur.length - this.pos);
          const data = cur.subarray(this.pos, this.pos + n);
          this.advance(n);
          this.remaining -= n;
          if (this.remaining === 0) this.m = this.m === M_BODY_LENGTH ? M_END : M_CHUNK_DATA_CR;
          return { type: 'data', data };
        }
        case M_BODY_EOF: {
          if (!this.input()) {
            if (this.eof) {
              this.m = M_END;
              continue;
            }
            return PARTIAL;
          }
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
        case M_CHUNK_LINE: {
          if (!this.input()) return this.atEof();
          const r = this.chunkLine();
          if (r !== null) return r;
          continue;
        }
        case M_CHUNK_DATA_CR:
        case M_CHUNK_DATA_LF: {
          if (!this.input()) return this.atEof();
          const b = this.cur![this.pos]!;
          if (this.m === M_CHUNK_DATA_CR) {
            if (b === CR) {
              this.advance(1);
              this.m = M_CHUNK_DATA_LF;
              continue;
            }
            if (b === LF && this.o.allowBareLF) {
              this.advance(1);
              this.startChunkLine();
              continue;
            }
            return this.fail('CHUNK_DATA_END_INVALID', this.offset);
          }
          if (b !== LF) return this.fail('CHUNK_DATA_END_INVALID', this.offset);
          this.advance(1);
          this.startChunkLine();
          continue;
        }
        case M_END: {
          const trailers = this.trailers;
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
    this.err = new HttpParseError(code, offset, detail);
    this.m = M_ERROR;
    this.cur = null;
    this.queue = [];
    this.accLen = 0;
    return { type: 'error', error: this.err };
  }

  private resetMessage(): void {
    this.l = this.isRequest ? L_LEADING : L_VERSION;
    this.vpos = 0;
    this.startLine = [];
    this.fields = [];
    this.fr = newFraming();
    if (this.trailers.length > 0) this.trailers = [];
    this.head = null;
    this.bodyBytes = 0;
    this.extBytes = 0;
    this.lineCount = 0;
    this.msgStart = this.offset;
    this.lineCap = this.offset + this.o.maxRequestLineSize;
  }

  // ------------------------------------------------------------ line mode

  /**
   * Runs the line scanner over the available bytes. Returns an event, or
   * null when the section is complete and `next()` should go on.
   */
  private lines(): ParseEvent<H> | null {
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
        this.scan = start;
        let r = this.m === M_HEAD && this.l === (this.isRequest ? L_LEADING : L_VERSION) && this.vpos === 0 ? this.wholeHead(cur, base, start) : undefined;
        if (r === undefined) r = this.scanLines(cur, base, cur.length);
        if (r === undefined) {
          // The section goes on past this chunk: keep the unfinished line's bytes.
          const keepFrom = this.lineKeepFrom();
          this.rebase(keepFrom);
          this.appendAcc(cur.subarray(keepFrom), base + keepFrom);
          this.advance(cur.length - start);
          continue;
        }
        if (r !== null) return r;
        this.advance(this.scan - start);
        return this.sectionDone();
      }
      // Slow path: the section started in an earlier chunk (offset === accBase + accLen).
      const n = cur.length - this.pos;
      this.appendAcc(cur.subarray(this.pos), this.offset);
      this.advance(n);
      const r = this.scanLines(this.acc, this.accBase, this.accLen);
      if (r === undefined) continue;
      if (r !== null) return r;
      // The section ended inside acc at `scan`: the rest goes back to the input.
      const restLen = this.accLen - this.scan;
      this.offset -= restLen;
      if (restLen > 0) {
        this.cur = Buffer.from(this.acc.subarray(this.scan, this.accLen));
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

  /** Relative position from which the unfinished line must be kept (its tokens are still to be sliced). */
  private lineKeepFrom(): number {
    switch (this.l) {
      case L_METHOD:
      case L_TARGET:
      case L_REASON:
      case L_NAME:
      case L_OWS:
      case L_VALUE:
      case L_FIELD_LF:
        return this.tokStart;
      case L_STATUS_CODE:
        return this.vpos > 0 ? this.tokStart : this.scan;
      default:
        return this.scan;
    }
  }

  /** Makes relative positions relative to a buffer starting at `from`. */
  private rebase(from: number): void {
    this.scan -= from;
    this.tokStart -= from;
    this.tokEnd -= from;
    this.valStart -= from;
    this.valEnd -= from;
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
   * The byte-level scanner of the start line and a field section. Resumes at
   * `this.scan` in `buf[..end]` (`base` = absolute offset of buf[0]).
   * Returns undefined when it needs more bytes, null when the section is
   * complete (`this.scan` just past it), or an error event.
   */
  private scanLines(buf: Buffer, base: number, end: number): ParseEvent<H> | null | undefined {
    let i = this.scan;
    const bareLF = this.o.allowBareLF;
    for (;;) {
      const cap = this.lineCap - base; // relative position of the first byte over budget
      if (i >= end) {
        this.scan = i;
        return undefined;
      }
      switch (this.l) {
        case L_LEADING: {
          if (i >= cap) return this.failAt('REQUEST_LINE_INVALID', base + cap, i);
          const b = buf[i]!;
          if (b === CR) {
            i++;
            this.l = L_LEADING_LF;
            continue;
          }
          if (b === LF) {
            if (!bareLF) return this.failAt('BARE_LF', base + i, i);
            i++;
            continue;
          }
          // The message starts here: budgets count from its first byte.
          this.msgStart = base + i;
          this.lineCap = base + i + this.o.maxRequestLineSize;
          this.tokStart = i;
          this.l = L_METHOD;
          continue;
        }
        case L_LEADING_LF: {
          if (buf[i] !== LF) return this.failAt('BARE_CR', base + i - 1, i);
          i++;
          this.l = L_LEADING;
          continue;
        }
        case L_METHOD: {
          const lim = Math.min(end, cap);
          while (i < lim && TOKEN[buf[i]!] === 1) i++;
          if (i >= end) continue;
          if (i >= cap) return this.failAt('URI_TOO_LONG', base + cap, i);
          if (buf[i] !== SP || i === this.tokStart) {
            const code = i === this.tokStart || TOKEN[buf[i]!] === 0 && buf[i] !== CR && buf[i] !== LF ? 'METHOD_INVALID' : 'REQUEST_LINE_INVALID';
            return this.failAt(code, base + i, i);
          }
          this.startLine.push(latin1(buf, this.tokStart, i));
          i++;
          this.tokStart = i;
          this.l = L_TARGET;
          continue;
        }
        case L_TARGET: {
          const lim = Math.min(end, cap);
          while (i < lim && TARGET[buf[i]!] === 1) i++;
          if (i >= end) continue;
          const b = buf[i]!;
          // A CR right at the budget ends an HTTP/0.9 line of exactly the limit.
          if (i >= cap && b !== CR && !(b === LF && bareLF)) return this.failAt('URI_TOO_LONG', base + cap, i);
          if (i === this.tokStart) return this.failAt(b === SP ? 'REQUEST_LINE_INVALID' : 'TARGET_INVALID', base + i, i);
          if (b === SP) {
            this.startLine.push(latin1(buf, this.tokStart, i));
            i++;
            this.tokStart = i;
            this.vpos = 0;
            this.l = L_VERSION;
            continue;
          }
          if (b === CR || (b === LF && bareLF)) {
            // HTTP/0.9 simple request: "GET /path" CRLF (RFC 1945 §4.1).
            this.startLine.push(latin1(buf, this.tokStart, i));
            this.versionMajor = 0;
            this.versionMinor = 9;
            if (this.startLine[0] !== 'GET' || this.startLine[1]!.charCodeAt(0) !== 0x2f) {
              return this.failAt('HTTP09_INVALID', base + this.tokStart, i);
            }
            if (b === LF) {
              i++;
              this.scan = i;
              return null;
            }
            i++;
            this.l = L_START_LF;
            continue;
          }
          return this.failAt(b === LF ? 'BARE_LF' : 'TARGET_INVALID', base + i, i);
        }
        case L_VERSION: {
          // "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive.
          if (i >= cap) return this.failAt('URI_TOO_LONG', base + cap, i);
          const b = buf[i]!;
          const p = this.vpos;
          let ok: boolean;
          if (p < 5) ok = b === 'HTTP/'.charCodeAt(p);
          else if (p === 6) ok = b === 0x2e;
          else ok = b >= 0x30 && b <= 0x39;
          if (!ok) {
            if (!this.isRequest && p === 0) return this.failAt('STATUS_LINE_INVALID', base + i, i);
            return this.failAt('VERSION_INVALID', base + i, i);
          }
          if (p === 5) this.versionMajor = b - 0x30;
          i++;
          if (p < 7) {
            this.vpos = p + 1;
            continue;
          }
          this.versionMinor = b - 0x30;
          const v = this.checkVersion(base + i - 8);
          if (v !== null) return this.failAt(v.code, v.offset, i);
          if (this.isRequest) {
            this.l = L_START_CR;
          } else {
            this.l = L_STATUS_CODE;
            this.vpos = 0;
          }
          continue;
        }
        case L_STATUS_CODE: {
          // SP 3DIGIT (RFC 9112 §4)
          if (i >= cap) return this.failAt('URI_TOO_LONG', base + cap, i);
          const b = buf[i]!;
          const p = this.vpos;
          if (p === 0 ? b !== SP : b < 0x30 || b > 0x39) return this.failAt('STATUS_LINE_INVALID', base + i, i);
          i++;
          if (p === 0) this.tokStart = i;
          this.vpos = p + 1;
          if (p === 3) {
            this.startLine.push(latin1(buf, this.tokStart, i));
            this.tokStart = i;
            this.vpos = 0; // 0: the SP before the reason not seen yet
            this.l = L_REASON;
          }
          continue;
        }
        case L_REASON: {
          // [ SP reason-phrase ] CRLF; a missing SP before an empty reason is tolerated.
          const lim = Math.min(end, cap);
          if (this.vpos === 0) {
            const b = buf[i]!;
            if (b !== SP && b !== CR && b !== LF) return this.failAt('STATUS_LINE_INVALID', base + i, i);
            if (b === SP) i++;
            this.tokStart = i;
            this.vpos = 1;
            continue;
          }
          while (i < lim && REASON[buf[i]!] === 1) i++;
          if (i >= end) continue;
          if (i >= cap) return this.failAt('URI_TOO_LONG', base + cap, i);
          const b = buf[i]!;
          if (b !== CR && !(b === LF && bareLF)) return this.failAt(b === LF ? 'BARE_LF' : 'STATUS_LINE_INVALID', base + i, i);
          this.startLine.push(latin1(buf, this.tokStart, i));
          this.l = L_START_CR;
          continue;
        }
        case L_START_CR: {
          const b = buf[i]!;
          if (b === CR) {
            i++;
            this.l = L_START_LF;
            continue;
          }
          if (b === LF && bareLF) {
            i++;
            if (this.versionMajor === 0) {
              this.scan = i;
              return null;
            }
            this.beginFields(base + i);
            continue;
          }
          if (i >= cap) return this.failAt('URI_TOO_LONG', base + cap, i);
          if (b === LF) return this.failAt('BARE_LF', base + i, i);
          return this.failAt(this.isRequest ? 'VERSION_INVALID' : 'STATUS_LINE_INVALID', base + i, i);
        }
        case L_START_LF: {
          if (buf[i] !== LF) return this.failAt('BARE_CR', base + i - 1, i);
          i++;
          if (this.versionMajor === 0) {
            // HTTP/0.9 has no header section.
            this.scan = i;
            return null;
          }
          this.beginFields(base + i);
          continue;
        }
        case L_FIELD_BEGIN: {
          if (i >= cap) return this.failAt('HEADERS_TOO_LARGE', base + cap, i);
          const b = buf[i]!;
          if (TOKEN[b] === 1) {
            if (this.lineCount === this.o.maxHeaderCount) return this.failAt('TOO_MANY_HEADERS', base + i, i);
            this.tokStart = i;
            i++;
            this.l = L_NAME;
            continue;
          }
          if (b === CR) {
            i++;
            this.l = L_END_LF;
            continue;
          }
          if (b === LF) {
            if (!bareLF) return this.failAt('BARE_LF', base + i, i);
            i++;
            this.scan = i;
            return null;
          }
          if (b === SP || b === HTAB) {
            // RFC 9112 §5.2: a server rejects obs-fold (400); a user agent MUST
            // replace it with SP — except in a field that frames the message,
            // where a fold could only be an attack, and before any field.
            const last = this.m === M_TRAILERS ? this.trailers[this.trailers.length - 1] : this.fields[this.fields.length - 1];
            if (this.isRequest || last === undefined || FRAMING_NAMES.has(last[0].toLowerCase())) return this.failAt('OBS_FOLD', base + i, i);
            this.folding = true;
            this.tokStart = i;
            this.l = L_OWS;
            continue;
          }
          return this.failAt('HEADER_NAME_INVALID', base + i, i);
        }
        case L_NAME: {
          const lim = Math.min(end, cap);
          while (i < lim && TOKEN[buf[i]!] === 1) i++;
          if (i >= end) continue;
          if (i >= cap) return this.failAt('HEADERS_TOO_LARGE', base + cap, i);
          if (buf[i] !== COLON) return this.failAt('HEADER_NAME_INVALID', base + i, i);
          this.tokEnd = i;
          i++;
          this.l = L_OWS;
          continue;
        }
        case L_OWS: {
          const lim = Math.min(end, cap);
          while (i < lim && (buf[i] === SP || buf[i] === HTAB)) i++;
          if (i >= end) continue;
          if (i >= cap) return this.failAt('HEADERS_TOO_LARGE', base + cap, i);
          this.valStart = i;
          this.valEnd = i; // becomes the end of the last non-OWS byte
          this.l = L_VALUE;
          continue;
        }
        case L_VALUE: {
          const lim = Math.min(end, cap);
          // Fast path: the line's end is here and within budget. One native
          // search for LF, one string, one regex for the characters a value
          // may not contain: the same answer as the byte loop below.
          const lf = i < lim ? buf.indexOf(LF, i) : -1;
          if (lf !== -1 && lf < lim && this.valStart === i) {
            const contentEnd = lf > i && buf[lf - 1] === CR ? lf - 1 : lf;
            const text = latin1(buf, i, contentEnd);
            const bad = INVALID_VALUE.exec(text);
            if (bad !== null) {
              const k = i + bad.index;
              return this.failAt(buf[k] === CR ? 'BARE_CR' : 'HEADER_VALUE_INVALID', base + k, k);
            }
            if (contentEnd === lf && !bareLF) return this.failAt('BARE_LF', base + lf, lf);
            const e = this.field(buf, base, trimTrailingOWS(text));
            if (e !== null) return this.failAt(e.code, e.offset, lf, e.reason);
            i = lf + 1;
            this.l = L_FIELD_BEGIN;
            continue;
          }
          while (i < lim) {
            const b = buf[i]!;
            if (FIELD_VALUE[b] !== 1) break;
            i++;
            if (b !== SP && b !== HTAB) this.valEnd = i;
          }
          if (i >= end) continue;
          if (i >= cap) return this.failAt('HEADERS_TOO_LARGE', base + cap, i);
          const b = buf[i]!;
          if (b === CR) {
            i++;
            this.l = L_FIELD_LF;
            continue;
          }
          if (b === LF && bareLF) {
            const e = this.field(buf, base);
            if (e !== null) return this.failAt(e.code, e.offset, i, e.reason);
            i++;
            this.l = L_FIELD_BEGIN;
            continue;
          }
          return this.failAt(b === LF ? 'BARE_LF' : 'HEADER_VALUE_INVALID', base + i, i);
        }
        case L_FIELD_LF: {
          if (buf[i] !== LF) return this.failAt('BARE_CR', base + i - 1, i);
          const e = this.field(buf, base);
          if (e !== null) return this.failAt(e.code, e.offset, i, e.reason);
          i++;
          this.l = L_FIELD_BEGIN;
          continue;
        }
        case L_END_LF: {
          if (buf[i] !== LF) return this.failAt('BARE_CR', base + i - 1, i);
          i++;
          this.scan = i;
          return null;
        }
      }
    }
  }

  /** Records a complete field line (framing fields are checked at once, so errors come as early as llhttp's). */
  private field(buf: Buffer, base: number, known?: string): HttpParseError | null {
    const value = known ?? (this.valEnd > this.valStart ? latin1(buf, this.valStart, this.valEnd) : '');
    if (this.folding) {
      // A continuation line of a response field: joined with one SP.
      this.folding = false;
      const list = this.m === M_TRAILERS ? this.trailers : this.fields;
      const last = list[list.length - 1]!;
      last[1] = last[1].length === 0 ? value : value.length === 0 ? last[1] : `${last[1]} ${value}`;
      return null;
    }
    const name = latin1(buf, this.tokStart, this.tokEnd);
    this.lineCount++;
    if (this.trace !== undefined) this.trace({ step: this.m === M_TRAILERS ? 'trailer' : 'field', offset: base + this.tokStart, detail: `${name}: ${value}` });
    if (this.m === M_TRAILERS) {
      this.trailers.push([name, value]);
      return null;
    }
    this.fields.push([name, value]);
    return this.framingField(name, value, base + this.valStart);
  }

  private beginFields(absStart: number): void {
    if (this.trace !== undefined && this.m === M_HEAD) this.trace({ step: 'start-line', offset: this.msgStart, detail: this.startLine.join(' ') + ` (HTTP/${this.versionMajor}.${this.versionMinor})` });
    this.lineCap = absStart + this.o.maxHeaderSize;
    this.lineCount = 0;
    this.l = L_FIELD_BEGIN;
  }

  private failAt(code: ParseErrorCode, offset: number, rel: number, detail?: string): ParseEvent<H> {
    this.scan = rel;
    return this.fail(code, offset, detail);
  }

  /**
   * The whole-head fast path, for a head that arrived complete in one
   * chunk (the common case). One string for the heads of a chunk (cut at
   * the last CRLFCRLF), two regular expressions that accept exactly
   * the grammar the byte scanner accepts (RFC 9112 §3, §4, §5), then
   * substrings. Anything the expressions do not accept — an error, a bare
   * LF, leading empty lines, HTTP/0.9, a limit reached — returns undefined
   * and the byte scanner decides, so both always give the same answer (the
   * split-point tests compare them on every case).
   */
  private wholeHead(buf: Buffer, base: number, i: number): ParseEvent<H> | null | undefined {
    if (this.o.allowBareLF || this.trace !== undefined) return undefined;
    const o = this.o;
    // One string per chunk, shared by the heads it holds (pipelined heads
    // cost one slice, not one each), up to the end of the last head in
    // reach: the name and value strings cut from it keep the whole string
    // alive as long as a request does, so it must not run on into the
    // content after the heads (issue #8). Without CRLFCRLF in reach, no head
    // is complete here and the scanner takes it.
    if (this.winBuf !== buf || i < this.winFrom || i >= this.winTo) {
      const reach = Math.min(buf.length, i + WINDOW);
      const last = buf.lastIndexOf(HEAD_END, reach - 4);
      if (last < i) return undefined;
      this.winBuf = buf;
      this.winFrom = i;
      this.winTo = last + 4;
      this.win = latin1(buf, i, this.winTo);
    }
    const w = this.win;
    const at = i - this.winFrom; // where this head starts in w
    const re = this.isRequest ? REQUEST_LINE : STATUS_LINE;
    re.lastIndex = at;
    const start = re.exec(w);
    if (start === null) return undefined;
    const rlEnd = at + start[0].length - 2;
    if (rlEnd - at > o.maxRequestLineSize) return undefined;
    // Field lines: one sticky expression per line that checks and cuts it,
    // until the empty line (or a line it refuses, or the end of the window).
    const lines: RawHeader[] = [];
    let p = rlEnd + 2;
    FIELD_LINE.lastIndex = p;
    for (let m = FIELD_LINE.exec(w); m !== null; m = FIELD_LINE.exec(w)) {
      if (lines.length === o.maxHeaderCount) return undefined;
      lines.push([m[1]!, trimOWS(m[2]!)]);
      p = FIELD_LINE.lastIndex;
    }
    // Not at the empty line: a refused line or a head that goes on past this
    // chunk — the scanner says which.
    if (w.charCodeAt(p) !== CR || w.charCodeAt(p + 1) !== LF) return undefined;
    const end = p - 2; // where "\r\n\r\n" starts
    // The byte scanner's budgets, exactly: the start line's content at most
    // maxRequestLineSize (above); every byte of the field section but the LFs
    // after CRs — so up to the final CR at end + 2 — before sectionStart + maxHeaderSize.
    if (end - rlEnd >= o.maxHeaderSize) return undefined;
    this.msgStart = base + i;
    if (this.isRequest) {
      this.startLine.push(start[1]!, start[2]!);
      this.versionMajor = start[3]!.charCodeAt(0) - 0x30;
      this.versionMinor = start[4]!.charCodeAt(0) - 0x30;
      const v = this.checkVersion(base + i + start[1]!.length + start[2]!.length + 2);
      if (v !== null) return this.fail(v.code, v.offset);
    } else {
      this.versionMajor = start[1]!.charCodeAt(0) - 0x30;
      this.versionMinor = start[2]!.charCodeAt(0) - 0x30;
      const v = this.checkVersion(base + i);
      if (v !== null) return this.fail(v.code, v.offset);
      this.startLine.push(start[3]!, start[4] ?? '');
    }
    this.lineCount = lines.length;
    this.fields = lines;
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k]!;
      const e = this.framingField(line[0], line[1], -1);
      if (e !== null) return this.fail(e.code, base + this.winFrom + valueOffset(w, rlEnd + 2, k), e.reason);
    }
    this.scan = i + (end + 4 - at);
    return null;
  }

  /** Version rule of the start line; null when acceptable. */
  protected abstract checkVersion(versionOffset: number): { code: ParseErrorCode; offset: number } | null;

  /** Builds and validates the head once the field section is complete. */
  protected abstract buildHead(): H | HttpParseError;

  private completeHead(): ParseEvent<H> | null {
    if (this.trace !== undefined && this.versionMajor === 0) this.trace({ step: 'start-line', offset: this.msgStart, detail: `${this.startLine.join(' ')} (HTTP/0.9)` });
    const head = this.buildHead();
    if (head instanceof HttpParseError) return this.fail(head.code, head.offset, head.reason);
    this.head = head;
    if (head.chunked) {
      this.startChunkLine();
    } else if (head.contentLength !== null && head.contentLength > 0) {
      this.remaining = head.contentLength;
      this.m = M_BODY_LENGTH;
    } else if ((head as unknown as ResponseHead).closeDelimited === true) {
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
    this.c = C_SIZE_FIRST;
    this.chunkSize = 0;
    this.chunkLineStart = this.offset;
  }

  /**
   * chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1), scanned byte by
   * byte in the current input chunk. BWS (SP / HTAB) is accepted where RFC
   * 9112 §7.1.1 puts it — around ";" and "=" — and nowhere else: not before
   * the size, not before CRLF, and CR is never whitespace (http-garden
   * transducer-3, -24). Returns an event, or null to go on.
   */
  private chunkLine(): ParseEvent<H> | null {
    const buf = this.cur!;
    let i = this.pos;
    const end = buf.length;
    const start = i;
    const capAbs = this.chunkLineStart + this.o.maxChunkLineSize;
    const base = this.offset - this.pos;
    const cap = capAbs - base;
    let c = this.c;
    let size = this.chunkSize;
    let result: ParseEvent<H> | null = null;
    let done = false;
    while (i < end) {
      if (i >= cap) {
        result = this.fail('CHUNK_EXTENSIONS_TOO_LARGE', capAbs);
        break;
      }
      const b = buf[i]!;
      if (c === C_SIZE_FIRST || c === C_SIZE) {
        const h = HEX[b]!;
        if (h !== 255) {
          if (size > MAX_HEX_SIZE) {
            result = this.fail('CHUNK_SIZE_TOO_LARGE', base + i);
            break;
          }
          size = size * 16 + h;
          c = C_SIZE;
          i++;
          continue;
        }
        if (c === C_SIZE_FIRST) {
          result = this.fail('CHUNK_SIZE_INVALID', base + i);
          break;
        }
        if (b === SEMI) c = C_EXT_NAME_FIRST;
        else if (b === CR) c = C_LF;
        else if (b === SP || b === HTAB) c = C_SIZE_BWS;
        else if (b === LF && this.o.allowBareLF) {
          i++;
          done = true;
          break;
        } else {
          result = this.fail(b === LF ? 'BARE_LF' : 'CHUNK_SIZE_INVALID', base + i);
          break;
        }
        i++;
        continue;
      }
      if (c === C_SIZE_BWS) {
        // BWS is allowed only before a ";" (RFC 9112 §7.1.1): "1 \r\n" stays invalid.
        if (b === SEMI) c = C_EXT_NAME_FIRST;
        else if (b !== SP && b !== HTAB) {
          result = this.fail('CHUNK_SIZE_INVALID', base + i);
          break;
        }
        i++;
        continue;
      }
      if (c === C_LF) {
        if (b !== LF) {
          result = this.fail('BARE_CR', base + i - 1);
          break;
        }
        i++;
        done = true;
        break;
      }
      // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
      // (RFC 9112 §7.1.1); BWS is SP / HTAB only, never CR (http-garden transducer-3).
      this.extBytes++;
      if (this.extBytes > this.o.maxChunkExtensionsSize) {
        result = this.fail('CHUNK_EXTENSIONS_TOO_LARGE', base + i);
        break;
      }
      switch (c) {
        case C_EXT_NAME_FIRST:
          if (b === SP || b === HTAB) break;
          if (TOKEN[b] !== 1) {
            result = this.fail('CHUNK_EXTENSION_INVALID', base + i);
            break;
          }
          c = C_EXT_NAME;
          break;
        case C_EXT_NAME:
        case C_EXT_TOKEN:
          if (TOKEN[b] === 1) break;
          if (b === EQUALS && c === C_EXT_NAME) c = C_EXT_VALUE_FIRST;
          else if (b === SEMI) c = C_EXT_NAME_FIRST;
          else if (b === SP || b === HTAB) c = c === C_EXT_NAME ? C_EXT_NAME_BWS : C_EXT_BWS_SEMI;
          else if (b === CR) c = C_LF;
          else if (b === LF && this.o.allowBareLF) done = true;
          else result = this.fail(b === LF ? 'BARE_LF' : 'CHUNK_EXTENSION_INVALID', base + i);
          break;
        case C_EXT_NAME_BWS:
          if (b === EQUALS) c = C_EXT_VALUE_FIRST;
          else if (b === SEMI) c = C_EXT_NAME_FIRST;
          else if (b !== SP && b !== HTAB) result = this.fail('CHUNK_EXTENSION_INVALID', base + i);
          break;
        case C_EXT_BWS_SEMI:
          if (b === SEMI) c = C_EXT_NAME_FIRST;
          else if (b !== SP && b !== HTAB) result = this.fail('CHUNK_EXTENSION_INVALID', base + i);
          break;
        case C_EXT_VALUE_FIRST:
          if (b === SP || b === HTAB) break;
          if (b === DQUOTE) c = C_EXT_QUOTED;
          else if (TOKEN[b] === 1) c = C_EXT_TOKEN;
          else result = this.fail('CHUNK_EXTENSION_INVALID', base + i);
          break;
        case C_EXT_QUOTED:
          if (b === DQUOTE) c = C_EXT_AFTER_QUOTED;
          else if (b === BACKSLASH) c = C_EXT_QUOTED_PAIR;
          else if (QDTEXT[b] !== 1) result = this.fail('CHUNK_EXTENSION_INVALID', base + i);
          break;
        case C_EXT_QUOTED_PAIR:
          // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
          if (FIELD_VALUE[b] !== 1) result = this.fail('CHUNK_EXTENSION_INVALID', base + i);
          else c = C_EXT_QUOTED;
          break;
        default: // C_EXT_AFTER_QUOTED
          if (b === SEMI) c = C_EXT_NAME_FIRST;
          else if (b === SP || b === HTAB) c = C_EXT_BWS_SEMI;
          else if (b === CR) c = C_LF;
          else if (b === LF && this.o.allowBareLF) done = true;
          else result = this.fail(b === LF ? 'BARE_LF' : 'CHUNK_EXTENSION_INVALID', base + i);
      }
      if (result !== null) break;
      i++;
      if (done) break;
    }
    if (result !== null) return result;
    this.advance(i - start);
    this.c = c;
    this.chunkSize = size;
    if (!done) return null; // need more bytes: next() sees no input and answers partial
    if (this.trace !== undefined) this.trace({ step: 'chunk-size', offset: this.chunkLineStart, detail: `${size}${size === 0 ? ' (last chunk)' : ''}` });
    if (size === 0) {
      // last-chunk: the trailer section follows (RFC 9112 §7.1.2).
      this.m = M_TRAILERS;
      this.scan = 0;
      this.tokStart = 0;
      this.beginFields(this.offset);
      return null;
    }
    if (this.bodyBytes + size > this.o.maxBodySize) return this.fail('BODY_TOO_LARGE', this.chunkLineStart);
    this.bodyBytes += size;
    this.remaining = size;
    this.m = M_CHUNK_DATA;
    return null;
  }

  // ------------------------------------------------------- framing fields

  /** The framing fields of the message being parsed (RFC 9112 §6), updated line by line. */
  protected fr: Framing = newFraming();

  /**
   * Checks one header field that frames the message. Content-Length must be
   * digits only and repeats must agree (RFC 9110 §8.6); Transfer-Encoding
   * must be a list of tokens and may not come with Content-Length or in an
   * HTTP/1.0 message (RFC 9112 §6.1, §6.3); more than one Host is refused
   * (RFC 9112 §3.2).
   */
  private framingField(name: string, value: string, at: number): HttpParseError | null {
    const f = this.fr;
    switch (name.length) {
      case 4:
        if (equalsLower(name, 'host')) {
          f.host.push(value);
          if (this.isRequest && f.host.length > 1) return new HttpParseError('HOST_DUPLICATE', at);
          if (this.isRequest && !validHost(value)) return new HttpParseError('HOST_INVALID', at, `invalid Host ${JSON.stringify(value)}`);
        }
        return null;
      case 6:
        if (equalsLower(name, 'expect')) f.expect.push(value);
        return null;
      case 7:
        if (equalsLower(name, 'upgrade')) f.upgradeField = true;
        return null;
      case 10:
        if (equalsLower(name, 'connection')) {
          // The two values nearly every client sends, without splitting.
          if (equalsLower(value, 'keep-alive')) f.keepAliveToken = true;
          else if (equalsLower(value, 'close')) f.close = true;
          else for (const t of listMembers(value)) {
            if (t === 'close') f.close = true;
            else if (t === 'keep-alive') f.keepAliveToken = true;
            else if (t === 'upgrade') f.upgradeToken = true;
          }
        }
        return null;
      case 14:
        if (!equalsLower(name, 'content-length')) return null;
        // A list of identical values ("5, 5") is the one repeat RFC 9110 §8.6 lets a recipient accept.
        for (const member of value.split(',')) {
          const v = trimOWS(member);
          if (!/^[0-9]{1,15}$/.test(v)) return new HttpParseError('CONTENT_LENGTH_INVALID', at, `invalid Content-Length ${JSON.stringify(value)}`);
          const n = Number(v);
          if (f.contentLength !== null && n !== f.contentLength) return new HttpParseError('CONTENT_LENGTH_CONFLICT', at);
          f.contentLength = n;
        }
        if (f.te) return new HttpParseError('TE_WITH_CONTENT_LENGTH', at);
        return null;
      case 17: {
        if (!equalsLower(name, 'transfer-encoding')) return null;
        f.te = true;
        // transfer-coding = token *( OWS ";" OWS transfer-parameter ) (RFC 9112 §6.1).
        // ",chunked" is chunked (RFC 9110 §5.6.1.2); with Content-Length it is
        // refused like any Transfer-Encoding (http-garden transducer-18).
        for (const raw of value.split(',')) {
          const m = trimOWS(raw);
          // Empty list members are ignored (RFC 9110 §5.6.1.2), a bounded number of them.
          if (m.length === 0) {
            if (++f.emptyMembers > 8) return new HttpParseError('TE_INVALID', at, 'too many empty list members');
            continue;
          }
          const semi = m.indexOf(';');
          const tok = semi === -1 ? m : trimOWS(m.slice(0, semi));
          if (tok.length === 0) return new HttpParseError('TE_INVALID', at, `empty transfer coding in ${JSON.stringify(value)}`);
          for (let k = 0; k < tok.length; k++) {
            if (TOKEN[tok.charCodeAt(k)] !== 1) return new HttpParseError('TE_INVALID', at, `invalid transfer coding ${JSON.stringify(m)}`);
          }
          f.codings.push(semi === -1 ? tok.toLowerCase() : `${tok.toLowerCase()};`);
        }
        if (f.contentLength !== null) return new HttpParseError('TE_WITH_CONTENT_LENGTH', at);
        if (this.versionMajor === 1 && this.versionMinor === 0) return new HttpParseError('TE_IN_HTTP10', at);
        return null;
      }
      default:
        return null;
    }
  }

  /**
   * The transfer codings once the whole header section is known (RFC 9112
   * §6.1, §6.3 rule 4): chunked must be the final coding (else 400 and
   * close: the length cannot be determined), applied once (§7.1), without
   * parameters; codings before it are not implemented here (501, §6.1).
   */
  protected transferCoding(at: number): HttpParseError | null {
    const codings = this.fr.codings;
    if (!this.fr.te) return null;
    if (codings.length === 0) return new HttpParseError('TE_INVALID', at, 'Transfer-Encoding names no transfer coding');
    const last = codings[codings.length - 1]!;
    if (last === 'chunked;') return new HttpParseError('TE_INVALID', at, 'chunked takes no parameters');
    if (last !== 'chunked') return new HttpParseError('TE_NOT_CHUNKED_FINAL', at, `the final transfer coding is ${JSON.stringify(last.replace(/;$/, ''))}, not chunked`);
    if (codings.indexOf('chunked') !== codings.length - 1 || codings.indexOf('chunked;') !== -1) {
      return new HttpParseError('TE_NOT_CHUNKED_FINAL', at, 'chunked applied more than once');
    }
    if (codings.length > 1) {
      return new HttpParseError('TE_UNSUPPORTED', at, `transfer coding ${JSON.stringify(codings[0]!.replace(/;$/, ''))} not implemented`);
    }
    return null;
  }
}

/** Framing fields gathered from one header section. */
interface Framing {
  contentLength: number | null;
  te: boolean;
  emptyMembers: number;
  codings: string[];
  close: boolean;
  keepAliveToken: boolean;
  upgradeToken: boolean;
  upgradeField: boolean;
  host: string[];
  expect: string[];
}

function newFraming(): Framing {
  return {
    contentLength: null, te: false, emptyMembers: 0, codings: [], close: false, keepAliveToken: false,
    upgradeToken: false, upgradeField: false, host: [], expect: [],
  };
}

/**
 * The request parser (server side).
 *
 * @example
 * const p = new RequestParser();
 * p.push(Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n\r\n'));
 * p.next(); // { type: 'head', head: { method: 'GET', target: '/x', version: '1.1', ... } }
 * p.next(); // { type: 'end', trailers: [] }
 * p.next(); // { type: 'partial' }
 */
export class RequestParser extends MessageParser<RequestHead> {
  constructor(options: ParserOptions = {}) {
    super(true, options);
  }

  protected checkVersion(versionOffset: number): { code: ParseErrorCode; offset: number } | null {
    if (this.versionMajor === 1) return null;
    if (this.versionMajor === 2 && this.startLine[0] === 'PRI' && this.startLine[1] === '*') {
      return { code: 'HTTP2_PREFACE', offset: this.msgStart };
    }
    return { code: 'VERSION_NOT_SUPPORTED', offset: versionOffset };
  }

  protected buildHead(): RequestHead | HttpParseError {
    const method = this.startLine[0]!;
    const target = this.startLine[1]!;
    const at = this.offset;
    const headSize = this.offset - this.msgStart;
    if (this.versionMajor === 0) {
      return {
        method, target, version: '0.9', versionMinor: 9, rawHeaders: [], contentLength: null, chunked: false,
        keepAlive: false, upgrade: false, expectContinue: false, expectOther: null, offset: this.msgStart, headSize,
      };
    }
    const formError = checkTargetForm(method, target);
    if (formError !== null) return new HttpParseError('TARGET_INVALID', this.msgStart + method.length + 1, formError);
    const f = this.fr;
    // RFC 9112 §3.2: exactly one Host for HTTP/1.1 (more than one was refused line by line).
    if (f.host.length === 0 && this.versionMinor >= 1 && this.o.requireHost) return new HttpParseError('HOST_MISSING', at);
    const te = this.transferCoding(at);
    if (te !== null) return te;
    const chunked = f.te;
    const http11 = this.versionMinor >= 1;
    const isConnect = method === 'CONNECT';
    // A CONNECT request has no content (RFC 9110 §9.3.6): its Content-Length frames nothing.
    if (!isConnect && f.contentLength !== null && !this.bodyFits(f.contentLength)) return new HttpParseError('BODY_TOO_LARGE', at);
    let expectContinue = false;
    let expectOther: string | null = null;
    for (const e of f.expect) {
      for (const m of listMembers(e)) {
        if (m === '100-continue') expectContinue = true;
        else if (m !== '') expectOther ??= e;
      }
    }
    return {
      method,
      target,
      version: http11 ? '1.1' : '1.0',
      versionMinor: this.versionMinor,
      rawHeaders: this.fields,
      // A CONNECT request has no content (RFC 9110 §9.3.6): what follows is the tunnel.
      contentLength: isConnect || chunked ? null : f.contentLength,
      chunked: isConnect ? false : chunked,
      keepAlive: !f.close && (http11 || f.keepAliveToken),
      // RFC 9110 §7.8: Upgrade in an HTTP/1.0 request MUST be ignored.
      upgrade: isConnect || (http11 && f.upgradeToken && f.upgradeField),
      expectContinue: expectContinue && http11,
      expectOther,
      offset: this.msgStart,
      headSize,
    };
  }
}

/**
 * RFC 9112 §3.2: origin-form for most methods, absolute-form for any
 * (proxies), authority-form only for CONNECT, asterisk-form only for
 * OPTIONS. Returns a reason when the form does not fit the method.
 */
function checkTargetForm(method: string, target: string): string | null {
  if (method === 'CONNECT') {
    // authority-form = uri-host ":" port (RFC 9112 §3.2.3)
    const colon = target.lastIndexOf(':');
    if (colon <= 0 || !/^[0-9]{1,5}$/.test(target.slice(colon + 1)) || !validHost(target)) {
      return 'CONNECT needs an authority-form target host:port';
    }
    return null;
  }
  const first = target.charCodeAt(0);
  if (first === 0x2f) return null; // origin-form
  if (target === '*') return method === 'OPTIONS' ? null : 'asterisk-form is only for OPTIONS';
  // absolute-form: scheme ":" ... (RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ))
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(target);
  if (scheme !== null) {
    // An http(s) URI with an empty host MUST be rejected (RFC 9110 §4.2.1, §4.2.2).
    if (/^https?$/i.test(scheme[1]!) && httpHostOf(target.slice(scheme[0].length)) === '') return 'an http URI needs a host';
    return null;
  }
  return 'request-target must start with "/" or be an absolute URI';
}

/** The host of `//authority/...` (userinfo and port removed); '' when there is none. */
function httpHostOf(rest: string): string {
  if (!rest.startsWith('//')) return '';
  let authority = rest.slice(2);
  const cut = authority.search(/[/?#]/);
  if (cut !== -1) authority = authority.slice(0, cut);
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.indexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}

/** Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty is allowed. */
function validHost(value: string): boolean {
  let colon = -1;
  let bracket = false;
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (HOST_CHAR[c] !== 1) return false;
    if (c === COLON && colon === -1) colon = k;
    else if (c === 0x5b || c === 0x5d) bracket = true;
  }
  if (!bracket) {
    // reg-name or IPv4, with an optional all-digit port: no regex needed.
    if (colon === -1) return true;
    for (let k = colon + 1; k < value.length; k++) {
      const c = value.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return false;
    }
    return true;
  }
  // Brackets only around an IP-literal (RFC 3986 §3.2.2).
  return /^\[[0-9A-Fa-f:.]+\](:[0-9]*)?$/.test(value) || /^\[v[0-9A-Fa-f]+\.[^\]]+\](:[0-9]*)?$/.test(value);
}

/**
 * The response parser (client side). Call {@link ResponseParser.expectNoBody}
 * before pushing the response to a HEAD request.
 *
 * @example
 * const p = new ResponseParser();
 * p.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'));
 * p.next(); // { type: 'head', head: { status: 200, reason: 'OK', ... } }
 * p.next(); // { type: 'data', data: <Buffer 68 69> }
 * p.next(); // { type: 'end', trailers: [] }
 */
export class ResponseParser extends MessageParser<ResponseHead> {
  private noBody = false;
  private connectRequest = false;

  constructor(options: ParserOptions = {}) {
    super(false, options);
  }

  /**
   * Declares that the next response answers a HEAD request (no content,
   * whatever its framing fields say, RFC 9112 §6.3 rule 1), or a CONNECT.
   */
  expectNoBody(method: 'HEAD' | 'CONNECT' = 'HEAD'): void {
    // HEAD: no response has content. CONNECT: only a 2xx (the tunnel) has
    // none; a 407 or 502 to it is framed as usual (RFC 9112 §6.3 rule 2).
    if (method === 'CONNECT') this.connectRequest = true;
    else this.noBody = true;
  }

  protected checkVersion(versionOffset: number): { code: ParseErrorCode; offset: number } | null {
    return this.versionMajor === 1 ? null : { code: 'VERSION_NOT_SUPPORTED', offset: versionOffset };
  }

  protected buildHead(): ResponseHead | HttpParseError {
    const status = Number(this.startLine[0]);
    if (status < 100) return new HttpParseError('STATUS_LINE_INVALID', this.msgStart + 9, `status ${status} out of range`);
    const f = this.fr;
    const http11 = this.versionMinor >= 1;
    const informational = status < 200;
    // RFC 9112 §6.3 rules 1 and 2: no content for HEAD, 1xx, 204, 304, and a 2xx to CONNECT.
    const noContent = informational || status === 204 || status === 304 || this.noBody || (this.connectRequest && status >= 200 && status < 300);
    const tunnel = (this.connectRequest && status >= 200 && status < 300) || status === 101;
    // The framing fields of a response without content are ignored (RFC 9112 §6.3 rules 1-2).
    if (!noContent && !tunnel) {
      const te = this.transferCoding(this.offset);
      if (te !== null) return te;
    }
    let contentLength = noContent ? null : f.contentLength;
    const chunked = !noContent && f.te;
    const closeDelimited = !noContent && !chunked && contentLength === null && !tunnel;
    if (contentLength !== null && !this.bodyFits(contentLength)) return new HttpParseError('BODY_TOO_LARGE', this.offset);
    if (noContent) contentLength = null;
    return {
      status,
      reason: this.startLine[1] ?? '',
      version: http11 ? '1.1' : '1.0',
      versionMinor: this.versionMinor,
      rawHeaders: this.fields,
      contentLength,
      chunked,
      keepAlive: !closeDelimited && !f.close && (http11 || f.keepAliveToken),
      upgrade: tunnel,
      closeDelimited,
      offset: this.msgStart,
      headSize: this.offset - this.msgStart,
    };
  }

  protected override afterMessage(head: ResponseHead): number {
    // An interim response is followed by the final one (RFC 9110 §15.2).
    if (head.status < 200 && head.status !== 101) return M_HEAD;
    this.noBody = false;
    this.connectRequest = false;
    return super.afterMessage(head);
  }
}
