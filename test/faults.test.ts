// Fault tests: faulty callbacks in bulk (with a heap check), clients that
// vanish, stopCallback under load, slow readers. The bulk loops run against a
// server in a child process (test/helpers/faults-server.ts) started with
// --expose-gc, so its heap is measured after a real GC.
import { connect, Socket } from 'node:net';
import t from 'tap';
import { ServerProcess, type Stats } from './helpers/faults-child.js';
import { LoadClient, prng, ResponseReader, sleep, type WireResponse } from './helpers/faults-wire.js';
import { serve } from './helpers/wire.js';
import { stopCallback } from '../src/server/server.js';

const MiB = 1024 * 1024;
const req = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

/**
 * Paths whose callback fails in a way the client sees as a keep-alive 500:
 * the onError key expected (`code ?? name`) and how many of each the loop sends.
 * Thrown and rejected: 10 000 each group; garbage dictionaries: 400 × 26 = 10 400.
 */
const FAIL_500: Record<string, [key: string, count: number]> = {
  '/throw': ['Error', 5000],
  '/throw-string': ['string', 5000],
  '/reject': ['Error', 3334],
  '/async-throw': ['TypeError', 3333],
  '/reject-undefined': ['undefined', 3333],
  '/null': ['ERR_INVALID_RESPONSE', 400],
  '/undefined': ['ERR_INVALID_RESPONSE', 400],
  '/number': ['ERR_INVALID_RESPONSE', 400],
  '/string': ['ERR_INVALID_RESPONSE', 400],
  '/array': ['ERR_INVALID_RESPONSE', 400],
  '/resolve-null': ['ERR_INVALID_RESPONSE', 400],
  '/nostatus': ['ERR_INVALID_RESPONSE', 400],
  '/status-700': ['ERR_INVALID_RESPONSE', 400],
  '/status-float': ['ERR_INVALID_RESPONSE', 400],
  '/status-string': ['ERR_INVALID_RESPONSE', 400],
  '/status-nan': ['ERR_INVALID_RESPONSE', 400],
  '/status-101': ['ERR_INVALID_RESPONSE', 400],
  '/crlf-value': ['ERR_INVALID_RESPONSE', 400],
  '/lf-value': ['ERR_INVALID_RESPONSE', 400],
  '/nul-value': ['ERR_INVALID_RESPONSE', 400],
  '/crlf-name': ['ERR_INVALID_RESPONSE', 400],
  '/crlf-array': ['ERR_INVALID_RESPONSE', 400],
  '/crlf-statusmsg': ['ERR_INVALID_RESPONSE', 400],
  '/headers-string': ['ERR_INVALID_RESPONSE', 400],
  '/header-object': ['ERR_INVALID_RESPONSE', 400],
  '/message-number': ['ERR_INVALID_RESPONSE', 400],
  '/message-object': ['ERR_INVALID_RESPONSE', 400],
  '/message-bool': ['ERR_INVALID_RESPONSE', 400],
  '/version-2': ['ERR_INVALID_RESPONSE', 400],
  '/length-mismatch': ['ERR_INVALID_RESPONSE', 400],
  '/te-gzip': ['ERR_INVALID_RESPONSE', 400],
};
const GROUPS: Record<string, string[]> = {
  thrown: ['/throw', '/throw-string'],
  rejected: ['/reject', '/async-throw', '/reject-undefined'],
  garbage: Object.keys(FAIL_500).slice(5),
};

const SCALE = Number(process.env['FAULTS_SCALE'] ?? '1');

const fileStart = performance.now();
const sp = await ServerProcess.spawn();
t.teardown(() => sp.kill());
t.teardown(() => t.comment(`faults.test.ts: ${((performance.now() - fileStart) / 1000).toFixed(1)} s in all`));

/** Mismatches collected over a loop: counted, the first few kept for the report. */
class Tally {
  count = 0;
  examples: string[] = [];
  add(msg: string): void {
    this.count++;
    if (this.examples.length < 8) this.examples.push(msg);
  }
}

/** Checks one response of the callback-fault loop against what its path must produce. */
function check(path: string, r: WireResponse | undefined, bad: Tally): void {
  if (r === undefined) return bad.add(`${path}: no response`);
  const where = `${path} → ${r.status} ${JSON.stringify(r.headers)} ${JSON.stringify(r.body.slice(0, 80))}`;
  if (/evil|secret|smuggled/.test(JSON.stringify(r.headers) + r.body)) bad.add(`${where}: failure details leaked`);
  if (path === '/ok') {
    if (r.status !== 200 || r.body !== 'ok' || r.close) bad.add(`${where}: expected 200 ok keep-alive`);
  } else if (path === '/big') {
    if (r.status !== 200 || !r.chunked || r.bodyLength !== 8 * MiB || r.close) bad.add(`${where} (${r.bodyLength} bytes): expected 200, 8 MiB chunked`);
  } else if (path === '/big-cl') {
    if (r.status !== 200 || r.chunked || r.headers['content-length'] !== String(8 * MiB) || r.bodyLength !== 8 * MiB || r.close) bad.add(`${where}: expected 200, 8 MiB`);
  } else if (path === '/hang' || path === '/late') {
    if (r.status !== 503 || !r.close || !r.body.startsWith('Service Unavailable')) bad.add(`${where}: expected 503 + close`);
  } else if (path in FAIL_500) {
    if (r.status !== 500 || r.body !== 'Internal Server Error\n' || r.close) bad.add(`${where}: expected generic keep-alive 500`);
  } else bad.add(`${where}: unexpected path`);
}

interface Plan {
  /** Per keep-alive connection: the paths it requests, in order. */
  lanes: string[][];
  /** Connections that each send [fault, /ok, closer, /ok] where the closer (/hang, /late: 503; /bad-chunk: cut) ends the connection. */
  closers: string[];
}

/** Spreads the FAIL_500 counts (× `scale`), `/ok`s and `bigs` 8 MiB responses over `laneCount` keep-alive connections, shuffled; `timeouts` and `badChunks` get a connection each. */
function makePlan(seed: number, scale: number, oks: number, bigs: number, timeouts: number, badChunks: number, laneCount: number): Plan {
  const rnd = prng(seed);
  const all: string[] = [];
  for (const [p, [, n]] of Object.entries(FAIL_500)) for (let k = 0; k < Math.max(1, Math.round(n * scale)); k++) all.push(p);
  for (let k = 0; k < oks; k++) all.push('/ok');
  for (let k = 0; k < bigs; k++) all.push(k % 2 === 0 ? '/big' : '/big-cl');
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  const lanes: string[][] = Array.from({ length: laneCount }, () => []);
  all.forEach((p, i) => lanes[i % laneCount]!.push(p));
  const tos: string[] = [];
  for (let k = 0; k < timeouts; k++) tos.push(k % 2 === 0 ? '/hang' : '/late');
  for (let k = 0; k < badChunks; k++) tos.splice(Math.floor(rnd() * tos.length), 0, '/bad-chunk');
  return { lanes, closers: tos };
}

/** Runs a plan against `port`; returns what was requested by path and the mismatches. */
async function runPlan(port: number, plan: Plan, batch: number, closerLanes: number): Promise<{ sent: Record<string, number>; bad: Tally; clients: LoadClient[] }> {
  const sent: Record<string, number> = {};
  const bump = (p: string): void => {
    sent[p] = (sent[p] ?? 0) + 1;
  };
  const bad = new Tally();
  const clients: LoadClient[] = [];
  const keepAlive = plan.lanes.map(async (paths) => {
    const c = new LoadClient(port);
    clients.push(c);
    await c.ready;
    for (let i = 0; i < paths.length; i += batch) {
      const part = paths.slice(i, i + batch);
      c.write(part.map((p) => req(p)).join(''));
      part.forEach(bump);
      const got = await c.take(part.length, 30_000);
      part.forEach((p, k) => check(p, got[k], bad));
      if (c.reader.error !== null) {
        bad.add(`malformed response stream: ${c.reader.error}`);
        return;
      }
      if (c.closed) {
        bad.add(`keep-alive connection closed by the server after ${i + got.length} responses`);
        return;
      }
    }
    c.socket.end();
  });
  const queue = [...plan.closers];
  const closerWorkers = Array.from({ length: closerLanes }, async () => {
    for (let rnd = prng(queue.length); queue.length > 0;) {
      const closer = queue.pop()!;
      const faults = Object.keys(FAIL_500);
      const first = faults[Math.floor(rnd() * faults.length)]!;
      // The /ok after the closing request was read and answered by its callback, but the
      // connection closes first: it must never reach the wire.
      const paths = [first, '/ok', closer, '/ok'];
      const c = new LoadClient(port);
      await c.ready;
      c.write(paths.map((p) => req(p)).join(''));
      paths.forEach(bump);
      const got = await c.take(4, 10_000);
      await c.whenClosed(5000).catch(() => bad.add(`${closer}: connection not closed`));
      if (c.reader.error !== null) bad.add(`malformed response stream: ${c.reader.error}`);
      if (closer === '/bad-chunk') {
        // The stream broke after the head: the response is cut short, never completed.
        paths.slice(0, 2).forEach((p, k) => check(p, got[k], bad));
        if (got.length !== 2 || c.reader.atBoundary) bad.add(`${closer}: ${got.length} complete responses, expected 2 and a truncated one`);
      } else {
        paths.slice(0, 3).forEach((p, k) => check(p, got[k], bad));
        if (got.length !== 3) bad.add(`${closer}: ${got.length} responses instead of 3 before the close`);
        if (!c.reader.atBoundary) bad.add(`${closer}: connection closed mid-response`);
      }
    }
  });
  await Promise.all([...keepAlive, ...closerWorkers]);
  await Promise.all(clients.map((c) => c.whenClosed(5000).catch(() => bad.add('keep-alive connection not closed after the client ended it'))));
  for (const c of clients) {
    if (c.untaken > 0 || !c.reader.atBoundary) bad.add(`keep-alive connection: ${c.untaken} responses more than requests, ${c.reader.partialBody} stray bytes`);
  }
  return { sent, bad, clients };
}

/** The onError keys a plan's requests must produce, exactly. */
function expectedErrors(sent: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [p, n] of Object.entries(sent)) {
    const key = p in FAIL_500 ? `${p} ${FAIL_500[p]![0]}` : p === '/hang' || p === '/late' ? `${p} ERR_CALLBACK_TIMEOUT` : p === '/bad-chunk' ? `${p} ERR_INVALID_RESPONSE` : null;
    if (key !== null) out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

const sortKeys = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

t.test('faulty callbacks in bulk: one well-formed answer each, onError once each, heap flat', async (t) => {
  // Every kind of failure 10 000 times (FAULTS_SCALE shrinks or grows the loop).
  const OKS = Math.round(10_000 * SCALE);
  const BIGS = Math.max(2, Math.round(64 * SCALE));
  const TIMEOUTS = Math.max(2, Math.round(10_000 * SCALE));
  const BAD_CHUNKS = Math.max(1, Math.round(1000 * SCALE));
  const LANES = 16;
  const BATCH = 64;
  const CLOSER_LANES = 200;
  const options = { callbackTimeout: 50, stopTimeout: 5000 };

  const { id, port } = await sp.start(options);
  // Warm-up: every kind a few times, so JIT code, buffer pools and caches exist before the baseline.
  const warm = await runPlan(port, makePlan(1, 0.02, 200, 4, 200, 20, LANES), BATCH, CLOSER_LANES);
  t.equal(warm.bad.count, 0, 'warm-up answers as expected', { examples: warm.bad.examples });
  const before = await sp.heap();
  await sp.call('reset');

  const start = performance.now();
  const plan = makePlan(2, SCALE, OKS, BIGS, TIMEOUTS, BAD_CHUNKS, LANES);
  const run = await runPlan(port, plan, BATCH, CLOSER_LANES);
  const ms = performance.now() - start;
  const total = Object.values(run.sent).reduce((a, b) => a + b, 0);
  const group = (ps: string[]): number => ps.reduce((a, p) => a + (run.sent[p] ?? 0), 0);
  t.comment(`callback faults: ${total} requests in ${(ms / 1000).toFixed(1)} s (${Math.round(total / (ms / 1000))}/s) over ${LANES} keep-alive ` +
    `connections (batches of ${BATCH}) + ${TIMEOUTS + BAD_CHUNKS} connections closed by the server: ` +
    `thrown ${group(GROUPS['thrown']!)}, rejected ${group(GROUPS['rejected']!)}, garbage ${group(GROUPS['garbage']!)} (${GROUPS['garbage']!.length} kinds) → 500; ` +
    `hang ${run.sent['/hang']} + late ${run.sent['/late']} → 503; stream yielding garbage ${run.sent['/bad-chunk']} → cut; ok ${run.sent['/ok']} and 8 MiB streamed ${group(['/big', '/big-cl'])} → 200`);
  for (const [name, ps] of Object.entries(GROUPS)) t.ok(group(ps) >= 10_000 * SCALE, `${name}: at least ${10_000 * SCALE} requests`);

  t.equal(run.bad.count, 0, 'every request got exactly one well-formed response with the right status', { examples: run.bad.examples });
  const stats = await sp.stats();
  t.same(sortKeys(stats.errors), sortKeys(expectedErrors(run.sent)), 'onError called exactly once per failure, with the right error');
  t.same(sortKeys(stats.calls), sortKeys(run.sent), 'every request reached the callback exactly once');
  t.same(stats.aborts, { '/hang': run.sent['/hang'], '/late': run.sent['/late'] }, 'every timed-out request saw its signal fire');
  for (const p of ['/big', '/big-cl']) {
    const s = stats.streams[p]!;
    t.same([s.started, s.finished, s.pulled], [run.sent[p], run.sent[p], run.sent[p]! * 8 * MiB], `${p}: every stream read to its end and finished`);
  }
  t.same(stats.unhandledRejections, [], 'no unhandled rejections in the server process');
  t.same(stats.uncaughtExceptions, [], 'no uncaught exceptions in the server process');

  t.equal(await sp.sockets(), 0, 'no server-side socket left once the clients closed');
  const after = await sp.heap();
  const growth = after.heapUsed - before.heapUsed;
  t.comment(`heap after warm-up ${mib(before.heapUsed)}, after the loop ${mib(after.heapUsed)} (growth ${mib(growth)}); rss ${mib(before.rss)} → ${mib(after.rss)}; external ${mib(before.external)} → ${mib(after.external)}`);
  t.ok(growth < 10 * MiB, `heap stays flat (growth ${mib(growth)} < 10 MiB)`);
  const stopped = await sp.stop(id);
  t.comment(`stopCallback with no connection left: ${stopped.ms.toFixed(1)} ms`);
  // A connection left behind would hold the stop for stopTimeout (10 s by
  // default); 2 s leaves room for a busy machine and still tells them apart.
  t.ok(stopped.ms < 2000, `stopCallback resolves at once (${stopped.ms.toFixed(1)} ms): the registration holds no connection`);
});

/** Runs `n` jobs, `width` at a time. */
async function parallel(n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await job(next++);
  }));
}

/**
 * One client that vanishes: connects, sends `first`; once `waitFor` holds for
 * what it received (if given), sends `then`; then goes away with a FIN
 * (destroy) or a reset (RST).
 */
async function vanishing(port: number, how: 'fin' | 'rst', first: string, waitFor?: (received: Buffer) => boolean, then?: string | Buffer): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let received = Buffer.alloc(0);
  let wake: () => void = () => {};
  socket.on('data', (d: Buffer) => {
    if (received.length < 256 * 1024) received = Buffer.concat([received, d]);
    wake();
  });
  socket.on('close', () => wake());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  await new Promise<void>((resolve) => socket.write(first, 'latin1', () => resolve()));
  if (waitFor !== undefined) {
    const deadline = Date.now() + 5000;
    while (!waitFor(received) && !socket.destroyed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    if (!waitFor(received)) throw new Error(`vanishing client: never saw what it waited for; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`);
  }
  if (then !== undefined) await new Promise<void>((resolve) => socket.write(then, () => resolve()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  if (how === 'rst') socket.resetAndDestroy();
  else socket.destroy();
  await closed;
}

/** Waits until `pred()` holds, polling; false after `ms`. */
async function eventually(pred: () => Promise<boolean> | boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

t.test('clients that vanish mid-head, mid-body and mid-response', async (t) => {
  const N = Math.max(4, Math.round(200 * SCALE)); // per scenario and way of vanishing
  const { id, port } = await sp.start({ stopTimeout: 5000 });
  const H = 'Host: t\r\n';
  const got100 = (b: Buffer): boolean => b.includes('HTTP/1.1 100 Continue\r\n\r\n');
  const gotBody = (b: Buffer): boolean => {
    const end = b.indexOf('\r\n\r\n');
    return end !== -1 && b.length - end - 4 >= 1024;
  };
  const scenarios: Record<string, (how: 'fin' | 'rst') => Promise<void>> = {
    'mid-request-line': (how) => vanishing(port, how, 'GET /ok HT'),
    'mid-head': (how) => vanishing(port, how, `GET /ok HTTP/1.1\r\n${H}X-Long: ${'x'.repeat(2000)}`),
    // The callback is reading (the client saw 100 Continue) when the client goes.
    'mid-body, Content-Length': (how) =>
      vanishing(port, how, `POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n`, got100, 'x'.repeat(5000)),
    'mid-body, chunked, in chunk data': (how) =>
      vanishing(port, how, `POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n`, got100, `10\r\n${'y'.repeat(16)}\r\n2000\r\n${'y'.repeat(3000)}`),
    'mid-body, chunked, in a chunk-size line': (how) =>
      vanishing(port, how, `POST /upload HTTP/1.1\r\n${H}Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n`, got100, `10\r\n${'y'.repeat(16)}\r\n1f`),
    'mid-body, no 100-continue (head and part of the body at once)': (how) =>
      vanishing(port, how, `POST /upload HTTP/1.1\r\n${H}Content-Length: 1000000\r\n\r\n${'z'.repeat(3000)}`),
    'mid-body, the callback answers without reading': (how) =>
      vanishing(port, how, `POST /ok HTTP/1.1\r\n${H}Content-Length: 1000000\r\n\r\n`, (b) => b.includes('\r\n\r\nok'), 'w'.repeat(5000)),
    // The callback waits for its signal.
    'before the response': (how) => vanishing(port, how, `GET /wait HTTP/1.1\r\n${H}\r\n`, () => true),
    // 256 MiB responses, the client goes after the first KiB of content.
    'mid-response, async generator, chunked': (how) => vanishing(port, how, `GET /stream HTTP/1.1\r\n${H}\r\n`, gotBody),
    'mid-response, async generator, Content-Length': (how) => vanishing(port, how, `GET /stream-cl HTTP/1.1\r\n${H}\r\n`, gotBody),
    'mid-response, sync generator': (how) => vanishing(port, how, `GET /stream-sync HTTP/1.1\r\n${H}\r\n`, gotBody),
    'mid-response, file-like': (how) => vanishing(port, how, `GET /stream-file HTTP/1.1\r\n${H}\r\n`, gotBody),
  };
  const names = Object.keys(scenarios);
  const runAll = async (n: number): Promise<void> => {
    // Interleaved: every scenario and both ways of vanishing, 24 clients at a time.
    await parallel(n * names.length * 2, 24, (i) => scenarios[names[i % names.length]!]!(Math.floor(i / names.length) % 2 === 0 ? 'fin' : 'rst'));
    await eventually(async () => (await sp.sockets()) === 0);
  };

  await runAll(4); // warm-up
  const before = await sp.heap();
  await sp.call('reset');
  const start = performance.now();
  await runAll(N);
  const ms = performance.now() - start;
  t.comment(`vanishing clients: ${N * names.length * 2} connections (${names.length} scenarios × ${N} × FIN/RST) in ${(ms / 1000).toFixed(1)} s`);
  t.ok(await eventually(async () => (await sp.sockets()) === 0), 'the server closed every connection of a vanished client');

  // The server keeps serving.
  const c = new LoadClient(port);
  await c.ready;
  c.write(req('/ok', 'Connection: close\r\n'));
  const [r] = await c.take(1);
  t.equal(r?.status, 200, 'a valid request afterwards gets 200');
  await c.whenClosed();

  const stats: Stats = await sp.stats();
  t.same(stats.errors, {}, 'onError got nothing: a client that goes away is not a server failure');
  t.same(stats.unhandledRejections, [], 'no unhandled rejections in the server process');
  t.same(stats.uncaughtExceptions, [], 'no uncaught exceptions in the server process');
  // Request bodies: every read of a vanished body rejected; none completed.
  const uploads = stats.calls['/upload'] ?? 0;
  const readErrors = Object.values(stats.readErrors).reduce((a, b) => a + b, 0);
  t.comment(`mid-body: /upload called ${uploads} times; reads rejected with ${JSON.stringify(stats.readErrors)}`);
  t.ok(uploads >= 3 * N * 2, 'the upload callbacks ran (at least those that sent 100 Continue)');
  t.equal(readErrors, uploads, 'every body read of a vanished client rejected');
  t.equal(stats.uploadsComplete, 0, 'no truncated body was taken for a complete one');
  t.same(Object.keys(stats.readErrors).filter((k) => k !== 'ERR_CLIENT_GONE' && k !== 'UNEXPECTED_EOF'), [], 'reads reject with ERR_CLIENT_GONE (reset) or UNEXPECTED_EOF (FIN)');
  t.equal(stats.aborts['/wait'], 2 * N, 'every waiting callback saw its signal fire');

  // Responses: the server stops pulling from a message stream whose client is gone, and closes it.
  const pulledThen = Object.fromEntries(Object.entries(stats.streams).map(([p, s]) => [p, s.pulled]));
  await sleep(200);
  const later = await sp.stats();
  for (const p of ['/stream', '/stream-cl', '/stream-sync', '/stream-file']) {
    const s = later.streams[p]!;
    t.comment(`${p}: ${s.started} started, ${s.finished} closed, close() calls ${s.closeCalls}, ${mib(s.pulled / Math.max(1, s.started))} pulled per response`);
    t.equal(s.started, 2 * N, `${p}: every response started`);
    t.equal(s.pulled, pulledThen[p], `${p}: nothing pulled once the clients are gone`);
    t.ok(s.pulled / s.started < 16 * MiB, `${p}: pulling stopped soon after the client went (not the whole 256 MiB)`);
  }
  t.equal(later.streams['/stream-file']!.finished, 2 * N, '/stream-file: every file-like closed');
  t.equal(later.streams['/stream-file']!.closeCalls, 2 * N, '/stream-file: close() called exactly once each');
  const gens = ['/stream', '/stream-cl', '/stream-sync'];
  t.same(gens.map((p) => later.streams[p]!.finished), gens.map(() => 2 * N), 'every message generator is closed (its finally ran) when its client vanishes');

  t.equal(await sp.sockets(), 0, 'no server-side socket left');
  const after = await sp.heap();
  t.comment(`heap after warm-up ${mib(before.heapUsed)}, after ${N * names.length * 2} vanished clients ${mib(after.heapUsed)} (growth ${mib(after.heapUsed - before.heapUsed)})`);
  t.ok(after.heapUsed - before.heapUsed < 10 * MiB, 'heap stays flat');
  const stopped = await sp.stop(id);
  t.ok(stopped.ms < 2000, `stopCallback resolves at once (${stopped.ms.toFixed(1)} ms, not the 10 s stopTimeout): no connection left behind`);
});

t.test('stopCallback while 100 requests are in flight', async (t) => {
  const BODY = 256 * 1024;
  const body = Buffer.alloc(BODY, 0x73);
  let started = 0;
  const rnd = prng(3);
  const { id, port } = await serve(t, async (r) => {
    if (r.path === '/fast') return { statuscode: 200, message: 'fast' };
    started++;
    await sleep(100 + Math.floor(rnd() * 200));
    if (r.path === '/slow-buffer') return { statuscode: 200, message: body };
    // Streamed in 16 KiB pieces with a pause between them: still being written when the stop comes.
    return {
      statuscode: 200,
      message: (async function* () {
        for (let k = 0; k < BODY / 16384; k++) {
          if (k % 4 === 0) await sleep(1);
          yield body.subarray(0, 16384);
        }
      })(),
    };
  }, { stopTimeout: 5000 });

  // Idle keep-alive connections: closed at once, nothing sent.
  const idle = await Promise.all(Array.from({ length: 20 }, async () => {
    const c = new LoadClient(port);
    await c.ready;
    c.write(req('/fast'));
    await c.take(1);
    return c;
  }));
  const busy = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const c = new LoadClient(port);
    await c.ready;
    c.write(req(i % 2 === 0 ? '/slow-buffer' : '/slow-stream'));
    return c;
  }));
  const done: number[] = [];
  for (const c of busy) c.take(1, 10_000).then(() => done.push(performance.now()), () => {});
  t.ok(await eventually(() => started === 100), 'all 100 callbacks running');

  const t0 = performance.now();
  const stopping = stopCallback(id).then(() => performance.now());
  // New connections after the call: refused (the listener is closed), or at least never answered.
  const late = await Promise.all(Array.from({ length: 20 }, async () => {
    const c = new LoadClient(port);
    const outcome = await c.ready.then(() => 'connected', (e: NodeJS.ErrnoException) => e.code ?? 'error');
    if (outcome === 'connected') {
      c.write(req('/fast'));
      await c.whenClosed(2000).catch(() => {});
    }
    return { outcome, responses: c.reader.responses.length };
  }));
  const tStop = await stopping;
  const stopMs = tStop - t0;

  const bad = new Tally();
  for (const c of busy) {
    await c.whenClosed(6000).catch(() => bad.add('connection not closed'));
    const [r] = c.reader.responses;
    if (r === undefined) bad.add(`no response (socket error ${c.socketError ?? 'none'}, ${c.reader.partialBody} body bytes)`);
    else if (r.status !== 200 || r.bodyLength !== BODY || !r.close) bad.add(`status ${r.status}, ${r.bodyLength} bytes, close=${r.close}`);
    if (c.reader.responses.length > 1) bad.add('more than one response');
    if (c.socketError !== null) bad.add(`socket error ${c.socketError} (reset mid-response?)`);
    if (!c.ended) bad.add('no FIN from the server');
    if (c.reader.error !== null) bad.add(`malformed: ${c.reader.error}`);
  }
  t.equal(bad.count, 0, 'every in-flight request answered completely: 200, full body, Connection: close, then FIN (no reset)', { examples: bad.examples });
  t.same(idle.map((c) => [c.closed, c.reader.responses.length, c.socketError]), idle.map(() => [true, 1, null]), 'idle keep-alive connections closed quietly');
  t.same(late.filter((l) => l.outcome !== 'ECONNREFUSED'), [], 'connections after the call are refused');
  const last = Math.max(...done);
  t.comment(`stopCallback with 100 in flight: resolved after ${stopMs.toFixed(0)} ms, ${(tStop - last).toFixed(0)} ms after the last response (stopTimeout 5000)`);
  t.equal(done.length, 100, 'all 100 responses arrived');
  t.ok(stopMs < 2500, 'resolved well before stopTimeout');
  t.ok(tStop - last < 500, 'resolved right after the last response');
  t.ok(tStop >= last - 50, 'not before the last response was sent');
});

t.test('stopCallback answers every request it already accepted, pipelined ones too', async (t) => {
  let started = 0;
  const { id, port } = await serve(t, async (r) => {
    started++;
    await sleep(100);
    return { statuscode: 200, message: r.path };
  }, { stopTimeout: 5000 });
  const clients = await Promise.all(Array.from({ length: 10 }, async () => {
    const c = new LoadClient(port);
    await c.ready;
    c.write(req('/a') + req('/b'));
    return c;
  }));
  // Both callbacks of every connection run (maxPipelined 16) before the stop.
  t.ok(await eventually(() => started === 20), 'all 20 callbacks running');
  await stopCallback(id);
  await Promise.all(clients.map((c) => c.whenClosed(2000).catch(() => {})));
  const got = clients.map((c) => c.reader.responses.map((r) => `${r.status} ${r.body} ${r.close ? 'close' : 'keep-alive'}`));
  t.comment(`pipelined pair on stop, first connection got: ${JSON.stringify(got[0])}`);
  t.same(got, clients.map(() => ['200 /a keep-alive', '200 /b close']), 'both answered, the last with Connection: close');
});

/** The server-side socket of a connection in this process (found among the active handles). */
function serverSocketOf(port: number, client: Socket): Socket | undefined {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.find((h): h is Socket => h instanceof Socket && h.localPort === port && h.remotePort === client.localPort);
}

/** A response of `total` bytes streamed in 64 KiB chunks; counts what was pulled and whether its finally ran. */
function meteredStream(total: number): { stream: AsyncGenerator<Buffer>; pulled: () => number; closed: () => boolean } {
  const chunk = Buffer.alloc(64 * 1024, 0x6d);
  let pulled = 0;
  let closed = false;
  const stream = (async function* () {
    try {
      while (pulled < total) {
        pulled += chunk.length;
        yield chunk;
      }
    } finally {
      closed = true;
    }
  })();
  return { stream, pulled: () => pulled, closed: () => closed };
}

t.test('a client that reads a large response very slowly gets all of it, with backpressure', async (t) => {
  const TOTAL = 16 * MiB;
  let metered: ReturnType<typeof meteredStream> | null = null;
  const errors: unknown[] = [];
  const { port } = await serve(t, () => {
    metered = meteredStream(TOTAL);
    return { statuscode: 200, message: metered.stream };
  }, { writeTimeout: 1000, onError: (e) => errors.push(e) });
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((r) => socket.once('connect', r));
  const reader = new ResponseReader(64);
  let received = 0;
  let maxGap = 0;
  let maxServerBuffer = 0;
  let serverSocket: Socket | undefined;
  const sample = (): void => {
    serverSocket ??= serverSocketOf(port, socket);
    maxServerBuffer = Math.max(maxServerBuffer, serverSocket?.writableLength ?? 0);
    if (metered !== null) maxGap = Math.max(maxGap, metered.pulled() - received);
  };
  const sampler = setInterval(sample, 5);
  socket.pause();
  socket.write(req('/'));
  const start = performance.now();
  let stalls = 0;
  // One socket read (≤ 64 KiB) every 4 ms, and a 300 ms stop after every 4 MiB (under writeTimeout).
  while (reader.responses.length === 0 && reader.error === null && !socket.destroyed) {
    const d = await new Promise<Buffer | null>((resolve) => {
      const onData = (b: Buffer): void => {
        socket.off('close', onClose);
        socket.pause();
        resolve(b);
      };
      const onClose = (): void => {
        socket.off('data', onData);
        resolve(null);
      };
      socket.once('data', onData);
      socket.once('close', onClose);
      socket.resume();
    });
    if (d === null) break;
    const before = received;
    received += d.length;
    reader.push(d);
    sample();
    if (Math.floor(received / (4 * MiB)) > Math.floor(before / (4 * MiB))) {
      stalls++;
      await sleep(300);
    } else await sleep(4);
  }
  clearInterval(sampler);
  const ms = performance.now() - start;
  const [r] = reader.responses;
  t.equal(r?.status, 200);
  t.equal(r?.bodyLength, TOTAL, 'every byte arrived');
  t.equal(reader.error, null, 'well-formed');
  t.same(errors, [], 'not cut by writeTimeout: the client kept reading');
  t.comment(`slow reader: ${mib(TOTAL)} in ${(ms / 1000).toFixed(1)} s (${stalls} stalls of 300 ms); ` +
    `server ahead of the reader by at most ${mib(maxGap)} (kernel buffers), server socket buffer at most ${(maxServerBuffer / 1024).toFixed(0)} KiB`);
  t.ok(serverSocket !== undefined, 'found the server-side socket to sample');
  t.ok(maxServerBuffer <= 256 * 1024, 'the server does not buffer the response in memory: its socket buffer stays small');
  t.ok(maxGap < 12 * MiB, 'the server pulled from the message only as fast as the client read (plus kernel buffers), not the whole response ahead');
  socket.destroy();
});

t.test('a client that never reads: cut by writeTimeout, the message stream stops being pulled', async (t) => {
  const errors: { code?: string }[] = [];
  let metered: ReturnType<typeof meteredStream> | null = null;
  const { id, port } = await serve(t, () => {
    metered = meteredStream(512 * MiB);
    return { statuscode: 200, message: metered.stream };
  }, { writeTimeout: 300, onError: (e) => errors.push(e as { code?: string }) });
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.pause(); // never reads
  socket.write(req('/'));
  let serverSocket: Socket | undefined;
  let maxServerBuffer = 0;
  let lastPull = 0;
  let lastPullAt = performance.now();
  let cutAt = -1;
  const sampler = setInterval(() => {
    if (serverSocket === undefined) {
      serverSocket = serverSocketOf(port, socket);
      // The paused client would only see the reset when it reads: watch the server's side.
      serverSocket?.once('close', () => (cutAt = performance.now()));
    }
    maxServerBuffer = Math.max(maxServerBuffer, serverSocket?.writableLength ?? 0);
    const p = metered?.pulled() ?? 0;
    if (p !== lastPull) {
      lastPull = p;
      lastPullAt = performance.now();
    }
  }, 5);
  await eventually(() => cutAt > 0, 5000);
  clearInterval(sampler);
  t.ok(cutAt > 0, 'the server closed the connection');
  const stalledFor = cutAt - lastPullAt;
  t.comment(`never-reading client: the server pulled ${mib(lastPull)} of 512 MiB, then waited ${stalledFor.toFixed(0)} ms (writeTimeout 300) before cutting; server socket buffer at most ${(maxServerBuffer / 1024).toFixed(0)} KiB`);
  t.ok(stalledFor >= 200 && stalledFor < 1500, 'cut about writeTimeout after the writes stopped');
  t.ok(lastPull < 64 * MiB, 'pulling stopped once the socket was full');
  t.same(errors.map((e) => e.code), ['ERR_WRITE_TIMEOUT'], 'reported once');
  await sleep(50);
  t.equal(metered!.pulled(), lastPull, 'nothing pulled after the cut');
  t.ok(metered!.closed(), 'the message generator was closed (its finally ran)');
  const start = performance.now();
  await stopCallback(id);
  t.ok(performance.now() - start < 200, 'stopCallback resolves at once: the cut connection is gone');
  socket.destroy();
});

t.test('hostile response objects (throwing getters, thenables, proxies) cannot take the server down', async (t) => {
  const { id, port } = await sp.start({ stopTimeout: 1000 });
  await sp.call('reset');
  const paths = ['/then-getter-throws', '/then-throws', '/proxy-throws', '/close-getter-throws'];
  const outcome: Record<string, string> = {};
  for (const p of paths) {
    // The request, then a plain one pipelined behind it on the same connection.
    const c = new LoadClient(port);
    await c.ready;
    c.write(req(p) + req('/ok', 'Connection: close\r\n'));
    const got = await c.take(2, 1500).catch(() => c.reader.responses);
    outcome[p] = got.map((r) => r.status).join(' ') || 'no response';
    c.socket.destroy();
  }
  const stats = await sp.stats();
  t.comment(`hostile objects: ${JSON.stringify(outcome)}; uncaught exceptions ${stats.uncaughtExceptions.length}, unhandled rejections ${stats.unhandledRejections.length}`);
  t.same({ ...outcome, uncaught: stats.uncaughtExceptions.length, unhandled: stats.unhandledRejections.length }, {
    '/then-getter-throws': '500 200',
    '/then-throws': '500 200',
    '/proxy-throws': '500 200',
    // close() failing is ignored by design; its getter failing must be too.
    '/close-getter-throws': '200 200',
    uncaught: 0,
    unhandled: 0,
  }, 'a 500 (or the response) and the next request answered; nothing escapes to the process');
  await sp.stop(id);
});

t.test('a stream that never waits, to a client that reads at once, does not keep the server from other connections', async (t) => {
  // The server runs in its own process: a fast reader there keeps every
  // write completing at once, so only the writer's own turn-taking lets
  // the event loop reach the other connections.
  const { id, port } = await sp.start({});
  const reader = connect({ host: '127.0.0.1', port });
  reader.on('error', () => {});
  let got = 0;
  let enough: () => void = () => {};
  const reading = new Promise<void>((resolve) => (enough = resolve));
  reader.on('data', (d: Buffer) => {
    got += d.length;
    if (got > 32 * MiB) enough();
  });
  await new Promise((r) => reader.once('connect', r));
  reader.write(req('/endless'));
  await reading;
  // While it streams: a new connection, and a request on it, are answered.
  const answers: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c = connect({ host: '127.0.0.1', port });
    c.on('error', () => {});
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      c.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\nok')) resolve(text);
      });
      c.once('connect', () => c.write(req('/ok')));
      setTimeout(() => resolve(text), 5000);
    });
    c.destroy();
    if (reply.startsWith('HTTP/1.1 200 ')) answers.push(i);
  }
  t.same(answers, [0, 1, 2, 3, 4], 'every other request answered while the endless stream went on');
  t.ok(got > 32 * MiB, 'the stream kept flowing');
  reader.destroy();
  await sp.stop(id);
});
