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

import { FIELD_LINE, REQUEST_LINE, STATUS_LINE } from './patterns.js';
import { readFramingField } from './framing.js';
import { checkVersion, type HeadScanner } from './head.js';
import { CR, HTAB, LF, SP, latin1, trimOWS } from './text.js';
import type { RawHeader } from './types.js';
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
  const re = s.isRequest ? REQUEST_LINE : STATUS_LINE;
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
  const e = startLine(s, start, base + i);
  if (e !== null) return e;
  s.lineCount = lines.length;
  s.fields = lines;
  const http10 = s.http10;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    const fe = readFramingField(s.fr, line[0], line[1], -1, s.isRequest, http10);
    if (fe !== null) return new HttpParseError(fe.code, base + win.from + valueOffset(w, rlEnd + 2, k), fe.reason);
  }
  s.scan = i + (end + 4 - at);
  return null;
}

/** The parts of a matched request line or status line into `s`; an error from the version rule. */
function startLine(s: HeadScanner, m: RegExpExecArray, msgStart: number): HttpParseError | null {
  s.msgStart = msgStart;
  if (s.isRequest) {
    s.startLine.push(m[1]!, m[2]!);
    s.versionMajor = m[3]!.charCodeAt(0) - 0x30;
    s.versionMinor = m[4]!.charCodeAt(0) - 0x30;
    const v = checkVersion(s, msgStart + m[1]!.length + m[2]!.length + 2);
    return v === null ? null : new HttpParseError(v.code, v.offset);
  }
  s.versionMajor = m[1]!.charCodeAt(0) - 0x30;
  s.versionMinor = m[2]!.charCodeAt(0) - 0x30;
  const v = checkVersion(s, msgStart);
  if (v !== null) return new HttpParseError(v.code, v.offset);
  s.startLine.push(m[3]!, m[4] ?? '');
  return null;
}
