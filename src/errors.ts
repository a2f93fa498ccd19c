/**
 * Error classes. Every error the package throws extends {@link RepyHttpError}
 * and has a stable `code` string (undici style) that programs can switch on;
 * messages may change, codes do not. (Arguments of the wrong type are the
 * exception: they are JavaScript's own `TypeError`.)
 *
 * @module
 */

/**
 * The base class of every error of this package: `catch (e) { if (e
 * instanceof RepyHttpError) switch (e.code) ... }`. docs/errors.md has the
 * hierarchy.
 *
 * @example err instanceof RepyHttpError && err.code === 'ERR_UNKNOWN_ID'
 */
export class RepyHttpError extends Error {
  override name = 'RepyHttpError';
  /** A stable code: see each subclass. */
  readonly code: string;
  constructor(code: string, message?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Every rejection the parser can produce: code → HTTP status to answer with
 * and a one-line reason. docs/errors.md lists when each happens.
 *
 * @example PARSE_ERRORS.HEADER_NAME_INVALID.status === 400
 */
export const PARSE_ERRORS = Object.freeze({
  // Request line / status line (RFC 9112 §3, §4)
  METHOD_INVALID: { status: 400, reason: 'method is not a token' },
  REQUEST_LINE_INVALID: { status: 400, reason: 'malformed request line' },
  TARGET_INVALID: { status: 400, reason: 'invalid request-target' },
  URI_TOO_LONG: { status: 414, reason: 'request line too long' },
  VERSION_INVALID: { status: 400, reason: 'malformed HTTP version' },
  VERSION_NOT_SUPPORTED: { status: 505, reason: 'HTTP version not supported' },
  HTTP2_PREFACE: { status: 505, reason: 'HTTP/2 connection preface on an HTTP/1 connection' },
  HTTP09_INVALID: { status: 400, reason: 'HTTP/0.9 request must be GET with an origin-form target' },
  STATUS_LINE_INVALID: { status: 502, reason: 'malformed status line' },
  // Line endings (RFC 9112 §2.2)
  BARE_CR: { status: 400, reason: 'CR not followed by LF' },
  BARE_LF: { status: 400, reason: 'LF without CR' },
  // Field lines (RFC 9112 §5, RFC 9110 §5)
  HEADER_NAME_INVALID: { status: 400, reason: 'invalid character in field name' },
  HEADER_VALUE_INVALID: { status: 400, reason: 'invalid character in field value' },
  OBS_FOLD: { status: 400, reason: 'obsolete line folding or whitespace before a field line' },
  HEADERS_TOO_LARGE: { status: 431, reason: 'header section too large' },
  TOO_MANY_HEADERS: { status: 431, reason: 'too many header fields' },
  // Semantics of the head (RFC 9112 §3.2, §6)
  HOST_MISSING: { status: 400, reason: 'HTTP/1.1 request without Host' },
  HOST_DUPLICATE: { status: 400, reason: 'more than one Host field' },
  HOST_INVALID: { status: 400, reason: 'invalid Host field value' },
  CONTENT_LENGTH_INVALID: { status: 400, reason: 'invalid Content-Length' },
  CONTENT_LENGTH_CONFLICT: { status: 400, reason: 'Content-Length values disagree' },
  TE_WITH_CONTENT_LENGTH: { status: 400, reason: 'both Transfer-Encoding and Content-Length' },
  TE_INVALID: { status: 400, reason: 'invalid Transfer-Encoding' },
  TE_NOT_CHUNKED_FINAL: { status: 400, reason: 'chunked must be the final transfer coding, applied once' },
  TE_UNSUPPORTED: { status: 501, reason: 'transfer coding not implemented' },
  TE_IN_HTTP10: { status: 400, reason: 'Transfer-Encoding in an HTTP/1.0 message' },
  BODY_TOO_LARGE: { status: 413, reason: 'content too large' },
  // Chunked coding (RFC 9112 §7.1)
  CHUNK_SIZE_INVALID: { status: 400, reason: 'invalid chunk size' },
  CHUNK_SIZE_TOO_LARGE: { status: 400, reason: 'chunk size overflows' },
  CHUNK_EXTENSION_INVALID: { status: 400, reason: 'invalid chunk extension' },
  CHUNK_EXTENSIONS_TOO_LARGE: { status: 400, reason: 'chunk extensions too large' },
  CHUNK_DATA_END_INVALID: { status: 400, reason: 'chunk data not followed by CRLF' },
  // Connection level
  DATA_AFTER_CLOSE: { status: 400, reason: 'data after the last message of the connection' },
  UNEXPECTED_EOF: { status: 400, reason: 'connection closed in the middle of a message' },
} as const);

/** A stable parser error code, e.g. `'HEADER_NAME_INVALID'`. */
export type ParseErrorCode = keyof typeof PARSE_ERRORS;

/**
 * A rejection by the parser: the stable `code`, the HTTP `status` a server
 * answers with, the byte `offset` in the stream where the parser stopped,
 * and a human `reason`.
 *
 * @example
 * const p = new RequestParser();
 * p.push(Buffer.from('GET / HTTP/1.1\r\nBad Name: x\r\n\r\n'));
 * const r = p.next(); // { type: 'error', error: HttpParseError { code: 'HEADER_NAME_INVALID', status: 400, offset: 19 } }
 */
export class HttpParseError extends RepyHttpError {
  override name = 'HttpParseError';
  declare readonly code: ParseErrorCode;
  readonly status: number;
  readonly offset: number;
  readonly reason: string;
  constructor(code: ParseErrorCode, offset: number, detail?: string) {
    const { status, reason } = PARSE_ERRORS[code];
    super(code, `${code} at byte ${offset}: ${detail ?? reason}`);
    this.status = status;
    this.offset = offset;
    this.reason = detail ?? reason;
  }

  /** The plain `{code, status, offset, reason}` record (what the CLI prints). */
  toJSON(): { code: ParseErrorCode; status: number; offset: number; reason: string } {
    return { code: this.code, status: this.status, offset: this.offset, reason: this.reason };
  }
}

/**
 * A bad argument value, the repy `ValueError` (e.g. a port out of range).
 *
 * @example await registerCallback(['127.0.0.1', 70000], cb) // rejects ValueError
 */
export class ValueError extends RepyHttpError {
  override name = 'ValueError';
  constructor(message: string, code = 'ERR_VALUE', options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * An unknown key, the repy `KeyError` (e.g. `stopCallback` of an id that was
 * never registered or is already stopped).
 *
 * @example await stopCallback(12345) // rejects KeyError
 */
export class KeyError extends RepyHttpError {
  override name = 'KeyError';
  declare readonly code: 'ERR_UNKNOWN_ID';
  constructor(message?: string, options?: ErrorOptions) {
    super('ERR_UNKNOWN_ID', message, options);
  }
}

/**
 * An index out of range, the repy `IndexError` (e.g. an address tuple with
 * fewer than two items).
 *
 * @example await registerCallback(['127.0.0.1'] as never, cb) // rejects IndexError
 */
export class IndexError extends RepyHttpError {
  override name = 'IndexError';
  declare readonly code: 'ERR_INDEX';
  constructor(message?: string, options?: ErrorOptions) {
    super('ERR_INDEX', message, options);
  }
}

/**
 * The callback's result could not become a response (wrong type, bad status,
 * CR/LF in a header...). The client receives a generic 500; this error goes
 * to the `onError` hook.
 *
 * @example onError(err) { if (err.code === 'ERR_INVALID_RESPONSE') ... }
 */
export class InvalidResponseError extends RepyHttpError {
  override name = 'InvalidResponseError';
  declare readonly code: 'ERR_INVALID_RESPONSE';
  constructor(message?: string, options?: ErrorOptions) {
    super('ERR_INVALID_RESPONSE', message, options);
  }
}
