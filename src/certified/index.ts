/**
 * `repy-http/certified` (issue #12): exactly-once requests over plain HTTP,
 * after Linden Lab's Certified HTTP. `certifiedRequest` retries one logical
 * request with one Idempotency-Key; `resumable` makes a whole client flow
 * survive crashes (a journal of persisted values, request keys and
 * answers); `checkResumable` tests that a flow's journal really suffices.
 * docs/exactly-once.md has the failure points and the guarantees.
 *
 * @example
 * import { resumable } from 'repy-http/certified';
 * const result = await resumable('./flow.journal', async (ctx) => {
 *   const id = await ctx.persist(() => crypto.randomUUID());
 *   const r = await ctx.request('http://127.0.0.1:8080/orders', { postdata: id });
 *   return r.statuscode;
 * });
 *
 * @module
 */

export { certifiedRequest, retryableStatus, retryAfterMs, CERTIFIED_DEFAULTS, type CertifiedOptions, type CertifiedResponse } from './request.js';
export { resumable, checkResumable, type ResumableContext, type ResumableOptions, type ResumableCheck } from './resumable.js';
export { CertifiedRequestError, ReplayDivergenceError, NotResumableError, type CertifiedRequestCode } from './errors.js';
