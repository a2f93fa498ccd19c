// Benchmark: idempotent POSTs per second with each idempotency store, beside
// the same callback without idempotent() (issue #14, docs/scaling.md). Every
// request carries a new Idempotency-Key (bench/wrk/idempotent.lua), so each
// one takes the lock, runs the callback and stores the response: the store's
// whole cost. For the Redis store the runner starts its own redis-server on
// a free loopback port (no persistence) and counts the commands Redis
// processed per request (INFO stats), the cost docs/scaling.md quotes.
//
//   node bench/stores.mjs [--smoke]      (also: npm run bench -- stores)
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, fmt, jsonLines, LOADGEN, load, printRatios, printTable, ratio, spawnPinned, summarize, writeResult } from './lib.mjs';

const CONTENDERS = [
  { key: 'plain', label: 'no idempotent()' },
  { key: 'memory', label: 'memoryStore' },
  { key: 'file', label: 'fileStore (fsync per response)' },
  { key: 'redis', label: 'redisIdempotencyStore' },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** One command over raw RESP (no client library here): its reply's first line and the rest. */
function redisCommand(port, cmd) {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(2000, () => (s.destroy(), reject(new Error(`redis ${cmd}: no answer`))));
    s.on('error', reject);
    s.on('connect', () => s.write(`${cmd}\r\n`));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      // A simple string, or a bulk string whose length line is complete and whose body arrived.
      if (buf.startsWith('+') && buf.includes('\r\n')) return s.destroy(), resolve(buf);
      const m = /^\$(\d+)\r\n/.exec(buf);
      if (m !== null && buf.length >= m[0].length + Number(m[1])) return s.destroy(), resolve(buf);
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  child.on('error', () => {});
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await redisCommand(port, 'PING').then((r) => r.startsWith('+PONG'), () => false)) {
      return { port, url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return null;
}

async function commandsProcessed(port) {
  const info = await redisCommand(port, 'INFO stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function startServer(kind, redisUrl) {
  const child = spawnPinned('server', [process.execPath, join(BENCH_DIR, 'stores-server.mjs'), kind, ...(redisUrl ? [redisUrl] : [])]);
  const ready = await jsonLines(child).next((m) => m.ready === true, 30_000);
  const exited = new Promise((r) => child.once('exit', r));
  return {
    port: ready.port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.write('exit\n');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function runStores({ seconds, rounds, warmup, connections }) {
  const title = 'Idempotent POSTs per second by store (a new Idempotency-Key per request)';
  console.log(`\n## ${title}`);
  if (LOADGEN !== 'wrk') {
    console.log('skipped: this benchmark needs wrk (its requests carry a new key each: bench/wrk/idempotent.lua)');
    return { name: 'stores', title, ratios: [] };
  }
  const redis = await startRedis();
  const contenders = CONTENDERS.filter((c) => c.key !== 'redis' || redis !== null);
  if (redis === null) console.log('note: redis-server is not installed: the Redis store is left out (apt-get install redis-server)');
  console.log(`${connections} connections, wrk ${seconds} s × ${rounds} rounds per contender, alternating${warmup > 0 ? `, after ${warmup} s warm-up each` : ''}`);
  const servers = {};
  try {
    for (const c of contenders) servers[c.key] = await startServer(c.key, redis?.url);
    if (warmup > 0) for (const c of contenders) await load({ port: servers[c.key].port, connections, seconds: warmup, script: 'idempotent.lua' });
    const runs = Object.fromEntries(contenders.map((c) => [c.key, []]));
    let redisCommands = 0;
    let redisRequests = 0;
    for (let r = 0; r < rounds; r++) {
      for (const c of contenders) {
        const before = c.key === 'redis' ? await commandsProcessed(redis.port) : 0;
        const res = await load({ port: servers[c.key].port, connections, seconds, script: 'idempotent.lua' });
        if (c.key === 'redis') {
          redisCommands += (await commandsProcessed(redis.port)) - before - 1; // the INFO itself
          redisRequests += res.requests;
        }
        runs[c.key].push(res);
      }
    }
    const stats = {};
    for (const c of contenders) {
      const rs = runs[c.key];
      stats[c.key] = { label: c.label, rps: summarize(rs.map((x) => x.rps)), latencyP99Ms: summarize(rs.map((x) => x.latencyP99Ms)), errors: rs.reduce((a, x) => a + x.errors, 0) };
    }
    printTable(
      ['store', 'median req/s', 'min', 'max', 'p99 ms', 'errors'],
      contenders.map((c) => {
        const s = stats[c.key];
        return [c.label, fmt(s.rps.median), fmt(s.rps.min), fmt(s.rps.max), fmt(s.latencyP99Ms.median, 2), fmt(s.errors)];
      }),
    );
    const ratios = contenders.filter((c) => c.key !== 'plain').map((c) => ratio(`${c.label} / no idempotent()`, stats[c.key].rps.median / stats.plain.rps.median, null));
    const perRequest = redisRequests > 0 ? redisCommands / redisRequests : null;
    console.log('');
    printRatios(ratios);
    if (perRequest !== null) console.log(`Redis commands per idempotent POST: ${fmt(perRequest, 2)} (2 round trips: the begin and complete scripts, each counted with the GET and SET it runs)`);
    const file = writeResult('stores', { title, config: { seconds, rounds, warmup, connections }, contenders: stats, redisCommandsPerRequest: perRequest, ratios });
    console.log(`→ ${file}`);
    return { name: 'stores', title, ratios };
  } finally {
    for (const s of Object.values(servers)) await s.stop();
    redis?.stop();
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  await runStores({ seconds: smoke ? 1 : 3, rounds: smoke ? 1 : 5, warmup: smoke ? 0 : 1, connections: 50 });
}
