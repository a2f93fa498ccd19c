/**
 * The chunked transfer coding (RFC 9112 §7.1), on its own as picohttpparser's
 * `phr_decode_chunked`:
 *
 * ```
 * chunked-body   = *chunk last-chunk trailer-section CRLF
 * chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 * chunk-size     = 1*HEXDIG
 * last-chunk     = 1*("0") [ chunk-ext ] CRLF
 * chunk-data     = 1*OCTET ; a sequence of chunk-size octets
 * chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * chunk-ext-name = token
 * chunk-ext-val  = token / quoted-string
 * ```
 *
 * {@link ChunkedDecoder.line} reads a chunk-size line with its extensions,
 * {@link ChunkedDecoder.dataEnd} the CRLF after chunk-data. The parser
 * (message-parser.ts) hands out the chunk-data bytes between them as views,
 * and reads the trailer-section after the last chunk with the field-line
 * scanner of head.ts (the same `field-line` grammar, RFC 9112 §7.1.2).
 *
 * @module
 */

import { FIELD_VALUE, HEX, QDTEXT, TOKEN } from './constants.js';
import { BACKSLASH, CR, DQUOTE, EQUALS, HTAB, LF, SEMI, SP } from './text.js';
import { HttpParseError, type ParseErrorCode } from '../errors.js';

/** States of a chunk-size line, each named after the rule it reads (for tracing). */
export const CHUNK_STATES = [
  'chunk-size (first HEXDIG)', 'chunk-size', 'chunk-ext-name (first)', 'chunk-ext-name', 'chunk-ext-val (first)',
  'chunk-ext-val token', 'chunk-ext-val quoted-string', 'quoted-pair', 'after quoted-string', 'CRLF (LF)',
  'BWS after chunk-size', 'BWS after chunk-ext-val', 'BWS after chunk-ext-name',
] as const;
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

/** The largest size before one more hex digit could pass Number.MAX_SAFE_INTEGER. */
const MAX_HEX_SIZE = Math.floor(Number.MAX_SAFE_INTEGER / 16);

/** The decoder's limits (ParserOptions of the same names). */
export interface ChunkLimits {
  maxChunkLineSize: number;
  maxChunkExtensionsSize: number;
  allowBareLF: boolean;
}

/** The state of one chunked body: the chunk-size line being read, and the budget of extensions. */
export class ChunkedDecoder {
  /** The current state (an index of {@link CHUNK_STATES}). */
  state = C_SIZE_FIRST;
  /** The chunk size read so far. */
  size = 0;
  /** Absolute offset of the chunk-size line's first byte. */
  lineStart = 0;
  /** True once the line's CRLF has been read: `size` is the chunk's size. */
  lineDone = false;
  /** Chunk-extension bytes over the whole message. */
  private extBytes = 0;
  /** Where the chunk-data's CRLF stands: 0 before CR, 1 before LF. */
  private dataCrlf = 0;

  constructor(private readonly o: ChunkLimits) {}

  /** A new message: the extension budget starts again. */
  reset(): void {
    this.extBytes = 0;
  }

  /** A chunk-size line starts at absolute offset `at`. */
  beginLine(at: number): void {
    this.state = C_SIZE_FIRST;
    this.size = 0;
    this.lineStart = at;
    this.lineDone = false;
    this.dataCrlf = 0;
  }

  /**
   * chunk-size [ chunk-ext ] CRLF, scanned byte by byte from `buf[i]`
   * (`base` = absolute offset of buf[0]). BWS (SP / HTAB) is accepted where
   * RFC 9112 §7.1.1 puts it — around ";" and "=" — and nowhere else: not
   * before the size, not before CRLF, and CR is never whitespace
   * (http-garden transducer-3, -24). Returns the position after the bytes
   * read (`lineDone` tells whether the line ended), or the error.
   */
  line(buf: Buffer, i: number, base: number): number | HttpParseError {
    const end = buf.length;
    const capAbs = this.lineStart + this.o.maxChunkLineSize;
    const cap = capAbs - base;
    let c = this.state;
    let size = this.size;
    while (i < end) {
      if (i >= cap) return this.failIn(c, 'CHUNK_EXTENSIONS_TOO_LARGE', capAbs);
      const b = buf[i]!;
      if (c === C_SIZE_FIRST || c === C_SIZE) {
        const h = HEX[b]!;
        if (h !== 255) {
          if (size > MAX_HEX_SIZE) return this.failIn(c, 'CHUNK_SIZE_TOO_LARGE', base + i);
          size = size * 16 + h;
          c = C_SIZE;
          i++;
          continue;
        }
        if (c === C_SIZE_FIRST) return this.failIn(c, 'CHUNK_SIZE_INVALID', base + i);
        if (b === SEMI) c = C_EXT_NAME_FIRST;
        else if (b === CR) c = C_LF;
        else if (b === SP || b === HTAB) c = C_SIZE_BWS;
        else if (b === LF && this.o.allowBareLF) return this.done(i + 1, size);
        else return this.failIn(c, b === LF ? 'BARE_LF' : 'CHUNK_SIZE_INVALID', base + i);
        i++;
        continue;
      }
      if (c === C_SIZE_BWS) {
        // BWS is allowed only before a ";" (RFC 9112 §7.1.1): "1 \r\n" stays invalid.
        if (b === SEMI) c = C_EXT_NAME_FIRST;
        else if (b !== SP && b !== HTAB) return this.failIn(c, 'CHUNK_SIZE_INVALID', base + i);
        i++;
        continue;
      }
      if (c === C_LF) {
        if (b !== LF) return this.failIn(c, 'BARE_CR', base + i - 1);
        return this.done(i + 1, size);
      }
      if (++this.extBytes > this.o.maxChunkExtensionsSize) return this.failIn(c, 'CHUNK_EXTENSIONS_TOO_LARGE', base + i);
      const next = this.extension(c, b);
      if (next < 0) return this.failIn(c, next === BAD_LF ? 'BARE_LF' : 'CHUNK_EXTENSION_INVALID', base + i);
      i++;
      if (next === DONE) return this.done(i, size);
      c = next;
    }
    this.state = c;
    this.size = size;
    return i;
  }

  /** An error in state `c`: the state is kept, so that the parser can say where it stopped. */
  private failIn(c: number, code: ParseErrorCode, at: number): HttpParseError {
    this.state = c;
    return new HttpParseError(code, at);
  }

  private done(i: number, size: number): number {
    this.size = size;
    this.lineDone = true;
    return i;
  }

  /**
   * One byte of chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS
   * chunk-ext-val ] ) (RFC 9112 §7.1.1); BWS is SP / HTAB only, never CR
   * (http-garden transducer-3). Returns the next state, DONE at the end of
   * the line, or BAD / BAD_LF.
   */
  private extension(c: number, b: number): number {
    const bareLF = this.o.allowBareLF;
    switch (c) {
      case C_EXT_NAME_FIRST:
        if (b === SP || b === HTAB) return c;
        return TOKEN[b] === 1 ? C_EXT_NAME : BAD;
      case C_EXT_NAME:
      case C_EXT_TOKEN:
        if (TOKEN[b] === 1) return c;
        if (b === EQUALS && c === C_EXT_NAME) return C_EXT_VALUE_FIRST;
        if (b === SEMI) return C_EXT_NAME_FIRST;
        if (b === SP || b === HTAB) return c === C_EXT_NAME ? C_EXT_NAME_BWS : C_EXT_BWS_SEMI;
        return lineEnd(b, bareLF);
      case C_EXT_NAME_BWS:
        if (b === EQUALS) return C_EXT_VALUE_FIRST;
        if (b === SEMI) return C_EXT_NAME_FIRST;
        return b === SP || b === HTAB ? c : BAD;
      case C_EXT_BWS_SEMI:
        if (b === SEMI) return C_EXT_NAME_FIRST;
        return b === SP || b === HTAB ? c : BAD;
      case C_EXT_VALUE_FIRST:
        if (b === SP || b === HTAB) return c;
        if (b === DQUOTE) return C_EXT_QUOTED;
        return TOKEN[b] === 1 ? C_EXT_TOKEN : BAD;
      case C_EXT_QUOTED:
        if (b === DQUOTE) return C_EXT_AFTER_QUOTED;
        if (b === BACKSLASH) return C_EXT_QUOTED_PAIR;
        return QDTEXT[b] === 1 ? c : BAD;
      case C_EXT_QUOTED_PAIR:
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        return FIELD_VALUE[b] === 1 ? C_EXT_QUOTED : BAD;
      default: // C_EXT_AFTER_QUOTED
        if (b === SEMI) return C_EXT_NAME_FIRST;
        if (b === SP || b === HTAB) return C_EXT_BWS_SEMI;
        return lineEnd(b, bareLF);
    }
  }

  /**
   * The CRLF after chunk-data (RFC 9112 §7.1), one byte `b` at absolute
   * offset `at`: null when more is needed, true when the next chunk-size
   * line starts after it, or the error.
   */
  dataEnd(b: number, at: number): true | null | HttpParseError {
    if (this.dataCrlf === 0) {
      if (b === CR) {
        this.dataCrlf = 1;
        return null;
      }
      if (b === LF && this.o.allowBareLF) return true;
      return dataEndError(at);
    }
    return b === LF ? true : dataEndError(at);
  }
}

const BAD = -1;
const BAD_LF = -2;
const DONE = -3;

/** An extension ends at CR (then LF), or at a bare LF when allowed. */
function lineEnd(b: number, bareLF: boolean): number {
  if (b === CR) return C_LF;
  if (b === LF) return bareLF ? DONE : BAD_LF;
  return BAD;
}

function dataEndError(at: number): HttpParseError {
  return new HttpParseError('CHUNK_DATA_END_INVALID', at);
}
