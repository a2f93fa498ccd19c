/**
 * `redisJobStore(client)`: the `JobStore` of `repy-http/jobs` in Redis, so
 * that any process can serve a run's `GET` (SSE with `Last-Event-ID`, or the
 * long poll) and its `DELETE`, whichever process runs it.
 *
 * Per run (`<prefix><id>` below):
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `<prefix>{<id>}` | hash | `last` (the last event id), `finished` (0/1) |
 * | `<prefix>{<id>}:events` | stream | one entry per event, with the stream id `0-<event id>`, so `Last-Event-ID: n` is the stream position `0-n` and a resume is `XRANGE (0-n +` (exclusive) |
 * | `<prefix>runs` | sorted set | every run held, scored by the time it may be forgotten: `maxRuns` counts it |
 * | channel `<prefix>{<id>}` | pub/sub | each new event, as JSON |
 *
 * `create`, `append` and `cancel` are Lua scripts, one atomic step each:
 * the next id, the stream entry, the trim of the oldest `running` event past
 * `maxEvents`, the `finished` flag and the PUBLISH happen together, so two
 * processes can never give two events one id, and a late result after a
 * `canceled` (appended by a DELETE in another process) is refused. The
 * process that runs a job subscribes to its channel, so that `canceled`
 * aborts the run where it runs.
 *
 * A run whose process dies while it runs would stay `running` for ever; so
 * every run gets a deadline at creation (`maxRunTime`, default 24 h), after
 * which Redis forgets it.
 *
 * @module
 */

import type { JobEvent, JobState, JobStore } from '../jobs/index.js';
import { command, RedisStoreError, throttledStderr, type RedisLike, type RedisSubscriber } from './client.js';

/** The options of {@link redisJobStore}. */
export interface RedisJobStoreOptions {
  /** Prefix of every key and channel (default `'repy:job:'`). */
  prefix?: string;
  /** Runs held at once, running or finished and not yet expired (default 10 000); past it `create` gives null (503). */
  maxRuns?: number;
  /** ms after which a run is forgotten even if it never finished (its process died): default 24 h. */
  maxRunTime?: number;
  /** ms a command may take before it fails with `ERR_REDIS_TIMEOUT` (default 2000). */
  commandTimeout?: number;
  /** Errors of the subscriber connection (default: stderr, at most one line per second). */
  onError?: (err: unknown) => void;
}

// Redis's own clock, so that every process agrees on "now".
const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// KEYS: meta, events, runs. ARGV: job, event JSON, maxRuns, maxRunTime.
const CREATE = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('run exists') end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return false end
redis.call('HSET', KEYS[1], 'last', 1, 'finished', 0)
redis.call('XADD', KEYS[2], '0-1', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[1])
return 1`;

// KEYS: meta, events. ARGV: channel, state, value JSON, maxEvents (or 'inf'), terminal (1/0), cancel (1/0).
// Returns the event JSON; false (unknown run, or finished for an append); 'finished' for a cancel of a finished run.
const APPEND = `
local last = redis.call('HGET', KEYS[1], 'last')
if not last then return false end
if redis.call('HGET', KEYS[1], 'finished') == '1' then
  if ARGV[6] == '1' then return 'finished' end
  return false
end
local id = tonumber(last) + 1
local e = '{"id":' .. id .. ',"state":"' .. ARGV[2] .. '","value":' .. ARGV[3] .. '}'
redis.call('HSET', KEYS[1], 'last', id)
redis.call('XADD', KEYS[2], '0-' .. id, 'e', e)
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'finished', 1) end
if ARGV[4] ~= 'inf' and redis.call('XLEN', KEYS[2]) > tonumber(ARGV[4]) then
  -- The oldest 'running' event goes; the first ('queued') and the terminal one stay.
  local two = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 2)
  if #two == 2 and string.find(two[2][2][2], '"state":"running"', 1, true) then redis.call('XDEL', KEYS[2], two[2][1]) end
end
redis.call('PUBLISH', ARGV[1], e)
return e`;

// KEYS: meta, events, runs. ARGV: job, ms.
const EXPIRE = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
return 1`;

const TERMINAL = new Set<JobState>(['success', 'error', 'canceled']);
const STATES = new Set<JobState>(['queued', 'running', 'success', 'error', 'canceled']);

function positive(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new TypeError(`redisJobStore: options.${name} must be a positive integer`);
  return v;
}

/** One event as stored: JSON with `id`, `state`, `value`. */
function eventOf(json: string): JobEvent {
  const e = JSON.parse(json) as JobEvent;
  return Object.freeze({ id: e.id, state: e.state, value: e.value });
}

/**
 * A `JobStore` in Redis, shared by every process that uses the same Redis
 * and prefix. Needs `client.duplicate()` (node-redis) for the subscriber
 * connection, which it opens on the first `subscribe` and closes in
 * `close()`; `client` itself stays yours.
 *
 * @example
 * import { jobResource } from 'repy-http/jobs';
 * import { connectRedis, redisJobStore } from 'repy-http/redis';
 * const redis = await connectRedis('redis://127.0.0.1:6379');
 * const jobs = jobResource({ prefix: '/runs/', run, store: redisJobStore(redis) });
 */
export function redisJobStore(client: RedisLike, options: RedisJobStoreOptions = {}): JobStore & { close(): Promise<void> } {
  if (client === null || typeof client !== 'object' || typeof client.sendCommand !== 'function') {
    throw new TypeError('redisJobStore(client): client must be a connected node-redis client (see connectRedis)');
  }
  const prefix = options.prefix ?? 'repy:job:';
  if (typeof prefix !== 'string') throw new TypeError('redisJobStore: options.prefix must be a string');
  const maxRuns = positive('maxRuns', options.maxRuns, 10_000);
  const maxRunTime = positive('maxRunTime', options.maxRunTime, 24 * 3600_000);
  const timeout = positive('commandTimeout', options.commandTimeout, 2000);
  const onError = options.onError ?? throttledStderr('repy-http/redis job store subscriber');
  const runs = prefix + 'runs';
  // The run's id in braces is a Redis Cluster hash tag: a run's keys share one slot.
  const meta = (job: string): string => prefix + '{' + job + '}';
  const events = (job: string): string => prefix + '{' + job + '}:events';
  const call = (args: string[]): Promise<unknown> => command(client, args, timeout);

  /** The subscriber connection, opened on first use; every job's listeners by channel. */
  let subscriber: Promise<RedisSubscriber> | null = null;
  /** Per channel: its listeners, and the SUBSCRIBE that Redis must confirm before events are certain to arrive. */
  const listeners = new Map<string, { set: Set<(e: JobEvent) => void>; ready: Promise<unknown> }>();
  const dispatch = (message: string, channel: string): void => {
    const set = listeners.get(channel)?.set;
    if (set === undefined) return;
    let event: JobEvent;
    try {
      event = eventOf(message);
    } catch (err) {
      onError(err);
      return;
    }
    for (const l of [...set]) {
      try {
        l(event);
      } catch {
        // A subscriber's failure is its own (the JobStore contract).
      }
    }
  };
  const openSubscriber = (): Promise<RedisSubscriber> => {
    if (typeof client.duplicate !== 'function') {
      return Promise.reject(new TypeError('redisJobStore: subscribe needs a client with duplicate() (node-redis)'));
    }
    const sub = client.duplicate();
    sub.on?.('error', onError);
    return sub.connect().then(() => sub);
  };

  async function append(job: string, state: JobState, value: unknown, maxEvents: number | 'inf', cancel: boolean): Promise<unknown> {
    if (!STATES.has(state)) throw new TypeError(`redisJobStore: unknown state ${String(state)}`);
    const json = JSON.stringify(value ?? null);
    return call(['EVAL', APPEND, '2', meta(job), events(job), meta(job), state, json, String(maxEvents), TERMINAL.has(state) ? '1' : '0', cancel ? '1' : '0']);
  }

  return {
    async create(job, value) {
      const event: JobEvent = Object.freeze({ id: 1, state: 'queued', value: value ?? null });
      let made: unknown;
      try {
        made = await call(['EVAL', CREATE, '3', meta(job), events(job), runs, job, JSON.stringify(event), String(maxRuns), String(maxRunTime)]);
      } catch (err) {
        if (err instanceof RedisStoreError && err.message.includes('run exists')) throw new Error(`redisJobStore: run ${job} exists`, { cause: err });
        throw err;
      }
      return made === null || made === undefined ? null : event;
    },
    async append(job, state, value, maxEvents) {
      const r = await append(job, state, value, Number.isFinite(maxEvents) ? Math.max(1, Math.floor(maxEvents)) : 'inf', false);
      return typeof r === 'string' ? eventOf(r) : null;
    },
    async read(job, since) {
      const [exists, entries] = await Promise.all([
        call(['EXISTS', meta(job)]),
        call(['XRANGE', events(job), `(0-${Math.max(0, Math.floor(since))}`, '+']),
      ]);
      if (Number(exists) !== 1) return null;
      return (entries as Array<[string, string[]]>).map(([, fields]) => eventOf(fields[1]!));
    },
    async subscribe(job, listener) {
      if (typeof client.duplicate !== 'function') throw new TypeError('redisJobStore: subscribe needs a client with duplicate() (node-redis)');
      const channel = meta(job);
      subscriber ??= openSubscriber();
      let sub: RedisSubscriber;
      try {
        sub = await subscriber;
      } catch (err) {
        subscriber = null;
        throw err instanceof RedisStoreError ? err : new RedisStoreError('ERR_REDIS', `cannot subscribe: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      const mine = (e: JobEvent): void => listener(e);
      let entry = listeners.get(channel);
      if (entry === undefined) {
        // Resolves once Redis confirmed the subscription: no event published after it is missed.
        const ready = sub.subscribe(channel, dispatch).catch((err: unknown) => {
          listeners.delete(channel);
          throw new RedisStoreError('ERR_REDIS', `cannot subscribe: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        });
        entry = { set: new Set(), ready };
        listeners.set(channel, entry);
      }
      entry.set.add(mine);
      await entry.ready;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const e = listeners.get(channel);
        if (e === undefined) return;
        e.set.delete(mine);
        if (e.set.size === 0) {
          listeners.delete(channel);
          sub.unsubscribe(channel, dispatch).catch(onError);
        }
      };
    },
    async cancel(job, value) {
      const r = await append(job, 'canceled', value, 'inf', true);
      if (r === 'finished') return 'finished';
      return typeof r === 'string' ? eventOf(r) : null;
    },
    async expire(job, ms) {
      const t = Math.max(1, Math.ceil(ms));
      await call(['EVAL', EXPIRE, '3', meta(job), events(job), runs, job, String(t)]);
    },
    async close() {
      listeners.clear();
      const s = subscriber;
      subscriber = null;
      if (s === null) return;
      try {
        const sub = await s;
        await (sub.close?.() ?? sub.quit?.());
      } catch {
        // It never connected, or is gone already.
      }
    },
  };
}
