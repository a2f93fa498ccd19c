/**
 * `certifiedRequest`: one logical request, retried until it gets a final
 * answer, every attempt with the same `Idempotency-Key`, so that the server
 * (`repy-http/idempotency`) applies it once however many attempts reach it.
 * Built on the client's `open` (one attempt each, `followRedirects: false`):
 * its errors say with `requestSent` whether an attempt may have reached the
 * server.
 *
 * Retried: connection errors, timeouts, a broken response, and the statuses
 * 408, 409 (the first attempt is still running), 429 and 5xx. Never
 * retried: any other 4xx, 2xx and 3xx (the answer), bad arguments, and
 * `allow` refusals. Delays: exponential backoff with full jitter (a random
 * delay between 0 and `min(maxDelay, baseDelay · 2^(n-1))`, AWS
 * Architecture Blog, "Exponential Backoff And Jitter"), or the server's
 * `Retry-After` when it sent one (RFC 9110 §10.2.3), bounded by `attempts`
 * and `maxTime`.
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import { open, type OpenOptions } from '../client/client.js';
import { HttpClientError, HttpForbiddenError, HttpResponseTooLargeError } from '../client/errors.js';
import { ValueError } from '../errors.js';
import { parseKeyField, serializeKey } from '../idempotency/index.js';
import { CertifiedRequestError } from './errors.js';

/** Options of {@link certifiedRequest}. */
export interface CertifiedOptions {
  /** Default `'POST'`. */
  method?: string;
  /** The content, as `open` takes it: a string (UTF-8), bytes, or an object (form-encoded). */
  postdata?: OpenOptions['postdata'];
  /** Request fields (an `Idempotency-Key` among them is replaced by `key`'s). */
  headers?: OpenOptions['httpheaders'];
  /** The Idempotency-Key: default a random UUID. Pass the same key to retry the same logical request later. */
  key?: string;
  /** Most attempts (default 5). */
  attempts?: number;
  /** Milliseconds for everything, attempts and delays (default 60 000). */
  maxTime?: number;
  /** Abandons the request (between attempts, or the current one); `CertifiedRequestError` `ERR_ABORTED`. */
  signal?: AbortSignal | null;
  /** First backoff ceiling (ms, default 100); doubled each attempt up to `maxDelay` (default 10 000). */
  baseDelay?: number;
  maxDelay?: number;
  /** Connect and idle timeout of each attempt (ms, default 10 000). */
  timeout?: number;
  /** Most bytes of response content (default 64 MiB, as `open`). */
  maxResponseSize?: number;
  /** Called at the failure point `'answer-unread'`: an attempt's answer head arrived, its content is not read yet (crash tests). */
  trace?: ((point: string) => void) | null;
}

/** The final answer. */
export interface CertifiedResponse {
  statuscode: number;
  /** Canonical field name → value, as `open` gives them. */
  headers: Record<string, string>;
  /** The content, decoded as UTF-8. */
  body: string;
  /** True when the server replayed a stored answer (`Idempotent-Replayed: true`): an earlier attempt had taken effect. */
  replayed: boolean;
  /** The Idempotency-Key used. */
  key: string;
  /** Attempts it took. */
  attempts: number;
}

/** The defaults of {@link CertifiedOptions}. */
export const CERTIFIED_DEFAULTS = Object.freeze({ attempts: 5, maxTime: 60_000, baseDelay: 100, maxDelay: 10_000, timeout: 10_000 });

/** Whether a status means "try again". */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * `Retry-After` in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3);
 * null when absent or malformed.
 *
 * @example retryAfterMs('2') // 2000
 */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (v.length > 0 && v.length <= 10 && [...v].every((c) => c >= '0' && c <= '9')) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function numberOption(name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`options.${name} must be a number`);
  if (v < min) throw new ValueError(`options.${name} must be at least ${min}`);
  return v;
}

const KNOWN = new Set(['method', 'postdata', 'headers', 'key', 'attempts', 'maxTime', 'signal', 'baseDelay', 'maxDelay', 'timeout', 'maxResponseSize', 'trace']);

/** A promise that settles with `p`, or rejects when `signal` fires first (`onLate` then gets `p`'s value). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | null, onLate: (v: T) => void): Promise<T> {
  if (signal === null) return p;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', abort);
      if (signal.aborted) onLate(v);
      else resolve(v);
    }, (e: unknown) => {
      signal.removeEventListener('abort', abort);
      reject(e);
    });
  });
}

/** Whether `signal` fired (a function: TypeScript would keep an earlier check's narrowing across awaits). */
function aborted(signal: AbortSignal | null): boolean {
  return signal?.aborted === true;
}

function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Sends one logical request with an Idempotency-Key until it gets a final
 * answer; see the module comment for what is retried and when. Resolves with
 * `{ statuscode, headers, body, replayed, key, attempts }` for any final
 * status (a 4xx included: look at `statuscode`). Rejects with
 * {@link CertifiedRequestError} when it gives up, with the client's
 * `HttpForbiddenError` / `HttpResponseTooLargeError` (not retried), and with
 * TypeError / ValueError for bad arguments.
 *
 * @example
 * import { certifiedRequest } from 'repy-http/certified';
 * const r = await certifiedRequest('http://127.0.0.1:8080/transfers', {
 *   postdata: JSON.stringify({ from: 'A', to: 'B', amount: 10 }),
 *   headers: { 'Content-Type': 'application/json' }, attempts: 8, maxTime: 30_000 });
 * r.statuscode; // 201, whether this call's attempt or an earlier one made it (r.replayed)
 */
export async function certifiedRequest(url: string, options: CertifiedOptions = {}): Promise<CertifiedResponse> {
  if (options === null || typeof options !== 'object') throw new TypeError('certifiedRequest(url, options): options must be an object');
  for (const k of Object.keys(options)) if (!KNOWN.has(k)) throw new ValueError(`unknown option ${JSON.stringify(k)}`);
  const key = options.key ?? randomUUID();
  if (typeof key !== 'string') throw new TypeError('options.key must be a string');
  const parsed = parseKeyField(serializeKey(key));
  if ('error' in parsed) throw new ValueError(`options.key: ${parsed.error}`);
  const attempts = numberOption('attempts', options.attempts, CERTIFIED_DEFAULTS.attempts, 1);
  const maxTime = numberOption('maxTime', options.maxTime, CERTIFIED_DEFAULTS.maxTime, 1);
  const baseDelay = numberOption('baseDelay', options.baseDelay, CERTIFIED_DEFAULTS.baseDelay, 0);
  const maxDelay = numberOption('maxDelay', options.maxDelay, CERTIFIED_DEFAULTS.maxDelay, 0);
  const timeout = numberOption('timeout', options.timeout, CERTIFIED_DEFAULTS.timeout, 1);
  const signal = options.signal ?? null;
  const trace = options.trace ?? null;
  const headers: Record<string, string | number | readonly (string | number)[]> = {};
  for (const [name, v] of Object.entries(options.headers ?? {})) if (name.toLowerCase() !== 'idempotency-key') headers[name] = v;
  headers['Idempotency-Key'] = serializeKey(key);

  const deadline = Date.now() + maxTime;
  let sent = false;
  let lastStatus: number | null = null;
  let lastError: unknown;
  let made = 0;
  const giveUp = (code: 'ERR_ATTEMPTS_EXHAUSTED' | 'ERR_MAX_TIME' | 'ERR_ABORTED', cause: unknown): CertifiedRequestError =>
    new CertifiedRequestError(code, url, key, made, sent, lastStatus, cause);
  for (;;) {
    if (signal?.aborted === true) throw giveUp('ERR_ABORTED', signal.reason);
    const left = deadline - Date.now();
    if (left <= 0) throw giveUp('ERR_MAX_TIME', lastError);
    made++;
    let retryAfter: number | null = null;
    try {
      const res = await abortable(open(url, {
        method: options.method ?? 'POST', postdata: options.postdata ?? null, httpheaders: headers,
        followRedirects: false, timeout, totalTimeout: left, ...(options.maxResponseSize === undefined ? {} : { maxResponseSize: options.maxResponseSize }),
      }), signal, (late) => late.close());
      sent = true;
      trace?.('answer-unread');
      let content: Buffer;
      try {
        content = await abortable(res.read(), signal, () => {});
      } finally {
        res.close();
      }
      if (!retryableStatus(res.statuscode)) {
        return { statuscode: res.statuscode, headers: res.headers, body: content.toString('utf8'), replayed: res.headers['Idempotent-Replayed'] === 'true', key, attempts: made };
      }
      lastStatus = res.statuscode;
      lastError = undefined;
      retryAfter = retryAfterMs(res.headers['Retry-After']);
    } catch (e) {
      if (aborted(signal)) {
        sent = true; // the attempt was under way: it may have reached the server
        throw giveUp('ERR_ABORTED', signal!.reason);
      }
      if (!(e instanceof HttpClientError) || e instanceof HttpForbiddenError || e instanceof HttpResponseTooLargeError) throw e;
      sent ||= e.requestSent;
      lastError = e;
      lastStatus = null;
    }
    if (made >= attempts) throw giveUp('ERR_ATTEMPTS_EXHAUSTED', lastError);
    const delay = retryAfter ?? Math.random() * Math.min(maxDelay, baseDelay * 2 ** (made - 1));
    if (Date.now() + delay >= deadline) throw giveUp('ERR_MAX_TIME', lastError);
    try {
      await sleep(delay, signal);
    } catch {
      throw giveUp('ERR_ABORTED', signal!.reason);
    }
  }
}
