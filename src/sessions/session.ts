/**
 * One session: its queue of requests, the request in hand, the function's
 * pending `next()`, and the jobs `inject` runs between its steps.
 * Continuity's per-session request queue, with a promise in place of a
 * coroutine: `await session.next(response)` is where the session sleeps.
 *
 * @module
 */

import type { RequestDict } from '../server/request.js';
import type { ResponseDict } from '../server/response.js';
import { SessionExpiredError } from './errors.js';

/**
 * What a session function receives.
 *
 * @example
 * sessions(async (session) => {
 *   let req = await session.next();                                // the first request
 *   for (let n = 1; ; n++) req = await session.next(text(`visit ${n} of ${session.id}\n`));
 * });
 */
export interface Session {
  /** The session id (22 base64url characters: 128 random bits). */
  readonly id: string;
  /** Aborts (with a {@link SessionExpiredError}) when the session is reaped, the app closes, or the function ended. */
  readonly signal: AbortSignal;
  /** The request in hand: the last one `next()` resolved with and not yet answered; null otherwise. */
  readonly request: RequestDict | null;
  /**
   * Answers the request in hand with `response` (required when one is in
   * hand; not allowed when none is) and resolves with the session's next
   * request, in arrival order. Rejects with {@link SessionExpiredError} when
   * the session is told to end, and with `TypeError` when misused (no
   * response for the request in hand, a response with none in hand, a second
   * `next()` while one is waiting).
   */
  next(response?: ResponseDict | PromiseLike<ResponseDict>): Promise<RequestDict>;
}

/** A request waiting for a session's answer: what resolves the callback's promise. */
export interface Pending {
  /** The request as it arrived (what the mapper reads). */
  readonly original: RequestDict;
  /** The request as the session sees it (the mapper's `view`). */
  req: RequestDict;
  /** Resolves the callback's promise. */
  readonly resolve: (res: ResponseDict | PromiseLike<ResponseDict>) => void;
  /** Set-Cookie to add to its answer (the request that started a cookie session). */
  setCookie: string | null;
  /** This request started a session already: if that one ends without taking it, it is answered, not routed again. */
  created: boolean;
  /** Answered (or dropped): later answers are ignored. */
  done: boolean;
  /** The session it is queued on or in hand of. */
  session: LiveSession | null;
  /** Removes the abort listener from the request's signal. */
  unwatch: () => void;
}

/** A job of `inject`: runs between the session's steps. */
interface Job {
  fn: (session: Session) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** What a session needs from the app that holds it. */
export interface SessionHost {
  /** Answers a pending request (adds its cookie, marks the session active). */
  answer(s: LiveSession, p: Pending, response: ResponseDict | PromiseLike<ResponseDict>): void;
}

/** The session's life: live (mapped), dying (told to end, grace running), dead (dropped). */
export type SessionState = 'live' | 'dying' | 'dead';

/** The implementation of {@link Session}; the app holds these. */
export class LiveSession implements Session {
  readonly created = Date.now();
  /** Last request arrival or answer (ms): what `reapAfter` counts from. */
  lastActive = this.created;
  state: SessionState = 'live';
  /** Requests that arrived and wait for the function's `next()` (bounded by `maxQueue`). */
  readonly queue: Pending[] = [];
  inHand: Pending | null = null;
  private readonly controller = new AbortController();
  private waiter: { resolve: (r: RequestDict) => void; reject: (e: unknown) => void } | null = null;
  private readonly jobs: Job[] = [];
  private pumping = false;
  private reason: SessionExpiredError | null = null;

  constructor(readonly id: string, readonly key: string, private readonly host: SessionHost) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get request(): RequestDict | null {
    return this.inHand === null ? null : this.inHand.req;
  }

  next(response?: ResponseDict | PromiseLike<ResponseDict>): Promise<RequestDict> {
    if (this.state === 'dead') return Promise.reject(this.expired());
    if (this.waiter !== null) return Promise.reject(new TypeError('session.next() is already waiting: call it once at a time'));
    if (this.inHand !== null) {
      if (response === undefined) {
        return Promise.reject(new TypeError('session.next(response): a request is in hand and needs its response'));
      }
      const p = this.inHand;
      this.inHand = null;
      this.host.answer(this, p, response);
    } else if (response !== undefined) {
      return Promise.reject(new TypeError('session.next(response): there is no request in hand to answer'));
    }
    if (this.state !== 'live') return Promise.reject(this.expired());
    return new Promise<RequestDict>((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.pump();
    });
  }

  /** A request for this session: handed over at once if the function waits in `next()`, else queued. */
  deliver(p: Pending): void {
    p.session = this;
    this.queue.push(p);
    this.pump();
  }

  /** Runs `fn(session)` between the session's steps (once it waits in `next()`). */
  inject(fn: (session: Session) => unknown): Promise<unknown> {
    if (this.state !== 'live') return Promise.reject(this.expired());
    return new Promise((resolve, reject) => {
      this.jobs.push({ fn, resolve, reject });
      this.pump();
    });
  }

  get injected(): number {
    return this.jobs.length;
  }

  /**
   * While the function waits in `next()`: run the injected jobs first (each
   * awaited, so they are serialized with the steps), then hand over the
   * oldest queued request. Synchronous when there is no job.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    while (this.waiter !== null) {
      const job = this.jobs.shift();
      if (job !== undefined) {
        let result: unknown;
        try {
          result = job.fn(this);
        } catch (err) {
          job.reject(err);
          continue;
        }
        if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') {
          // An async job: the session stays between steps until it settles.
          Promise.resolve(result).then(job.resolve, job.reject).finally(() => {
            this.pumping = false;
            this.pump();
          });
          return;
        }
        job.resolve(result);
        continue;
      }
      const p = this.queue.shift();
      if (p === undefined) break;
      const w = this.waiter;
      this.waiter = null;
      this.inHand = p;
      w.resolve(p.req);
    }
    this.pumping = false;
  }

  /** The error of an ended session. */
  private expired(): SessionExpiredError {
    return this.reason ?? new SessionExpiredError('session ended');
  }

  /**
   * "Die soon": the signal aborts, a waiting `next()` and the injected jobs
   * reject with `reason`. Returns the queued requests (the app routes them
   * again or answers them). A request in hand may still be answered.
   */
  expire(reason: SessionExpiredError): Pending[] {
    this.reason ??= reason;
    this.controller.abort(this.reason);
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.reason);
    for (const job of this.jobs.splice(0)) job.reject(this.reason);
    return this.queue.splice(0);
  }
}
