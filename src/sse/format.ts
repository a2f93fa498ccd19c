/**
 * The Server-Sent Events wire format (WHATWG HTML §9.2 "Server-sent
 * events", the `text/event-stream` grammar): one event is a block of
 * `field: value` lines ended by an empty line.
 *
 * The parser on the other side splits lines on CR, LF and CRLF alike, and
 * drops one space after the colon. So a `data` value is cut into lines the
 * same way (each becomes its own `data:` line, which the receiver joins
 * with LF), and every value is written after `: ` so that a value starting
 * with a space keeps it. An `id` or `event` cannot be split like that:
 * a line break in them would start another field, so they are refused.
 *
 * @module
 */

/** One event to send. Every field is optional; `{}` sends an empty block. */
export interface SseEvent {
  /**
   * The event's id: the receiver's `lastEventId`, sent back as
   * `Last-Event-ID` when it reconnects. No CR, LF or NUL (the receiver
   * would ignore an id with NUL, and a line break would end the field).
   */
  id?: string | number;
  /** The event type (`addEventListener(type)`; default `message`). No CR or LF. */
  event?: string;
  /**
   * The payload. Line breaks (CR, LF, CRLF) become several `data:` lines,
   * which the receiver joins with LF. A browser dispatches only blocks
   * that have a data field: `''` dispatches an empty message, `undefined`
   * writes no data line (use it to move `lastEventId` or set `retry`).
   */
  data?: string;
  /** The reconnection delay the receiver should use from now on, in ms (a non-negative integer). */
  retry?: number;
}

function hasLineBreak(s: string): boolean {
  return s.indexOf('\n') !== -1 || s.indexOf('\r') !== -1;
}

/**
 * One `prefix` line per line of `data` (CR, LF and CRLF all end a line, as
 * the receiver's parser reads them).
 */
function lines(prefix: string, data: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c !== 10 && c !== 13) continue;
    out += prefix + data.slice(start, i) + '\n';
    if (c === 13 && data.charCodeAt(i + 1) === 10) i++;
    start = i + 1;
  }
  return out + prefix + data.slice(start) + '\n';
}

/**
 * The text of one event, ending with the empty line that dispatches it.
 * Throws `TypeError` for a field that cannot be written faithfully.
 *
 * @example
 * formatEvent({ id: 3, event: 'tick', data: 'a\nb' });
 * // 'id: 3\nevent: tick\ndata: a\ndata: b\n\n'
 */
export function formatEvent(e: SseEvent): string {
  if (e === null || typeof e !== 'object') throw new TypeError('an event must be an object { id?, event?, data?, retry? }');
  let out = '';
  if (e.id !== undefined) {
    const id = typeof e.id === 'number' ? String(e.id) : e.id;
    if (typeof id !== 'string') throw new TypeError('event id must be a string or a number');
    if (hasLineBreak(id) || id.indexOf('\0') !== -1) throw new TypeError('event id must not contain CR, LF or NUL');
    out += 'id: ' + id + '\n';
  }
  if (e.event !== undefined) {
    if (typeof e.event !== 'string') throw new TypeError('event type must be a string');
    if (hasLineBreak(e.event)) throw new TypeError('event type must not contain CR or LF');
    out += 'event: ' + e.event + '\n';
  }
  if (e.data !== undefined) {
    if (typeof e.data !== 'string') throw new TypeError('event data must be a string (JSON.stringify other values)');
    out += lines('data: ', e.data);
  }
  if (e.retry !== undefined) out += 'retry: ' + checkRetry(e.retry) + '\n';
  return out + '\n';
}

/** `retry` as the receiver accepts it: ASCII digits only (HTML §9.2.6). */
export function checkRetry(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) throw new TypeError('retry must be a non-negative integer (ms)');
  return ms;
}

/**
 * A comment line (`: text`), which the receiver ignores: heartbeats, or
 * notes for someone reading the stream with curl. Each line of `text`
 * becomes its own comment line.
 *
 * @example formatComment('keep-alive') // ': keep-alive\n'
 */
export function formatComment(text: string): string {
  if (typeof text !== 'string') throw new TypeError('comment text must be a string');
  return lines(': ', text);
}

/**
 * An event formatted once, to be sent to many streams: what a fan-out (one
 * source, many watchers) should pass to `send`, so the text and its byte
 * length are computed once rather than once per watcher. Frozen: it
 * cannot change between sends.
 */
export interface PreparedEvent {
  /** The event's wire text, ending with the empty line. */
  readonly text: string;
  /** `Buffer.byteLength(text)`. */
  readonly bytes: number;
}

const PREPARED = new WeakSet<object>();

/**
 * Formats `e` once for sending to many streams (see {@link PreparedEvent}).
 * Throws `TypeError` as `formatEvent` does.
 *
 * @example
 * const ready = prepareEvent({ id: 7, data: JSON.stringify(state) });
 * for (const s of watchers) void s.send(ready);
 */
export function prepareEvent(e: SseEvent): PreparedEvent {
  const text = formatEvent(e);
  const p = Object.freeze({ text, bytes: Buffer.byteLength(text) });
  PREPARED.add(p);
  return p;
}

/** True for what {@link prepareEvent} returned (and only that: a look-alike object is an ordinary event). */
export function isPrepared(e: unknown): e is PreparedEvent {
  return typeof e === 'object' && e !== null && PREPARED.has(e);
}
