// Shared pieces of the benchmarks: statistics, tables, result files, server
// processes pinned to a core, and the HTTP load generator (wrk, else autocannon).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

// ------------------------------------------------------------------ tools

function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Cores to pin to: the server on one, the load generator on another (null: no taskset or a single core). */
export const PIN = (() => {
  if (process.env.BENCH_NO_PIN === '1' || !hasCommand('taskset')) return null;
  const n = cpus().length;
  return n >= 2 ? { server: 0, client: 1 } : null;
})();

/** `[cmd, ...args]` prefixed with `taskset -c <core>` when pinning is on. */
export function pinned(role, argv) {
  return PIN === null ? argv : ['taskset', '-c', String(PIN[role]), ...argv];
}

const require = createRequire(import.meta.url);
function autocannonBin() {
  try {
    return require.resolve('autocannon/autocannon.js');
  } catch {
    return null;
  }
}

/** Which HTTP load generator runs: wrk when installed (BENCH_LOADGEN=autocannon forces the other). */
export const LOADGEN = (() => {
  const want = process.env.BENCH_LOADGEN;
  if (want !== 'autocannon' && hasCommand('wrk')) return 'wrk';
  if (autocannonBin() !== null) return 'autocannon';
  return null;
})();

export function environment() {
  const c = cpus();
  return {
    node: process.version,
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    loadgen: LOADGEN,
    pinning: PIN === null ? 'none' : `server on core ${PIN.server}, client on core ${PIN.client}`,
    loadavg1: loadavg()[0],
  };
}

// ------------------------------------------------------------------ stats

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ output

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(x, digits = 0) {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * Prints rows as an aligned table. `align`: one letter per column, `l` or
 * `r` (default: the first column left-aligned, the rest right-aligned).
 */
export function printTable(header, rows, align = `l${'r'.repeat(header.length - 1)}`) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (align[i] === 'l' ? String(c ?? '').padEnd(widths[i]) : String(c ?? '').padStart(widths[i]))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/**
 * A measured ratio (or, with another `unit`, a plain value) beside its
 * target from issue #5. `higher`: it should be at least `target`; else at
 * most. The target is printed, never asserted.
 */
export function ratio(name, value, target, higher = true, unit = '×') {
  return { name, value, unit, target, higher, meets: target === null ? null : higher ? value >= target : value <= target };
}

/** `[measured, target, meets]` cells of a ratio. */
export function ratioCells(r) {
  const sep = r.unit === '×' ? '' : ' ';
  return [
    `${fmt(r.value, r.unit === '×' ? 2 : 1)}${sep}${r.unit}`,
    r.target === null ? '' : `${r.higher ? '≥' : '≤'} ${r.target}${sep}${r.unit}`,
    r.meets === null ? '' : r.meets ? 'yes' : 'no',
  ];
}

export function printRatios(ratios) {
  printTable(['ratio (of medians)', 'measured', 'target', 'meets'], ratios.map((r) => [r.name, ...ratioCells(r)]));
}

/** Writes bench/results/<name>.json. */
export function writeResult(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ benchmark: name, date: new Date().toISOString(), environment: environment(), ...data }, null, 2)}\n`);
  return file;
}

// ------------------------------------------------------------------ server processes

/** The highest open-files limit this shell may set, capped at `want`. */
function fdLimit(want) {
  const r = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const hard = r.stdout.trim();
  return hard === 'unlimited' ? want : Math.min(want, Number(hard) || 1024);
}

/**
 * Spawns `argv` (optionally pinned, optionally with a raised `ulimit -n`)
 * with piped stdio. `ulimit -n` is raised inside a bash wrapper that then
 * `exec`s the program, so the child's pid is the program's pid.
 */
export function spawnPinned(role, argv, { nofile = 0, ...opts } = {}) {
  let full = pinned(role, argv);
  if (nofile > 0) full = ['bash', '-c', `ulimit -n ${fdLimit(nofile)} && exec "$@"`, 'bash', ...full];
  return spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], ...opts });
}

/** Reads JSON lines from a child's stdout; resolves `next(pred)` with the first matching one. */
export function jsonLines(child) {
  const waiting = [];
  const backlog = [];
  let closed = false;
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const i = waiting.findIndex((w) => w.pred(msg));
    if (i === -1) backlog.push(msg);
    else waiting.splice(i, 1)[0].resolve(msg);
  });
  child.on('exit', (code, signal) => {
    closed = true;
    for (const w of waiting.splice(0)) w.reject(new Error(`child exited (${code ?? signal}) before answering`));
  });
  return {
    next(pred, timeoutMs = 120_000) {
      const i = backlog.findIndex(pred);
      if (i !== -1) return Promise.resolve(backlog.splice(i, 1)[0]);
      if (closed) return Promise.reject(new Error('child already exited'));
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('child did not answer in time')), timeoutMs);
        waiting.push({
          pred,
          resolve: (m) => { clearTimeout(t); resolve(m); },
          reject: (e) => { clearTimeout(t); reject(e); },
        });
      });
    },
  };
}

/**
 * Starts bench/server.mjs (`kind`: ours | node | raw, `app`: hello | upload)
 * pinned to the server core. Returns its pid, port, a `mem()` query (after
 * a full GC), a `cpu()` query and `stop()`.
 */
export async function startServer(kind, app = 'hello', { nofile = 0, nodeArgs = [] } = {}) {
  const child = spawnPinned('server', [process.execPath, '--expose-gc', ...nodeArgs, join(BENCH_DIR, 'server.mjs'), kind, app], { nofile });
  const lines = jsonLines(child);
  const ready = await lines.next((m) => m.ready === true, 30_000);
  const exited = new Promise((r) => child.once('exit', r));
  return {
    kind,
    pid: ready.pid,
    port: ready.port,
    async mem() {
      child.stdin.write('mem\n');
      return (await lines.next((m) => m.mem !== undefined)).mem;
    },
    /** CPU time (user + system, all threads) used so far, in microseconds. */
    async cpu() {
      child.stdin.write('cpu\n');
      const c = (await lines.next((m) => m.cpu !== undefined)).cpu;
      return c.user + c.system;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.write('exit\n');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** VmRSS and VmHWM of a process, in bytes (null when /proc is not there). */
export function procMem(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((s.match(new RegExp(`${k}:\\s+(\\d+) kB`)) ?? [0, NaN])[1]) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Resets the peak-RSS mark (VmHWM) of a process; false when not allowed. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ load generation

/** Runs a process to its end; resolves with its stdout. */
export function runToEnd(argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err || out}`))));
  });
}

/**
 * Drives `http://127.0.0.1:<port>/` (`https` with `secure`: wrk does not
 * verify the certificate) with `connections` keep-alive connections for
 * `seconds`, `pipeline` requests per write, from the client core. Returns
 * { rps, requests, seconds, errors, latencyP50Ms, latencyP99Ms }.
 */
export async function load({ port, connections, seconds, pipeline = 1, secure = false, script: luaScript = null }) {
  const url = `${secure ? 'https' : 'http'}://127.0.0.1:${port}/`;
  if (luaScript !== null && LOADGEN !== 'wrk') throw new Error(`this benchmark needs wrk (its requests come from ${luaScript})`);
  if (LOADGEN === 'wrk') {
    const script = join(BENCH_DIR, 'wrk', luaScript ?? (pipeline > 1 ? 'pipeline.lua' : 'report.lua'));
    const argv = ['wrk', '-t1', `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--timeout', '10s', '-s', script, url];
    if (pipeline > 1) argv.push('--', String(pipeline));
    const out = await runToEnd(pinned('client', argv));
    const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (line === undefined) throw new Error(`wrk printed no summary:\n${out}`);
    const r = JSON.parse(line.slice(8));
    const secs = r.duration_us / 1e6;
    const e = r.errors;
    return {
      rps: r.requests / secs, requests: r.requests, seconds: secs,
      errors: e.connect + e.read + e.write + e.status + e.timeout,
      latencyP50Ms: r.latency_us.p50 / 1000, latencyP99Ms: r.latency_us.p99 / 1000,
    };
  }
  if (LOADGEN === 'autocannon') {
    const argv = [process.execPath, autocannonBin(), '-j', '-c', String(connections), '-d', String(Math.max(1, Math.round(seconds))), '-p', String(pipeline), url];
    // The benchmark's certificate is self-signed: not verified, as wrk does not.
    const out = await runToEnd(pinned('client', argv), secure ? { env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0' } } : {});
    const r = JSON.parse(out.slice(out.indexOf('{')));
    const secs = r.duration;
    return {
      rps: r.requests.total / secs, requests: r.requests.total, seconds: secs,
      errors: (r.errors ?? 0) + (r.timeouts ?? 0) + (r.non2xx ?? 0),
      latencyP50Ms: r.latency.p50, latencyP99Ms: r.latency.p99,
    };
  }
  throw new Error('no HTTP load generator: install wrk (apt-get install -y wrk) or autocannon (npm install)');
}

/**
 * Alternating rounds (A B C A B C ...) of `load(loadOptions)` against each
 * contender's server, with the server's CPU time per request; returns each
 * contender's medians (and spread), and prints them as a table.
 */
export async function alternateHttp({ contenders, servers, rounds, loadOptions }) {
  const runs = Object.fromEntries(contenders.map((c) => [c.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const server = servers[c.key];
      const cpu0 = await server.cpu();
      const res = await load({ port: server.port, ...loadOptions });
      const cpu = (await server.cpu()) - cpu0;
      runs[c.key].push({ ...res, cpuPerReqUs: cpu / res.requests, cpuLoad: cpu / 1e6 / res.seconds });
    }
  }
  const stats = {};
  for (const c of contenders) {
    const rs = runs[c.key];
    stats[c.key] = {
      label: c.label,
      rps: summarize(rs.map((x) => x.rps)),
      latencyP50Ms: summarize(rs.map((x) => x.latencyP50Ms)),
      latencyP99Ms: summarize(rs.map((x) => x.latencyP99Ms)),
      cpuPerReqUs: summarize(rs.map((x) => x.cpuPerReqUs)),
      cpuLoad: summarize(rs.map((x) => x.cpuLoad)),
      errors: rs.reduce((a, x) => a + x.errors, 0),
      requests: rs.reduce((a, x) => a + x.requests, 0),
    };
  }
  printTable(
    ['contender', 'median req/s', 'min', 'max', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'server CPU %', 'errors'],
    contenders.map((c) => {
      const s = stats[c.key];
      return [
        c.label, fmt(s.rps.median), fmt(s.rps.min), fmt(s.rps.max), fmt(s.latencyP50Ms.median, 2), fmt(s.latencyP99Ms.median, 2),
        fmt(s.cpuPerReqUs.median, 2), fmt(100 * s.cpuLoad.median), fmt(s.errors),
      ];
    }),
  );
  return stats;
}
