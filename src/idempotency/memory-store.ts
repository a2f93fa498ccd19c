/**
 * `memoryStore`: the default store of `idempotent`, in this process's
 * memory, bounded by a count and a byte budget (least recently used records
 * go first) and by time (records expire after `ttl`, locks after their
 * lease). Nothing survives a restart: use `fileStore` for that.
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import { RepyHttpError, ValueError } from '../errors.js';
import type { BeginResult, IdempotencyStore, StoredRecord, StoredResponse } from './store.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Most stored responses, and separately most locks (requests in flight); default 10 000. */
  max?: number;
  /** Most bytes of stored responses (content, fields and key, roughly); default 64 MiB. */
  maxBytes?: number;
}

/** The defaults of {@link MemoryStoreOptions}. */
export const MEMORY_STORE_DEFAULTS = Object.freeze({ max: 10_000, maxBytes: 64 * 1024 * 1024 });

/**
 * `max` requests with a key are already in flight: the store refuses to
 * lock one more (the middleware answers 503 with Retry-After), rather than
 * evict a lock, which would let a duplicate through. `code`: `'ERR_STORE_FULL'`.
 *
 * @example err.code === 'ERR_STORE_FULL'
 */
export class StoreFullError extends RepyHttpError {
  override name = 'StoreFullError';
  declare readonly code: 'ERR_STORE_FULL';
  constructor(max: number) {
    super('ERR_STORE_FULL', `${max} idempotent requests are already in flight`);
  }
}

/** A stored response with its bookkeeping. */
export interface DoneEntry {
  fingerprint: string;
  expiresAt: number;
  response: StoredResponse;
  size: number;
}

/** One stored response in the recency list. */
interface LruNode {
  key: string;
  entry: DoneEntry;
  prev: LruNode | null;
  next: LruNode | null;
}

interface Lock {
  token: string;
  fingerprint: string;
  expiresAt: number;
}

/** A record's approximate memory: its content, its fields, its key, and per-object overhead. */
export function responseSize(key: string, r: StoredResponse): number {
  let n = 256 + key.length * 2 + r.body.length + (r.statusmsg?.length ?? 0);
  for (const [name, v] of Object.entries(r.headers)) n += name.length + (Array.isArray(v) ? v.reduce((a, s) => a + s.length + 16, 0) : v.length);
  return n;
}

function positive(name: string, v: unknown, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`options.${name} must be a number`);
  if (v < 1 || (!Number.isInteger(v) && v !== Infinity)) throw new ValueError(`options.${name} must be a positive integer or Infinity`);
  return v;
}

/**
 * The in-memory store. Completed records live in a Map kept in
 * least-recently-used order (a replay moves its record to the end); locks in
 * a second Map, never evicted (see {@link StoreFullError}).
 *
 * @example const store = new MemoryStore({ max: 1000 });
 */
export class MemoryStore implements IdempotencyStore {
  readonly max: number;
  readonly maxBytes: number;
  /** Key → stored response, least recently used first. */
  /**
   * The stored responses: a Map for look-up and a doubly linked list for
   * recency (head: least recently used). Not the Map's own order: evicting
   * from the front of a Map leaves deleted slots that every later walk
   * from the front skips again until V8 rehashes, which made each request
   * cost O(evictions since the last rehash) once the store was full
   * (measured: 3 µs per request at 100 000 keys became 60–170 µs).
   */
  private readonly index = new Map<string, LruNode>();
  private head: LruNode | null = null;
  private tail: LruNode | null = null;
  private readonly locks = new Map<string, Lock>();
  /** Sum of the stored records' sizes. */
  bytes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('memoryStore(options): options must be an object');
    for (const k of Object.keys(options)) if (k !== 'max' && k !== 'maxBytes') throw new ValueError(`unknown option ${JSON.stringify(k)}`);
    this.max = positive('max', options.max, MEMORY_STORE_DEFAULTS.max);
    this.maxBytes = positive('maxBytes', options.maxBytes, MEMORY_STORE_DEFAULTS.maxBytes);
  }

  /** Stored responses held now. */
  get size(): number {
    return this.index.size;
  }

  /** Locks held now. */
  get inFlight(): number {
    return this.locks.size;
  }

  async begin(key: string, fingerprint: string, lockTimeout: number): Promise<BeginResult> {
    const now = Date.now();
    this.sweep(now);
    const d = this.liveDone(key, now);
    if (d !== null) return { state: 'done', fingerprint: d.fingerprint, response: d.response };
    const l = this.locks.get(key);
    if (l !== undefined && l.expiresAt > now) return { state: 'in-flight', fingerprint: l.fingerprint };
    if (l === undefined && this.locks.size >= this.max) {
      for (const [k, lock] of this.locks) if (lock.expiresAt <= now) this.locks.delete(k);
      if (this.locks.size >= this.max) throw new StoreFullError(this.max);
    }
    const token = randomUUID();
    this.locks.set(key, { token, fingerprint, expiresAt: now + lockTimeout });
    return { state: 'acquired', token };
  }

  async complete(key: string, token: string, fingerprint: string, response: StoredResponse, ttl: number): Promise<boolean> {
    if (!this.holds(key, token)) return false;
    this.locks.delete(key);
    this.put(key, { fingerprint, expiresAt: Date.now() + ttl, response, size: responseSize(key, response) });
    return true;
  }

  async release(key: string, token: string): Promise<boolean> {
    return this.dropLock(key, token);
  }

  /** Drops the lock of `key` if `token` holds it (synchronously: a subclass composes it with other steps). */
  protected dropLock(key: string, token: string): boolean {
    if (!this.holds(key, token)) return false;
    this.locks.delete(key);
    return true;
  }

  async get(key: string): Promise<StoredRecord | null> {
    const now = Date.now();
    const d = this.liveDone(key, now);
    if (d !== null) return { state: 'done', fingerprint: d.fingerprint, expiresAt: d.expiresAt, response: d.response };
    const l = this.locks.get(key);
    if (l !== undefined && l.expiresAt > now) return { state: 'in-flight', fingerprint: l.fingerprint, expiresAt: l.expiresAt };
    return null;
  }

  async close(): Promise<void> {
    this.index.clear();
    this.head = this.tail = null;
    this.locks.clear();
    this.bytes = 0;
  }

  /** True when `token` holds the live lock of `key`. */
  protected holds(key: string, token: string): boolean {
    const l = this.locks.get(key);
    return l !== undefined && l.token === token && l.expiresAt > Date.now();
  }

  /** Adds a record at the most-recent end, then evicts from the least-recent end down to the bounds. */
  protected put(key: string, entry: DoneEntry): void {
    this.remove(key);
    const node: LruNode = { key, entry, prev: this.tail, next: null };
    if (this.tail === null) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.index.set(key, node);
    this.bytes += entry.size;
    while (this.head !== null && (this.index.size > this.max || this.bytes > this.maxBytes)) this.remove(this.head.key);
  }

  protected remove(key: string): void {
    const node = this.index.get(key);
    if (node === undefined) return;
    this.unlink(node);
    this.index.delete(key);
    this.bytes -= node.entry.size;
  }

  private unlink(node: LruNode): void {
    if (node.prev === null) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = null;
  }

  /** The unexpired record of `key`, moved to the most-recent end; an expired one is dropped. */
  private liveDone(key: string, now: number): DoneEntry | null {
    const node = this.index.get(key);
    if (node === undefined) return null;
    if (node.entry.expiresAt <= now) {
      this.remove(key);
      return null;
    }
    if (node !== this.tail) {
      this.unlink(node);
      node.prev = this.tail;
      this.tail!.next = node;
      this.tail = node;
    }
    return node.entry;
  }

  /**
   * Drops expired records from the least-recent end: a few per call, so
   * that memory held by expired records is returned without a timer and
   * without a scan of the whole map.
   */
  private sweep(now: number): void {
    for (let n = 0; n < 16 && this.head !== null && this.head.entry.expiresAt <= now; n++) this.remove(this.head.key);
  }

  /** Every live record (for compaction), least recently used first. */
  protected *entries(): IterableIterator<[string, DoneEntry]> {
    for (let n = this.head; n !== null; n = n.next) yield [n.key, n.entry];
  }
}

/**
 * The default store: in memory, at most `max` responses (default 10 000)
 * and `maxBytes` bytes (default 64 MiB), least recently used first out,
 * each kept `ttl` (an option of `idempotent`). Lost on restart.
 *
 * @example
 * import { idempotent, memoryStore } from 'repy-http/idempotency';
 * const app = idempotent(handler, { store: memoryStore({ max: 50_000 }) });
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options);
}
