/**
 * `repy-http/redis`: shared stores in Redis for the add-ons that keep state,
 * so that several processes serve one site (issue #14). Uses the official
 * `redis` package, an optional peer dependency: install it to use this
 * subpath; nothing else in repy-http imports it.
 *
 * @example
 * import { connectRedis, redisIdempotencyStore } from 'repy-http/redis';
 * const redis = await connectRedis('redis://127.0.0.1:6379');
 * const store = redisIdempotencyStore(redis);
 *
 * @module
 */

export { connectRedis, RedisStoreError, type RedisLike, type RedisSubscriber, type ConnectRedisOptions } from './client.js';
export { redisIdempotencyStore, type RedisIdempotencyStoreOptions } from './idempotency-store.js';
export { redisJobStore, type RedisJobStoreOptions } from './job-store.js';
