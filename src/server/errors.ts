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
