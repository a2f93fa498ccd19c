/**
 * Keep-alive connection reuse (the `keepAlive` option): a small pool of
 * persistent HTTP/1.1 connections per origin (RFC 9112 §9.3). The pool only
 * keeps sockets and hands them out; src/client/send-once.ts decides when a
 * socket may go back (the response read to its end, no `Connection: close`,
 * nothing after it) and retries a request that met a connection the server
 * had just closed (RFC 9112 §9.3.1, only for idempotent methods, RFC 9110
 * §9.2.2).
 *
 * Bounded everywhere: at most `maxSocketsPerOrigin` connections in use per
 * origin (further requests wait in a FIFO queue), at most `maxIdlePerOrigin`
 * idle ones per origin, each closed after `idleTimeout`, at most
 * `maxOrigins` origins remembered. An idle socket is unref'd: it never keeps
 * the process alive.
 *
 * @module
 */

import type { Socket } from 'node:net';
import { ValueError } from '../errors.js';
import { MAX_TIMER } from '../message/timers.js';

/**
 * Options of {@link ConnectionPool}. Every field is optional; defaults in {@link POOL_DEFAULTS}.
 *
 * @example const options: ConnectionPoolOptions = { maxSocketsPerOrigin: 4, idleTimeout: 2000 };
 */
export interface ConnectionPoolOptions {
  /** Most connections in use at once to one origin; more requests wait in a FIFO queue (default 6, as browsers). */
  maxSocketsPerOrigin?: number;
  /** Most idle connections kept per origin (default: `maxSocketsPerOrigin`); more are closed. */
  maxIdlePerOrigin?: number;
  /** Milliseconds an idle connection is kept before the pool closes it (default 5000). */
  idleTimeout?: number;
  /** Most origins the pool remembers; an unused one is forgotten (its idle connections closed) to make room (default 64). */
  maxOrigins?: number;
}

/**
 * The defaults of {@link ConnectionPoolOptions} (`maxIdlePerOrigin`
 * defaults to `maxSocketsPerOrigin`, at most 1024).
 *
 * @example POOL_DEFAULTS.maxSocketsPerOrigin; // 6
 */
export const POOL_DEFAULTS = Object.freeze({
  maxSocketsPerOrigin: 6,
  idleTimeout: 5000,
  maxOrigins: 64,
});

/**
 * A request waiting for a connection: `grant` is called with an idle socket
 * to reuse, or null to open a new one, once a slot is free.
 *
 * @example const waiter: PoolWaiter = { grant: (socket) => use(socket ?? connectNew()), cancelled: false };
 */
export interface PoolWaiter {
  grant: (socket: Socket | null) => void;
  /** Set when the request gave up (timeout, abort) and left the queue. */
  cancelled: boolean;
}

/** One idle socket and what the pool attached to it. */
interface IdleSocket {
  socket: Socket;
  timer: NodeJS.Timeout;
  onGone: () => void;
}

/** The connections to one origin. */
class OriginEntry {
  busy = 0;
  /** Most recently returned last: reused first (the likeliest to be still open). */
  readonly idle: IdleSocket[] = [];
  readonly waiting: PoolWaiter[] = [];
  waitHead = 0;

  get queued(): number {
    return this.waiting.length - this.waitHead;
  }
}

function positiveInteger(name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`ConnectionPool option ${name} must be a number`);
  if (v < min || (!Number.isInteger(v) && v !== Infinity)) throw new ValueError(`ConnectionPool option ${name} must be an integer ≥ ${min} or Infinity, got ${v}`);
  return v;
}

/**
 * A pool of kept-alive connections, for the `keepAlive` option of `open`,
 * `getString` and `saveFile`. `keepAlive: true` uses one shared default pool;
 * create one to choose its limits and to `close()` it.
 *
 * An origin is the scheme, host and port, plus the proxy and the TLS options
 * (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`) and `lookup`:
 * a connection verified with one set of TLS options is never handed to a
 * request with another.
 *
 * @example
 * const pool = new ConnectionPool({ maxSocketsPerOrigin: 2, idleTimeout: 2000 });
 * for (const id of ids) await getString(`http://127.0.0.1:8080/item/${id}`, { keepAlive: pool });
 * pool.close();
 */
export class ConnectionPool {
  readonly maxSocketsPerOrigin: number;
  readonly maxIdlePerOrigin: number;
  readonly idleTimeout: number;
  readonly maxOrigins: number;
  private readonly origins = new Map<string, OriginEntry>();
  private closedFlag = false;

  constructor(options: ConnectionPoolOptions = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('ConnectionPool options must be an object');
    for (const key of Object.keys(options)) {
      if (key !== 'maxSocketsPerOrigin' && key !== 'maxIdlePerOrigin' && key !== 'idleTimeout' && key !== 'maxOrigins') {
        throw new ValueError(`unknown ConnectionPool option ${JSON.stringify(key)}`);
      }
    }
    this.maxSocketsPerOrigin = positiveInteger('maxSocketsPerOrigin', options.maxSocketsPerOrigin, POOL_DEFAULTS.maxSocketsPerOrigin, 1);
    this.maxIdlePerOrigin = positiveInteger('maxIdlePerOrigin', options.maxIdlePerOrigin, Math.min(this.maxSocketsPerOrigin, 1024), 0);
    if (this.maxIdlePerOrigin === Infinity) throw new ValueError('ConnectionPool option maxIdlePerOrigin must be finite');
    this.maxOrigins = positiveInteger('maxOrigins', options.maxOrigins, POOL_DEFAULTS.maxOrigins, 1);
    const t = options.idleTimeout;
    if (t === undefined || t === null) this.idleTimeout = POOL_DEFAULTS.idleTimeout;
    else {
      if (typeof t !== 'number' || Number.isNaN(t)) throw new TypeError('ConnectionPool option idleTimeout must be a number of milliseconds');
      if (!(t > 0 && t <= MAX_TIMER)) throw new ValueError(`ConnectionPool option idleTimeout must be > 0 and ≤ ${MAX_TIMER} ms, got ${t}`);
      this.idleTimeout = t;
    }
  }

  /** True after {@link ConnectionPool.close}. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Closes every idle connection; connections in use are closed when their
   * response ends instead of coming back. Requests already waiting for a
   * connection still get one; new requests with this pool are refused
   * (ValueError `ERR_POOL_CLOSED`). Idempotent.
   *
   * @example process.on('SIGTERM', () => pool.close());
   */
  close(): void {
    this.closedFlag = true;
    for (const entry of this.origins.values()) {
      while (entry.idle.length > 0) this.dropIdle(entry, entry.idle.length - 1);
    }
    for (const [key, entry] of this.origins) if (entry.busy === 0 && entry.queued === 0) this.origins.delete(key);
  }

  /**
   * What the pool holds now, summed over its origins: connections in use,
   * idle ones, requests waiting, and origins remembered.
   *
   * @example pool.stats(); // { origins: 1, busy: 0, idle: 1, waiting: 0 }
   */
  stats(): { origins: number; busy: number; idle: number; waiting: number } {
    let busy = 0;
    let idle = 0;
    let waiting = 0;
    for (const e of this.origins.values()) {
      busy += e.busy;
      idle += e.idle.length;
      waiting += e.queued;
    }
    return { origins: this.origins.size, busy, idle, waiting };
  }

  /**
   * Asks for a connection to `key`. With a slot free, `waiter.grant` is
   * called at once (an idle socket, or null: connect a new one) and true is
   * returned; otherwise the waiter is queued (FIFO) and false is returned.
   * A request whose origin cannot be remembered (every one of `maxOrigins`
   * busy) is granted null and will not be kept: `key` is then not counted,
   * and {@link ConnectionPool.release} must be called with `counted` false.
   *
   * @internal
   */
  acquire(key: string, waiter: PoolWaiter): 'granted' | 'queued' | 'uncounted' {
    let entry = this.origins.get(key);
    if (entry === undefined) {
      if (this.origins.size >= this.maxOrigins && !this.evictOne()) {
        waiter.grant(null);
        return 'uncounted';
      }
      entry = new OriginEntry();
      this.origins.set(key, entry);
    }
    if (entry.busy >= this.maxSocketsPerOrigin) {
      entry.waiting.push(waiter);
      return 'queued';
    }
    entry.busy++;
    waiter.grant(this.takeIdle(entry));
    return 'granted';
  }

  /**
   * A request is done with its slot. `socket` is the connection to keep
   * (idle, or handed to the next waiter), or null when it was (or is to be)
   * destroyed by the caller. `keepFor` (ms) shortens `idleTimeout` for this
   * connection (the server's `Keep-Alive: timeout`); 0 or less: not kept.
   *
   * @internal
   */
  release(key: string, socket: Socket | null, keepFor = Infinity): void {
    // The entry is there: an origin with a connection in use is never forgotten.
    const entry = this.origins.get(key)!;
    entry.busy--;
    const idleFor = Math.min(this.idleTimeout, keepFor);
    const keep = socket !== null && idleFor > 0 && !this.closedFlag && !socket.destroyed && socket.readyState === 'open';
    if (keep) entry.idle.push(this.watchIdle(key, entry, socket, idleFor));
    else socket?.destroy();
    while (entry.idle.length > this.maxIdlePerOrigin) this.dropIdle(entry, 0);
    this.grantNext(entry);
    this.forgetIfUnused(key, entry);
  }

  /** A queued request gave up: its place in the queue goes. */
  cancel(key: string, waiter: PoolWaiter): void {
    waiter.cancelled = true;
    const entry = this.origins.get(key);
    if (entry === undefined) return;
    const at = entry.waiting.indexOf(waiter, entry.waitHead);
    if (at >= 0) entry.waiting.splice(at, 1);
  }

  /** Hands free slots to waiting requests, first come first served. */
  private grantNext(entry: OriginEntry): void {
    while (entry.busy < this.maxSocketsPerOrigin && entry.waitHead < entry.waiting.length) {
      const w = entry.waiting[entry.waitHead]!;
      entry.waiting[entry.waitHead++] = undefined as unknown as PoolWaiter;
      if (entry.waitHead === entry.waiting.length) {
        entry.waiting.length = 0;
        entry.waitHead = 0;
      }
      entry.busy++;
      w.grant(this.takeIdle(entry));
    }
  }

  /**
   * The most recently returned idle socket, or null. A socket the server
   * closed was dropped by its listeners; one it closes from now on fails the
   * request before its response, which send-once.ts retries when it may.
   */
  private takeIdle(entry: OriginEntry): Socket | null {
    const i = entry.idle.pop();
    if (i === undefined) return null;
    this.unwatch(i);
    i.socket.ref();
    return i.socket;
  }

  /**
   * Keeps an idle socket: unref'd, closed after `idleTimeout`, and dropped
   * as soon as the server closes it or sends anything (a server has nothing
   * to say on an idle connection: it is broken, or closing it).
   */
  private watchIdle(key: string, entry: OriginEntry, socket: Socket, idleFor: number): IdleSocket {
    socket.unref();
    const idle: IdleSocket = {
      socket,
      timer: undefined as unknown as NodeJS.Timeout,
      // Only called while idle: taking the socket removes these listeners and the timer.
      onGone: () => {
        this.dropIdle(entry, entry.idle.indexOf(idle));
        this.forgetIfUnused(key, entry);
      },
    };
    idle.timer = setTimeout(idle.onGone, idleFor);
    idle.timer.unref();
    socket.on('data', idle.onGone);
    socket.on('end', idle.onGone);
    socket.on('close', idle.onGone);
    socket.on('error', idle.onGone);
    if (socket.isPaused()) socket.resume();
    return idle;
  }

  private unwatch(i: IdleSocket): void {
    clearTimeout(i.timer);
    i.socket.off('data', i.onGone);
    i.socket.off('end', i.onGone);
    i.socket.off('close', i.onGone);
    i.socket.off('error', i.onGone);
  }

  private dropIdle(entry: OriginEntry, at: number): void {
    const [i] = entry.idle.splice(at, 1);
    this.unwatch(i!);
    // A late error on the destroyed socket must not be unhandled.
    i!.socket.on('error', () => {});
    i!.socket.destroy();
  }

  private forgetIfUnused(key: string, entry: OriginEntry): void {
    if (entry.busy === 0 && entry.idle.length === 0 && entry.queued === 0 && this.origins.get(key) === entry) this.origins.delete(key);
  }

  /** Forgets the least recently added origin that only has idle connections; false when every origin is in use. */
  private evictOne(): boolean {
    for (const [key, entry] of this.origins) {
      if (entry.busy === 0 && entry.queued === 0) {
        while (entry.idle.length > 0) this.dropIdle(entry, entry.idle.length - 1);
        this.origins.delete(key);
        return true;
      }
    }
    return false;
  }
}

let defaultPool: ConnectionPool | null = null;

/**
 * The pool `keepAlive: true` uses, created on first use with the defaults.
 * Never closed: its idle connections are unref'd and time out.
 *
 * @example defaultConnectionPool().stats(); // { origins: 0, busy: 0, idle: 0, waiting: 0 }
 */
export function defaultConnectionPool(): ConnectionPool {
  defaultPool ??= new ConnectionPool();
  return defaultPool;
}
