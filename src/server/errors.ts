/**
 * Errors of the server's own making, as the callback sees them: a pending
 * `datastream` read rejects with them and `req.signal` fires with them; the
 * timeouts also go to `onError`.
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';

/**
 * The client went away: what a pending datastream read rejects with.
 *
 * @example req.signal.reason instanceof ClientGoneError && req.signal.reason.code === 'ERR_CLIENT_GONE'
 */
export class ClientGoneError extends RepyHttpError {
  override name = 'ClientGoneError';
  declare readonly code: 'ERR_CLIENT_GONE';
  constructor(message?: string, options?: ErrorOptions) {
    super('ERR_CLIENT_GONE', message, options);
  }
}

/** The codes of {@link RequestTimeoutError}. */
export type RequestTimeoutCode = 'ERR_BODY_TIMEOUT' | 'ERR_CALLBACK_TIMEOUT' | 'ERR_WRITE_TIMEOUT';

/**
 * A timeout of the server's own making, as the callback sees it (datastream reads reject with it).
 *
 * @example onError(err) { if (err instanceof RequestTimeoutError && err.code === 'ERR_BODY_TIMEOUT') ... }
 */
export class RequestTimeoutError extends RepyHttpError {
  override name = 'RequestTimeoutError';
  declare readonly code: RequestTimeoutCode;
  constructor(code: RequestTimeoutCode, message: string) {
    super(code, message);
  }
}

/** The codes of {@link TlsHandshakeError}. */
export type TlsHandshakeCode = 'ERR_TLS_HANDSHAKE' | 'ERR_TLS_HANDSHAKE_TIMEOUT';

/**
 * A TLS handshake that failed on an HTTPS registration (`tls` option): the
 * client sent plain HTTP, offered nothing the server accepts, refused the
 * server's certificate, sent no or a bad client certificate under
 * `requestCert` + `rejectUnauthorized`, or did not finish within
 * `handshakeTimeout` (`ERR_TLS_HANDSHAKE_TIMEOUT`). The socket is already
 * destroyed; no callback ran. Reported through `onError` (with `req` null);
 * `cause` is node:tls's error (its `code`, e.g. `ERR_SSL_HTTP_REQUEST`, is
 * also in `tlsCode`).
 *
 * @example onError(err) { if (err instanceof TlsHandshakeError) metrics.tlsFailures++; }
 */
export class TlsHandshakeError extends RepyHttpError {
  override name = 'TlsHandshakeError';
  declare readonly code: TlsHandshakeCode;
  /** node:tls's (OpenSSL's) code for the failure, or null. */
  readonly tlsCode: string | null;
  /** The peer's address and port ('' and 0 when the socket was gone already). */
  readonly remoteipstr: string;
  readonly remoteportnum: number;
  constructor(cause: Error, remoteipstr: string, remoteportnum: number) {
    const c = (cause as { code?: unknown }).code;
    const tlsCode = typeof c === 'string' ? c : null;
    const code: TlsHandshakeCode = tlsCode === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'ERR_TLS_HANDSHAKE_TIMEOUT' : 'ERR_TLS_HANDSHAKE';
    super(code, `TLS handshake with ${remoteipstr}:${remoteportnum} failed: ${cause.message.trim()}`, { cause });
    this.tlsCode = tlsCode;
    this.remoteipstr = remoteipstr;
    this.remoteportnum = remoteportnum;
  }
}
