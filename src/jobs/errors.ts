/**
 * The errors of `runJob`: how a run ended when it did not succeed, or why
 * it could not be started. Both extend `RepyHttpError` and carry a stable
 * `code` (docs/errors.md).
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';

/** A stable code of {@link JobError}. */
export type JobErrorCode = 'ERR_JOB_FAILED' | 'ERR_JOB_REFUSED' | 'ERR_JOB_PROTOCOL';

/**
 * A run that could not give a result:
 * - `ERR_JOB_FAILED`: it ended with an `error` event; `value` is that
 *   event's value (the server's generic `{ message }`: the details stay on
 *   the server);
 * - `ERR_JOB_REFUSED`: the POST was answered with something else than 201
 *   or 303 (`status`: 400, 413, 415, 503…; `value`: the JSON body, if any);
 * - `ERR_JOB_PROTOCOL`: the server's answer does not follow the protocol
 *   (no Location, an event whose data is not JSON, an unknown state).
 *
 * @example
 * try { await runJob(url, args); } catch (e) { if (e instanceof JobError && e.code === 'ERR_JOB_REFUSED' && e.status === 503) retryLater(); }
 */
export class JobError extends RepyHttpError {
  override name = 'JobError';
  declare readonly code: JobErrorCode;
  /** The run's URL (`ERR_JOB_REFUSED`: the collection's). */
  readonly url: string;
  /** The HTTP status of a refused POST; 0 otherwise. */
  readonly status: number;
  /** The `error` event's value, or the refusal's JSON body (`undefined` when there is none). */
  readonly value: unknown;
  constructor(code: JobErrorCode, message: string, details: { url: string; status?: number; value?: unknown }, options?: ErrorOptions) {
    super(code, message, options);
    this.url = details.url;
    this.status = details.status ?? 0;
    this.value = details.value;
  }
}

/**
 * A run that ended with a `canceled` event: a DELETE (from anyone, this
 * client's own abort included), or the server stopping. `value` is the
 * event's value (e.g. `{ reason: 'canceled by DELETE' }`).
 *
 * @example
 * catch (e) { if (e instanceof JobCanceledError) console.log('canceled', e.value); }
 */
export class JobCanceledError extends RepyHttpError {
  override name = 'JobCanceledError';
  declare readonly code: 'ERR_JOB_CANCELED';
  /** The run's URL. */
  readonly url: string;
  /** The `canceled` event's value. */
  readonly value: unknown;
  constructor(url: string, value: unknown) {
    super('ERR_JOB_CANCELED', `the run ${url} was canceled`);
    this.url = url;
    this.value = value;
  }
}
