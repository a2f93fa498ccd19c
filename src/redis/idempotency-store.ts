/**
 * `redisIdempotencyStore(client)`: the `IdempotencyStore` of
 * `repy-http/idempotency` in Redis, so that several processes (cluster
 * workers, machines behind nginx) share keys: a retry may reach any of them.
 *
 * One Redis string per key, a small JSON record:
 *
 * - in flight: `{"s":"i","t":token,"f":fingerprint}` with `PX lockTimeout`,
 *   the lease (`SET … NX PX`: exactly one process gets it);
 * - done: `{"s":"d","f":fingerprint,"r":{…response, body in base64}}` with
 *   `PX ttl`.
 *
 * `begin`, `complete` and `release` are Lua scripts, so each is one atomic
 * step: `complete` and `release` change the key only while it still holds
 * the caller's token (a lease that ran out and was taken by another request
 * is left alone). Each costs one round trip.
 *
 * Durability is Redis's: with the default snapshotting, a Redis crash loses
 * the last seconds of keys (a retry then runs the callback again). For the
 * file store's guarantee run Redis with `appendonly yes` and
 * `appendfsync always` (docs/scaling.md).
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import type { BeginResult, IdempotencyStore, StoredRecord, StoredResponse } from '../idempotency/index.js';
import { command, type RedisLike } from './client.js';

/** The options of {@link redisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  /** Prefix of every key (default `'repy:idem:'`), to share a Redis with other data. */
  prefix?: string;
  /** ms a command may take before it fails with `ERR_REDIS_TIMEOUT` (default 2000). */
  commandTimeout?: number;
}

// KEYS[1] the key; ARGV[1] the in-flight record, ARGV[2] the lease (ms).
// Returns nil when this caller took the lock, else { record, ms left }.
const BEGIN = `
local v = redis.call('GET', KEYS[1])
if v then return { v, redis.call('PTTL', KEYS[1]) } end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

// KEYS[1] the key; ARGV[1] the token; ARGV[2] the done record, ARGV[3] its ttl (ms).
const COMPLETE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local r = cjson.decode(v)
if r.s ~= 'i' or r.t ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

// KEYS[1] the key; ARGV[1] the token.
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local r = cjson.decode(v)
if r.s ~= 'i' or r.t ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

const GET = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
return { v, redis.call('PTTL', KEYS[1]) }`;

interface Record_ {
  s: 'i' | 'd';
  t?: string;
  f: string;
  r?: { statuscode: number; statusmsg: string | null; headers: Record<string, string | string[]>; body: string };
}

function msArg(name: string, ms: number): string {
  if (!Number.isFinite(ms) || ms < 1) throw new TypeError(`${name} must be a positive number of ms`);
  return String(Math.ceil(ms));
}

/** A stored record as the store interface gives it. */
function recordOf(raw: string, pttl: number): StoredRecord {
  const r = JSON.parse(raw) as Record_;
  const expiresAt = Date.now() + Math.max(0, pttl);
  if (r.s === 'i') return { state: 'in-flight', fingerprint: r.f, expiresAt };
  const x = r.r!;
  const response: StoredResponse = { statuscode: x.statuscode, statusmsg: x.statusmsg, headers: x.headers, body: Buffer.from(x.body, 'base64') };
  return { state: 'done', fingerprint: r.f, expiresAt, response };
}

/**
 * An `IdempotencyStore` in Redis, shared by every process that uses the
 * same Redis and prefix. `close()` does not close `client` (it is yours).
 * A Redis that is down or slow makes `idempotent` answer 503 with
 * `Retry-After` (its store errors are reported), never hang.
 *
 * @example
 * import { idempotent } from 'repy-http/idempotency';
 * import { connectRedis, redisIdempotencyStore } from 'repy-http/redis';
 * const redis = await connectRedis('redis://127.0.0.1:6379');
 * const app = idempotent(callback, { store: redisIdempotencyStore(redis) });
 */
export function redisIdempotencyStore(client: RedisLike, options: RedisIdempotencyStoreOptions = {}): IdempotencyStore {
  if (client === null || typeof client !== 'object' || typeof client.sendCommand !== 'function') {
    throw new TypeError('redisIdempotencyStore(client): client must be a connected node-redis client (see connectRedis)');
  }
  const prefix = options.prefix ?? 'repy:idem:';
  const timeout = options.commandTimeout ?? 2000;
  if (typeof prefix !== 'string') throw new TypeError('options.prefix must be a string');
  if (!(timeout > 0)) throw new TypeError('options.commandTimeout must be a positive number');
  const run = (script: string, key: string, args: string[]): Promise<unknown> =>
    command(client, ['EVAL', script, '1', prefix + key, ...args], timeout);

  return {
    async begin(key: string, fingerprint: string, lockTimeout: number): Promise<BeginResult> {
      const token = randomUUID();
      const lock: Record_ = { s: 'i', t: token, f: fingerprint };
      const found = await run(BEGIN, key, [JSON.stringify(lock), msArg('lockTimeout', lockTimeout)]);
      if (found === null || found === undefined) return { state: 'acquired', token };
      const [raw, pttl] = found as [string, number];
      const rec = recordOf(raw, Number(pttl));
      return rec.state === 'done'
        ? { state: 'done', fingerprint: rec.fingerprint, response: rec.response }
        : { state: 'in-flight', fingerprint: rec.fingerprint };
    },
    async complete(key: string, token: string, fingerprint: string, response: StoredResponse, ttl: number): Promise<boolean> {
      const done: Record_ = {
        s: 'd', f: fingerprint,
        r: { statuscode: response.statuscode, statusmsg: response.statusmsg, headers: response.headers, body: Buffer.from(response.body).toString('base64') },
      };
      return Number(await run(COMPLETE, key, [token, JSON.stringify(done), msArg('ttl', ttl)])) === 1;
    },
    async release(key: string, token: string): Promise<boolean> {
      return Number(await run(RELEASE, key, [token])) === 1;
    },
    async get(key: string): Promise<StoredRecord | null> {
      const found = await run(GET, key, []);
      if (found === null || found === undefined) return null;
      const [raw, pttl] = found as [string, number];
      return recordOf(raw, Number(pttl));
    },
    async close(): Promise<void> {},
  };
}
