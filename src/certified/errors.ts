/**
 * The errors of `repy-http/certified`. Each extends `RepyHttpError` and has
 * a stable `code`.
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';

/** Codes of {@link CertifiedRequestError}. */
export type CertifiedRequestCode = 'ERR_ATTEMPTS_EXHAUSTED' | 'ERR_MAX_TIME' | 'ERR_ABORTED';

/**
 * `certifiedRequest` gave up: `ERR_ATTEMPTS_EXHAUSTED` (every one of
 * `attempts` failed or got a retryable status), `ERR_MAX_TIME` (the next
 * attempt would start after `maxTime`), `ERR_ABORTED` (the `signal` fired;
 * `cause` is its reason). `attempts` says how many were made, `requestSent`
 * whether any of them may have reached the server (false: none did, so the
 * effect surely did not happen), `lastStatus` the last status received
 * (null: none), `cause` the last error. Retry later with the same `key`.
 *
 * @example
 * catch (e) { if (e instanceof CertifiedRequestError && !e.requestSent) console.log('nothing was sent'); }
 */
export class CertifiedRequestError extends RepyHttpError {
  override name = 'CertifiedRequestError';
  declare readonly code: CertifiedRequestCode;
  readonly url: string;
  /** The Idempotency-Key every attempt carried. */
  readonly key: string;
  /** Attempts made (requests started). */
  readonly attempts: number;
  /** Whether the request may have reached the server in any attempt. */
  readonly requestSent: boolean;
  /** The last status code received, or null. */
  readonly lastStatus: number | null;
  constructor(code: CertifiedRequestCode, url: string, key: string, attempts: number, requestSent: boolean, lastStatus: number | null, cause?: unknown) {
    const why = code === 'ERR_ABORTED' ? 'aborted' : code === 'ERR_MAX_TIME' ? 'out of time (maxTime)' : 'out of attempts';
    const last = lastStatus !== null ? `, last status ${lastStatus}` : cause instanceof Error ? `, last error ${(cause as { code?: string }).code ?? cause.name}: ${cause.message}` : '';
    super(code, `${url}: ${why} after ${attempts} attempt${attempts === 1 ? '' : 's'}${last}; the request ${requestSent ? 'may have reached' : 'never reached'} the server (Idempotency-Key ${key})`,
      cause === undefined ? undefined : { cause });
    this.url = url;
    this.key = key;
    this.attempts = attempts;
    this.requestSent = requestSent;
    this.lastStatus = lastStatus;
  }
}

/**
 * A replay from the journal asked for another step than the one recorded
 * at that position: the code changed between the crash and the resumption
 * (another order of steps, another URL, method or content). `code` is
 * `'ERR_REPLAY_DIVERGENCE'`; `step` is the step's index; `expected` what the
 * journal holds, `found` what the code asked for.
 *
 * @example err.code === 'ERR_REPLAY_DIVERGENCE' && err.step === 2
 */
export class ReplayDivergenceError extends RepyHttpError {
  override name = 'ReplayDivergenceError';
  declare readonly code: 'ERR_REPLAY_DIVERGENCE';
  readonly step: number;
  readonly expected: string;
  readonly found: string;
  constructor(path: string, step: number, expected: string, found: string) {
    super('ERR_REPLAY_DIVERGENCE', `journal ${path}, step ${step}: the journal holds ${expected}, the code asked for ${found}; finish or discard the journal with the code that wrote it`);
    this.step = step;
    this.expected = expected;
    this.found = found;
  }
}

/**
 * `checkResumable` found that the function cannot be resumed from its
 * journal: the replay needed a request or a value the journal does not
 * hold (`step` is its index), used fewer steps than recorded, or returned a
 * different result (`step` is null; e.g. `Math.random()` or `Date.now()`
 * used outside `ctx.persist`). `code` is `'ERR_NOT_RESUMABLE'`.
 *
 * @example err.code === 'ERR_NOT_RESUMABLE' && err.step === 3
 */
export class NotResumableError extends RepyHttpError {
  override name = 'NotResumableError';
  declare readonly code: 'ERR_NOT_RESUMABLE';
  readonly step: number | null;
  constructor(step: number | null, message: string) {
    super('ERR_NOT_RESUMABLE', step === null ? message : `step ${step}: ${message}`);
    this.step = step;
  }
}
