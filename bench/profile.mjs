// Where the time goes: runs one benchmark's workload under `node --cpu-prof`
// and prints the functions with the most self time.
//
//   node bench/profile.mjs keepalive [seconds=5]   our server under wrk/autocannon, 50 connections
//   node bench/profile.mjs pipelined [seconds=5]   the same, 16 requests per write
//   node bench/profile.mjs upload [MiB=1024]       one streamed upload through datastream
//   node bench/profile.mjs parser                  the parser benchmark, our parser alone (--only llhttp|both,
//                                                  --cases browser-get,small-post,... for some cases only)
//   node bench/profile.mjs <file.cpuprofile>       only summarise an existing profile
//
// Options: --top N (default 30), --kind node|raw (profile another server instead).
// PROF_NODE_ARGS="--no-turbo-inlining" (or any node flags) is passed to the
// profiled process: without inlining, each function's self time is its own.
// The .cpuprofile is kept in bench/results/profiles/ for Chrome DevTools or speedscope.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, RESULTS_DIR, fmt, jsonLines, load, printTable, spawnPinned, startServer, runToEnd, pinned } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i === -1) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const top = Number(opt('--top', 30));
const kind = opt('--kind', 'ours');
const only = opt('--only', 'ours');
const cases = opt('--cases', undefined);
const [what = 'keepalive', amount] = args;
const dir = join(RESULTS_DIR, 'profiles');
mkdirSync(dir, { recursive: true });

function newestProfile(before) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
  if (files.length === 0) throw new Error('no profile was written');
  return join(dir, files.sort().at(-1));
}

/** Self time per function (name, file, line), from a .cpuprofile. */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const n = byId.get(profile.samples[i]);
    if (n === undefined) continue;
    const cf = n.callFrame;
    const file = cf.url === '' ? '' : cf.url.replace(/^file:\/\/.*?\/(dist|bench|node_modules)\//, '$1/').replace(/^node:/, 'node:');
    const key = `${cf.functionName || '(anonymous)'}\t${file}${file && cf.lineNumber >= 0 ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return { self, total };
}

function report(file) {
  const { self, total } = selfTimes(JSON.parse(readFileSync(file, 'utf8')));
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;
  console.log(`\n${file}\nsampled ${fmt(total / 1000)} ms, busy ${fmt(busy / 1000)} ms (${fmt((100 * busy) / total, 1)} %); self time as % of busy time:`);
  const rows = [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top);
  printTable(['self %', 'self ms', 'function', 'where'], rows.map(([k, v]) => {
    const [fn, where] = k.split('\t');
    return [fmt((100 * v) / busy, 1), fmt(v / 1000), fn.length > 60 ? `${fn.slice(0, 57)}...` : fn, where];
  }), 'rrll');
}

const profArgs = () => ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(process.env.PROF_NODE_ARGS ?? '').split(' ').filter(Boolean)];
const before = new Set(readdirSync(dir));

if (what.endsWith('.cpuprofile')) {
  report(what);
} else if (what === 'keepalive' || what === 'pipelined' || what === 'upload') {
  const server = await startServer(kind, what === 'upload' ? 'upload' : 'hello', { nodeArgs: profArgs() });
  try {
    if (what === 'upload') {
      const size = Number(amount ?? 1024) * 1024 * 1024;
      const client = spawnPinned('client', [process.execPath, join(BENCH_DIR, 'clients', 'upload.mjs'), String(server.port), String(size)]);
      const r = await jsonLines(client).next((m) => m.bytes !== undefined, 600_000);
      console.log(`upload: ${fmt(size / r.ms / 1000)} MB/s`);
    } else {
      const r = await load({ port: server.port, connections: 50, seconds: Number(amount ?? 5), pipeline: what === 'pipelined' ? 16 : 1 });
      console.log(`${what}: ${fmt(r.rps)} req/s under the profiler`);
    }
  } finally {
    await server.stop();
  }
  report(newestProfile(before));
} else if (what === 'parser') {
  const config = JSON.stringify({ roundMs: 500, warmupMs: 500, rounds: 3, only: only === 'both' ? undefined : only, cases });
  const out = await runToEnd(pinned('server', [process.execPath, ...profArgs(), join(BENCH_DIR, 'parser.mjs'), '--child', config]));
  console.log(out.split('\n').filter((l) => !l.startsWith('{"summary"')).join('\n'));
  report(newestProfile(before));
} else {
  console.error('usage: node bench/profile.mjs <keepalive|pipelined|upload|parser|file.cpuprofile> [seconds|MiB] [--top N] [--kind ours|node|raw] [--only ours|llhttp|both] [--cases a,b]');
  process.exit(2);
}
