/**
 * The response dictionary a callback returns: validation and serialisation.
 * Nothing the callback returns reaches the wire unchecked: a bad dictionary
 * becomes an {@link InvalidResponseError} (the connection answers 500).
 *
 * @module
 */

import { FIELD_VALUE, isToken, REASON, STATUS_REASONS, TOKEN } from '../parser/constants.js';
import { InvalidResponseError } from '../errors.js';
import { trimOWS } from '../parser/parser.js';
import { messageBodyLength, sentFraming } from '../parser/framing.js';

/** A file-like object: `read(n)` returns (or resolves to) a string or bytes, empty at the end. */
export interface FileLike {
  read(n: number): string | Uint8Array | Promise<string | Uint8Array>;
  close?(): unknown;
}

/**
 * The key under which a message stream (an async iterable) may carry an
 * `AbortSignal` of its own. The writer pulls the next chunk only once the
 * socket has drained, so a stream whose client stopped reading cannot make
 * itself heard by failing a pull: when this signal aborts while the writer
 * waits for the socket, the writer stops waiting, reports the signal's
 * `reason` to `onError` and ends the connection (as when a pull fails).
 * repy-http/sse uses it to cut a stream whose reader fell `maxQueue` behind.
 *
 * @example
 * const iterable = { [Symbol.asyncIterator]: () => it, [STREAM_ABORT]: controller.signal };
 */
export const STREAM_ABORT: unique symbol = Symbol.for('repy-http.stream-abort');

/** What `message` may be. */
export type ResponseMessage =
  | string
  | Uint8Array
  | FileLike
  | AsyncIterable<string | Uint8Array>
  | Iterable<string | Uint8Array>
  | null
  | undefined;

/**
 * The response dictionary. Only `statuscode` is required.
 *
 * @example
 * return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: 'hello\n' };
 */
export interface ResponseDict {
  /** `'0.9'` (body only, then close), `'1.0'` or `'1.1'`; default: the request's. */
  version?: '0.9' | '1.0' | '1.1';
  /** An integer 200–599 (1xx are interim responses, which a callback cannot send). */
  statuscode: number;
  /** The reason phrase; default: the standard one for the code. */
  statusmsg?: string;
  /** Field name → value; an array value sends one field line per item; undefined or null leaves the field out. */
  headers?: Record<string, string | number | readonly string[] | undefined | null>;
  /** The content. */
  message?: ResponseMessage;
}

/** The response as the connection writes it. */
export interface PreparedResponse {
  status: number;
  /** Status line and header section as latin1 text, or null for an HTTP/0.9 response. */
  head: string | null;
  /** Where the Connection lines (always last) start in `head`, so a late close decision can rewrite them; -1 when none can. */
  connectionAt?: number;
  /** Content known in advance as bytes (null when streamed, absent, or given as `bodyText`). */
  body: Buffer | null;
  /** Content known in advance as ASCII text (written with the head in one string, no Buffer made), or null. */
  bodyText: string | null;
  /** Streamed content, or null. */
  stream: AsyncIterable<Buffer> | null;
  /** Stream framing: chunked coding (RFC 9112 §7.1). */
  chunked: boolean;
  /** Bytes the stream must produce when a Content-Length was declared for it, else null. */
  declaredLength: number | null;
  /** The connection closes after this response. */
  close: boolean;
  /** Called once the response is written or abandoned (file-like `close()`). */
  cleanup: () => void;
  /** The stream's own abort signal ({@link STREAM_ABORT}), if it has one. */
  abort?: AbortSignal | null;
}

/** What the connection knows about the request being answered. */
export interface ResponseContext {
  method: string;
  version: '0.9' | '1.0' | '1.1';
  /** The request allows the connection to stay open (and the server wants it). */
  keepAlive: boolean;
}

let dateString: string | null = null;
const forgetDate = (): void => {
  dateString = null;
};

/**
 * The IMF-fixdate of now (RFC 9110 §5.6.7), made once per second: an
 * unref'd timer forgets it at the next whole second, so a response does
 * not read the clock (as node:http's own date cache does). While the event
 * loop is blocked the timer waits too, and the date can lag by that long.
 *
 * @example httpDate() // 'Sun, 22 Nov 2026 00:00:00 GMT'
 */
export function httpDate(): string {
  if (dateString === null) {
    const now = Date.now();
    dateString = new Date(now).toUTCString();
    setTimeout(forgetDate, 1000 - (now % 1000)).unref();
  }
  return dateString;
}

/** The cleanup of a response that holds nothing to release (shared: no closure per response). */
const NOTHING_TO_RELEASE = (): void => {};

/**
 * What a response's own framing fields say, for {@link messageBodyLength}
 * (which only reads them): no framing field, a Content-Length, chunked.
 * Shared, so that deciding the framing allocates nothing per response.
 */
const SENT_NONE = Object.freeze(sentFraming(null, false));
const SENT_LENGTH = Object.freeze(sentFraming(0, false));
const SENT_CHUNKED = Object.freeze(sentFraming(null, true));

/** `fn` that runs at most once (cleanup may be reached from two paths). */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function invalid(message: string): InvalidResponseError {
  return new InvalidResponseError(`callback returned an invalid response: ${message}`);
}

/** True for a Promise or another thenable: a value the callback forgot to await. */
function isThenable(v: unknown): boolean {
  return isObject(v) && typeof v['then'] === 'function';
}

/** The error for a Promise where a value is expected. */
function promised(what: string): InvalidResponseError {
  return invalid(`${what} is a Promise — did you forget await?`);
}

const LATIN1_HINT = 'values must be Latin-1 (ISO-8859-1) text without control characters, or encoded (e.g. encodeURIComponent / RFC 8187)';
const ESCAPES: Record<number, string> = { 0x00: '\\0', 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r' };

/**
 * Names the character at `i` for an error message: `'日' (U+65E5)`,
 * `'\n' (U+000A)`, `'\x1b' (U+001B)`; a whole code point, not half a
 * surrogate pair.
 */
function describeChar(s: string, i: number): string {
  const cp = s.codePointAt(i)!;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  const shown = ESCAPES[cp] ?? (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ? `\\x${hex.slice(2).toLowerCase()}` : String.fromCodePoint(cp));
  return `'${shown}' (U+${hex})`;
}

function checkFieldValue(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) throw invalid(`header ${JSON.stringify(name)} has a forbidden character ${describeChar(value, i)} in its value; ${LATIN1_HINT}`);
  }
  if (value.length > 0) {
    const first = value.charCodeAt(0);
    const last = value.charCodeAt(value.length - 1);
    if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) throw invalid(`header ${JSON.stringify(name)} value has leading or trailing whitespace`);
  }
}

function isObject(v: unknown): v is Record<string | symbol, unknown> {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  throw invalid(`message produced a ${chunk === null ? 'null' : typeof chunk} chunk (expected string or bytes)`);
}

async function* readFileLike(f: FileLike): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = toBuffer(await f.read(65536));
    if (chunk.length === 0) return;
    yield chunk;
  }
}

/**
 * The chunks of an (async) iterable as Buffers, empty ones skipped. A
 * hand-written iterator over the message's own: an async generator in
 * between (`for await` + `yield`) cost three more promise hops per chunk,
 * a fifth of the time of a stream of small pieces. It keeps what `for
 * await` does: a sync iterable's promised values are awaited, a result
 * that is not an object is a TypeError, and the message's iterator is
 * closed (`return()`) when a chunk is refused or the writer stops early.
 */
class ChunkIterator implements AsyncIterator<Buffer> {
  private inner: Iterator<unknown> | AsyncIterator<unknown> | null = null;
  private closed = false;

  constructor(private readonly source: AsyncIterable<unknown> | Iterable<unknown>, private readonly sync: boolean) {}

  async next(): Promise<IteratorResult<Buffer>> {
    const inner = this.inner ??= this.sync
      ? (this.source as Iterable<unknown>)[Symbol.iterator]()
      : (this.source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    for (;;) {
      const step = this.sync ? inner.next() as IteratorResult<unknown> : await inner.next();
      if (typeof step !== 'object' || step === null) {
        // As for await: an iterator that broke its protocol is not closed either.
        this.closed = true;
        throw new TypeError(`the message's iterator returned ${String(step)} instead of an object`);
      }
      if (step.done === true) {
        this.closed = true;
        return { done: true, value: undefined };
      }
      let b: Buffer;
      try {
        b = toBuffer(this.sync && isThenable(step.value) ? await step.value : step.value);
      } catch (e) {
        await this.return();
        throw e;
      }
      if (b.length > 0) return { done: false, value: b };
    }
  }

  async return(): Promise<IteratorResult<Buffer>> {
    const open = !this.closed && this.inner !== null;
    this.closed = true;
    if (open) await this.inner!.return?.();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** `it`'s chunks as Buffers (see ChunkIterator). */
function readIterable(it: AsyncIterable<unknown> | Iterable<unknown>, sync: boolean): AsyncIterable<Buffer> {
  return { [Symbol.asyncIterator]: () => new ChunkIterator(it, sync) };
}

const VERSIONS = new Set(['0.9', '1.0', '1.1']);

/** The status line's parts from the dictionary: `statuscode`, `statusmsg`, `version`. */
function statusOf(r: Record<string, unknown>, ctx: ResponseContext): { status: number; reason: string; version: '0.9' | '1.0' | '1.1' } {
  const status = r['statuscode'];
  if (isThenable(status)) throw promised('statuscode');
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw invalid(`statuscode must be an integer 200-599, got ${JSON.stringify(status) ?? String(status)}`);
  }
  if (status < 200) throw invalid(`statuscode ${status} is an interim (1xx) response; a callback must return a final one (200-599)`);
  let reason = STATUS_REASONS[status] ?? 'Unknown';
  if (r['statusmsg'] !== undefined && r['statusmsg'] !== null) {
    if (isThenable(r['statusmsg'])) throw promised('statusmsg');
    if (typeof r['statusmsg'] !== 'string') throw invalid('statusmsg must be a string');
    reason = r['statusmsg'];
    for (let i = 0; i < reason.length; i++) {
      const c = reason.charCodeAt(i);
      if (c > 0xff || REASON[c] !== 1) throw invalid(`statusmsg has a forbidden character ${describeChar(reason, i)}; it must be Latin-1 (ISO-8859-1) text without control characters`);
    }
  }
  let version = ctx.version;
  if (r['version'] !== undefined && r['version'] !== null) {
    if (typeof r['version'] !== 'string' || !VERSIONS.has(r['version'])) throw invalid(`version must be '0.9', '1.0' or '1.1', got ${JSON.stringify(r['version'])}`);
    const asked = r['version'] as '0.9' | '1.0' | '1.1';
    // Never answer with a higher minor version than the client can read framing for.
    if (asked < version) version = asked;
  }
  return { status, reason, version };
}

/** The content of a response: exactly one of text, bytes or a stream, and how to release the stream. */
interface Content {
  body: Buffer | null;
  bodyText: string | null;
  stream: AsyncIterable<Buffer> | null;
  cleanup: () => void;
  abort: AbortSignal | null;
}

/** Reads `message`: a string, bytes, an (async) iterable or a file-like object. */
function contentOf(msg: unknown): Content {
  const c: Content = { body: null, bodyText: null, stream: null, cleanup: NOTHING_TO_RELEASE, abort: null };
  if (msg === undefined || msg === null) c.bodyText = '';
  // ASCII text (UTF-8 length equals length) is kept as text: written with the head as one string.
  else if (typeof msg === 'string') {
    if (Buffer.byteLength(msg, 'utf8') === msg.length) c.bodyText = msg;
    else c.body = Buffer.from(msg, 'utf8');
  }
  else if (msg instanceof Uint8Array) c.body = Buffer.from(msg.buffer, msg.byteOffset, msg.length);
  else if (isObject(msg) && typeof msg[Symbol.asyncIterator] === 'function') {
    // Async iterables first: a Node Readable has read() too, with other semantics.
    c.stream = readIterable(msg as unknown as AsyncIterable<unknown>, false);
    const abort = (msg as { [STREAM_ABORT]?: unknown })[STREAM_ABORT];
    if (abort instanceof AbortSignal) c.abort = abort;
    c.cleanup = once(() => {
      try {
        const destroy = (msg as { destroy?: unknown }).destroy;
        if (typeof destroy === 'function') (destroy as () => void).call(msg);
      } catch {
        // A stream's destroy() failing must not break the connection.
      }
    });
  } else if (isObject(msg) && typeof msg['read'] === 'function') {
    const f = msg as unknown as FileLike;
    c.stream = readFileLike(f);
    c.cleanup = once(() => {
      try {
        if (typeof f.close === 'function') {
          const p = f.close();
          if (p instanceof Promise) p.catch(() => {});
        }
      } catch {
        // The file-like object's close() failing must not break the connection.
      }
    });
  } else if (isObject(msg) && typeof msg[Symbol.iterator] === 'function') {
    c.stream = readIterable(msg as unknown as Iterable<unknown>, true);
  } else if (isThenable(msg)) throw promised('message');
  else throw invalid(`message must be a string, bytes, a file-like object with read(n), or an (async) iterable; got ${typeof msg}`);
  return c;
}

/** The callback's header fields, checked: the lines to write as they are, and the fields the server decides on. */
interface UserFields {
  lines: string;
  declaredLength: number | null;
  chunkedAsked: boolean;
  connection: string[];
  close: boolean;
  hasDate: boolean;
}

/**
 * Header names a callback used before, already checked to be tokens, with
 * their lower case: most callbacks send the same few names on every
 * response. Bounded, so that names made up per request cannot grow it.
 */
const checkedNames = new Map<string, string>();
const CHECKED_NAMES_MAX = 512;

/** Reads `headers`: names must be tokens, values strings/numbers/arrays of Latin-1 without CR, LF, NUL or edge whitespace. */
function userFields(headers: unknown): UserFields {
  const f: UserFields = { lines: '', declaredLength: null, chunkedAsked: false, connection: [], close: false, hasDate: false };
  if (headers === undefined || headers === null) return f;
  if (isThenable(headers)) throw promised('headers');
  if (!isObject(headers) || Array.isArray(headers)) throw invalid('headers must be an object');
  for (const name of Object.keys(headers)) {
    let lower = checkedNames.get(name);
    if (lower === undefined && !isToken(name)) {
      if (name.length === 0) throw invalid('header name "" is empty');
      let i = 0;
      while (i < name.length && name.charCodeAt(i) <= 0xff && TOKEN[name.charCodeAt(i)] === 1) i++;
      throw invalid(`header name ${JSON.stringify(name)} has a forbidden character ${describeChar(name, i)}; names must be tokens: ASCII letters, digits and !#$%&'*+-.^_\`|~`);
    }
    const raw = (headers as Record<string, unknown>)[name];
    if (raw === undefined || raw === null) continue;
    const values: string[] = [];
    if (typeof raw === 'string') values.push(raw);
    else if (typeof raw === 'number' && Number.isFinite(raw)) values.push(String(raw));
    else if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) values.push(...(raw as string[]));
    else if (isThenable(raw)) throw promised(`header ${JSON.stringify(name)}`);
    else throw invalid(`header ${JSON.stringify(name)} must be a string, a number or an array of strings`);
    if (lower === undefined) {
      lower = name.toLowerCase();
      if (checkedNames.size < CHECKED_NAMES_MAX) checkedNames.set(name, lower);
    }
    for (const v of values) checkFieldValue(name, v);
    if (lower === 'content-length') {
      if (values.length !== 1 || !/^[0-9]{1,15}$/.test(values[0]!)) throw invalid('Content-Length must be one non-negative integer');
      f.declaredLength = Number(values[0]);
      continue; // written by the framing, once it is decided
    }
    if (lower === 'transfer-encoding') {
      if (values.length !== 1 || values[0]!.toLowerCase() !== 'chunked') throw invalid('Transfer-Encoding may only be "chunked" (the server frames the content itself)');
      f.chunkedAsked = true;
      continue;
    }
    if (lower === 'date') f.hasDate = true;
    if (lower === 'connection') {
      // Written last, once it is known whether the connection closes.
      f.connection.push(...values);
      if (values.some((v) => v.toLowerCase().split(',').some((t) => trimOWS(t) === 'close'))) f.close = true;
      continue;
    }
    for (const v of values) f.lines += `${name}: ${v}\r\n`;
  }
  return f;
}

/**
 * Decides how the content is framed (RFC 9112 §6): returns the framing
 * fields to write and changes `c` to what will be written. Content-Length
 * when the length is known; chunked (HTTP/1.1) or close-delimited
 * (HTTP/1.0) for a stream; none for HEAD, 204, 304 and a 2xx to CONNECT.
 */
function frame(c: Content, f: UserFields, noContent: boolean, version: string, method: string, status: number): { fields: string; chunked: boolean; declaredLength: number | null } {
  const knownLength = c.bodyText !== null ? c.bodyText.length : c.body !== null ? c.body.length : null;
  const declared = f.declaredLength;
  if (noContent) {
    c.body = null;
    c.bodyText = null;
    c.stream = null;
    // RFC 9110 §9.3.2: a HEAD response may carry the length a GET would have.
    const len = method === 'HEAD' && status !== 204 && status !== 304 ? declared ?? (knownLength !== null && !f.chunkedAsked ? knownLength : null) : null;
    return { fields: len !== null ? `Content-Length: ${len}\r\n` : '', chunked: false, declaredLength: declared };
  }
  if (knownLength !== null && declared !== null && declared !== knownLength) {
    throw invalid(`Content-Length ${declared} does not match the message length ${knownLength}`);
  }
  if (knownLength !== null && !f.chunkedAsked) return { fields: `Content-Length: ${knownLength}\r\n`, chunked: false, declaredLength: declared };
  if (c.stream !== null && declared !== null && !f.chunkedAsked) return { fields: `Content-Length: ${declared}\r\n`, chunked: false, declaredLength: declared };
  if (version === '1.1') {
    // A stream of unknown length, or chunked asked for explicitly.
    if (knownLength !== null) {
      const b = c.body ?? Buffer.from(c.bodyText!, 'latin1');
      c.stream = (async function* () {
        if (b.length > 0) yield b;
      })();
      c.body = null;
      c.bodyText = null;
    }
    return { fields: 'Transfer-Encoding: chunked\r\n', chunked: true, declaredLength: null };
  }
  // HTTP/1.0 cannot chunk: without a length, the end of the connection ends the content.
  return { fields: knownLength !== null ? `Content-Length: ${knownLength}\r\n` : '', chunked: false, declaredLength: null };
}

/**
 * Validates a callback's result and decides the framing (RFC 9112 §6, §9):
 * Content-Length when the length is known; chunked (HTTP/1.1) or
 * close-delimited (HTTP/1.0) for a stream; no content for HEAD, 204 and
 * 304; a Date field; Connection: close when the connection ends after it.
 * Throws {@link InvalidResponseError} for anything that cannot be sent.
 *
 * @example
 * prepareResponse({ statuscode: 200, message: 'hi' }, { method: 'GET', version: '1.1', keepAlive: true })
 * // head: 'HTTP/1.1 200 OK\r\nDate: ...\r\nContent-Length: 2\r\n\r\n', body: 'hi'
 */
export function prepareResponse(result: unknown, ctx: ResponseContext): PreparedResponse {
  if (!isObject(result) || Array.isArray(result)) throw invalid(`expected a dictionary, got ${result === null ? 'null' : Array.isArray(result) ? 'an array' : typeof result}`);
  const r = result as Record<string, unknown>;
  const { status, reason, version } = statusOf(r, ctx);
  const c = contentOf(r['message']);
  // No content for HEAD, 204, 304 (RFC 9110 §6.4.1), nor for a 2xx to CONNECT,
  // which also must not carry Content-Length or Transfer-Encoding (RFC 9110 §8.6,
  // RFC 9112 §6.1); this server does not tunnel, so the connection closes after it.
  // RFC 9112 §6.3, as the parsers apply it (src/parser/framing.ts): rule 1
  // gives `none`, rule 2 the `tunnel`; either way no content is written.
  const framing = messageBodyLength(SENT_NONE, false, ctx.method, status, 0);
  const noContent = framing === 'none' || framing === 'tunnel';
  if (version === '0.9') {
    return {
      status, head: null, body: noContent ? null : c.body, bodyText: noContent ? null : c.bodyText, stream: noContent ? null : c.stream,
      chunked: false, declaredLength: null, close: true, cleanup: c.cleanup,
    };
  }
  const f = userFields(r['headers']);
  let head = `HTTP/${version} ${status} ${reason}\r\n${f.lines}`;
  if (!f.hasDate) head += `Date: ${httpDate()}\r\n`;
  const knownLength = c.bodyText !== null ? c.bodyText.length : c.body !== null ? c.body.length : null;
  const { fields, chunked, declaredLength } = frame(c, f, noContent, version, ctx.method, status);
  head += fields;
  // The framing as the recipient will read it (RFC 9112 §6.3): content that
  // runs until the connection closes means the connection must close.
  let close = !ctx.keepAlive || f.close;
  const sentLength = noContent || chunked ? null : knownLength ?? declaredLength;
  if (!noContent && messageBodyLength(chunked ? SENT_CHUNKED : sentLength !== null ? SENT_LENGTH : SENT_NONE, false, ctx.method, status, 0) === 'until-close') close = true;
  // The connection decision wins over what the callback wrote (RFC 9112 §9.6: a closing sender says close).
  const connectionAt = head.length;
  if (close) head += 'Connection: close\r\n';
  else if (f.connection.length > 0) for (const v of f.connection) head += `Connection: ${v}\r\n`;
  else if (version === '1.0') head += 'Connection: keep-alive\r\n';
  head += '\r\n';
  return {
    status,
    head,
    connectionAt,
    body: c.body,
    bodyText: c.bodyText,
    stream: c.stream,
    chunked,
    declaredLength: c.stream !== null ? declaredLength : null,
    close,
    cleanup: c.cleanup,
    abort: c.abort,
  };
}

/**
 * The short answer the server sends on its own (parse errors, timeouts,
 * callback failures): text/plain, Connection: close.
 *
 * A HEAD request gets the same head and no content (RFC 9110 §9.3.2).
 *
 * @example errorResponse(400, 'HEADER_NAME_INVALID at byte 19: invalid character in field name', '1.1')
 */
export function errorResponse(status: number, text: string, version: '0.9' | '1.0' | '1.1' = '1.1', headRequest = false): Buffer {
  const body = `${STATUS_REASONS[status] ?? 'Error'}${text ? `: ${text}` : ''}\n`;
  if (version === '0.9') return Buffer.from(body, 'latin1');
  return Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_REASONS[status] ?? 'Error'}\r\nDate: ${httpDate()}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\nConnection: close\r\n\r\n${headRequest ? '' : body}`,
    'latin1',
  );
}

/**
 * The same response, now closing the connection: its Connection lines (the
 * last of the head) become `Connection: close` (RFC 9112 §9.6). For a
 * decision made after the response was prepared (the server began to stop).
 *
 * @example closing(prepareResponse({ statuscode: 200 }, ctx)).head // ends 'Connection: close\r\n\r\n'
 */
export function closing(r: PreparedResponse): PreparedResponse {
  if (r.close || r.head === null || r.connectionAt === undefined || r.connectionAt < 0) return { ...r, close: true };
  return { ...r, head: `${r.head.slice(0, r.connectionAt)}Connection: close\r\n\r\n`, close: true };
}

/** A streamed response whose first chunk is being pulled, and how to give it up. */
export interface Priming {
  /** The response, its stream yielding the pulled chunk first; rejects with what the stream threw. */
  response: Promise<PreparedResponse>;
  /** Abandons the stream (its iterator's `return()`, then `cleanup`): on a timeout, a disconnect or a failure. */
  cancel: () => void;
}

/**
 * The error of a message stream that does not match its Content-Length,
 * after `sent` bytes (`done`: at its end); null while it still fits. One
 * check for the first chunk (before the head) and for the rest (the writer).
 *
 * @example lengthMismatch(5, 6, false) // InvalidResponseError: message longer than its Content-Length 5
 */
export function lengthMismatch(declared: number | null, sent: number, done: boolean): InvalidResponseError | null {
  if (declared === null) return null;
  if (sent > declared) return new InvalidResponseError(`message longer than its Content-Length ${declared}`);
  if (done && sent !== declared) return new InvalidResponseError(`message shorter (${sent}) than its Content-Length ${declared}`);
  return null;
}

/**
 * Pulls the first chunk of a streamed message before the head is committed,
 * so that a stream that fails at once (`fs.createReadStream` of a missing
 * file, a bad first chunk, a first chunk beyond the declared Content-Length,
 * an empty stream with a Content-Length) is still a clean 500 rather than a
 * `200 OK` cut short. Failures after the first chunk can only cut the
 * connection (src/server/writer.ts).
 *
 * @example
 * const p = primeStream(prepareResponse({ statuscode: 200, message: createReadStream(path) }, ctx));
 * try { r = await p.response } catch (err) { p.cancel(); // 500 }
 */
export function primeStream(r: PreparedResponse): Priming {
  const it = r.stream![Symbol.asyncIterator]();
  let returned = false;
  const close = (): void => {
    if (returned) return;
    returned = true;
    try {
      const p = it.return?.();
      if (p !== undefined) p.catch(() => {});
    } catch {
      // A message stream whose return() throws must not break the connection.
    }
  };
  const cancel = once(() => {
    close();
    r.cleanup();
  });
  const response = (async (): Promise<PreparedResponse> => {
    let first: IteratorResult<Buffer> | null = await it.next();
    const mismatch = lengthMismatch(r.declaredLength, first.done ? 0 : first.value.length, first.done === true);
    if (mismatch !== null) throw mismatch;
    const primed: AsyncIterableIterator<Buffer> = {
      next(): Promise<IteratorResult<Buffer>> {
        if (first !== null) {
          const f = first;
          first = null;
          return Promise.resolve(f);
        }
        return it.next();
      },
      async return(): Promise<IteratorResult<Buffer>> {
        first = null;
        if (!returned) {
          returned = true;
          await it.return?.()?.catch(() => {});
        }
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return { ...r, stream: primed, cleanup: cancel };
  })();
  return { response, cancel };
}
