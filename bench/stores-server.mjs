// The server of bench/stores.mjs, in its own process (pinned to the server
// core by the runner):
//
//   node bench/stores-server.mjs <plain|memory|file|redis> [redis-url]
//
// Answers POST /pay with 201 and a small JSON body. plain: the callback
// alone; the others wrap it in idempotent() with that store (file: a
// journal in a temporary directory, fsynced per response; redis: the
// shared store on the given Redis). Prints `{"ready":true,"port":N}`;
// `exit` on stdin (or stdin closing) stops it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { registerCallback, stopCallback, boundAddress } from '../dist/index.js';
import { idempotent, memoryStore, fileStore } from '../dist/idempotency/index.js';

const [kind, redisUrl] = process.argv.slice(2);
const pay = async (req) => {
  await req.datastream.read();
  return { statuscode: 201, headers: { 'Content-Type': 'application/json' }, message: '{"ok":true}' };
};

let store = null;
let redis = null;
let dir = null;
if (kind === 'memory') store = memoryStore({ max: 100_000 });
else if (kind === 'file') {
  dir = mkdtempSync(join(tmpdir(), 'repy-http-bench-journal-'));
  store = await fileStore(join(dir, 'keys.journal'), { max: 100_000 });
} else if (kind === 'redis') {
  const { connectRedis, redisIdempotencyStore } = await import('../dist/redis/index.js');
  redis = await connectRedis(redisUrl);
  store = redisIdempotencyStore(redis);
} else if (kind !== 'plain') throw new Error(`unknown kind ${kind}`);

const callback = store === null ? pay : idempotent(pay, { store, onError: (e) => console.error(e) });
const id = await registerCallback(['127.0.0.1', 0], callback, { keepAliveTimeout: 600_000 });
process.stdout.write(`${JSON.stringify({ ready: true, port: boundAddress(id)[1] })}\n`);

let stopping = false;
const exit = async () => {
  if (stopping) return;
  stopping = true;
  await stopCallback(id);
  await store?.close();
  await redis?.close();
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => line.trim() === 'exit' && void exit());
rl.on('close', () => void exit());
