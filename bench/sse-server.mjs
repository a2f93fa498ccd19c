// The SSE fan-out benchmark's server, in its own process (pinned to the
// server core, --expose-gc) so that its CPU and memory are measured alone.
//
//   node bench/sse-server.mjs <ours|node>
//
// Every GET opens an event stream and joins the watchers. Prints
// `{"ready":true,"port":N,"pid":N}`, then answers stdin commands:
//   mem          → `{"mem":{...}}` after a full GC
//   cpu          → `{"cpu":{user,system}}`
//   watchers     → `{"watchers":N}`
//   run <E> <B>  → emits E events to every watcher, B per event-loop turn,
//                  then `{"emitted":E,"ms":N}`
//   exit
// The source does not wait for any one watcher (one slow watcher must not
// hold the others back); each stream's own queue absorbs the bursts.
//
// ours: eventStream(req).send(prepareEvent(event)) from dist/sse. node: a hand-written
// node:http SSE server, writing each event's text (formatted once) with
// res.write. Both send the same bytes: ': stream open', then `id`/`data`.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { registerCallback, boundAddress, stopCallback } from '../dist/index.js';
import { eventStream, prepareEvent } from '../dist/sse/index.js';

const kind = process.argv[2];
const PAYLOAD = JSON.stringify({ state: 'running', progress: 0.5, note: 'x'.repeat(40) });

let watchers;
let emit; // (event) => void
let close;

if (kind === 'ours') {
  const streams = new Set();
  const id = await registerCallback(['127.0.0.1', 0], (req) => {
    const s = eventStream(req, { heartbeat: 0 });
    streams.add(s);
    void s.closed.then(() => streams.delete(s));
    return s.response;
  }, { maxConnections: 20_000, keepAliveTimeout: 600_000 });
  watchers = () => streams.size;
  emit = (e) => {
    // Formatted once for all watchers, as the hand-written server does.
    const ready = prepareEvent(e);
    for (const s of streams) void s.send(ready);
  };
  close = () => stopCallback(id);
  process.stdout.write(`${JSON.stringify({ ready: true, port: boundAddress(id)[1], pid: process.pid })}\n`);
} else if (kind === 'node') {
  const responses = new Set();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    res.write(': stream open\n\n');
    responses.add(res);
    res.on('close', () => responses.delete(res));
  });
  server.keepAliveTimeout = 600_000;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  watchers = () => responses.size;
  emit = (e) => {
    // Hand-written: the text once per event, one write per watcher.
    const text = `id: ${e.id}\ndata: ${e.data}\n\n`;
    for (const res of responses) res.write(text);
  };
  close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port, pid: process.pid })}\n`);
} else {
  console.error('usage: node bench/sse-server.mjs <ours|node>');
  process.exit(2);
}

let nextId = 1;
async function run(count, perTurn) {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    emit({ id: nextId++, data: PAYLOAD });
    if ((i + 1) % perTurn === 0) await new Promise((r) => setImmediate(r));
  }
  process.stdout.write(`${JSON.stringify({ emitted: count, ms: performance.now() - start })}\n`);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, a, b] = line.trim().split(' ');
  if (cmd === 'mem') {
    globalThis.gc?.();
    globalThis.gc?.();
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ mem: { rss: m.rss, heapUsed: m.heapUsed, external: m.external } })}\n`);
  } else if (cmd === 'cpu') {
    const c = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: { user: c.user, system: c.system } })}\n`);
  } else if (cmd === 'watchers') process.stdout.write(`${JSON.stringify({ watchers: watchers() })}\n`);
  else if (cmd === 'run') void run(Number(a), Number(b));
  else if (cmd === 'exit') void Promise.resolve(close()).finally(() => process.exit(0));
});
rl.on('close', () => void Promise.resolve(close()).finally(() => process.exit(0)));
