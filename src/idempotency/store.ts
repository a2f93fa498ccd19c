/**
 * The store interface of `idempotent`: what a store must do, small enough
 * that a shared store (Redis, a later issue) implements it with a handful of
 * commands. Every method is async. Times are `Date.now()` milliseconds.
 *
 * A key has three states: absent (or expired), **in flight** (a lock: a
 * request is running the callback; it carries a random token and a lease,
 * after which it counts as abandoned), and **done** (the stored response,
 * kept `ttl` ms). The transitions:
 *
 * ```
 *  absent ──begin──▶ in flight ──complete(token)──▶ done ──ttl──▶ absent
 *                       │  └──release(token)──▶ absent
 *                       └──lease expires──▶ absent
 * ```
 *
 * How Redis would do it: `begin` = `SET k lock NX PX lease`, else `GET k`;
 * `complete` and `release` = a Lua script that compares the token before
 * `SET k done PX ttl` / `DEL k`; `get` = `GET k`.
 *
 * @module
 */

/** A response as stored and replayed: status, fields and content, exactly. */
export interface StoredResponse {
  /** The status code. */
  statuscode: number;
  /** The reason phrase the callback set, or null for the default one. */
  statusmsg: string | null;
  /** Field name → value(s), as the callback returned them (numbers as strings, null fields left out). */
  headers: Record<string, string | string[]>;
  /** The content. */
  body: Buffer;
}

/** What {@link IdempotencyStore.begin} found. */
export type BeginResult =
  /** The key was free: the caller holds its lock and runs the callback. */
  | { state: 'acquired'; token: string }
  /** Another request holds the lock (its lease has not expired). */
  | { state: 'in-flight'; fingerprint: string }
  /** A response is stored for the key. */
  | { state: 'done'; fingerprint: string; response: StoredResponse };

/** What {@link IdempotencyStore.get} returns for a live key. */
export type StoredRecord =
  | { state: 'in-flight'; fingerprint: string; expiresAt: number }
  | { state: 'done'; fingerprint: string; expiresAt: number; response: StoredResponse };

/**
 * The store of `idempotent`. Implementations: `memoryStore` (one process,
 * bounded, LRU + TTL) and `fileStore` (the same, made durable by a journal).
 * Every method must be atomic with respect to the others for the same key.
 *
 * @example
 * const store: IdempotencyStore = memoryStore({ max: 1000 });
 * const r = await store.begin('k', 'sha256…', 60_000);
 * if (r.state === 'acquired') await store.complete('k', r.token, 'sha256…', response, 86_400_000);
 */
export interface IdempotencyStore {
  /**
   * If `key` is absent (or expired, or its lock's lease ran out): lock it for
   * `lockTimeout` ms with a new token and return `{ state: 'acquired', token }`.
   * Otherwise return what is there, without changing it.
   */
  begin(key: string, fingerprint: string, lockTimeout: number): Promise<BeginResult>;
  /**
   * Replaces the lock held with `token` by `response`, kept for `ttl` ms.
   * Resolves true once stored (durably, for a durable store: the response
   * must not leave before that), false when `token` no longer holds the lock
   * (its lease ran out and someone else took it, or it was released).
   */
  complete(key: string, token: string, fingerprint: string, response: StoredResponse, ttl: number): Promise<boolean>;
  /** Drops the lock held with `token` (the callback failed: the next request runs it again). True if it was held. */
  release(key: string, token: string): Promise<boolean>;
  /** The live record of `key`, or null. */
  get(key: string): Promise<StoredRecord | null>;
  /** Releases the store's resources (files, connections). */
  close(): Promise<void>;
}
