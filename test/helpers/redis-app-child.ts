/**
 * One server process of the shared-Redis tests: `idempotent` over
 * `redisIdempotencyStore`, its effects appended to a file that every
 * process shares (the effect count is taken from there, not from Redis).
 * Prints `listening <port>` once it serves; exits on SIGTERM.
 *
 *   node --import @tapjs/typescript/import redis-app-child.ts <redis-url> <effects-file> <name>
 */
import { appendFileSync } from 'node:fs';
import { boundAddress, json, registerCallback, stopCallback } from '../../src/index.js';
import { idempotent } from '../../src/idempotency/index.js';
import { connectRedis, redisIdempotencyStore } from '../../src/redis/index.js';

const [url, effects, name] = process.argv.slice(2) as [string, string, string];
const redis = await connectRedis(url, { onError: () => {} });
const app = idempotent(async (req) => {
  const body = (await req.datastream.read()).toString();
  // Long enough that concurrent requests with one key overlap.
  await new Promise((r) => setTimeout(r, Number(req.querydict?.['work'] ?? 0)));
  appendFileSync(effects, `${req.headers['Idempotency-Key']} ${name} ${body}\n`);
  return json({ by: name, pid: process.pid, body }, 201);
}, {
  store: redisIdempotencyStore(redis, { commandTimeout: 500 }),
  onError: (err) => process.stderr.write(`store error: ${(err as { code?: string }).code}\n`),
});
const id = await registerCallback(['127.0.0.1', 0], app, { onError: null });
console.log(`listening ${boundAddress(id)[1]}`);
process.once('SIGTERM', async () => {
  await stopCallback(id);
  await redis.close();
  process.exit(0);
});
