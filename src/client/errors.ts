/**
 * The client's error classes (`open`, `getString`, `saveFile`). Each has a
 * stable `code` to switch on and, where there is one, the underlying error
 * as `cause`. All extend {@link HttpClientError}. Bad arguments are the
 * library's `TypeError` / `ValueError` instead, thrown before any connection.
 *
 * docs/client.md has the table of every error and the condition behind it.
 *
 * @module
 */

import { RepyHttpError, type HttpParseError, type ParseErrorCode } from '../errors.js';

/**
 * The base class of every error the client raises once a request is under
 * way: `catch (e) { if (e instanceof HttpClientError) ... }`.
 *
 * @example err instanceof HttpClientError && err.url === 'http://example.com/'
 */
export class HttpClientError extends RepyHttpError {
  override name = 'HttpClientError';
  /** The URL being fetched when it happened (after redirects, the current one). */
  readonly url: string;
  /**
   * Whether the request to `url` may have reached the server. False only
   * when no byte of it was handed to the network (the connection was never
   * made, or the URL was refused by `allow`): sending it again cannot repeat
   * its effect. True when the server may have received it, whole or in
   * part, and acted on it (a retry of a non-idempotent request is unsafe).
   */
  readonly requestSent: boolean;
  constructor(code: string, message: string, url: string, options?: { cause?: unknown; requestSent?: boolean }) {
    super(code, message, options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
    this.url = url;
    this.requestSent = options?.requestSent ?? true;
  }
}

/**
 * The connection could not be made or broke: refused, DNS failure, reset,
 * unreachable. `code` is the operating system's code (`'ECONNREFUSED'`,
 * `'ENOTFOUND'`, `'EAI_AGAIN'`, `'ECONNRESET'`, `'EPIPE'`, `'EHOSTUNREACH'`,
 * ...) or `'ERR_CONNECTION'` when there is none; `cause` is Node's error.
 *
 * @example err.code === 'ECONNREFUSED' && err.cause instanceof Error
 */
export class HttpConnectionError extends HttpClientError {
  override name = 'HttpConnectionError';
  /** The host and port the client was connecting to (the proxy's when there is one). */
  readonly address: string;
  readonly port: number;
  constructor(message: string, url: string, address: string, port: number, cause?: unknown, requestSent = true) {
    super(osCode(cause) ?? 'ERR_CONNECTION', message, url, { cause, requestSent });
    this.address = address;
    this.port = port;
  }
}

/** The `code` of Node's error, also for an AggregateError of several attempts (IPv4 and IPv6). */
function osCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const e of errors) if (typeof osCode(e) === 'string') return osCode(e);
  return undefined;
}

/** The three client timeouts. */
export type HttpTimeoutCode = 'ETIMEDOUT_CONNECT' | 'ETIMEDOUT_IDLE' | 'ETIMEDOUT_TOTAL';

/**
 * A timeout fired: `ETIMEDOUT_CONNECT` (name lookup and TCP connect took
 * longer than `connectTimeout`), `ETIMEDOUT_IDLE` (no byte arrived for
 * `idleTimeout` while the client was waiting for the response or its
 * content), `ETIMEDOUT_TOTAL` (the whole exchange, redirects and reading the
 * content included, outlasted `totalTimeout`). `timeout` is the limit in ms.
 *
 * @example err.code === 'ETIMEDOUT_IDLE' && err.timeout === 1000
 */
export class HttpTimeoutError extends HttpClientError {
  override name = 'HttpTimeoutError';
  declare readonly code: HttpTimeoutCode;
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;
  constructor(code: HttpTimeoutCode, timeout: number, url: string, requestSent = code !== 'ETIMEDOUT_CONNECT') {
    const what = code === 'ETIMEDOUT_CONNECT' ? 'connecting' : code === 'ETIMEDOUT_IDLE' ? 'waiting for data from the server' : 'for the whole exchange';
    super(code, `Timed out ${what} (${timeout} ms) for ${url}`, url, { requestSent });
    this.timeout = timeout;
  }
}

/** Codes of {@link HttpBrokenServerError}: the parser's, plus one the client adds. */
export type BrokenServerCode = ParseErrorCode | 'UNEXPECTED_UPGRADE';

/**
 * The server's response is not valid HTTP/1.x: `code` and `offset` are the
 * response parser's (`STATUS_LINE_INVALID`, `HEADER_NAME_INVALID`,
 * `HEADERS_TOO_LARGE`, `CHUNK_SIZE_INVALID`, `UNEXPECTED_EOF`, ...; see
 * docs/api.md "Parse error codes") and `cause` its `HttpParseError`.
 * `UNEXPECTED_EOF` at the offset where the bytes stopped also covers a server
 * that closed without sending anything. `UNEXPECTED_UPGRADE` is a
 * `101 Switching Protocols` the client never asked for.
 *
 * @example err.code === 'STATUS_LINE_INVALID' && err.offset === 0
 */
export class HttpBrokenServerError extends HttpClientError {
  override name = 'HttpBrokenServerError';
  declare readonly code: BrokenServerCode;
  /** Byte offset in the response stream (1xx responses included) where it went wrong. */
  readonly offset: number;
  constructor(code: BrokenServerCode, offset: number, message: string, url: string, cause?: HttpParseError) {
    super(code, message, url, { cause });
    this.offset = offset;
  }
}

/**
 * The response content is larger than `maxResponseSize`: at once when its
 * Content-Length says so (`open` rejects), or while it is read when it is
 * chunked or close-delimited (the read that crosses the limit rejects, after
 * every byte up to the limit was delivered). `code` is
 * `'ERR_RESPONSE_TOO_LARGE'`; `cause` is the parser's `BODY_TOO_LARGE`.
 *
 * @example err.code === 'ERR_RESPONSE_TOO_LARGE' && err.limit === 1024
 */
export class HttpResponseTooLargeError extends HttpClientError {
  override name = 'HttpResponseTooLargeError';
  declare readonly code: 'ERR_RESPONSE_TOO_LARGE';
  /** The `maxResponseSize` that was exceeded, in bytes. */
  readonly limit: number;
  constructor(limit: number, url: string, cause?: HttpParseError) {
    super('ERR_RESPONSE_TOO_LARGE', `The response content is larger than maxResponseSize (${limit} bytes) for ${url}`, url, { cause });
    this.limit = limit;
  }
}

/** Codes of {@link HttpRedirectError}. */
export type RedirectCode = 'ERR_TOO_MANY_REDIRECTS' | 'ERR_REDIRECT_LOCATION' | 'ERR_REDIRECT_SCHEME' | 'ERR_REDIRECT_DOWNGRADE';

/**
 * A redirect that cannot be followed: `ERR_TOO_MANY_REDIRECTS` (more than
 * `maxRedirects`, which also ends redirect loops), `ERR_REDIRECT_LOCATION`
 * (the Location field is not a URL, even relative to the request's),
 * `ERR_REDIRECT_SCHEME` (it points to another scheme than `http:` or
 * `https:`, or to `https:` through a proxy), `ERR_REDIRECT_DOWNGRADE` (from
 * `https:` to `http:` without `allowDowngrade`). `location` is the field value,
 * `status` the redirect's status code.
 *
 * @example err.code === 'ERR_TOO_MANY_REDIRECTS' && err.redirects === 5
 */
export class HttpRedirectError extends HttpClientError {
  override name = 'HttpRedirectError';
  declare readonly code: RedirectCode;
  /** The Location field of the redirect that was not followed. */
  readonly location: string;
  /** The status of that redirect (301, 302, 303, 307, 308). */
  readonly status: number;
  /** Redirects followed before this one. */
  readonly redirects: number;
  constructor(code: RedirectCode, message: string, url: string, location: string, status: number, redirects: number, cause?: unknown) {
    super(code, message, url, { cause });
    this.location = location;
    this.status = status;
    this.redirects = redirects;
  }
}

/**
 * The `allow` option refused the URL: the first one (nothing was sent) or a
 * redirect target (the redirect is not followed). `code` is
 * `'ERR_HOST_NOT_ALLOWED'`.
 *
 * @example err.code === 'ERR_HOST_NOT_ALLOWED' && err.hostname === 'evil.example' && err.redirect
 */
export class HttpForbiddenError extends HttpClientError {
  override name = 'HttpForbiddenError';
  declare readonly code: 'ERR_HOST_NOT_ALLOWED';
  readonly hostname: string;
  readonly port: number;
  /** True when the refused URL came from a redirect. */
  readonly redirect: boolean;
  constructor(url: string, hostname: string, port: number, redirect: boolean) {
    super('ERR_HOST_NOT_ALLOWED', `${redirect ? 'Redirect to ' : ''}${hostname}:${port} is not allowed by the allow option (${url})`, url, { requestSent: false });
    this.hostname = hostname;
    this.port = port;
    this.redirect = redirect;
  }
}
