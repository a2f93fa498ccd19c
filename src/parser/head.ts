/**
 * The head of an HTTP/1.1 message, byte by byte: the start line and the
 * field lines, written once, in the order of RFC 9112:
 *
 * ```
 * HTTP-message   = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]   ; §2.1
 * start-line     = request-line / status-line
 * request-line   = method SP request-target SP HTTP-version                     ; §3
 * HTTP-version   = HTTP-name "/" DIGIT "." DIGIT                               ; §2.3
 * status-line    = HTTP-version SP status-code SP [ reason-phrase ]            ; §4
 * field-line     = field-name ":" OWS field-value OWS                          ; §5
 * ```
 *
 * | RFC 9112 rule | state (`HEAD_STATES` name) | method |
 * | --- | --- | --- |
 * | §2.2 empty lines before the start line (request or status line, see docs/conformance.md) | `L_LEADING`, `L_LEADING_LF` (`empty-line`) | {@link HeadScanner.leading} |
 * | §3.1 method = token | `L_METHOD` (`method`) | {@link HeadScanner.method} |
 * | §3.2 request-target | `L_TARGET` (`request-target`) | {@link HeadScanner.target} |
 * | §2.3 HTTP-version | `L_VERSION` (`HTTP-version`) | {@link HeadScanner.version} |
 * | §4 status-code = 3DIGIT | `L_STATUS_CODE` (`status-code`) | {@link HeadScanner.statusCode} |
 * | §4 reason-phrase | `L_REASON` (`reason-phrase`) | {@link HeadScanner.reason} |
 * | §2.1 start-line CRLF | `L_START_CR`, `L_START_LF` (`start-line CRLF`) | {@link HeadScanner.startCR}, {@link HeadScanner.startLF} |
 * | §5 field-line, or the final CRLF | `L_FIELD_BEGIN` (`field-line`) | {@link HeadScanner.fieldBegin} |
 * | §5.1 field-name = token | `L_NAME` (`field-name`) | {@link HeadScanner.fieldName} |
 * | §5.1 OWS | `L_OWS` (`OWS`) | {@link HeadScanner.ows} |
 * | §5.5 field-value, OWS, CRLF | `L_VALUE`, `L_FIELD_LF` (`field-value`, `field-line CRLF`) | {@link HeadScanner.fieldValue} |
 * | §2.1 the CRLF ending the head | `L_END_LF` (`final CRLF`) | {@link HeadScanner.scanSection} |
 * | §7.1.2 trailer-section = *( field-line CRLF ) | the field-line states, `trailerMode` | {@link HeadScanner.beginTrailers} |
 *
 * The scanner resumes where the previous chunk stopped: no byte is scanned
 * twice. The tables of constants.ts define which bytes each rule allows;
 * fast-path.ts reads a whole head with regular expressions built from the
 * same tables (patterns.ts), and gives way to this scanner for anything else.
 *
 * @module
 */

import { FIELD_VALUE, REASON, TARGET, TOKEN } from './constants.js';
import { INVALID_VALUE } from './patterns.js';
import { newFraming, readFramingField, type FramingFields } from './framing.js';
import { COLON, CR, HTAB, LF, SP, latin1, trimTrailingOWS } from './text.js';
import type { ParserOptions, RawHeader, TraceStep } from './types.js';
import { HttpParseError, type ParseErrorCode } from '../errors.js';

/** The name of each scanner state, in ABNF order: what `--trace` prints for a state. */
export const HEAD_STATES = [
  'empty-line', 'empty-line LF', 'method', 'request-target', 'HTTP-version', 'status-code', 'reason-phrase',
  'start-line CR', 'start-line LF', 'field-line', 'field-name', 'OWS', 'field-value', 'field-line LF', 'final CRLF',
] as const;
export const L_LEADING = 0; // before the start line: empty lines are ignored (RFC 9112 §2.2)
const L_LEADING_LF = 1;
const L_METHOD = 2;
const L_TARGET = 3;
const L_VERSION = 4; // "HTTP/" DIGIT "." DIGIT, position in `vpos`
const L_STATUS_CODE = 5;
const L_REASON = 6;
const L_START_CR = 7; // start line ends: expect CR (or LF when lenient)
const L_START_LF = 8;
const L_FIELD_BEGIN = 9; // a field line or the empty line
const L_NAME = 10;
const L_OWS = 11; // after the colon
const L_VALUE = 12;
const L_FIELD_LF = 13;
const L_END_LF = 14;

/** Returned by a state method instead of a position: an error (in `error`), or the section is complete (at `scan`). */
const ERR = -1;
const DONE = -2;

/** Fields whose value frames the message or the connection: never unfolded. */
const FRAMING_NAMES = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'upgrade', 'expect']);

/** The head limits (ParserOptions of the same names). */
export type HeadLimits = Required<Pick<ParserOptions, 'maxRequestLineSize' | 'maxHeaderSize' | 'maxHeaderCount' | 'allowBareLF'>>;

/**
 * The version rule of the start line (RFC 9112 §2.3): HTTP/1.x only; a
 * request line `PRI * HTTP/2.0` is the HTTP/2 preface. Null when acceptable.
 */
export function checkVersion(s: HeadScanner, versionOffset: number): { code: ParseErrorCode; offset: number } | null {
  if (s.versionMajor === 1) return null;
  if (s.isRequest && s.versionMajor === 2 && s.startLine[0] === 'PRI' && s.startLine[1] === '*') {
    return { code: 'HTTP2_PREFACE', offset: s.msgStart };
  }
  return { code: 'VERSION_NOT_SUPPORTED', offset: versionOffset };
}

/**
 * The start line and a field section (header or trailer), and what they
 * say. Positions (`scan`, `tokStart`, ...) are relative to the buffer being
 * scanned; `base` is the absolute offset of its first byte.
 */
export class HeadScanner {
  /** The current state: an index of {@link HEAD_STATES}. */
  l = L_LEADING;
  /** Next byte to scan. */
  scan = 0;
  tokStart = 0;
  private tokEnd = 0;
  private valStart = 0;
  private valEnd = 0;
  /** Position in "HTTP/x.y" (L_VERSION), in " nnn" (L_STATUS_CODE), or whether the SP before the reason was seen (L_REASON). */
  vpos = 0;
  private folding = false; // the current line continues the previous field (responses only)
  /** Absolute offset where the current line's (start line) or section's byte budget ends. */
  lineCap = 0;
  lineCount = 0;
  /** The error, when a scan answered one. */
  error: HttpParseError | null = null;
  /** True while reading the trailer section (RFC 9112 §7.1.2) rather than the header section. */
  trailerMode = false;

  // What the head says.
  /** Absolute offset of the message's first byte (after ignored empty lines). */
  msgStart = 0;
  /** method and request-target, or status-code and reason-phrase. */
  startLine: string[] = [];
  versionMajor = 0;
  versionMinor = 0;
  fields: RawHeader[] = [];
  trailers: RawHeader[] = [];
  /** The framing fields of the header section (RFC 9112 §6), read line by line. */
  fr: FramingFields = newFraming();

  constructor(
    readonly isRequest: boolean,
    readonly o: HeadLimits,
    readonly trace: ((step: TraceStep) => void) | undefined,
  ) {}

  /** A new message starts at absolute offset `at`. */
  reset(at: number): void {
    this.l = L_LEADING;
    this.vpos = 0;
    this.startLine = [];
    this.fields = [];
    this.fr = newFraming();
    if (this.trailers.length > 0) this.trailers = [];
    this.trailerMode = false;
    this.lineCount = 0;
    this.msgStart = at;
    this.lineCap = at + this.o.maxRequestLineSize;
  }

  /** True before any byte of the start line (empty lines may have been skipped). */
  get atStart(): boolean {
    return this.l === L_LEADING && this.vpos === 0;
  }

  /** The trailer section starts at absolute offset `at` (after the last chunk). */
  beginTrailers(at: number): void {
    this.trailerMode = true;
    this.scan = 0;
    this.tokStart = 0;
    this.beginFields(at);
  }

  /**
   * Scans `buf[this.scan..end]`. Returns undefined when it needs more
   * bytes, null when the section is complete (`scan` just past it), or the
   * error.
   */
  scanSection(buf: Buffer, base: number, end: number): HttpParseError | null | undefined {
    let i = this.scan;
    for (;;) {
      if (i >= end) {
        this.scan = i;
        return undefined;
      }
      const cap = this.lineCap - base; // relative position of the first byte over budget
      switch (this.l) {
        case L_LEADING: i = this.leading(buf, base, i, cap); break;
        case L_LEADING_LF: i = this.leadingLF(buf, base, i); break;
        case L_METHOD: i = this.method(buf, base, i, end, cap); break;
        case L_TARGET: i = this.target(buf, base, i, end, cap); break;
        case L_VERSION: i = this.version(buf, base, i, cap); break;
        case L_STATUS_CODE: i = this.statusCode(buf, base, i, cap); break;
        case L_REASON: i = this.reason(buf, base, i, end, cap); break;
        case L_START_CR: i = this.startCR(buf, base, i, cap); break;
        case L_START_LF: i = this.startLF(buf, base, i); break;
        case L_FIELD_BEGIN: i = this.fieldBegin(buf, base, i, cap); break;
        case L_NAME: i = this.fieldName(buf, base, i, end, cap); break;
        case L_OWS: i = this.ows(buf, base, i, end, cap); break;
        case L_VALUE: i = this.fieldValue(buf, base, i, end, cap); break;
        case L_FIELD_LF: i = this.fieldLF(buf, base, i); break;
        default: // L_END_LF: the CRLF that ends the head
          if (buf[i] !== LF) i = this.fail('BARE_CR', base + i - 1, i);
          else i = this.done(i + 1);
      }
      if (i < 0) return i === DONE ? null : this.error;
    }
  }

  private fail(code: ParseErrorCode, offset: number, rel: number, detail?: string): number {
    this.scan = rel;
    this.error = new HttpParseError(code, offset, detail);
    return ERR;
  }

  private done(i: number): number {
    this.scan = i;
    return DONE;
  }

  // ------------------------------------------------------------ start line

  /**
   * RFC 9112 §2.2: empty lines (CRLF) before the start line are ignored —
   * before a status line too, so that a stray CRLF after a response means
   * the same whether the connection stays open or not (docs/conformance.md).
   */
  private leading(buf: Buffer, base: number, i: number, cap: number): number {
    if (i >= cap) return this.fail(this.isRequest ? 'REQUEST_LINE_INVALID' : 'STATUS_LINE_INVALID', base + cap, i);
    const b = buf[i]!;
    if (b === CR) {
      this.l = L_LEADING_LF;
      return i + 1;
    }
    if (b === LF) return this.o.allowBareLF ? i + 1 : this.fail('BARE_LF', base + i, i);
    // The message starts here: budgets count from its first byte.
    this.msgStart = base + i;
    this.lineCap = base + i + this.o.maxRequestLineSize;
    this.tokStart = i;
    this.vpos = 0;
    this.l = this.isRequest ? L_METHOD : L_VERSION;
    return i;
  }

  private leadingLF(buf: Buffer, base: number, i: number): number {
    if (buf[i] !== LF) return this.fail('BARE_CR', base + i - 1, i);
    this.l = L_LEADING;
    return i + 1;
  }

  /** method = token (RFC 9112 §3.1), then SP. */
  private method(buf: Buffer, base: number, i: number, end: number, cap: number): number {
    const lim = Math.min(end, cap);
    while (i < lim && TOKEN[buf[i]!] === 1) i++;
    if (i >= end) return i;
    if (i >= cap) return this.fail('URI_TOO_LONG', base + cap, i);
    if (buf[i] !== SP || i === this.tokStart) {
      const code = i === this.tokStart || TOKEN[buf[i]!] === 0 && buf[i] !== CR && buf[i] !== LF ? 'METHOD_INVALID' : 'REQUEST_LINE_INVALID';
      return this.fail(code, base + i, i);
    }
    this.startLine.push(latin1(buf, this.tokStart, i));
    i++;
    this.tokStart = i;
    this.l = L_TARGET;
    return i;
  }

  /** request-target (RFC 9112 §3.2), then SP — or CRLF: an HTTP/0.9 simple request (RFC 1945 §4.1). */
  private target(buf: Buffer, base: number, i: number, end: number, cap: number): number {
    const bareLF = this.o.allowBareLF;
    const lim = Math.min(end, cap);
    while (i < lim && TARGET[buf[i]!] === 1) i++;
    if (i >= end) return i;
    const b = buf[i]!;
    // A CR right at the budget ends an HTTP/0.9 line of exactly the limit.
    if (i >= cap && b !== CR && !(b === LF && bareLF)) return this.fail('URI_TOO_LONG', base + cap, i);
    if (i === this.tokStart) return this.fail(b === SP ? 'REQUEST_LINE_INVALID' : 'TARGET_INVALID', base + i, i);
    if (b === SP) {
      this.startLine.push(latin1(buf, this.tokStart, i));
      i++;
      this.tokStart = i;
      this.vpos = 0;
      this.l = L_VERSION;
      return i;
    }
    if (b === CR || (b === LF && bareLF)) {
      // HTTP/0.9 simple request: "GET /path" CRLF.
      this.startLine.push(latin1(buf, this.tokStart, i));
      this.versionMajor = 0;
      this.versionMinor = 9;
      if (this.startLine[0] !== 'GET' || this.startLine[1]!.charCodeAt(0) !== 0x2f) {
        return this.fail('HTTP09_INVALID', base + this.tokStart, i);
      }
      if (b === LF) return this.done(i + 1);
      this.l = L_START_LF;
      return i + 1;
    }
    return this.fail(b === LF ? 'BARE_LF' : 'TARGET_INVALID', base + i, i);
  }

  /** HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive, one byte at a time. */
  private version(buf: Buffer, base: number, i: number, cap: number): number {
    if (i >= cap) return this.fail('URI_TOO_LONG', base + cap, i);
    const b = buf[i]!;
    const p = this.vpos;
    let ok: boolean;
    if (p < 5) ok = b === 'HTTP/'.charCodeAt(p);
    else if (p === 6) ok = b === 0x2e;
    else ok = b >= 0x30 && b <= 0x39;
    if (!ok) {
      if (!this.isRequest && p === 0) return this.fail('STATUS_LINE_INVALID', base + i, i);
      return this.fail('VERSION_INVALID', base + i, i);
    }
    if (p === 5) this.versionMajor = b - 0x30;
    i++;
    if (p < 7) {
      this.vpos = p + 1;
      return i;
    }
    this.versionMinor = b - 0x30;
    const v = checkVersion(this, base + i - 8);
    if (v !== null) return this.fail(v.code, v.offset, i);
    if (this.isRequest) {
      this.l = L_START_CR;
    } else {
      this.l = L_STATUS_CODE;
      this.vpos = 0;
    }
    return i;
  }

  /** SP status-code, status-code = 3DIGIT (RFC 9112 §4), one byte at a time. */
  private statusCode(buf: Buffer, base: number, i: number, cap: number): number {
    if (i >= cap) return this.fail('URI_TOO_LONG', base + cap, i);
    const b = buf[i]!;
    const p = this.vpos;
    if (p === 0 ? b !== SP : b < 0x30 || b > 0x39) return this.fail('STATUS_LINE_INVALID', base + i, i);
    i++;
    if (p === 0) this.tokStart = i;
    this.vpos = p + 1;
    if (p === 3) {
      this.startLine.push(latin1(buf, this.tokStart, i));
      this.tokStart = i;
      this.vpos = 0; // 0: the SP before the reason not seen yet
      this.l = L_REASON;
    }
    return i;
  }

  /** [ SP reason-phrase ] (RFC 9112 §4); a missing SP before an empty reason is tolerated. */
  private reason(buf: Buffer, base: number, i: number, end: number, cap: number): number {
    if (this.vpos === 0) {
      const b = buf[i]!;
      if (b !== SP && b !== CR && b !== LF) return this.fail('STATUS_LINE_INVALID', base + i, i);
      if (b === SP) i++;
      this.tokStart = i;
      this.vpos = 1;
      return i;
    }
    const lim = Math.min(end, cap);
    while (i < lim && REASON[buf[i]!] === 1) i++;
    if (i >= end) return i;
    if (i >= cap) return this.fail('URI_TOO_LONG', base + cap, i);
    const b = buf[i]!;
    if (b !== CR && !(b === LF && this.o.allowBareLF)) return this.fail(b === LF ? 'BARE_LF' : 'STATUS_LINE_INVALID', base + i, i);
    this.startLine.push(latin1(buf, this.tokStart, i));
    this.l = L_START_CR;
    return i;
  }

  /** The CR ending the start line (a bare LF only when allowed, RFC 9112 §2.2). */
  private startCR(buf: Buffer, base: number, i: number, cap: number): number {
    const b = buf[i]!;
    if (b === CR) {
      this.l = L_START_LF;
      return i + 1;
    }
    if (b === LF && this.o.allowBareLF) return this.startLineDone(base, i + 1);
    if (i >= cap) return this.fail('URI_TOO_LONG', base + cap, i);
    if (b === LF) return this.fail('BARE_LF', base + i, i);
    return this.fail(this.isRequest ? 'VERSION_INVALID' : 'STATUS_LINE_INVALID', base + i, i);
  }

  private startLF(buf: Buffer, base: number, i: number): number {
    if (buf[i] !== LF) return this.fail('BARE_CR', base + i - 1, i);
    return this.startLineDone(base, i + 1);
  }

  /** After the start line: the field lines, or nothing for HTTP/0.9. */
  private startLineDone(base: number, i: number): number {
    if (this.versionMajor === 0) return this.done(i); // HTTP/0.9 has no header section.
    this.beginFields(base + i);
    return i;
  }

  // ------------------------------------------------------------ field lines

  private beginFields(absStart: number): void {
    if (this.trace !== undefined && !this.trailerMode) this.trace({ step: 'start-line', offset: this.msgStart, detail: this.startLine.join(' ') + ` (HTTP/${this.versionMajor}.${this.versionMinor})` });
    this.lineCap = absStart + this.o.maxHeaderSize;
    this.lineCount = 0;
    this.l = L_FIELD_BEGIN;
  }

  /** A field line starts with a field-name; the empty line (CRLF) ends the section; SP/HTAB is obs-fold. */
  private fieldBegin(buf: Buffer, base: number, i: number, cap: number): number {
    if (i >= cap) return this.fail('HEADERS_TOO_LARGE', base + cap, i);
    const b = buf[i]!;
    if (TOKEN[b] === 1) {
      if (this.lineCount === this.o.maxHeaderCount) return this.fail('TOO_MANY_HEADERS', base + i, i);
      this.tokStart = i;
      this.l = L_NAME;
      return i + 1;
    }
    if (b === CR) {
      this.l = L_END_LF;
      return i + 1;
    }
    if (b === LF) return this.o.allowBareLF ? this.done(i + 1) : this.fail('BARE_LF', base + i, i);
    if (b === SP || b === HTAB) {
      // RFC 9112 §5.2: a server rejects obs-fold (400); a user agent MUST
      // replace it with SP — except in a field that frames the message,
      // where a fold could only be an attack, and before any field.
      const last = this.trailerMode ? this.trailers[this.trailers.length - 1] : this.fields[this.fields.length - 1];
      if (this.isRequest || last === undefined || FRAMING_NAMES.has(last[0].toLowerCase())) return this.fail('OBS_FOLD', base + i, i);
      this.folding = true;
      this.tokStart = i;
      this.l = L_OWS;
      return i;
    }
    return this.fail('HEADER_NAME_INVALID', base + i, i);
  }

  /** field-name = token (RFC 9112 §5.1), then ":". */
  private fieldName(buf: Buffer, base: number, i: number, end: number, cap: number): number {
    const lim = Math.min(end, cap);
    while (i < lim && TOKEN[buf[i]!] === 1) i++;
    if (i >= end) return i;
    if (i >= cap) return this.fail('HEADERS_TOO_LARGE', base + cap, i);
    if (buf[i] !== COLON) return this.fail('HEADER_NAME_INVALID', base + i, i);
    this.tokEnd = i;
    this.l = L_OWS;
    return i + 1;
  }

  /** OWS = *( SP / HTAB ) after the colon (RFC 9110 §5.6.3). */
  private ows(buf: Buffer, base: number, i: number, end: number, cap: number): number {
    const lim = Math.min(end, cap);
    while (i < lim && (buf[i] === SP || buf[i] === HTAB)) i++;
    if (i >= end) return i;
    if (i >= cap) return this.fail('HEADERS_TOO_LARGE', base + cap, i);
    this.valStart = i;
    this.valEnd = i; // becomes the end of the last non-OWS byte
    this.l = L_VALUE;
    return i;
  }

  /** field-value OWS CRLF (RFC 9110 §5.5): FIELD_VALUE bytes; CR, LF and NUL are refused. */
  private fieldValue(buf: Buffer, base: number, i: number, end: number, cap: number): number {
    const lim = Math.min(end, cap);
    if (i < lim && this.valStart === i) {
      const r = this.wholeValue(buf, base, i, lim);
      if (r !== undefined) return r;
    }
    while (i < lim) {
      const b = buf[i]!;
      if (FIELD_VALUE[b] !== 1) break;
      i++;
      if (b !== SP && b !== HTAB) this.valEnd = i;
    }
    if (i >= end) return i;
    if (i >= cap) return this.fail('HEADERS_TOO_LARGE', base + cap, i);
    const b = buf[i]!;
    if (b === CR) {
      this.l = L_FIELD_LF;
      return i + 1;
    }
    if (b === LF && this.o.allowBareLF) {
      const e = this.field(buf, base);
      if (e !== null) return this.fail(e.code, e.offset, i, e.reason);
      this.l = L_FIELD_BEGIN;
      return i + 1;
    }
    return this.fail(b === LF ? 'BARE_LF' : 'HEADER_VALUE_INVALID', base + i, i);
  }

  /**
   * The value when the line's end is here and within budget: one native
   * search for LF, one string, one regex for the characters a value may not
   * contain — the same answer as the byte loop of fieldValue. Undefined when
   * the line goes on past `lim`.
   */
  private wholeValue(buf: Buffer, base: number, i: number, lim: number): number | undefined {
    const lf = buf.indexOf(LF, i);
    if (lf === -1 || lf >= lim) return undefined;
    const contentEnd = lf > i && buf[lf - 1] === CR ? lf - 1 : lf;
    const text = latin1(buf, i, contentEnd);
    const bad = INVALID_VALUE.exec(text);
    if (bad !== null) {
      const k = i + bad.index;
      return this.fail(buf[k] === CR ? 'BARE_CR' : 'HEADER_VALUE_INVALID', base + k, k);
    }
    if (contentEnd === lf && !this.o.allowBareLF) return this.fail('BARE_LF', base + lf, lf);
    const e = this.field(buf, base, trimTrailingOWS(text));
    if (e !== null) return this.fail(e.code, e.offset, lf, e.reason);
    this.l = L_FIELD_BEGIN;
    return lf + 1;
  }

  private fieldLF(buf: Buffer, base: number, i: number): number {
    if (buf[i] !== LF) return this.fail('BARE_CR', base + i - 1, i);
    const e = this.field(buf, base);
    if (e !== null) return this.fail(e.code, e.offset, i, e.reason);
    this.l = L_FIELD_BEGIN;
    return i + 1;
  }

  /** Records a complete field line (framing fields are checked at once, so errors come as early as llhttp's). */
  private field(buf: Buffer, base: number, known?: string): HttpParseError | null {
    const value = known ?? (this.valEnd > this.valStart ? latin1(buf, this.valStart, this.valEnd) : '');
    if (this.folding) {
      // A continuation line of a response field: joined with one SP.
      this.folding = false;
      const list = this.trailerMode ? this.trailers : this.fields;
      const last = list[list.length - 1]!;
      last[1] = last[1].length === 0 ? value : value.length === 0 ? last[1] : `${last[1]} ${value}`;
      return null;
    }
    const name = latin1(buf, this.tokStart, this.tokEnd);
    this.lineCount++;
    if (this.trace !== undefined) this.trace({ step: this.trailerMode ? 'trailer' : 'field', offset: base + this.tokStart, detail: `${name}: ${value}` });
    if (this.trailerMode) {
      this.trailers.push([name, value]);
      return null;
    }
    this.fields.push([name, value]);
    return readFramingField(this.fr, name, value, base + this.valStart, this.isRequest, this.http10);
  }

  /** The message is HTTP/1.0 (Transfer-Encoding is refused in it, RFC 9112 §6.1). */
  get http10(): boolean {
    return this.versionMajor === 1 && this.versionMinor === 0;
  }

  // ------------------------------------------------- a section across chunks

  /** Relative position from which the unfinished line must be kept (its tokens are still to be sliced). */
  keepFrom(): number {
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
  rebase(from: number): void {
    this.scan -= from;
    this.tokStart -= from;
    this.tokEnd -= from;
    this.valStart -= from;
    this.valEnd -= from;
  }
}
