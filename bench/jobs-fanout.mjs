// One run fanned out to many SSE watchers (issue #11): repy-http/jobs beside
// a hand-written node:http SSE server doing the same, in the same run.
//
//   npm run build && node bench/jobs-fanout.mjs                 # 1 000 watchers, 200 events, 3 rounds each
//   npm run build && node bench/jobs-fanout.mjs --smoke         # 100 watchers, 50 events, 1 round
//   node bench/jobs-fanout.mjs --watchers 2000 --events 500 --rounds 5
//
// Each round: a fresh server process (pinned to the server core), W raw
// TCP watchers opened by this process (pinned to the client core) with
// `Accept: text/event-stream`, the server's RSS after a full GC before and
// after they connected (RSS per watcher), then the run emits E events and
// its terminal one; the time until every watcher has received all E + 2
// events gives events/s delivered (W × (E + 2) / time). Contenders
// alternate, A B C A B C, and the medians are compared. Nothing is asserted.
// The third contender, repy-http's eventStream fanned out by hand without
// the job store, separates what the jobs layer costs from what the server's
// streaming costs.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { BENCH_DIR, PIN, fmt, jsonLines, median, printTable, spawnPinned, writeResult, environment } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(argv[i + 1]);
};
const smoke = argv.includes('--smoke');
const WATCHERS = opt('watchers', smoke ? 100 : 1000);
const EVENTS = opt('events', smoke ? 50 : 200);
const ROUNDS = opt('rounds', smoke ? 1 : 3);
const TOTAL = EVENTS + 2; // queued, E running, success

if (PIN !== null) spawnSync('taskset', ['-cp', String(PIN.client), String(process.pid)], { stdio: 'ignore' });

async function round(kind) {
  const child = spawnPinned('server', [process.execPath, '--expose-gc', join(BENCH_DIR, 'jobs-fanout-server.mjs'), kind, String(EVENTS)], { nofile: WATCHERS + 1000 });
  const lines = jsonLines(child);
  const ready = await lines.next((m) => m.ready === true, 30_000);
  const mem = async () => {
    child.stdin.write('mem\n');
    return (await lines.next((m) => m.mem !== undefined)).mem;
  };
  const before = await mem();
  const sockets = [];
  let connected = 0;
  let finished = 0;
  let allConnected;
  const connectedP = new Promise((r) => (allConnected = r));
  let allDone;
  const doneP = new Promise((r) => (allDone = r));
  const request = `GET ${ready.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`;
  for (let i = 0; i < WATCHERS; i++) {
    await new Promise((resolve, reject) => {
      const s = connect(ready.port, '127.0.0.1');
      let count = 0;
      let carry = '';
      let first = true;
      s.setEncoding('latin1');
      s.on('error', reject);
      s.on('connect', () => {
        s.write(request);
        resolve();
      });
      s.on('data', (d) => {
        const text = carry + d;
        // Count event blocks by their `event: ` lines; keep a tail for a line split across reads.
        let at = 0;
        for (;;) {
          const j = text.indexOf('\nevent: ', at);
          if (j === -1) break;
          count++;
          at = j + 8;
        }
        carry = text.slice(Math.max(at, text.length - 8));
        if (first && count >= 1) {
          first = false;
          if (++connected === WATCHERS) allConnected();
        }
        if (count === TOTAL) {
          s.destroy();
          if (++finished === WATCHERS) allDone();
        }
      });
      sockets.push(s);
    });
  }
  await connectedP;
  const after = await mem();
  const t0 = performance.now();
  child.stdin.write('start\n');
  await doneP;
  const ms = performance.now() - t0;
  child.stdin.write('exit\n');
  await new Promise((r) => child.once('exit', r));
  return {
    kind,
    ms,
    eventsPerSec: (WATCHERS * TOTAL) / (ms / 1000),
    rssPerWatcher: (after.rss - before.rss) / WATCHERS,
    heapPerWatcher: (after.heapUsed - before.heapUsed) / WATCHERS,
  };
}

const KINDS = ['ours', 'sse', 'node'];
const NAMES = { ours: 'repy-http/jobs', sse: 'repy-http/sse by hand', node: 'node:http SSE' };
const results = { ours: [], sse: [], node: [] };
console.log(`one run fanned out to ${WATCHERS} SSE watchers, ${EVENTS} events + queued + success, ${ROUNDS} round(s) each; pinning: ${environment().pinning}`);
for (let r = 0; r < ROUNDS; r++) {
  for (const kind of KINDS) {
    const x = await round(kind);
    results[kind].push(x);
    console.log(`  round ${r + 1} ${kind.padEnd(4)} ${fmt(x.eventsPerSec)} events/s delivered, ${fmt(x.ms)} ms, RSS ${fmt(x.rssPerWatcher / 1024, 1)} KiB/watcher`);
  }
}
const med = (kind, k) => median(results[kind].map((x) => x[k]));
const rows = KINDS.map((kind) => [
  NAMES[kind],
  fmt(med(kind, 'eventsPerSec')),
  fmt(med(kind, 'ms')),
  fmt(med(kind, 'rssPerWatcher') / 1024, 1),
  fmt(med(kind, 'heapPerWatcher') / 1024, 1),
]);
printTable(['server', 'events/s delivered', 'ms', 'RSS KiB/watcher', 'heap KiB/watcher'], rows);
const throughput = med('ours', 'eventsPerSec') / med('node', 'eventsPerSec');
const memory = med('ours', 'rssPerWatcher') / med('node', 'rssPerWatcher');
console.log(`ratios (repy-http/jobs ÷ node:http): events/s ${fmt(throughput, 2)}× (higher is better), RSS per watcher ${fmt(memory, 2)}× (lower is better)`);
console.log(`         (repy-http/jobs ÷ repy-http/sse by hand): events/s ${fmt(med('ours', 'eventsPerSec') / med('sse', 'eventsPerSec'), 2)}×, RSS per watcher ${fmt(med('ours', 'rssPerWatcher') / med('sse', 'rssPerWatcher'), 2)}×`);
const file = writeResult(smoke ? 'jobs-fanout-smoke' : 'jobs-fanout', { watchers: WATCHERS, events: EVENTS, rounds: ROUNDS, results, ratios: { eventsPerSec: throughput, rssPerWatcher: memory, vsSse: { eventsPerSec: med('ours', 'eventsPerSec') / med('sse', 'eventsPerSec'), rssPerWatcher: med('ours', 'rssPerWatcher') / med('sse', 'rssPerWatcher') } } });
console.log(`wrote ${file}`);
