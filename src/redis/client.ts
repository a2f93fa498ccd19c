/**
 * The Redis connection the stores of `repy-http/redis` use: any client with
 * node-redis's `sendCommand` (the official `redis` package, an optional peer
 * dependency: only this subpath loads it, and only when `connectRedis` is
 * called), and the one rule every store call follows: it settles within a
 * time limit, so a request never hangs on a Redis that does not answer.
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';

/**
 * What the stores need of a Redis client: node-redis v5's `sendCommand`,
 * and for the job store's pub/sub a `duplicate()` with `subscribe`.
 *
 * @example const client: RedisLike = await connectRedis('redis://127.0.0.1:6379');
 */
export interface RedisLike {
  sendCommand(args: string[]): Promise<unknown>;
  duplicate?(): RedisSubscriber;
}

/** A second connection for SUBSCRIBE (a subscribed connection can run nothing else). */
export interface RedisSubscriber {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channel: string, listener?: (message: string, channel: string) => void): Promise<unknown>;
  on?(event: 'error', listener: (err: unknown) => void): unknown;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/**
 * A Redis store failed: `ERR_REDIS_NOT_INSTALLED` (the optional `redis`
 * package is missing), `ERR_REDIS_TIMEOUT` (no answer within
 * `commandTimeout`), `ERR_REDIS` (Redis answered an error, or the
 * connection is down). The job and idempotency resources turn it into a
 * 503 with `Retry-After` and report it; nothing is lost or doubled.
 *
 * @example if (err instanceof RedisStoreError && err.code === 'ERR_REDIS_TIMEOUT') …
 */
export class RedisStoreError extends RepyHttpError {
  override name = 'RedisStoreError';
}

/** The options of {@link connectRedis}. */
export interface ConnectRedisOptions {
  /** Called with connection errors (default: stderr, at most one line per second). */
  onError?: (err: unknown) => void;
}

/**
 * Connects the official `redis` client (install it: `npm install redis`)
 * with what a server needs: commands fail at once while the connection is
 * down (`disableOfflineQueue`) instead of queueing without bound, it
 * reconnects with backoff, and its `error` events are reported rather than
 * crashing the process. Close it with `client.close()` (or `quit()`).
 *
 * @example
 * import { connectRedis, redisIdempotencyStore } from 'repy-http/redis';
 * const client = await connectRedis('redis://127.0.0.1:6379');
 * const store = redisIdempotencyStore(client);
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<RedisLike & { close(): Promise<unknown> }> {
  let mod: { createClient(o: unknown): unknown };
  try {
    mod = (await import('redis')) as unknown as { createClient(o: unknown): unknown };
  } catch (err) {
    throw new RedisStoreError('ERR_REDIS_NOT_INSTALLED', 'repy-http/redis needs the optional peer dependency "redis": npm install redis', { cause: err });
  }
  // Reconnect with backoff once connected; but a first connection that
  // fails is an error for the caller now, not an endless retry.
  let connected = false;
  const client = mod.createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5000,
      reconnectStrategy: (retries: number, cause: unknown) => connected
        ? Math.min(50 * 2 ** retries, 2000)
        : new RedisStoreError('ERR_REDIS', `cannot connect to Redis at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }),
    },
  }) as RedisLike & { on(e: string, l: (err: unknown) => void): void; connect(): Promise<unknown>; close(): Promise<unknown> };
  client.on('error', options.onError ?? throttledStderr('repy-http/redis'));
  try {
    await client.connect();
  } catch (err) {
    throw err instanceof RedisStoreError ? err : new RedisStoreError('ERR_REDIS', err instanceof Error ? err.message : String(err), { cause: err });
  }
  connected = true;
  return client;
}

/** An error reporter that writes at most one line per second (a down Redis errors on every retry). */
export function throttledStderr(what: string): (err: unknown) => void {
  let last = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    process.stderr.write(`${what}: ${err instanceof Error ? err.message : String(err)}\n`);
  };
}

/**
 * Runs one command, settling within `timeout` ms: a Redis that does not
 * answer gives `ERR_REDIS_TIMEOUT`, any other failure `ERR_REDIS`.
 */
export function command(client: RedisLike, args: string[], timeout: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisStoreError('ERR_REDIS_TIMEOUT', `Redis did not answer ${args[0]} within ${timeout} ms`)), timeout);
    let p: Promise<unknown>;
    try {
      p = client.sendCommand(args);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof RedisStoreError ? err : new RedisStoreError('ERR_REDIS', `Redis ${args[0]} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      },
    );
  });
}
