/**
 * Byte ranges: what each byte of a message is, for a page that colours and
 * labels a request's bytes (the inspector, `repy-http/inspector`) and for
 * learners. Derived after the fact, never on the parser's hot path: the
 * parser runs as usual ({@link parseMessages}) and says where each message
 * starts (`head.offset`), where its head ends (`headSize`), where it ends
 * (the offset of its `end` event), whether it is chunked, and where it was
 * rejected (the error's offset). Inside those bounds the lines it accepted
 * are re-scanned with a few `indexOf`-style loops: the grammar was already
 * checked, so the re-scan only has to split, not to judge. A rejected
 * message is split the same way up to the offending byte, which gets its
 * own range.
 *
 * @module
 */

import { parseMessages, type ParseMessagesOptions } from './inspect.js';
import type { RequestHead } from './types.js';
import type { ParseErrorCode } from '../errors.js';

/** What a byte range is. {@link RANGE_RULES} gives each kind's RFC 9112 rule. */
export type RangeKind =
  | 'ignored-line' | 'method' | 'target' | 'version' | 'status' | 'reason' | 'sp' | 'crlf'
  | 'field-name' | 'colon' | 'ows' | 'field-value' | 'head-end' | 'content'
  | 'chunk-size' | 'chunk-ext' | 'chunk-data' | 'last-chunk' | 'trailer-name' | 'trailer-value'
  | 'error' | 'unparsed' | 'incomplete' | 'other-protocol';

/** One range: bytes `[start, end)` of the input. */
export interface ByteRange {
  start: number;
  end: number;
  kind: RangeKind;
  /** Index of the message the range belongs to (0-based). */
  message: number;
  /** A short human label: `field 2 name`, `chunk 1 size (0x1a = 26)`. */
  label: string;
}

/** What {@link messageRanges} found. */
export interface RangesOutcome {
  /** Ranges in byte order, covering every input byte exactly once. */
  ranges: ByteRange[];
  /** Each message's bounds; `complete` false for the one cut short or rejected. */
  messages: Array<{ start: number; end: number; complete: boolean }>;
  /** The rejection: code, status, offset of the offending byte, reason; or null. */
  error: { code: string; status: number; offset: number; reason: string; rule: string } | null;
}

/**
 * The rule each rejection enforces, with its section: what the page shows
 * beside a rejected byte.
 *
 * @example ERROR_RULES.TE_WITH_CONTENT_LENGTH // 'a request with both … (RFC 9112 §6.1, §6.3)'
 */
export const ERROR_RULES: Readonly<Record<ParseErrorCode, string>> = Object.freeze({
  METHOD_INVALID: 'method = token (RFC 9112 §3.1, RFC 9110 §5.6.2)',
  REQUEST_LINE_INVALID: 'request-line = method SP request-target SP HTTP-version (RFC 9112 §3)',
  TARGET_INVALID: 'request-target: origin-form, absolute-form, authority-form (CONNECT) or asterisk-form (OPTIONS) (RFC 9112 §3.2)',
  URI_TOO_LONG: 'a server answers 414 to a request-target longer than it will parse (RFC 9112 §3, RFC 9110 §15.5.15)',
  VERSION_INVALID: 'HTTP-version = HTTP-name "/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3)',
  VERSION_NOT_SUPPORTED: 'only HTTP/1.x is served: 505 otherwise (RFC 9110 §15.6.6)',
  HTTP2_PREFACE: 'an HTTP/2 preface on an HTTP/1.1 connection (RFC 9113 §3.4): 505',
  HTTP09_INVALID: 'an HTTP/0.9 request is "GET" SP origin-form CRLF (RFC 1945 §4.1)',
  STATUS_LINE_INVALID: 'status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)',
  BARE_CR: 'a CR must be followed by LF: a bare CR is invalid (RFC 9112 §2.2)',
  BARE_LF: 'lines end with CRLF; a bare LF is accepted only as a leniency (RFC 9112 §2.2)',
  HEADER_NAME_INVALID: 'field-name = token; no whitespace between it and the colon (RFC 9112 §5.1, RFC 9110 §5.1)',
  HEADER_VALUE_INVALID: 'field-value = *field-content: no CR, LF or NUL (RFC 9110 §5.5)',
  OBS_FOLD: 'obs-fold (a line starting with SP or HTAB) is rejected or replaced (RFC 9112 §5.2)',
  HEADERS_TOO_LARGE: 'a server answers 431 to a header section larger than it accepts (RFC 6585 §5)',
  TOO_MANY_HEADERS: 'a server answers 431 to more header fields than it accepts (RFC 6585 §5)',
  HOST_MISSING: 'an HTTP/1.1 request must carry exactly one Host field (RFC 9112 §3.2)',
  HOST_DUPLICATE: 'more than one Host field: 400 (RFC 9112 §3.2)',
  HOST_INVALID: 'Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 9112 §3.2)',
  CONTENT_LENGTH_INVALID: 'Content-Length = 1*DIGIT (RFC 9110 §8.6, RFC 9112 §6.3 rule 5)',
  CONTENT_LENGTH_CONFLICT: 'several Content-Length values that differ: unrecoverable framing error (RFC 9112 §6.3 rule 5)',
  TE_WITH_CONTENT_LENGTH: 'Transfer-Encoding and Content-Length together: a request smuggling vector; the server must close (RFC 9112 §6.1, §6.3 rule 3)',
  TE_INVALID: 'Transfer-Encoding = #transfer-coding (RFC 9112 §6.1)',
  TE_NOT_CHUNKED_FINAL: 'chunked must be the final transfer coding, applied once (RFC 9112 §6.1, §6.3 rule 4)',
  TE_UNSUPPORTED: 'a transfer coding the server does not implement: 501 (RFC 9112 §6.1)',
  TE_IN_HTTP10: 'Transfer-Encoding in an HTTP/1.0 message: faulty framing (RFC 9112 §6.1)',
  BODY_TOO_LARGE: 'content larger than the server accepts: 413 (RFC 9110 §15.5.14)',
  CHUNK_SIZE_INVALID: 'chunk-size = 1*HEXDIG (RFC 9112 §7.1)',
  CHUNK_SIZE_TOO_LARGE: 'a chunk-size that overflows what the recipient can represent (RFC 9112 §7.1)',
  CHUNK_EXTENSION_INVALID: 'chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 §7.1.1)',
  CHUNK_EXTENSIONS_TOO_LARGE: 'a server limits the chunk extensions it reads (RFC 9112 §7.1.1)',
  CHUNK_DATA_END_INVALID: 'chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 §7.1)',
  DATA_AFTER_CLOSE: 'no message after one that closes the connection (RFC 9112 §9.6)',
  UNEXPECTED_EOF: 'a message cut short by the end of the connection is incomplete (RFC 9112 §8)',
});

/**
 * Each kind's name in the grammar and where it is defined: what a page
 * shows on hover or focus.
 *
 * @example RANGE_RULES.method // { rule: 'method = token', section: 'RFC 9112 §3.1' }
 */
export const RANGE_RULES: Readonly<Record<RangeKind, { rule: string; section: string }>> = Object.freeze({
  'ignored-line': { rule: 'empty line (CRLF) before the request-line: ignored', section: 'RFC 9112 §2.2' },
  method: { rule: 'method = token', section: 'RFC 9112 §3.1' },
  target: { rule: 'request-target = origin-form / absolute-form / authority-form / asterisk-form', section: 'RFC 9112 §3.2' },
  version: { rule: 'HTTP-version = HTTP-name "/" DIGIT "." DIGIT', section: 'RFC 9112 §2.3' },
  status: { rule: 'status-code = 3DIGIT', section: 'RFC 9112 §4' },
  reason: { rule: 'reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )', section: 'RFC 9112 §4' },
  sp: { rule: 'SP (one space between the parts of the start-line)', section: 'RFC 9112 §3, §4' },
  crlf: { rule: 'CRLF ends each line (a bare LF only as a leniency)', section: 'RFC 9112 §2.1, §2.2' },
  'field-name': { rule: 'field-line = field-name ":" OWS field-value OWS; field-name = token', section: 'RFC 9112 §5, RFC 9110 §5.1' },
  colon: { rule: '":" right after the field-name (no whitespace before it)', section: 'RFC 9112 §5.1' },
  ows: { rule: 'OWS = *( SP / HTAB ): not part of the value', section: 'RFC 9112 §5.1, RFC 9110 §5.6.3' },
  'field-value': { rule: 'field-value = *field-content', section: 'RFC 9110 §5.5' },
  'head-end': { rule: 'the empty line (CRLF) that ends the header section', section: 'RFC 9112 §2.1' },
  content: { rule: 'message-body, Content-Length octets long', section: 'RFC 9112 §6, §6.2' },
  'chunk-size': { rule: 'chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; chunk-size = 1*HEXDIG', section: 'RFC 9112 §7.1' },
  'chunk-ext': { rule: 'chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )', section: 'RFC 9112 §7.1.1' },
  'chunk-data': { rule: 'chunk-data = 1*OCTET (chunk-size octets)', section: 'RFC 9112 §7.1' },
  'last-chunk': { rule: 'last-chunk = 1*("0") [ chunk-ext ] CRLF', section: 'RFC 9112 §7.1' },
  'trailer-name': { rule: 'trailer-section = *( field-line CRLF ): a field-name', section: 'RFC 9112 §7.1.2' },
  'trailer-value': { rule: 'trailer-section = *( field-line CRLF ): a field-value', section: 'RFC 9112 §7.1.2' },
  error: { rule: 'the byte the parser rejected', section: 'RFC 9112 (see the error code)' },
  unparsed: { rule: 'bytes after the rejected one: never parsed (the connection is closed)', section: 'RFC 9112 §9.6' },
  incomplete: { rule: 'the start of a message that has not fully arrived', section: 'RFC 9112 §8' },
  'other-protocol': { rule: 'bytes after a protocol switch (CONNECT, Upgrade): not HTTP/1.1', section: 'RFC 9110 §9.3.6, §7.8' },
});

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** Collects ranges; each `add` starts where the previous one ended. */
class RangeList {
  readonly ranges: ByteRange[] = [];
  message = 0;
  add(start: number, end: number, kind: RangeKind, label: string = kind): void {
    if (end > start) this.ranges.push({ start, end, kind, message: this.message, label });
  }
}

/** The offset of the next LF in `[i, lim)`, or -1. */
function findLF(b: Uint8Array, i: number, lim: number): number {
  for (let j = i; j < lim; j++) if (b[j] === LF) return j;
  return -1;
}

/**
 * Splits one line `[i, lim)` into content and terminator. Returns the end
 * of the content (where CR or LF starts) and the end of the line (after LF,
 * or `lim` when the line is cut short).
 */
function lineBounds(b: Uint8Array, i: number, lim: number): { contentEnd: number; lineEnd: number; whole: boolean } {
  const lf = findLF(b, i, lim);
  if (lf === -1) {
    // Cut short: a lone CR at the very end is the start of the terminator.
    const contentEnd = lim > i && b[lim - 1] === CR ? lim - 1 : lim;
    return { contentEnd, lineEnd: lim, whole: false };
  }
  return { contentEnd: lf > i && b[lf - 1] === CR ? lf - 1 : lf, lineEnd: lf + 1, whole: true };
}

/** Splits `[i, end)` at the first SP: returns the SP's offset or `end`. */
function untilSP(b: Uint8Array, i: number, end: number): number {
  let j = i;
  while (j < end && b[j] !== SP) j++;
  return j;
}

/** The start line: `method SP target SP version` or `version SP status SP reason`. */
function startLine(out: RangeList, b: Uint8Array, i: number, lim: number, request: boolean): number {
  const { contentEnd, lineEnd } = lineBounds(b, i, lim);
  const parts: RangeKind[] = request ? ['method', 'target', 'version'] : ['version', 'status', 'reason'];
  let p = i;
  for (let k = 0; k < parts.length && p < contentEnd; k++) {
    // The last part (a reason phrase) may hold spaces: it runs to the line's end.
    const e = k === parts.length - 1 ? contentEnd : untilSP(b, p, contentEnd);
    out.add(p, e, parts[k]!);
    p = e;
    if (p < contentEnd) {
      out.add(p, p + 1, 'sp');
      p++;
    }
  }
  out.add(p, contentEnd, parts[parts.length - 1]!); // anything left (cannot happen for an accepted line)
  out.add(contentEnd, lineEnd, 'crlf');
  return lineEnd;
}

/** One field line (`name: value`), in the header or the trailer section. */
function fieldLine(out: RangeList, b: Uint8Array, i: number, lim: number, n: number, trailer: boolean): number {
  const { contentEnd, lineEnd } = lineBounds(b, i, lim);
  const what = trailer ? 'trailer' : 'field';
  let colon = i;
  while (colon < contentEnd && b[colon] !== COLON) colon++;
  out.add(i, colon, trailer ? 'trailer-name' : 'field-name', `${what} ${n} name`);
  if (colon < contentEnd) {
    out.add(colon, colon + 1, 'colon');
    let v = colon + 1;
    while (v < contentEnd && (b[v] === SP || b[v] === HTAB)) v++;
    out.add(colon + 1, v, 'ows');
    let ve = contentEnd;
    while (ve > v && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    out.add(v, ve, trailer ? 'trailer-value' : 'field-value', `${what} ${n} value`);
    out.add(ve, contentEnd, 'ows');
  }
  out.add(contentEnd, lineEnd, 'crlf');
  return lineEnd;
}

/** Field lines up to and including the empty line; returns where the section ends. */
function fieldSection(out: RangeList, b: Uint8Array, i: number, lim: number, trailer: boolean): number {
  let n = 1;
  while (i < lim) {
    if (b[i] === LF || (b[i] === CR && (i + 1 >= lim || b[i + 1] === LF))) {
      const end = Math.min(lim, b[i] === LF ? i + 1 : i + 2);
      out.add(i, end, trailer ? 'crlf' : 'head-end', trailer ? 'end of trailer section' : 'end of header section');
      return end;
    }
    i = fieldLine(out, b, i, lim, n++, trailer);
  }
  return i;
}

/** The chunked content from `i` to `lim`: size lines, data, last chunk, trailers. */
function chunkedBody(out: RangeList, b: Uint8Array, i: number, lim: number): void {
  let n = 1;
  while (i < lim) {
    const { contentEnd, lineEnd, whole } = lineBounds(b, i, lim);
    let h = i;
    let size = 0;
    while (h < contentEnd && isHex(b[h]!)) {
      size = size * 16 + parseInt(String.fromCharCode(b[h]!), 16);
      h++;
    }
    const last = h > i && size === 0;
    out.add(i, h, last ? 'last-chunk' : 'chunk-size', last ? 'last chunk (size 0)' : `chunk ${n} size (0x${size.toString(16)} = ${size})`);
    out.add(h, contentEnd, 'chunk-ext', `chunk ${n} extension`);
    out.add(contentEnd, lineEnd, 'crlf');
    i = lineEnd;
    if (!whole) return;
    if (last) {
      fieldSection(out, b, i, lim, true);
      return;
    }
    const dataEnd = Math.min(lim, i + size);
    out.add(i, dataEnd, 'chunk-data', `chunk ${n} data (${size} bytes)`);
    i = dataEnd;
    const crlfEnd = Math.min(lim, b[i] === CR ? i + 2 : i + 1);
    out.add(i, crlfEnd, 'crlf');
    i = crlfEnd;
    n++;
  }
}

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/** Empty lines before a request-line (RFC 9112 §2.2), from `i`; returns where they end. */
function leadingLines(out: RangeList, b: Uint8Array, i: number, lim: number): number {
  while (i < lim) {
    if (b[i] === LF) out.add(i, ++i, 'ignored-line');
    else if (b[i] === CR && i + 1 < lim && b[i + 1] === LF) out.add(i, (i += 2), 'ignored-line');
    else break;
  }
  return i;
}

/** A head, from its first byte to `lim` (its end, or the rejected byte). Returns where it stopped. */
function head(out: RangeList, b: Uint8Array, i: number, lim: number, request: boolean): number {
  i = startLine(out, b, i, lim, request);
  return fieldSection(out, b, i, lim, false);
}

/**
 * Parses `bytes` like {@link parseMessages} (same options) and says what
 * each byte is: the ranges cover every byte once, in order.
 *
 * @example
 * const r = messageRanges(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
 * r.ranges.map((x) => x.kind);
 * // ['method', 'sp', 'target', 'sp', 'version', 'crlf',
 * //  'field-name', 'colon', 'ows', 'field-value', 'crlf', 'head-end']
 */
export function messageRanges(bytes: Uint8Array, options: ParseMessagesOptions = {}): RangesOutcome {
  const request = options.kind !== 'response';
  const found: Array<{ start: number; headEnd: number; end: number; chunked: boolean; bodyless: boolean }> = [];
  let current: (typeof found)[number] | null = null;
  const user = options.onEvent;
  const outcome = parseMessages(bytes, {
    ...options,
    onEvent: (ev) => {
      user?.(ev);
      if (ev.type === 'head') {
        const h = ev['head'] as RequestHead;
        current = { start: h.offset, headEnd: h.offset + h.headSize, end: -1, chunked: h.chunked, bodyless: false };
        found.push(current);
      } else if (ev.type === 'end' && current !== null) {
        current.end = ev.offset;
        current = null;
      }
    },
  });
  const out = new RangeList();
  const messages: RangesOutcome['messages'] = [];
  const err = outcome.error;
  const stop = err !== null ? Math.min(err.offset, bytes.length) : outcome.upgraded ? outcome.consumed : bytes.length;
  let at = 0;
  for (const m of found) {
    out.message = messages.length;
    if (request) leadingLines(out, bytes, at, m.start);
    else out.add(at, m.start, 'ignored-line');
    const complete = m.end !== -1;
    const end = complete ? m.end : stop;
    head(out, bytes, m.start, Math.min(m.headEnd, end), request);
    if (m.chunked) chunkedBody(out, bytes, m.headEnd, end);
    else out.add(m.headEnd, end, 'content', complete ? 'content' : 'content (so far)');
    messages.push({ start: m.start, end, complete });
    at = end;
  }
  if (at < stop) {
    // A message whose head had not ended: rejected in its head, or still arriving.
    out.message = messages.length;
    const start = request ? leadingLines(out, bytes, at, stop) : at;
    if (start < stop) {
      if (err !== null) head(out, bytes, start, stop, request);
      else out.add(start, stop, 'incomplete', 'incomplete message');
      messages.push({ start, end: stop, complete: false });
    }
    at = stop;
  }
  if (err !== null) {
    if (err.offset < bytes.length) {
      out.add(err.offset, err.offset + 1, 'error', `rejected: ${err.code}`);
      out.add(err.offset + 1, bytes.length, 'unparsed');
    }
  } else if (outcome.upgraded) out.add(at, bytes.length, 'other-protocol');
  return {
    ranges: out.ranges,
    messages,
    error: err === null ? null : { code: err.code, status: err.status, offset: err.offset, reason: err.message, rule: ERROR_RULES[err.code] },
  };
}
