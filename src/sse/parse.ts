/**
 * The receiving side of the `text/event-stream` format (WHATWG HTML
 * §9.2.6 "Interpreting an event stream"), incremental: bytes go in as
 * they arrive, in chunks cut anywhere, and complete events come out.
 *
 * What the spec asks, and where it happens here:
 * - the stream is UTF-8, decoded with replacement (invalid bytes become
 *   U+FFFD) and a leading BOM dropped: a streaming `TextDecoder`, which
 *   also joins a character cut between two chunks;
 * - a line ends at CRLF, LF or CR: a CR at the end of one chunk and an LF
 *   at the start of the next are one line break (`skipLF`);
 * - an empty line dispatches the event; a line starting with `:` is a
 *   comment; `field: value` drops one space after the colon; a line
 *   without a colon is a field with an empty value;
 * - `data` lines are joined with LF; `id` with a NUL is ignored and the
 *   last id carries over to later events; `retry` counts only when it is
 *   all ASCII digits; unknown fields are ignored; an event without data is
 *   not dispatched; an unfinished event at the end of the stream is
 *   dropped.
 *
 * The spec sets no limit on a line or an event, but a hostile or broken
 * server could send one endless line: `maxLineLength` and `maxEventSize`
 * bound what is held, and going past them is an {@link SseError}.
 *
 * @module
 */

import { SseError } from './errors.js';

/** One dispatched event, as an `EventSource` listener would see it. */
export interface SseMessage {
  /** The last event id: this event's `id`, or the last one before it (`''` when none yet). */
  id: string;
  /** The event type: the `event` field, or `'message'`. */
  event: string;
  /** The `data` lines joined with LF. */
  data: string;
}

/** The limits of {@link EventStreamParser}. */
export interface EventStreamParserOptions {
  /** Most UTF-16 code units in one line (default 4 Mi). */
  maxLineLength?: number;
  /** Most UTF-16 code units of `data` in one event (default 16 Mi). */
  maxEventSize?: number;
  /** The last event id to start with (e.g. the one a resumed stream was asked for). */
  lastEventId?: string;
}

/** The parser's defaults. */
export const PARSER_DEFAULTS = Object.freeze({ maxLineLength: 4 * 1024 * 1024, maxEventSize: 16 * 1024 * 1024 });

function limit(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 1)) throw new TypeError(`options.${name} must be a positive number`);
  return v;
}

/**
 * An incremental event-stream parser. `push(bytes)` returns the events
 * completed by those bytes; `retry` holds the last valid reconnection
 * time the stream asked for (or null).
 *
 * @example
 * const p = new EventStreamParser();
 * p.push(Buffer.from('id: 1\ndata: a\nda'));   // []
 * p.push(Buffer.from('ta: b\n\n'));            // [{ id: '1', event: 'message', data: 'a\nb' }]
 */
export class EventStreamParser {
  /** The last `retry` value received (ms), or null. */
  retry: number | null = null;
  /**
   * The last event id string: set from the id buffer when an event block
   * ends (an empty line), whether or not it had data, and kept across
   * events. What a reconnection sends as `Last-Event-ID`.
   */
  lastEventId: string;
  /** The last event id buffer: the latest valid `id` field, even of an unfinished block. */
  private idBuffer: string;
  private readonly decoder = new TextDecoder('utf-8');
  private readonly maxLineLength: number;
  private readonly maxEventSize: number;
  /** The start of the current line, when it spans several decoded pieces. */
  private partial = '';
  /** The previous piece ended with CR: an LF starting the next one belongs to it. */
  private skipLF = false;
  private data = '';
  private hasData = false;
  private eventType = '';

  constructor(options: EventStreamParserOptions = {}) {
    this.maxLineLength = limit('maxLineLength', options.maxLineLength, PARSER_DEFAULTS.maxLineLength);
    this.maxEventSize = limit('maxEventSize', options.maxEventSize, PARSER_DEFAULTS.maxEventSize);
    const id = options.lastEventId ?? '';
    if (typeof id !== 'string') throw new TypeError('options.lastEventId must be a string');
    this.lastEventId = id;
    this.idBuffer = id;
  }

  /** Feeds bytes; returns the events they complete (often none or one). Throws SseError past a limit. */
  push(bytes: Uint8Array): SseMessage[] {
    return this.text(this.decoder.decode(bytes, { stream: true }));
  }

  /** The stream ended: an unfinished line or event is dropped, as the spec says. */
  end(): void {
    this.decoder.decode();
    this.partial = '';
    this.skipLF = false;
    this.data = '';
    this.hasData = false;
    this.eventType = '';
    this.idBuffer = this.lastEventId;
  }

  private text(s: string): SseMessage[] {
    const out: SseMessage[] = [];
    let start = 0;
    if (this.skipLF && s.length > 0) {
      this.skipLF = false;
      if (s.charCodeAt(0) === 10) start = 1;
    }
    for (let i = start; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const piece = s.slice(start, i);
      const line = this.partial.length === 0 ? piece : this.partial + piece;
      this.partial = '';
      if (line.length > this.maxLineLength) throw this.lineTooLong();
      this.line(line, out);
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else this.skipLF = true;
      }
      start = i + 1;
    }
    if (start < s.length) {
      this.partial += s.slice(start);
      if (this.partial.length > this.maxLineLength) throw this.lineTooLong();
    }
    return out;
  }

  private lineTooLong(): SseError {
    this.end();
    return new SseError('ERR_SSE_LINE_TOO_LONG', `an event-stream line was longer than ${this.maxLineLength} characters (maxLineLength)`);
  }

  /** One line, per "process the field" (HTML §9.2.6). */
  private line(line: string, out: SseMessage[]): void {
    if (line.length === 0) {
      this.dispatch(out);
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return; // a comment
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        return;
      case 'data':
        if (this.data.length + value.length + 1 > this.maxEventSize) {
          this.end();
          throw new SseError('ERR_SSE_EVENT_TOO_LARGE', `an event's data was larger than ${this.maxEventSize} characters (maxEventSize)`);
        }
        this.data = this.hasData ? this.data + '\n' + value : value;
        this.hasData = true;
        return;
      case 'id':
        if (value.indexOf('\0') === -1) this.idBuffer = value;
        return;
      case 'retry':
        if (isDigits(value)) this.retry = Number(value);
        return;
      default: // unknown fields are ignored
    }
  }

  private dispatch(out: SseMessage[]): void {
    this.lastEventId = this.idBuffer;
    const type = this.eventType;
    this.eventType = '';
    if (!this.hasData) return; // no data field: nothing to dispatch
    out.push({ id: this.lastEventId, event: type === '' ? 'message' : type, data: this.data });
    this.data = '';
    this.hasData = false;
  }
}

/** ASCII digits only, at least one (HTML §9.2.6 `retry`). */
function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
