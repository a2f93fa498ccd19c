/**
 * One server process of the shared-Redis tests: `idempotent` over
 * `redisIdempotencyStore` at /pay, its effects appended to a file that every
 * process shares (the effect count is taken from there, not from Redis),
 * and a job resource over `redisJobStore` at /runs/ whose run reports
 * `steps` progress events `delay` ms apart (and which process ran it).
 * Prints `listening <port>` once it serves; exits on SIGTERM.
 *
 *   node --import @tapjs/typescript/import redis-app-child.ts <redis-url> <effects-file> <name>
 */
import { appendFileSync } from 'node:fs';
import { boundAddress, json, registerCallback, route, stopCallback } from '../../src/index.js';
import { jobResource } from '../../src/jobs/index.js';
import { idempotent } from '../../src/idempotency/index.js';
import { connectRedis, redisIdempotencyStore, redisJobStore } from '../../src/redis/index.js';

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
const jobStore = redisJobStore(redis, { commandTimeout: 500, onError: () => {} });
const jobs = jobResource({
  prefix: '/runs/',
  store: jobStore,
  ttl: 60_000,
  onError: (err) => process.stderr.write(`job error: ${(err as { code?: string }).code ?? String(err)}\n`),
  run: async (args, job) => {
    const { steps, delay } = args as { steps: number; delay: number };
    for (let i = 1; i <= steps; i++) {
      await new Promise((r) => setTimeout(r, delay));
      if (job.signal.aborted) return { ranBy: name, stoppedAt: i }; // ignored after a cancel: dropped
      await job.progress({ step: i, by: name });
    }
    return { ranBy: name, pid: process.pid };
  },
});
const id = await registerCallback(['127.0.0.1', 0], route({ '/runs/': jobs.callback }, app), { onError: null });
console.log(`listening ${boundAddress(id)[1]}`);
process.once('SIGTERM', async () => {
  await jobs.stop();
  await stopCallback(id);
  await jobStore.close();
  await redis.close();
  process.exit(0);
});
