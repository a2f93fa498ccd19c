/**
 * Child of test/sessions-memory.test.ts (run with --expose-gc): creates
 * sessions over real sockets (pipelined GETs without a cookie, each a new
 * session), lets them be reaped, and prints heapUsed after a full GC at
 * the start, with the sessions live, and after reaping, as JSON.
 *
 *   node --expose-gc --import @tapjs/typescript/import sessions-memory-child.ts [count]
 */
import { connect } from 'node:net';
import { boundAddress, registerCallback, stopCallback, text } from '../../src/index.js';
import { sessions } from '../../src/sessions/index.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const REAP_AFTER = Number(process.argv[3] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function heap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

let finals = 0;
const app = sessions(async (session) => {
  try {
    const req = await session.next();
    await session.next(text(`hello ${req.path}\n`));
  } finally {
    finals++;
  }
}, { reapAfter: REAP_AFTER, grace: 200, maxSessions: Infinity, onError: null });
const id = await registerCallback(['127.0.0.1', 0], app.callback, { onError: null, maxPipelined: 64 });
const port = boundAddress(id)[1];

/** n pipelined requests on one connection; resolves with the number of 200s. */
function batch(n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let seen = 0;
    let tail = '';
    s.setEncoding('latin1').on('data', (d: string) => {
      const text = tail + d;
      let at = text.indexOf('HTTP/1.1 200 OK');
      while (at !== -1) {
        seen++;
        at = text.indexOf('HTTP/1.1 200 OK', at + 1);
      }
      tail = text.slice(-20);
      if (tail.includes('HTTP/1.1 200 OK')) tail = tail.slice(tail.lastIndexOf('HTTP/1.1 200 OK') + 1);
    });
    s.on('error', reject);
    s.on('close', () => resolve(seen));
    const one = 'GET /x HTTP/1.1\r\nHost: m\r\n\r\n';
    s.end(one.repeat(n - 1) + 'GET /x HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n');
  });
}

async function create(n: number): Promise<number> {
  let made = 0;
  const per = 5000;
  for (let i = 0; i < n; i += per * 4) {
    const counts = await Promise.all([0, 1, 2, 3].map((k) => Math.min(per, Math.max(0, n - i - k * per))).filter((c) => c > 0).map(batch));
    made += counts.reduce((a, b) => a + b, 0);
  }
  return made;
}

async function reaped(): Promise<void> {
  while (app.sessions().length > 0) await sleep(100);
}

// Warm up: the same code paths once (JIT, the server's buffers), then reaped.
await create(4000);
await reaped();
const baseline = await heap();
const t0 = performance.now();
const created = await create(COUNT);
const createMs = performance.now() - t0;
const live = app.sessions().length;
const peak = await heap();
await reaped();
const after = await heap();
await stopCallback(id);
await app.close();
console.log(JSON.stringify({ count: COUNT, created, live, createMs, baseline, peak, after, finals, rss: process.memoryUsage().rss }));
