// The server side of bench/jobs-fanout.mjs, in its own process (pinned to
// the server core): one run whose events go to every watcher.
//
//   node --expose-gc bench/jobs-fanout-server.mjs <ours|sse|node> <events>
//
// Prints `{"ready":true,"port":N,"path":"...","pid":N}`, then reads commands
// on stdin: `mem` → `{"mem":{rss,heapUsed,external}}` after a full GC;
// `start` → the run emits its events, one per turn of the event loop
// (setImmediate), then its terminal event; `exit`.
//
// ours: a jobResource whose run waits for `start`, then calls
// job.progress(i) for each event and returns. node: a hand-written
// node:http SSE server doing the same: a `queued` event on connect, then
// `running` events and `success` written to every open response, which it
// then ends. sse: repy-http's eventStream fanned out by hand (no job
// store), to tell the jobs layer's cost from the server's. All write `id: n`, `event: <state>`, `data: <JSON>`.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { registerCallback, boundAddress, open } from '../dist/index.js';
import { jobResource } from '../dist/jobs/index.js';
import { eventStream } from '../dist/sse/index.js';

const [kind, eventsArg = '200'] = process.argv.slice(2);
const EVENTS = Number(eventsArg);
const turn = () => new Promise((r) => setImmediate(r));
let startRun = () => {};
const started = new Promise((r) => (startRun = r));

async function ours() {
  const jobs = jobResource({
    prefix: '/runs/', heartbeat: 0, maxEvents: EVENTS + 10,
    run: async (_args, job) => {
      await started;
      for (let i = 1; i <= EVENTS; i++) {
        await job.progress({ i });
        await turn();
      }
      return { done: EVENTS };
    },
  });
  const id = await registerCallback(['127.0.0.1', 0], jobs.callback, { maxConnections: 20_000 });
  const port = boundAddress(id)[1];
  const res = await open(`http://127.0.0.1:${port}/runs/`, { postdata: 'null', httpheaders: { 'Content-Type': 'application/json' } });
  const run = JSON.parse((await res.read()).toString()).id;
  return { port, path: `/runs/${run}` };
}

/** repy-http's eventStream fanned out by hand, without the job store: what the jobs layer adds is the difference to `ours`. */
async function sse() {
  const streams = new Set();
  const id = await registerCallback(['127.0.0.1', 0], (req) => {
    const s = eventStream(req, { heartbeat: 0 });
    s.send({ id: 1, event: 'queued', data: 'null' });
    streams.add(s);
    s.closed.then(() => streams.delete(s));
    return s.response;
  }, { maxConnections: 20_000 });
  void started.then(async () => {
    for (let i = 1; i <= EVENTS; i++) {
      const data = JSON.stringify({ i });
      for (const s of streams) s.send({ id: i + 1, event: 'running', data });
      await turn();
    }
    const data = JSON.stringify({ done: EVENTS });
    for (const s of streams) {
      s.send({ id: EVENTS + 2, event: 'success', data });
      s.close();
    }
  });
  return { port: boundAddress(id)[1], path: '/stream' };
}

async function node() {
  const watchers = new Set();
  const event = (id, state, value) => `id: ${id}\nevent: ${state}\ndata: ${JSON.stringify(value)}\n\n`;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(': stream open\n\n' + event(1, 'queued', null));
    watchers.add(res);
    req.on('close', () => watchers.delete(res));
  });
  server.maxConnections = 20_000;
  void started.then(async () => {
    for (let i = 1; i <= EVENTS; i++) {
      const text = event(i + 1, 'running', { i });
      for (const res of watchers) res.write(text);
      await turn();
    }
    const last = event(EVENTS + 2, 'success', { done: EVENTS });
    for (const res of watchers) res.end(last);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, path: '/stream' };
}

const { port, path } = kind === 'ours' ? await ours() : kind === 'sse' ? await sse() : await node();
console.log(JSON.stringify({ ready: true, port, path, pid: process.pid }));
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line === 'mem') {
    globalThis.gc?.();
    const m = process.memoryUsage();
    console.log(JSON.stringify({ mem: { rss: m.rss, heapUsed: m.heapUsed, external: m.external } }));
  } else if (line === 'start') startRun();
  else if (line === 'exit') process.exit(0);
});
rl.on('close', () => process.exit(0));
