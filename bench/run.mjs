// The benchmark runner (issue #5): `npm run bench` (full, a few minutes) or
// `npm run bench:smoke` (every benchmark briefly, for CI: prints, asserts
// nothing). Both build dist/ first; the servers run from dist/.
//
//   node bench/run.mjs [--smoke] [--rounds N] [--write-plot] [keepalive] [pipelined] [parser] [upload] [idle] [tls] [sse] [cluster] [stores] [stream] [client] [growth]
//
// Each benchmark prints a table of medians over its rounds (contenders
// alternating A B C A B C ...), the ratios beside issue #5's targets, and
// writes bench/results/<name>.json. See bench/README.md. `growth` (how the
// cost of a request grows, issue #15) prints verdicts rather than ratios and
// draws bench/results/growth.svg; --write-plot also writes the committed
// bench/img/growth.svg that bench/README.md shows.
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { BENCH_DIR, environment, fmt, LOADGEN, pinned, printTable, ratioCells, spawnPinned, writeResult } from './lib.mjs';
import { runHttp } from './http.mjs';
import { runUpload } from './upload.mjs';
import { runIdle } from './idle.mjs';
import { runTls } from './tls.mjs';
import { runSseFanout } from './sse-fanout.mjs';
import { runCluster } from './cluster.mjs';
import { runStores } from './stores.mjs';
import { runStream } from './stream.mjs';
import { runClient } from './client.mjs';
import { runGrowth } from './growth.mjs';

const NAMES = ['keepalive', 'pipelined', 'parser', 'upload', 'idle', 'tls', 'sse', 'cluster', 'stores', 'stream', 'client', 'growth'];
let smoke = false;
let roundsOverride = null;
let writePlot = false;
const picked = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--smoke') smoke = true;
  else if (a === '--write-plot') writePlot = true;
  else if (a === '--rounds' && Number(process.argv[i + 1]) >= 1) roundsOverride = Number(process.argv[++i]);
  else if (NAMES.includes(a)) picked.push(a);
  else {
    console.error(`unknown argument ${a}\nusage: node bench/run.mjs [--smoke] [--rounds N] [--write-plot] [${NAMES.join('] [')}]`);
    process.exit(2);
  }
}
const selected = picked.length > 0 ? picked : NAMES;
const rounds = (full, quick) => roundsOverride ?? (smoke ? quick : full);

const MiB = 1024 * 1024;
const BENCHES = {
  keepalive: () => runHttp({
    name: 'keepalive', title: 'Keep-alive hello world: repy-http vs node:http vs raw node:net',
    pipeline: 1, connections: 50, seconds: smoke ? 1 : 3, warmup: smoke ? 0 : 2, rounds: rounds(10, 1),
    targets: { node: 1.6, raw: 0.9 }, // raw: issue #15 (issue #5 asked 0.8)
  }),
  pipelined: () => runHttp({
    name: 'pipelined', title: 'Pipelined ×16 hello world: repy-http vs node:http vs raw node:net',
    pipeline: 16, connections: 50, seconds: smoke ? 1 : 3, warmup: smoke ? 0 : 2, rounds: rounds(10, 1),
    targets: { node: 4, raw: null },
  }),
  // In its own process on the server core, away from this runner.
  parser: async () => {
    const argv = [process.execPath, join(BENCH_DIR, 'parser.mjs'), '--child', JSON.stringify(smoke ? { roundMs: 100, warmupMs: 100, rounds: rounds(35, 1) } : { roundMs: 100, warmupMs: 1000, rounds: rounds(35, 1) })];
    const child = spawnPinned('server', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let summary = null;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('{"summary"')) summary = JSON.parse(line).summary;
      else console.log(line);
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    if (code !== 0 || summary === null) throw new Error(`the parser benchmark exited ${code}`);
    return summary;
  },
  upload: () => runUpload({ size: smoke ? 64 * MiB : 1024 * MiB, chunk: 64 * 1024, rounds: rounds(5, 1) }),
  idle: () => runIdle({ count: smoke ? 500 : 10_000, warmup: smoke ? 100 : 500, rounds: rounds(3, 1) }),
  // Issue #16: HTTPS keep-alive hello world against node:https (≥ 1.0×).
  tls: () => runTls({ connections: 50, seconds: smoke ? 1 : 3, warmup: smoke ? 0 : 2, rounds: rounds(10, 1), target: 1.0 }),
  // Issue #11: one source fanned out to 1 000 SSE watchers, against node:http by hand.
  sse: () => runSseFanout({ watchers: 1000, events: smoke ? 100 : 2000, perTurn: 10, rounds: rounds(3, 1) }),
  // Unpinned: the workers need the cores (bench/cluster.mjs says why the ratios are floors on 2 cores).
  // Issue #15: a streamed response of many small (or 64 KiB) chunks against node:http's res.write loop (≥ 1.0×).
  stream: () => runStream({ rounds: rounds(15, 1) }),
  // Issue #15: 10 000 sequential keep-alive GETs with the client, against fetch and http.get with a keepAlive Agent (≥ 1.0×).
  client: () => runClient({ requests: smoke ? 1000 : 10_000, rounds: rounds(5, 1) }),
  // Issue #14: idempotent POSTs/s with each idempotency store (docs/scaling.md).
  stores: () => runStores({ seconds: smoke ? 1 : 3, rounds: rounds(5, 1), warmup: smoke ? 0 : 1, connections: 50 }),
  cluster: () => runCluster({ seconds: smoke ? 1 : 3, rounds: rounds(7, 1), warmup: smoke ? 0 : 2, connections: 50 }),
  // Issue #15: µs per request against header count, request size, pipelining depth and open connections.
  growth: () => runGrowth({ smoke, rounds: rounds(3, 1), writePlot }),
};

const env = environment();
const load0 = loadavg()[0];
console.log(`# repy-http benchmarks${smoke ? ' (smoke: short runs, numbers are only indicative)' : ''}`);
console.log(`node ${env.node}, ${env.cores} × ${env.cpu}, load generator: ${LOADGEN ?? 'none'}, pinning: ${env.pinning}, load average ${load0.toFixed(2)}`);
if (load0 > env.cores * 0.5) console.log(`warning: the machine is busy (1-minute load average ${load0.toFixed(2)} on ${env.cores} cores): the numbers will be noisy`);
if (pinned('server', ['x']).length === 1) console.log('note: no taskset (or one core): the processes are not pinned');

const started = performance.now();
const summaries = [];
let failed = 0;
for (const name of selected) {
  if (LOADGEN === null && (name === 'keepalive' || name === 'pipelined' || name === 'tls' || name === 'cluster')) {
    console.log(`\n## ${name}: skipped, no load generator (apt-get install -y wrk, or npm install for autocannon)`);
    failed++;
    continue;
  }
  const t0 = performance.now();
  try {
    const s = await BENCHES[name]();
    summaries.push({ ...s, seconds: (performance.now() - t0) / 1000 });
  } catch (err) {
    failed++;
    console.log(`\n## ${name}: FAILED: ${err?.stack ?? err}`);
  }
}

console.log('\n## Summary: ratios of medians and issue #5 targets');
printTable(
  ['benchmark', 'ratio', 'measured', 'target', 'meets', 'took s'],
  summaries.flatMap((s) => s.ratios.map((r, i) => [i === 0 ? s.name : '', r.name, ...ratioCells(r), i === 0 ? fmt(s.seconds, 1) : ''])),
);
const total = (performance.now() - started) / 1000;
console.log(`\ntotal ${fmt(total, 1)} s; load average now ${loadavg()[0].toFixed(2)}`);
writeResult(smoke ? 'summary-smoke' : 'summary', { smoke, loadavgStart: load0, loadavgEnd: loadavg()[0], seconds: total, summaries });
process.exit(failed > 0 ? 1 : 0);
