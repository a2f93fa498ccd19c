/**
 * The whole-head fast path, for a head that arrived complete in one chunk
 * (the common case): one string for the heads of a chunk, cut at the last
 * CRLFCRLF, two regular expressions (patterns.ts, built from the byte
 * tables the scanner reads) that accept exactly the grammar the byte
 * scanner of head.ts accepts (RFC 9112 §3, §4, §5), then substrings.
 * Anything the expressions do not accept — an error, a bare LF, leading
 * empty lines, HTTP/0.9, a limit reached — answers undefined and the byte
 * scanner decides, so both always give the same answer (the split-point
 * tests compare them on every case).
 *
 * @module
 */

import { FIELD_SECTION, REQUEST_LINE, STATUS_LINE } from './patterns.js';
import { newFraming, readFramingField } from './framing.js';
import { checkVersion, type HeadScanner } from './head.js';
import { CR, HTAB, LF, SP, latin1 } from './text.js';
import { HttpParseError } from '../errors.js';

/** The end of a head: CRLF CRLF (RFC 9112 §2.1). */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** The longest string sliced at once for the whole-head path. */
const WINDOW = 32 * 1024;

/**
 * Where the last CRLFCRLF in `buf[from..reach)` starts, or -1. The tail
 * after a small request's head (its content) is short: searched here byte
 * by byte, which costs less than the native call; a long tail natively.
 */
function lastHeadEnd(buf: Buffer, from: number, reach: number): number {
  let j = reach - 4;
  for (const stop = Math.max(from, reach - 256); j >= stop; j--) {
    if (buf[j] === CR && buf[j + 1] === LF && buf[j + 2] === CR && buf[j + 3] === LF) return j;
  }
  return j < from ? -1 : buf.lastIndexOf(HEAD_END, j);
}

/** The string over the current chunk that the heads in it are read from. */
export class HeadWindow {
  buf: Buffer | null = null;
  text = '';
  from = 0;
  to = 0;

  /** The same Buffer pushed again may hold new bytes: its string is stale. */
  forget(buf: Buffer): void {
    if (buf === this.buf) this.buf = null;
  }
}

/**
 * Reads the head at `buf[i]` (`base` = absolute offset of buf[0]) into
 * `s` when the expressions accept it whole: null then (`s.scan` just past
 * the head), an error from the version or framing rules, or undefined to
 * let the byte scanner decide.
 */
export function wholeHead(s: HeadScanner, win: HeadWindow, buf: Buffer, base: number, i: number): HttpParseError | null | undefined {
  const o = s.o;
  if (o.allowBareLF || s.trace !== undefined) return undefined;
  // One string per chunk, shared by the heads it holds (pipelined heads
  // cost one slice, not one each), up to the end of the last head in
  // reach: the name and value strings cut from it keep the whole string
  // alive as long as a request does, so it must not run on into the
  // content after the heads (issue #8). Without CRLFCRLF in reach, no head
  // is complete here and the scanner takes it.
  if (win.buf !== buf || i < win.from || i >= win.to) {
    const reach = Math.min(buf.length, i + WINDOW);
    const last = lastHeadEnd(buf, i, reach);
    if (last < i) return undefined;
    win.buf = buf;
    win.from = i;
    win.to = last + 4;
    win.text = latin1(buf, i, win.to);
  }
  const w = win.text;
  const at = i - win.from; // where this head starts in w
  let rlEnd: number; // where the start line's CRLF starts in w
  if (s.isRequest) {
    // Checked whole by test() (no match array); then cut: the method ends
    // at the first SP (a token holds none), the version is the last 8 bytes.
    REQUEST_LINE.lastIndex = at;
    if (!REQUEST_LINE.test(w)) return undefined;
    rlEnd = REQUEST_LINE.lastIndex - 2;
    if (rlEnd - at > o.maxRequestLineSize) return undefined;
    const e = requestLine(s, w, at, rlEnd, base + i);
    if (e !== null) return e;
  } else {
    STATUS_LINE.lastIndex = at;
    const m = STATUS_LINE.exec(w);
    if (m === null) return undefined;
    rlEnd = at + m[0].length - 2;
    if (rlEnd - at > o.maxRequestLineSize) return undefined;
    const e = statusLine(s, m, base + i);
    if (e !== null) return e;
  }
  // Every field line and the empty line, checked by one test() (one call
  // per head, not one per line: the calls cost more than the scan); a
  // refused line, or a head that goes on past this chunk, fails it and the
  // scanner says which. Then cut: the name ends at the first ":" (a token
  // holds none), the line at the first CR (a value holds none), and the
  // value is what lies between the OWS (RFC 9112 §5, RFC 9110 §5.5).
  FIELD_SECTION.lastIndex = rlEnd + 2;
  if (!FIELD_SECTION.test(w)) return retreat(s);
  const sectionEnd = FIELD_SECTION.lastIndex - 2; // where the empty line's CRLF starts in w
  // The byte scanner's budgets, exactly: the start line's content at most
  // maxRequestLineSize (above); every byte of the field section but the LFs
  // after CRs — so up to the final CR at sectionEnd — before sectionStart + maxHeaderSize.
  const end = sectionEnd - 2; // where "\r\n\r\n" starts (rlEnd with no field line)
  if (end - rlEnd >= o.maxHeaderSize) return retreat(s);
  const lines = s.fields; // the empty list reset() made for this message
  const fr = s.fr;
  const isRequest = s.isRequest;
  const http10 = s.http10;
  let p = rlEnd + 2;
  while (p < sectionEnd) {
    if (lines.length === o.maxHeaderCount) return retreat(s);
    const colon = w.indexOf(':', p);
    const next = w.indexOf('\r', colon) + 2;
    let vs = colon + 1;
    let ve = next - 2;
    let c = w.charCodeAt(vs);
    while (vs < ve && (c === SP || c === HTAB)) c = w.charCodeAt(++vs);
    c = w.charCodeAt(ve - 1);
    while (ve > vs && (c === SP || c === HTAB)) c = w.charCodeAt(--ve - 1);
    const name = w.slice(p, colon);
    const value = w.slice(vs, ve);
    lines.push([name, value]);
    // Framing fields are read line by line, as the scanner reads them, so an
    // error comes at the same line (and points at the value).
    const fe = readFramingField(fr, name, value, -1, isRequest, http10);
    if (fe !== null) return new HttpParseError(fe.code, base + win.from + vs, fe.reason);
    p = next;
  }
  s.lineCount = lines.length;
  s.scan = i + (end + 4 - at);
  return null;
}

/**
 * Leaves the head to the byte scanner after the start line or field lines
 * were already read into `s`: it starts over from the first byte, so what
 * they left (the start line's parts, field lines, the framing state, a Host
 * counted once already) must not be there. Rare: a head the expressions do
 * not accept, or one over a limit.
 */
function retreat(s: HeadScanner): undefined {
  s.startLine = [];
  s.fields = [];
  s.fr = newFraming();
  return undefined;
}

/**
 * The methods nearly every request uses, as constants: a method cut from
 * the window would be a new string per request (and would keep the window
 * alive as long as the request is held).
 */
function knownMethod(w: string, at: number, len: number): string | null {
  const c = w.charCodeAt(at);
  if (len === 3) {
    if (c === 0x47 && w.charCodeAt(at + 1) === 0x45 && w.charCodeAt(at + 2) === 0x54) return 'GET';
    if (c === 0x50 && w.charCodeAt(at + 1) === 0x55 && w.charCodeAt(at + 2) === 0x54) return 'PUT';
  } else if (len === 4) {
    if (c === 0x50 && w.startsWith('POST', at)) return 'POST';
    if (c === 0x48 && w.startsWith('HEAD', at)) return 'HEAD';
  }
  return null;
}

/** The parts of a request line matched in `w[at..rlEnd)` into `s`; an error from the version rule. */
function requestLine(s: HeadScanner, w: string, at: number, rlEnd: number, msgStart: number): HttpParseError | null {
  s.msgStart = msgStart;
  const sp = w.indexOf(' ', at);
  const method = knownMethod(w, at, sp - at) ?? w.slice(at, sp);
  // "HTTP/" DIGIT "." DIGIT are the last 8 bytes of the line.
  s.startLine.push(method, w.slice(sp + 1, rlEnd - 9));
  s.versionMajor = w.charCodeAt(rlEnd - 3) - 0x30;
  s.versionMinor = w.charCodeAt(rlEnd - 1) - 0x30;
  const v = checkVersion(s, msgStart + (rlEnd - 8 - at));
  return v === null ? null : new HttpParseError(v.code, v.offset);
}

/** The parts of a matched status line into `s`; an error from the version rule. */
function statusLine(s: HeadScanner, m: RegExpExecArray, msgStart: number): HttpParseError | null {
  s.msgStart = msgStart;
  s.versionMajor = m[1]!.charCodeAt(0) - 0x30;
  s.versionMinor = m[2]!.charCodeAt(0) - 0x30;
  const v = checkVersion(s, msgStart);
  if (v !== null) return new HttpParseError(v.code, v.offset);
  s.startLine.push(m[3]!, m[4] ?? '');
  return null;
}
