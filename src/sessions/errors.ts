/**
 * The error a session sees when it is told to end: its pending `next()`
 * rejects with it and its `signal` aborts with it.
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';

/**
 * The session was reaped (idle for `reapAfter`), the sessions app is
 * closing, or the session function already ended. A session function
 * normally lets it propagate (its `finally` blocks run); the sessions app
 * does not report it to `onError`.
 *
 * @example
 * try { for (;;) req = await session.next(page(req)); }
 * catch (e) { if (!(e instanceof SessionExpiredError)) throw e; }   // e.code === 'ERR_SESSION_EXPIRED'
 * finally { releaseLocks(); }
 */
export class SessionExpiredError extends RepyHttpError {
  override name = 'SessionExpiredError';
  declare readonly code: 'ERR_SESSION_EXPIRED';
  constructor(message = 'session expired', options?: ErrorOptions) {
    super('ERR_SESSION_EXPIRED', message, options);
  }
}
