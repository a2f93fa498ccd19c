/**
 * `sessions(fn, options)`: one long-running async function per session
 * (Continuity's model), fed that session's requests one at a time.
 *
 * The app is a plain callback for `registerCallback`. For each request it
 * asks the mapper for the session key; an unknown key starts a new session
 * (a new id, a new cookie) and a new run of `fn`. The request goes on that
 * session's bounded queue; the callback's promise resolves when the session
 * answers it through `next(response)`. Idle sessions are reaped in two
 * steps ("die soon", then "die now" after a grace period), and a session
 * function that throws or returns never takes anything else down.
 *
 * @module
 */

import { KeyError, RepyHttpError, ValueError } from '../errors.js';
import { notFound } from '../server/compose.js';
import { reportToStderr } from '../server/options.js';
import type { RequestDict } from '../server/request.js';
import type { ResponseDict } from '../server/response.js';
import type { Callback } from '../server/server.js';
import { SessionExpiredError } from './errors.js';
import { checkHome, newSessionId } from './id.js';
import { cookieMapper, keyMapper, queryMapper, type CookieMapperOptions, type SessionMapper } from './mapper.js';
import { LiveSession, type Pending, type Session, type SessionHost } from './session.js';
import { isStaticPath } from './static-paths.js';

/**
 * A session function: the whole dialogue of one session.
 *
 * @example const echo: SessionFunction = async (s) => { let r = await s.next(); for (;;) r = await s.next(text(r.path)); };
 */
export type SessionFunction = (session: Session) => unknown;

/**
 * The options of {@link sessions}. At most one of `cookie`, `query`, `key`, `mapper`.
 *
 * @example sessions(fn, { cookie: { name: 'game', secure: true }, reapAfter: 10 * 60_000, maxSessions: 50_000 })
 */
export interface SessionsOptions {
  /** The cookie mapper (the default): the cookie's name (default `'sid'`) or its options. */
  cookie?: string | CookieMapperOptions;
  /** The query-parameter mapper: the parameter's name. */
  query?: string;
  /** The key mapper: the session key of a request (null: none, answered 400). */
  key?: (req: RequestDict) => string | null | undefined;
  /** Any mapper: `pathMapper()`, `peerMapper()`, or your own. */
  mapper?: SessionMapper;
  /** With the cookie mapper: one session per browser and path (Continuity's `path_session`). */
  pathSession?: boolean;
  /** ms without a request or an answer before a session is told to end (default 30 minutes). */
  reapAfter?: number;
  /** ms between "die soon" and "die now" (default 5000). */
  grace?: number;
  /** Sessions at once, dying ones included (default 10 000); past it a new session's request gets 503. */
  maxSessions?: number;
  /** Requests queued on one session beyond the one in hand (default 8); past it 429. */
  maxQueue?: number;
  /** Which requests bypass sessions (default: paths ending in a common asset extension, {@link isStaticPath}). */
  isStatic?: (req: RequestDict) => boolean;
  /** The callback that answers them (default: 404). E.g. `serveStatic('./public')`. */
  staticCallback?: Callback;
  /** Called with a session function's error (and the request in hand, or null). Default: stderr; null: silent. */
  onError?: ((err: unknown, req: RequestDict | null) => void) | null;
  /** The answer to a request in hand when the function returns without a response object (default: {@link ENDED}). */
  endResponse?: ResponseDict;
  /** Close all sessions when a request's signal says `ERR_SERVER_STOPPING` (`stopCallback`); default true. */
  closeOnStop?: boolean;
  /** Aborting it closes the app, as `close()` does. */
  signal?: AbortSignal;
  /**
   * This process's name among several behind one proxy (1–32 of
   * `A-Z a-z 0-9 - _`): every new id starts with it (`b2.q3bY…`), so the
   * proxy can send a session's requests home (docs/deploy.md). Default: none.
   */
  home?: string;
}

/**
 * A live session as `app.sessions()` lists it.
 *
 * @example app.sessions() // [{ id: 'q3bY…', age: 5120, idle: 830, queued: 0, inHand: false, state: 'live' }]
 */
export interface SessionInfo {
  id: string;
  /** ms since it started. */
  age: number;
  /** ms since its last request or answer. */
  idle: number;
  /** Requests waiting behind the one in hand. */
  queued: number;
  /** Whether the function holds a request it has not answered. */
  inHand: boolean;
  /** `'live'`, or `'dying'` during the grace period. */
  state: 'live' | 'dying';
}

/**
 * What {@link sessions} returns.
 *
 * @example const app = sessions(fn); await registerCallback(addr, app.callback); … await app.close();
 */
export interface SessionsApp {
  /** The callback to register: `registerCallback(addr, app.callback)`. */
  readonly callback: Callback;
  /** The live and dying sessions, for inspection. */
  sessions(): SessionInfo[];
  /**
   * Runs `fn(session)` inside the session, between its steps: once its
   * function waits in `next()`, before it gets its next request
   * (Continuity's inspector). Resolves with `fn`'s result. Rejects with
   * `KeyError` for an unknown id, `SessionExpiredError` if it ends first.
   */
  inject<T>(id: string, fn: (session: Session) => T | Promise<T>): Promise<Awaited<T>>;
  /**
   * Ends every session: each is told to end (its signal aborts, its `next()`
   * rejects, its `finally` blocks run), queued requests get 503, later
   * requests get 503. Resolves once every function has settled, or after
   * `grace` ms when the rest are dropped.
   */
  close(): Promise<void>;
}

/**
 * The default answer to a request in hand when the session function returns
 * without one (a 200 saying the session ended, `Cache-Control: no-store`).
 * Replace it with the `endResponse` option.
 *
 * @example sessions(fn, { endResponse: { ...ENDED, message: 'Game over. Reload to play again.\n' } })
 */
export const ENDED: ResponseDict = Object.freeze({
  statuscode: 200,
  headers: Object.freeze({ 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }),
  message: 'This session has ended. Reload to start again.\n',
}) as ResponseDict;

/** The longest delay a Node timer holds (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER = 2_147_483_647;

const DEFAULTS = { reapAfter: 30 * 60_000, grace: 5000, maxSessions: 10_000, maxQueue: 8 };

const plain = (statuscode: number, message: string, extra: Record<string, string> = {}): ResponseDict => ({
  statuscode, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...extra }, message,
});
const INTERNAL = (): ResponseDict => plain(500, 'Internal Server Error\n');
const EXPIRED = (): ResponseDict => plain(503, 'The session ended before answering; please retry.\n', { 'Retry-After': '1' });
const DROPPED = (): ResponseDict => plain(503, 'The request was dropped before its session took it.\n');
const CLOSING = (): ResponseDict => plain(503, 'Sessions are closing.\n', { 'Retry-After': '5' });
const FULL = (): ResponseDict => plain(503, 'Too many sessions; please retry later.\n', { 'Retry-After': '5' });
const BUSY = (): ResponseDict => plain(429, 'Too many requests queued for this session.\n', { 'Retry-After': '1' });
const NO_KEY = (): ResponseDict => plain(400, 'This request names no session.\n');

/** A non-negative integer or Infinity, else ValueError. */
function limit(name: string, v: unknown, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v === Infinity || (Number.isInteger(v) && v >= min))) {
    throw new ValueError(`sessions: ${name} must be an integer >= ${min} or Infinity, got ${String(v)}`);
  }
  return v;
}

/** The mapper the options ask for (the cookie mapper by default). */
function mapperOf(o: SessionsOptions): SessionMapper {
  const given = (['cookie', 'query', 'key', 'mapper'] as const).filter((k) => o[k] !== undefined);
  if (given.length > 1) throw new TypeError(`sessions: give one mapper, not ${given.join(' and ')}`);
  if (o.pathSession !== undefined && given.length === 1 && given[0] !== 'cookie') {
    throw new TypeError('sessions: pathSession goes with the cookie mapper');
  }
  if (o.mapper !== undefined) {
    if (typeof o.mapper?.find !== 'function' || typeof o.mapper.create !== 'function') throw new TypeError('sessions: mapper needs find(req) and create(req, id)');
    return o.mapper;
  }
  if (o.query !== undefined) return queryMapper(o.query);
  if (o.key !== undefined) return keyMapper(o.key);
  const c = typeof o.cookie === 'string' ? { name: o.cookie } : { ...o.cookie };
  if (o.pathSession !== undefined) c.pathSession = o.pathSession;
  return cookieMapper(c);
}

/** `res` with one more Set-Cookie field line (RFC 6265 §3: one line per cookie, never joined). */
function withSetCookie(res: ResponseDict | PromiseLike<ResponseDict>, cookie: string): ResponseDict | PromiseLike<ResponseDict> {
  if (typeof (res as PromiseLike<ResponseDict> | null)?.then === 'function') {
    return Promise.resolve(res).then((r) => withSetCookie(r, cookie));
  }
  if (typeof res !== 'object' || res === null || Array.isArray(res)) return res; // invalid anyway: the server's 500
  const dict = res as ResponseDict;
  const headers: Record<string, unknown> = { ...(dict.headers ?? {}) };
  let name = 'Set-Cookie';
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'set-cookie') name = k;
  const had = headers[name];
  headers[name] = had === undefined ? cookie : Array.isArray(had) ? [...(had as string[]), cookie] : [had as string, cookie];
  return { ...dict, headers: headers as ResponseDict['headers'] };
}

/** Whether an abort reason is the server's `stopCallback`. */
const isStopping = (reason: unknown): boolean => reason instanceof RepyHttpError && reason.code === 'ERR_SERVER_STOPPING';

class SessionsRegistry implements SessionHost {
  /** Live sessions by key, in order of last activity (a touch re-inserts): the reaper reads from the front. */
  private readonly byKey = new Map<string, LiveSession>();
  /** Live and dying sessions by id (what maxSessions counts, what inject finds). */
  private readonly byId = new Map<string, LiveSession>();
  /** Dying sessions in order of their "die now" deadline (one grace for all, so insertion order). */
  private readonly dying = new Map<LiveSession, number>();
  private sweeper: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private closed: (() => void) | null = null;
  private readonly reapAfter: number;
  private readonly grace: number;
  private readonly maxSessions: number;
  private readonly maxQueue: number;
  private readonly mapper: SessionMapper;
  private readonly isStatic: (req: RequestDict) => boolean;
  private readonly staticCallback: Callback;
  private readonly onError: ((err: unknown, req: RequestDict | null) => void) | null;
  private readonly endResponse: ResponseDict;
  private readonly closeOnStop: boolean;
  private readonly home: string | undefined;

  constructor(private readonly fn: SessionFunction, o: SessionsOptions) {
    this.mapper = mapperOf(o);
    this.reapAfter = limit('reapAfter', o.reapAfter, DEFAULTS.reapAfter, 1);
    this.grace = limit('grace', o.grace, DEFAULTS.grace);
    this.maxSessions = limit('maxSessions', o.maxSessions, DEFAULTS.maxSessions, 1);
    this.maxQueue = limit('maxQueue', o.maxQueue, DEFAULTS.maxQueue);
    for (const k of ['isStatic', 'staticCallback', 'onError'] as const) {
      if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'function') throw new TypeError(`sessions: ${k} must be a function`);
    }
    this.isStatic = o.isStatic ?? ((req) => isStaticPath(req.path));
    this.staticCallback = o.staticCallback ?? notFound;
    this.onError = o.onError === undefined ? reportToStderr : o.onError;
    this.endResponse = o.endResponse ?? ENDED;
    this.closeOnStop = o.closeOnStop ?? true;
    this.home = o.home === undefined ? undefined : checkHome(o.home);
    if (o.signal !== undefined) {
      if (o.signal.aborted) void this.close();
      else o.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
  }

  readonly callback: Callback = (req) => {
    if (this.isStatic(req)) return this.staticCallback(req);
    if (this.closing !== null) return CLOSING();
    const signal = req.signal;
    if (signal.aborted) return DROPPED();
    return new Promise<ResponseDict>((resolve) => {
      const p: Pending = {
        original: req, req, resolve, setCookie: null, created: false, done: false, session: null, unwatch: () => {},
      };
      const onAbort = (): void => this.aborted(p, signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      p.unwatch = () => signal.removeEventListener('abort', onAbort);
      try {
        this.route(p);
      } catch (err) {
        // The mapper threw (a user key function): a 500, reported.
        this.report(err, req);
        this.settle(p, INTERNAL());
      }
    });
  };

  /** Puts a request on its session's queue, starting a session for an unknown key. */
  private route(p: Pending): void {
    const req = p.original;
    const found = this.mapper.find(req);
    let s = found === null ? undefined : this.byKey.get(found);
    if (s === undefined) {
      if (found === null && this.mapper.requireKey === true) return this.settle(p, NO_KEY());
      if (this.byId.size >= this.maxSessions) return this.settle(p, FULL());
      const id = newSessionId(this.home);
      const made = this.mapper.create(req, id, found);
      s = new LiveSession(id, made.key, this);
      p.setCookie = made.setCookie ?? null;
      p.created = true;
      p.req = this.mapper.view?.(req) ?? req;
      this.byKey.set(made.key, s);
      this.byId.set(id, s);
      s.deliver(p);
      this.start(s);
      return;
    }
    if (s.queue.length >= this.maxQueue) return this.settle(p, BUSY());
    p.req = this.mapper.view?.(req) ?? req;
    this.touch(s);
    s.deliver(p);
  }

  /** Runs a new session's function; its end, however it comes, is `ended`. */
  private start(s: LiveSession): void {
    this.sweeper ??= this.startSweeper();
    let result: unknown;
    try {
      result = this.fn(s);
    } catch (err) {
      result = Promise.reject(err);
    }
    Promise.resolve(result).then(
      (value) => this.ended(s, false, value),
      (err: unknown) => this.ended(s, true, err),
    );
  }

  private startSweeper(): NodeJS.Timeout {
    const every = Math.min(1000, Math.max(5, Math.floor(Math.min(this.reapAfter, this.grace || this.reapAfter) / 4)));
    const t = setInterval(() => this.sweep(), every);
    t.unref();
    return t;
  }

  /** Marks a session active: it moves to the back of the reaper's order. */
  private touch(s: LiveSession): void {
    s.lastActive = Date.now();
    if (s.state === 'live') {
      this.byKey.delete(s.key);
      this.byKey.set(s.key, s);
    }
  }

  answer(s: LiveSession, p: Pending, response: ResponseDict | PromiseLike<ResponseDict>): void {
    this.touch(s);
    this.settle(p, p.setCookie === null ? response : withSetCookie(response, p.setCookie));
  }

  /** Resolves a pending request's callback once. */
  private settle(p: Pending, response: ResponseDict | PromiseLike<ResponseDict>): void {
    if (p.done) return;
    p.done = true;
    p.unwatch();
    p.resolve(response);
  }

  /**
   * A request's signal aborted (the client went away, its callbackTimeout
   * passed, the server is stopping). Still queued: it is dropped, the
   * session never sees it (a dialogue must not advance on a request nobody
   * will read). In hand: the session sees `req.signal.aborted` and answers
   * as it likes. `ERR_SERVER_STOPPING` also closes the app (`closeOnStop`).
   */
  private aborted(p: Pending, reason: unknown): void {
    const s = p.session;
    if (s !== null && !p.done) {
      const i = s.queue.indexOf(p);
      if (i !== -1) {
        s.queue.splice(i, 1);
        this.settle(p, DROPPED());
      }
    }
    if (this.closeOnStop && isStopping(reason)) void this.close();
  }

  /** Removes a session from the key map (if it is still the one mapped). */
  private unmap(s: LiveSession): void {
    if (this.byKey.get(s.key) === s) {
      this.byKey.delete(s.key);
      this.mapper.removed?.(s.key);
    }
  }

  /**
   * "Die soon": unmapped (its key starts a new session), told to end, and
   * given `grace` ms for its `finally` blocks. Its queued requests go to a
   * new session for their key (`reroute`) or get 503 (closing).
   */
  private dieSoon(s: LiveSession, reason: SessionExpiredError, reroute: boolean): void {
    if (s.state !== 'live') return;
    s.state = 'dying';
    this.unmap(s);
    this.dying.set(s, Date.now() + this.grace);
    for (const p of s.expire(reason)) {
      p.session = null;
      if (reroute && !p.created) this.reroute(p);
      else this.settle(p, EXPIRED());
    }
  }

  /** A request whose session ended before taking it: to a new session for its key, once. */
  private reroute(p: Pending): void {
    if (this.closing !== null) return this.settle(p, CLOSING());
    try {
      this.route(p);
    } catch (err) {
      this.report(err, p.original);
      this.settle(p, INTERNAL());
    }
  }

  /** "Die now": dropped whatever its function does; a request it still holds gets 503. */
  private dieNow(s: LiveSession): void {
    if (s.state === 'dead') return;
    if (s.state === 'live') this.dieSoon(s, new SessionExpiredError('session dropped'), true);
    s.state = 'dead';
    this.drop(s);
    const p = s.inHand;
    s.inHand = null;
    if (p !== null) this.settle(p, EXPIRED());
  }

  private drop(s: LiveSession): void {
    this.unmap(s);
    this.byId.delete(s.id);
    this.dying.delete(s);
    if (this.byId.size === 0 && this.closed !== null) this.closed();
  }

  /**
   * The session function settled. Never die: a throw is reported and its
   * request in hand gets a generic 500; a return answers the request in
   * hand with the returned response object, or `endResponse`. Requests
   * queued behind go to a new session for their key.
   */
  private ended(s: LiveSession, threw: boolean, value: unknown): void {
    const expiry = threw && value instanceof SessionExpiredError;
    const p = s.inHand;
    s.inHand = null;
    if (threw && !expiry) this.report(value, p?.req ?? null);
    if (s.state === 'dead') return; // dropped already: nothing of it is left to answer
    const wasLive = s.state === 'live';
    s.state = 'dead';
    this.drop(s);
    const rest = s.expire(new SessionExpiredError('session ended'));
    if (p !== null) {
      const answer = threw ? (expiry ? EXPIRED() : INTERNAL())
        : typeof value === 'object' && value !== null ? (value as ResponseDict) : this.endResponse;
      this.answer(s, p, answer);
    }
    for (const q of rest) {
      q.session = null;
      if (!q.created && wasLive) this.reroute(q);
      else this.settle(q, threw && !expiry ? INTERNAL() : this.endResponse);
    }
  }

  private report(err: unknown, req: RequestDict | null): void {
    if (this.onError === null) return;
    try {
      this.onError(err, req);
    } catch {
      // An onError hook that throws must not take the app down.
    }
  }

  /** Reaps sessions idle for reapAfter, drops dying ones past their grace. O(sessions reaped). */
  private sweep(): void {
    const now = Date.now();
    for (const s of this.byKey.values()) {
      if (now - s.lastActive < this.reapAfter) break;
      this.dieSoon(s, new SessionExpiredError(`session idle for ${this.reapAfter} ms (reapAfter)`), true);
    }
    for (const [s, deadline] of this.dying) {
      if (deadline > now) break;
      this.dieNow(s);
    }
  }

  sessions(): SessionInfo[] {
    const now = Date.now();
    const out: SessionInfo[] = [];
    for (const s of this.byId.values()) {
      out.push({
        id: s.id, age: now - s.created, idle: now - s.lastActive, queued: s.queue.length,
        inHand: s.inHand !== null, state: s.state === 'live' ? 'live' : 'dying',
      });
    }
    return out;
  }

  inject<T>(id: string, fn: (session: Session) => T | Promise<T>): Promise<Awaited<T>> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('inject(id, fn): fn must be a function'));
    const s = typeof id === 'string' ? this.byId.get(id) : undefined;
    if (s === undefined) return Promise.reject(new KeyError(`no live session ${String(id)}`));
    if (s.injected >= this.maxQueue) return Promise.reject(new RepyHttpError('ERR_SESSION_BUSY', `session ${id} has ${s.injected} injected jobs waiting (maxQueue)`));
    return s.inject(fn) as Promise<Awaited<T>>;
  }

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      this.closed = () => {
        if (timer !== null) clearTimeout(timer);
        if (this.sweeper !== null) clearInterval(this.sweeper);
        this.sweeper = null;
        this.closed = null;
        resolve();
      };
      const reason = new SessionExpiredError('the sessions app is closing');
      for (const s of [...this.byId.values()]) this.dieSoon(s, reason, false);
      if (this.byId.size === 0) return this.closed();
      // Past the grace, whatever has not settled is dropped (no deadline for a
      // grace beyond what a Node timer can hold: setTimeout would fire at once).
      if (this.grace <= MAX_TIMER) {
        timer = setTimeout(() => {
          for (const s of [...this.byId.values()]) this.dieNow(s);
        }, this.grace);
      }
    });
    return this.closing;
  }
}

/**
 * A sessions app: `fn` runs once per session, and `await session.next()`
 * suspends it until that session's next request (Continuity's
 * `$request->next`), so the dialogue reads like a console program and its
 * local variables are the session state. docs/sessions.md has the model.
 *
 * @example
 * import { registerCallback, text } from 'repy-http';
 * import { sessions } from 'repy-http/sessions';
 * const app = sessions(async (session) => {
 *   let req = await session.next();
 *   req = await session.next(text('Your name?\n'));
 *   const name = req.querydict?.name ?? 'stranger';
 *   for (let n = 1; ; n++) req = await session.next(text(`Hello ${name}, visit ${n}\n`));
 * }, { cookie: 'sid', reapAfter: 30 * 60_000 });
 * await registerCallback(['127.0.0.1', 8080], app.callback);
 */
export function sessions(fn: SessionFunction, options: SessionsOptions = {}): SessionsApp {
  if (typeof fn !== 'function') throw new TypeError('sessions(fn): fn must be a function (session) => ...');
  if (typeof options !== 'object' || options === null) throw new TypeError('sessions(fn, options): options must be an object');
  const r = new SessionsRegistry(fn, options);
  return {
    callback: r.callback,
    sessions: () => r.sessions(),
    inject: (id, f) => r.inject(id, f),
    close: () => r.close(),
  };
}
