/**
 * What the parser hands out: its options, the request and response heads,
 * and the events of `next()`.
 *
 * @module
 */

import type { HttpParseError } from '../errors.js';

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
export interface HeadBase {
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
  /** True when the body runs until the connection closes (RFC 9112 §6.3 rule 8, or rule 4: a final transfer coding other than chunked). */
  closeDelimited: boolean;
}

/** One answer of `next()`: complete pieces, partial, or error (as httparse answers). */
export type ParseEvent<H> =
  | { type: 'head'; head: H }
  | { type: 'data'; data: Buffer }
  | { type: 'end'; trailers: RawHeader[] }
  | { type: 'error'; error: HttpParseError }
  | { type: 'partial' };

