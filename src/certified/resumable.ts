/**
 * `resumable(journalPath, fn)`: Certified HTTP's client continuation. A
 * function written against a context, `ctx.persist(() => value)` for every
 * non-deterministic value and `ctx.request(url, options)` for every request,
 * can be killed at any point and run again: what it did is in a journal
 * (fsynced, torn last record dropped), so the rerun *replays* the recorded
 * steps and carries on from the first one that is not recorded.
 *
 * Journal records, in order of the steps' indexes:
 *
 * | record | written | on replay |
 * | --- | --- | --- |
 * | `value` i | after `persist`'s function returned | the recorded value, the function not called |
 * | `key` i | before the request's first byte is sent | the request is sent again with the same Idempotency-Key (the server deduplicates) |
 * | `response` i | after the answer was read whole | the recorded answer, nothing sent |
 * | `result` | after `fn` returned | `resumable` returns it at once; `fn` is not run |
 *
 * The step index is the order of the `ctx` calls (made synchronously in the
 * same order, steps may run concurrently: `Promise.all` of requests works).
 * A recorded step that does not match what the code asks for at its index
 * (another kind, URL, method or content) is a {@link ReplayDivergenceError}.
 *
 * @module
 */

import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Journal } from '../idempotency/index.js';
import { NotResumableError, ReplayDivergenceError } from './errors.js';
import { certifiedRequest, type CertifiedOptions, type CertifiedResponse } from './request.js';

/** What `fn` gets. */
export interface ResumableContext {
  /**
   * Runs `fn` on the first run and records its result (as JSON); on a
   * replay returns the recorded value without calling `fn`. Every run gets
   * the JSON round-trip of the value (a Date becomes a string, undefined
   * fields vanish), so the first run and the replays see the same thing.
   */
  persist<T>(fn: () => T | Promise<T>): Promise<T>;
  /**
   * `certifiedRequest(url, options)` with its key recorded before the first
   * send and its answer after; on a replay, the recorded answer, or the same
   * key sent again when no answer was recorded.
   */
  request(url: string, options?: CertifiedOptions): Promise<CertifiedResponse>;
  /** Steps taken so far (the next step's index). */
  readonly step: number;
}

/** Options of {@link resumable} and {@link checkResumable}. */
export interface ResumableOptions {
  /**
   * Called synchronously at each failure point (crash tests kill the
   * process there): `persist:<i>:before-append`, `persist:<i>:after-append`,
   * `request:<i>:before-append-key`, `request:<i>:after-append-key`,
   * `request:<i>:answer-unread` (each attempt's answer head arrived, content
   * unread), `request:<i>:before-append-response`,
   * `request:<i>:after-append-response`, `result:before-append`,
   * `result:after-append`. Only for steps really taken, not replayed ones.
   */
  trace?: ((point: string) => void) | null;
  /** Options every `ctx.request` starts from (its own win), e.g. `{ attempts: 10, timeout: 5000 }`. */
  requestDefaults?: CertifiedOptions;
}

type Step =
  | { kind: 'value'; v?: unknown }
  | { kind: 'request'; key: string; url: string; method: string; digest: string; response?: CertifiedResponse };

type JournalEntry =
  | { t: 'value'; i: number; v?: unknown }
  | { t: 'key'; i: number; key: string; url: string; method: string; digest: string }
  | { t: 'response'; i: number; res: CertifiedResponse }
  | { t: 'result'; v?: unknown };

/** The JSON round-trip of a value (undefined stays undefined). */
function normalize<T>(v: T): T {
  const s = JSON.stringify(v);
  return (s === undefined ? undefined : JSON.parse(s)) as T;
}

/** A request's identity in the journal: method, URL and content. */
function digestOf(method: string, url: string, postdata: CertifiedOptions['postdata']): string {
  const h = createHash('sha256').update(method).update('\0').update(url).update('\0');
  if (typeof postdata === 'string' || postdata instanceof Uint8Array) h.update(postdata);
  else if (postdata !== null && postdata !== undefined) h.update(JSON.stringify(Object.entries(postdata)));
  return h.digest('hex').slice(0, 32);
}

const describe = (s: Step | undefined): string =>
  s === undefined ? 'nothing' : s.kind === 'value' ? 'a persisted value' : `a ${s.method} request to ${s.url}`;

/** One run of a function against a journal. */
class Run {
  private next = 0;

  constructor(
    private readonly journal: Journal,
    private readonly steps: Map<number, Step>,
    /** 'live': missing steps are taken; 'replay-only': a missing step fails (checkResumable). */
    private readonly mode: 'live' | 'replay-only',
    private readonly options: ResumableOptions,
  ) {}

  /** Used steps: the highest index taken + 1. */
  get used(): number {
    return this.next;
  }

  private trace(point: string): void {
    this.options.trace?.(point);
  }

  /** The context `fn` gets: the run's two step kinds and its position. */
  get ctx(): ResumableContext {
    const next = (): number => this.next;
    return {
      persist: (fn) => this.persist(fn),
      request: (url, options) => this.request(url, options),
      get step(): number {
        return next();
      },
    };
  }

  private async persist<T>(fn: () => T | Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('ctx.persist(fn): fn must be a function (it is not called on replays)');
    const i = this.next++;
    const rec = this.steps.get(i);
    if (rec !== undefined) {
      if (rec.kind !== 'value') throw new ReplayDivergenceError(this.journal.path, i, describe(rec), 'a persisted value');
      return normalize(rec.v) as T;
    }
    if (this.mode === 'replay-only') throw new NotResumableError(i, 'the replay needs a persisted value that the journal does not hold (the first run took another path)');
    const v = normalize(await fn());
    this.trace(`persist:${i}:before-append`);
    await this.journal.append(v === undefined ? { t: 'value', i } : { t: 'value', i, v });
    this.trace(`persist:${i}:after-append`);
    this.steps.set(i, v === undefined ? { kind: 'value' } : { kind: 'value', v });
    return v;
  }

  private async request(url: string, options: CertifiedOptions = {}): Promise<CertifiedResponse> {
    if (typeof url !== 'string') throw new TypeError('ctx.request(url, options): url must be a string');
    const o = { ...this.options.requestDefaults, ...options };
    const method = o.method ?? 'POST';
    const digest = digestOf(method, url, o.postdata);
    const i = this.next++;
    const found = `a ${method} request to ${url}`;
    let rec = this.steps.get(i);
    if (rec !== undefined) {
      if (rec.kind !== 'request' || rec.url !== url || rec.method !== method) throw new ReplayDivergenceError(this.journal.path, i, describe(rec), found);
      if (rec.digest !== digest) throw new ReplayDivergenceError(this.journal.path, i, `${describe(rec)} with other content`, found);
      if (rec.response !== undefined) return normalize(rec.response);
      if (this.mode === 'replay-only') throw new NotResumableError(i, `the replay needs the answer of ${found}, which the journal does not hold`);
    } else {
      if (this.mode === 'replay-only') throw new NotResumableError(i, `the replay needs ${found} that the journal does not hold (the first run took another path)`);
      const key = o.key ?? randomUUID();
      this.trace(`request:${i}:before-append-key`);
      await this.journal.append({ t: 'key', i, key, url, method, digest });
      this.trace(`request:${i}:after-append-key`);
      rec = { kind: 'request', key, url, method, digest };
      this.steps.set(i, rec);
    }
    const res = normalize(await certifiedRequest(url, { ...o, key: rec.key, trace: (p) => this.trace(`request:${i}:${p}`) }));
    this.trace(`request:${i}:before-append-response`);
    await this.journal.append({ t: 'response', i, res });
    this.trace(`request:${i}:after-append-response`);
    rec.response = res;
    return res;
  }
}

/** Reads a journal's records into steps and the result, checking their shape. */
function readSteps(path: string, records: unknown[]): { steps: Map<number, Step>; result: { v?: unknown } | null } {
  const steps = new Map<number, Step>();
  let result: { v?: unknown } | null = null;
  for (const raw of records) {
    const r = raw as JournalEntry;
    if (r === null || typeof r !== 'object') throw new ReplayDivergenceError(path, -1, 'a record that is not a resumable step', 'a step');
    if (r.t === 'result') result = 'v' in r ? { v: r.v } : {};
    else if (r.t === 'value') steps.set(r.i, 'v' in r ? { kind: 'value', v: r.v } : { kind: 'value' });
    else if (r.t === 'key') steps.set(r.i, { kind: 'request', key: r.key, url: r.url, method: r.method, digest: r.digest });
    else if (r.t === 'response') {
      const s = steps.get(r.i);
      if (s?.kind !== 'request') throw new ReplayDivergenceError(path, r.i, 'an answer without its request', 'a request');
      s.response = r.res;
    } else throw new ReplayDivergenceError(path, -1, `an unknown record ${JSON.stringify((r as { t?: unknown }).t)}`, 'a step');
  }
  return { steps, result };
}

/**
 * Runs `fn(ctx)` resumably with its journal at `journalPath` (created if
 * need be): the first call runs it; a call after a crash replays what the
 * journal holds and carries on; a call after it finished returns the
 * recorded result without running it. The result is JSON (the round-trip of
 * what `fn` returned, on every call). One run per journal at a time.
 *
 * Rejects with what `fn` throws (the journal keeps its steps: call again to
 * resume), {@link ReplayDivergenceError}, `JournalCorruptError`, or the file
 * system's errors.
 *
 * @example
 * import { resumable } from 'repy-http/certified';
 * const receipt = await resumable('./transfer-42.journal', async (ctx) => {
 *   const ref = await ctx.persist(() => crypto.randomUUID());
 *   const debit = await ctx.request('http://bank/debit', { postdata: JSON.stringify({ ref, amount: 10 }) });
 *   const credit = await ctx.request('http://bank/credit', { postdata: JSON.stringify({ ref, amount: 10 }) });
 *   return { ref, debit: debit.statuscode, credit: credit.statuscode };
 * });
 */
export async function resumable<T>(journalPath: string, fn: (ctx: ResumableContext) => T | Promise<T>, options: ResumableOptions = {}): Promise<T> {
  if (typeof journalPath !== 'string' || journalPath.length === 0) throw new TypeError('resumable(journalPath, fn): journalPath must be a non-empty string');
  if (typeof fn !== 'function') throw new TypeError('resumable(journalPath, fn): fn must be a function');
  const { journal, records } = await Journal.open(journalPath);
  try {
    const { steps, result } = readSteps(journalPath, records);
    if (result !== null) return result.v as T;
    const run = new Run(journal, steps, 'live', options);
    const v = normalize(await fn(run.ctx));
    options.trace?.('result:before-append');
    await journal.append(v === undefined ? { t: 'result' } : { t: 'result', v });
    options.trace?.('result:after-append');
    return v;
  } finally {
    await journal.close();
  }
}

/** What {@link checkResumable} found. */
export interface ResumableCheck<T> {
  /** The result of the first run. */
  result: T;
  /** Steps recorded (persisted values and requests). */
  steps: number;
}

/**
 * The unit-test aid of Certified HTTP: runs `fn` with a fresh journal (in
 * a temporary directory, removed after), then runs it again from that
 * journal with the network forbidden. Rejects with
 * {@link NotResumableError} naming the step when the second run needs a
 * request or a value that the journal does not hold, uses fewer steps, or
 * returns a different result (a `Math.random()` or `Date.now()` outside
 * `ctx.persist`, a module-level counter...). Resolves with the first run's
 * result and the number of steps.
 *
 * @example
 * import { checkResumable } from 'repy-http/certified';
 * t.test('the transfer can be resumed', async () => {
 *   await checkResumable(async (ctx) => {
 *     const id = await ctx.persist(() => crypto.randomUUID());
 *     return (await ctx.request(`${base}/orders`, { postdata: id })).body;
 *   });
 * });
 */
export async function checkResumable<T>(fn: (ctx: ResumableContext) => T | Promise<T>, options: ResumableOptions = {}): Promise<ResumableCheck<T>> {
  if (typeof fn !== 'function') throw new TypeError('checkResumable(fn): fn must be a function');
  const dir = await mkdtemp(join(tmpdir(), 'repy-resumable-'));
  try {
    const path = join(dir, 'check.journal');
    const first = await resumable(path, fn, options);
    const { journal, records } = await Journal.open(path);
    try {
      const { steps } = readSteps(path, records);
      const run = new Run(journal, steps, 'replay-only', options);
      const second = normalize(await fn(run.ctx));
      if (run.used !== steps.size) throw new NotResumableError(run.used, `the replay used ${run.used} of the ${steps.size} recorded steps (the first run took another path)`);
      if (!isDeepStrictEqual(second, first)) {
        throw new NotResumableError(null, `the replay returned a different result (${JSON.stringify(second)?.slice(0, 200)} instead of ${JSON.stringify(first)?.slice(0, 200)}): a non-deterministic value is used outside ctx.persist`);
      }
      return { result: first, steps: steps.size };
    } finally {
      await journal.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
