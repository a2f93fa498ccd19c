// Benchmark "how cost grows" (issue #15): the cost of a request to
// repy-http's server (the hello-world server of bench/server.mjs, from dist/,
// pinned to core 0) as four things grow, each swept on its own:
//
//   1. header fields per request: 1 … 100 (Host plus ~29-byte X-Growth-NN fields)
//   2. request content: a Content-Length POST of 0 B … 1 MiB (the upload app,
//      which reads the whole body from req.datastream)
//   3. pipelining depth: 1 … 64 requests per write
//   4. open connections: 10 … 10 000, all busy
//
// (Outside sweep 3, each write carries 16 requests: see PIPELINE.) The load
// comes from bench/clients/growth-load.mjs on core 1, which opens the
// connections first and keeps them busy; the measured window starts after a
// warm-up, so connecting is not part of the cost. Per point: the server's
// CPU time per request (all its threads, from /proc, at the client's own
// timestamps: see measureWindow(); not counted while descheduled, so it holds up
// on a busy machine better than wall time) and wall time per request (the
// window over the responses). The points of a sweep alternate over the
// rounds (x₁ … x₇, x₁ … x₇, …) and the medians are kept.
//
// For each sweep: a table, the step ratios, a least-squares fit of
// cost = a + b·x (R², largest relative residual) and of a + b·x + c·x² (the
// quadratic term's share of the cost at the largest x), and a verdict. Only
// printed: a benchmark never fails on its numbers. The plot goes to
// bench/results/growth.svg, and with `writePlot` (--write-plot) also to
// bench/img/growth.svg, the figure in bench/README.md.
//
//   node bench/growth.mjs [--smoke] [--rounds N] [--write-plot] [--only headers,size,depth,connections]
//   node bench/growth.mjs --replot bench/results/growth.json [--write-plot]   (no measuring)
//   npm run bench -- growth [--write-plot]
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, environment, fmt, jsonLines, median, printTable, ratio, RESULTS_DIR, sleep, spawnPinned, startServer, writeResult } from './lib.mjs';
import { FLAT_RATIO, flatness, LINEAR_R2, linearity, MAX_RESIDUAL, QUADRATIC_SHARE, steps } from './growth-fit.mjs';
import { COLORS, renderGrowthSvg } from './growth-plot.mjs';

const KiB = 1024;
const MAX_CONNECTIONS = 10_000;
/**
 * Requests per write in the sweeps other than pipelining depth. At one
 * request per write the server waits for the client after every response,
 * and its cost per request then mostly says how many requests each wake-up
 * of its event loop finds, which the client and the rest of the machine
 * decide: on a busy 2-core machine the same point varied 2× between rounds.
 * With 16 waiting it always has work, and the cost is its own (in the
 * pipelining sweep, depths 16–64 varied by a few per cent).
 */
const PIPELINE = 16;

/**
 * The four sweeps. `load(x)`: what the client opens for point x; `app`: the
 * server's app; `shape`: linear (cost per request grows with x), amortised
 * (the cost per write should be linear in x, so per request it may only
 * fall) or flat (the cost per request should not depend on x).
 */
const SWEEPS = [
  {
    key: 'headers', title: 'Header fields per request', xName: 'header fields', unit: 'field', shape: 'linear', app: 'hello',
    full: [1, 2, 5, 10, 20, 50, 100], smoke: [1, 10, 100],
    load: (x) => ({ connections: 50, headers: x, depth: PIPELINE }),
    xLabel: (x) => fmt(x),
  },
  {
    key: 'size', title: 'Request content (Content-Length POST)', xName: 'content', unit: 'KiB', perUnit: KiB, shape: 'linear', app: 'upload',
    full: [0, 1, 4, 16, 64, 256, 1024].map((k) => k * KiB), smoke: [0, 16 * KiB, 1024 * KiB],
    // 8 connections × 16 requests of up to 1 MiB: 16 MiB per write, one Buffer shared by all connections.
    load: (x) => ({ connections: 8, headers: 1, post: true, body: x, depth: PIPELINE }),
    xLabel: (x) => (x === 0 ? '0' : x >= 1024 * KiB ? `${x / 1024 / KiB} MiB` : `${x / KiB} KiB`),
  },
  {
    key: 'depth', title: 'Pipelining depth', xName: 'requests per write', unit: 'request', shape: 'amortised', app: 'hello',
    full: [1, 2, 4, 8, 16, 32, 64], smoke: [1, 8, 64],
    load: (x) => ({ connections: 50, headers: 1, depth: x }),
    xLabel: (x) => fmt(x),
  },
  {
    key: 'connections', title: 'Open connections', xName: 'connections', unit: 'connection', shape: 'flat', app: 'hello',
    // Not warmed up at 10 000: opening them takes seconds, and the JIT has seen the requests by then.
    full: [10, 100, 1000, MAX_CONNECTIONS], smoke: [10, 100, 1000], warm: [10, 100, 1000],
    load: (x) => ({ connections: x, headers: 1, depth: PIPELINE }),
    xLabel: (x) => fmt(x),
  },
];

const pct = (v) => `${fmt(100 * v, 1)} %`;

/** Starts the load client on the client core; returns open / mark / close / stop. */
function startClient(port) {
  const child = spawnPinned('client', [process.execPath, join(BENCH_DIR, 'clients', 'growth-load.mjs'), String(port)], { nofile: MAX_CONNECTIONS + 1024 });
  const lines = jsonLines(child);
  const send = (v) => child.stdin.write(`${JSON.stringify(v)}\n`);
  return {
    async open(spec) {
      send({ open: spec });
      const r = await lines.next((m) => m.opened !== undefined || m.error !== undefined, 300_000);
      if (r.error !== undefined) throw new Error(`growth client: ${r.error}`);
      return r;
    },
    async mark() {
      send('mark');
      return (await lines.next((m) => m.mark !== undefined)).mark;
    },
    async close() {
      send('close');
      await lines.next((m) => m.closed !== undefined);
    },
    stop() {
      child.stdin.end();
    },
  };
}

/** The wall clock in ms, comparable with the client's marks (another process). */
const wallClock = () => performance.timeOrigin + performance.now();

/**
 * The CPU time a process has used, in µs: the on-CPU nanoseconds of each of
 * its threads (/proc/<pid>/task/<tid>/schedstat), summed. Read from outside,
 * so that it is current even while the server's event loop is busy (null
 * without /proc).
 */
function procCpuUs(pid) {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    return null;
  }
  return ns / 1000;
}

/** Linear interpolation of sampled { t, cpu } at time t. */
function cpuAt(samples, t) {
  let i = 1;
  while (i < samples.length - 1 && samples[i].t < t) i++;
  const a = samples[i - 1];
  const b = samples[i];
  return b.t === a.t ? b.cpu : a.cpu + ((b.cpu - a.cpu) * (t - a.t)) / (b.t - a.t);
}

/**
 * The server's CPU time over the client's window, from `m0` to `m1`. The
 * client stamps each mark with the wall clock when it counts, while this
 * process samples the server's CPU time every 2 ms from /proc and
 * interpolates it at those stamps. Asking the server itself (as http.mjs
 * does) answers only when its event loop gets to the question: behind
 * 10 000 busy connections, a turn of the loop takes tens of milliseconds,
 * which would shift the CPU window against the client's.
 */
async function measureWindow(server, client, windowMs) {
  if (procCpuUs(server.pid) === null) {
    const [cpu0, m0] = await Promise.all([server.cpu(), client.mark()]);
    await sleep(windowMs);
    const [cpu1, m1] = await Promise.all([server.cpu(), client.mark()]);
    return { m0, m1, cpuUs: cpu1 - cpu0 };
  }
  const samples = [];
  const sample = () => samples.push({ t: wallClock(), cpu: procCpuUs(server.pid) });
  sample();
  const timer = setInterval(sample, 2);
  try {
    const m0 = await client.mark();
    await sleep(windowMs);
    const m1 = await client.mark();
    sample();
    return { m0, m1, cpuUs: cpuAt(samples, m1.t) - cpuAt(samples, m0.t) };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Waits until the server is idle: until it used under 5 % of a core over
 * 50 ms (at most 3 s). After 10 000 connections close, the server is busy
 * for a while tearing them down, and that work belongs to no point.
 */
async function settle(server, fallbackMs) {
  let prev = procCpuUs(server.pid);
  if (prev === null) {
    await sleep(fallbackMs);
    return;
  }
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    await sleep(50);
    const now = procCpuUs(server.pid);
    if (now - prev < 0.05 * 50_000) return;
    prev = now;
  }
}

/**
 * One point: open the connections, warm up, count the responses and the
 * server's CPU time over `windowMs`, close the connections, wait for the
 * server to go idle, and have it run a full GC, so that neither the
 * teardown nor the garbage of one point lands in the next point's window.
 */
async function measurePoint(server, client, sweep, x, { warmMs, windowMs }) {
  const spec = sweep.load(x);
  const opened = await client.open(spec);
  if (opened.opened < spec.connections) throw new Error(`${sweep.key} ${x}: only ${opened.opened} of ${spec.connections} connections opened (${opened.failed} failed)`);
  await sleep(warmMs + spec.connections / 20); // 10 000 connections' first requests all land at once: let that wave pass
  const { m0, m1, cpuUs } = await measureWindow(server, client, windowMs);
  await client.close();
  await settle(server, 20 + spec.connections / 100);
  await server.mem(); // a full GC (the server runs with --expose-gc)
  const requests = m1.responses - m0.responses;
  const wallUs = (m1.t - m0.t) * 1000;
  return {
    requests,
    errors: m1.errors - m0.errors,
    cpuPerReqUs: cpuUs / requests,
    wallPerReqUs: wallUs / requests,
    rps: requests / (wallUs / 1e6),
    cpuShare: cpuUs / wallUs,
    openMs: opened.ms,
  };
}

/** The cost this sweep's verdict is about: per request, or per write for pipelining. */
function costPoints(sweep, rows) {
  return rows.map((r) => ({ x: r.x, y: sweep.shape === 'amortised' ? r.cpuPerReqUs * r.x : r.cpuPerReqUs }));
}

/** Prints a sweep's table and verdict; returns the analysis kept in the JSON and drawn in the plot. */
function analyse(sweep, rows) {
  console.log(`\n### ${sweep.title}`);
  const perWrite = sweep.shape === 'amortised';
  const cost = costPoints(sweep, rows);
  const st = steps(cost);
  const header = [sweep.xName, 'CPU µs/req', 'wall µs/req', 'req/s', 'server CPU %'];
  if (sweep.perUnit) header.push(`CPU µs/${sweep.unit}`);
  if (perWrite) header.push('CPU µs/write');
  header.push(perWrite ? 'step × (per write)' : 'step ×');
  if (sweep.shape !== 'flat') header.push('step ÷ x growth', `µs per added ${sweep.unit}`);
  header.push('errors');
  printTable(header, rows.map((r, i) => {
    const cells = [sweep.xLabel(r.x), fmt(r.cpuPerReqUs, 2), fmt(r.wallPerReqUs, 2), fmt(r.rps), fmt(100 * r.cpuShare)];
    if (sweep.perUnit) cells.push(r.x > 0 ? fmt(r.cpuPerReqUs / (r.x / sweep.perUnit), 3) : '—');
    if (perWrite) cells.push(fmt(cost[i].y, 2));
    const s = st[i];
    // The step of the cost the verdict is about: per request, or per write for pipelining.
    cells.push(s.ratio === null ? '' : fmt(s.ratio, 2));
    if (sweep.shape !== 'flat') {
      cells.push(s.normalised === null ? '' : fmt(s.normalised, 2));
      // The slope between this point and the one before: constant for a line, rising for a quadratic term.
      cells.push(i === 0 ? '' : fmt((cost[i].y - cost[i - 1].y) / ((cost[i].x - cost[i - 1].x) / (sweep.perUnit ?? 1)), 3));
    }
    cells.push(fmt(r.errors));
    return cells;
  }));

  const analysis = { shape: sweep.shape };
  const lines = [];
  if (sweep.shape === 'flat') {
    const f = flatness(cost);
    const lin = linearity(cost);
    analysis.flatness = f;
    analysis.fit = lin.line === null ? null : { a: lin.line.coef[0], b: lin.line.coef[1], r2: lin.line.r2 };
    lines.push(`the cost per request should not grow with the number of ${sweep.xName}: max / min = ${fmt(f.ratio, 2)} (${fmt(f.min, 2)} … ${fmt(f.max, 2)} µs); largest rise from a point to one of larger x ×${fmt(f.rise, 2)}`);
    if (lin.line !== null) {
      const [a, b] = lin.line.coef;
      lines.push(`line: ${fmt(a, 2)} µs ${b >= 0 ? '+' : '−'} ${fmt(Math.abs(b) * 1000, 4)} µs per 1 000 ${sweep.xName}; at ${fmt(lin.xMax)} the x term is ${pct((b * lin.xMax) / lin.line.predict(lin.xMax))} of the cost`);
    }
    analysis.verdictShort = f.flat ? 'flat' : f.grows ? 'grows' : 'falls as x grows';
    analysis.verdict = `${analysis.verdictShort} (flat: max / min ≤ ${FLAT_RATIO}; grows: a rise of more than ×${FLAT_RATIO})`;
  } else {
    const lin = linearity(cost);
    const what = perWrite ? 'CPU µs per write' : 'CPU µs per request';
    const unitScale = sweep.perUnit ?? 1;
    if (lin.line !== null) {
      const [a, b] = lin.line.coef;
      analysis.fit = { a, b, r2: lin.line.r2, maxResidual: lin.line.maxResidual };
      lines.push(`fit ${what} = a + b·x (least squares on relative error): a = ${fmt(a, 2)} µs, b = ${fmt(b * unitScale, 4)} µs per ${sweep.unit}; R² ${fmt(lin.line.r2, 4)}; largest residual ${pct(lin.line.maxResidual.value)} (at ${sweep.xLabel(lin.line.maxResidual.x)})`);
    }
    if (lin.quad !== null) {
      const c = lin.quad.coef[2];
      analysis.quadratic = { c, share: lin.quadShare };
      lines.push(`quadratic term: fit a + b·x + c·x² gives c·x_max² = ${fmt(c * lin.xMax * lin.xMax, 2)} µs, ${pct(lin.quadShare)} of the cost at ${sweep.xLabel(lin.xMax)} (significant from ${pct(QUADRATIC_SHARE)}${lin.quadShare < 0 ? '; negative: the growth bends down' : ''})`);
    }
    const worst = Math.max(...st.map((s) => s.normalised ?? 0));
    analysis.largestNormalisedStep = worst;
    lines.push(`largest step ÷ x growth: ${fmt(worst, 2)} (a + b·x keeps it ≤ 1; above 1 the cost grew faster than x between two points)`);
    if (perWrite) {
      const f = flatness(rows.map((r) => ({ x: r.x, y: r.cpuPerReqUs })));
      analysis.perRequest = f;
      const rise = Math.max(...steps(rows.map((r) => ({ x: r.x, y: r.cpuPerReqUs }))).map((s) => s.ratio ?? 0));
      analysis.perRequestLargestRise = rise;
      lines.push(`per request: ${fmt(rows[0].cpuPerReqUs, 2)} µs at depth ${rows[0].x}, ${fmt(rows[rows.length - 1].cpuPerReqUs, 2)} µs at ${rows[rows.length - 1].x} (max / min ${fmt(f.ratio, 2)}): the per-write cost is shared by the requests of a write, so per request it should only fall; largest step from one depth to the next ×${fmt(rise, 2)}`);
    }
    let verdict = 'not a clean line (noise, or a step)';
    if (lin.quadratic) verdict = 'grows faster than linear (quadratic term)';
    else if (lin.linear) verdict = 'linear';
    else if (lin.quadShare !== null && lin.quadShare <= -QUADRATIC_SHARE) verdict = 'grows slower than linear (bends down)';
    analysis.verdictShort = verdict;
    analysis.verdict = `${verdict}; linear means R² ≥ ${LINEAR_R2}, residuals ≤ ${pct(MAX_RESIDUAL)}, quadratic share < ${pct(QUADRATIC_SHARE)}`;
  }
  for (const l of lines) console.log(l);
  console.log(`verdict: ${analysis.verdict}`);
  analysis.lines = lines;
  return analysis;
}

/** The figure: one panel per sweep, µs per request (CPU filled, wall hollow) and the fitted curve. */
function plot(sweeps, results, { smoke, load, rounds }) {
  const panels = sweeps.map((sweep) => {
    const rows = results[sweep.key].rows;
    const an = results[sweep.key].analysis;
    const perKiB = sweep.key === 'size';
    const X = (x) => (perKiB ? x / KiB : x);
    let f = null;
    if (an.fit) {
      const { a, b } = an.fit;
      // The depth fit is per write (a + b·d): per request that is a / d + b.
      f = sweep.shape === 'amortised' ? (d) => a / d + b : perKiB ? (k) => a + b * k * KiB : (x) => a + b * x;
    }
    const xs = rows.map((r) => X(r.x));
    const decades = (lo, hi) => {
      const t = [];
      for (let v = lo; v <= hi; v *= 10) t.push({ value: v, label: fmt(v) });
      return t;
    };
    let xTicks;
    if (sweep.key === 'depth') xTicks = xs.map((v) => ({ value: v, label: fmt(v) }));
    else if (perKiB) xTicks = [{ value: 0, label: '0' }, ...[1, 4, 16, 64, 256, 1024].filter((v) => v <= Math.max(...xs)).map((v) => ({ value: v, label: fmt(v) }))];
    else xTicks = decades(Math.min(...xs), Math.max(...xs));
    return {
      title: sweep.title,
      xLabel: perKiB ? 'request content, KiB (log scale; 0 at the left)' : `${sweep.xName} (log scale)`,
      yLabel: 'µs per request',
      xScale: 'log',
      xZero: perKiB ? 0.25 : undefined,
      xTicks,
      series: [
        { name: 'server CPU', points: rows.map((r) => ({ x: X(r.x), y: r.cpuPerReqUs, lo: r.cpuMin, hi: r.cpuMax, label: `${sweep.xLabel(r.x)}: ${fmt(r.cpuPerReqUs, 2)} µs (rounds ${fmt(r.cpuMin, 2)} … ${fmt(r.cpuMax, 2)})` })) },
        { name: 'wall', hollow: true, points: rows.map((r) => ({ x: X(r.x), y: r.wallPerReqUs, label: `${sweep.xLabel(r.x)}: ${fmt(r.wallPerReqUs, 2)} µs` })) },
      ],
      curve: f === null ? undefined : { f },
      note: `verdict: ${an.verdictShort}`,
    };
  });
  const title = `repy-http: how the cost of a request grows${smoke ? ' (smoke run)' : ''}`;
  const desc = [
    `Server CPU and wall time per request, in microseconds, of repy-http's hello-world server as four things grow, each on its own; measured ${new Date().toISOString().slice(0, 10)}, load average ${load.toFixed(2)}.`,
    ...sweeps.map((s) => `${s.title}: ${results[s.key].rows.map((r) => `${s.xLabel(r.x)} ${fmt(r.cpuPerReqUs, 1)} µs`).join(', ')}; ${results[s.key].analysis.verdict}.`),
  ].join(' ');
  const env = environment();
  const subtitle = `node ${env.node}, ${env.cores} × ${env.cpu}, load average ${load.toFixed(2)} at the start, medians of ${rounds} round${rounds === 1 ? '' : 's'}`;
  return renderGrowthSvg({
    title,
    subtitle,
    desc: `${desc} ${subtitle}.`,
    legend: [
      { name: 'server CPU µs/request (median; bar: min–max of rounds)', color: COLORS.blue },
      { name: 'wall µs/request', color: COLORS.orange, hollow: true },
      { name: 'least-squares fit', line: true },
    ],
    panels,
  });
}

/** A point's row: the medians over its rounds (and the spread of the CPU cost). */
function summariseRow(x, ms) {
  return {
    x,
    cpuPerReqUs: median(ms.map((m) => m.cpuPerReqUs)),
    cpuMin: Math.min(...ms.map((m) => m.cpuPerReqUs)),
    cpuMax: Math.max(...ms.map((m) => m.cpuPerReqUs)),
    wallPerReqUs: median(ms.map((m) => m.wallPerReqUs)),
    rps: median(ms.map((m) => m.rps)),
    cpuShare: median(ms.map((m) => m.cpuShare)),
    errors: ms.reduce((a, m) => a + m.errors, 0),
    requests: ms.reduce((a, m) => a + m.requests, 0),
    rounds: ms,
  };
}

const TITLE = 'How cost grows: µs per request against headers, content, pipelining and connections';

/**
 * Analyses and prints every sweep in `measured` ({ key: Map x → rounds }),
 * draws the plot and writes bench/results/growth.json; returns the
 * runner's summary.
 */
function report(measured, { smoke, rounds, timing, load, writePlot }) {
  const sweeps = SWEEPS.filter((s) => measured[s.key] !== undefined);
  const results = {};
  for (const sweep of sweeps) {
    const rows = [...measured[sweep.key]].map(([x, ms]) => summariseRow(x, ms));
    results[sweep.key] = { title: sweep.title, config: sweep.load(sweep.full[0]), rows, analysis: analyse(sweep, rows) };
  }
  const svg = plot(sweeps, results, { smoke, load, rounds });
  mkdirSync(RESULTS_DIR, { recursive: true });
  const svgFile = join(RESULTS_DIR, 'growth.svg');
  writeFileSync(svgFile, svg);
  console.log(`\nplot → ${svgFile}`);
  if (writePlot) {
    const img = join(BENCH_DIR, 'img', 'growth.svg');
    mkdirSync(join(BENCH_DIR, 'img'), { recursive: true });
    writeFileSync(img, svg);
    console.log(`plot → ${img}`);
  }
  const file = writeResult('growth', { title: TITLE, config: { smoke, rounds, ...timing, loadavgStart: load }, sweeps: results });
  console.log(`→ ${file}`);
  // No target: the runner's summary shows, per sweep, the number its verdict rests on.
  return {
    name: 'growth',
    title: TITLE,
    ratios: sweeps.map((s) => {
      const an = results[s.key].analysis;
      const verdict = an.verdictShort;
      if (s.shape === 'flat') return ratio(`${s.key}: ${verdict}; max / min µs per request`, an.flatness.ratio, null);
      return ratio(`${s.key}: ${verdict}; quadratic share at the largest x`, 100 * (an.quadratic?.share ?? NaN), null, false, '%');
    }),
  };
}

/**
 * @param {object} p
 * @param {boolean} p.smoke three points per sweep (up to 1 000 connections), short windows
 * @param {number} p.rounds rounds over each sweep's points
 * @param {boolean} [p.writePlot] also write bench/img/growth.svg
 * @param {string[] | null} [p.only] the keys of the sweeps to run (default: all)
 */
export async function runGrowth({ smoke, rounds, writePlot = false, only = null }) {
  console.log(`\n## ${TITLE}`);
  const timing = smoke ? { warmMs: 50, windowMs: 100 } : { warmMs: 150, windowMs: 400 };
  console.log(`repy-http's hello-world server on the server core, bench/clients/growth-load.mjs on the client core; per point ${timing.warmMs} ms warm-up then a ${timing.windowMs} ms window, ${rounds} round${rounds === 1 ? '' : 's'} alternating over the points, medians${smoke ? '\nsmoke: three points a sweep and short windows; the fits and verdicts need the full run' : ''}`);
  const sweeps = SWEEPS.filter((s) => only === null || only.includes(s.key));
  const load = loadavg()[0];
  const servers = {};
  const clients = {};
  try {
    [servers.hello, servers.upload] = await Promise.all([startServer('ours', 'hello', { nofile: MAX_CONNECTIONS + 1024 }), startServer('ours', 'upload')]);
    clients.hello = startClient(servers.hello.port);
    clients.upload = startClient(servers.upload.port);
    const points = (sweep) => (smoke ? sweep.smoke : sweep.full);
    // Warm-up, thrown away: every point once, so that the JIT has settled on
    // every request shape before any window counts (smoke: one point a sweep).
    for (const sweep of sweeps) {
      for (const x of smoke ? [sweep.smoke[1]] : sweep.warm ?? sweep.full) await measurePoint(servers[sweep.app], clients[sweep.app], sweep, x, { warmMs: smoke ? 100 : 200, windowMs: 10 });
    }
    const measured = Object.fromEntries(sweeps.map((s) => [s.key, new Map()]));
    for (let r = 0; r < rounds; r++) {
      for (const sweep of sweeps) {
        for (const x of points(sweep)) {
          const m = await measurePoint(servers[sweep.app], clients[sweep.app], sweep, x, timing);
          const list = measured[sweep.key].get(x) ?? [];
          list.push(m);
          measured[sweep.key].set(x, list);
        }
      }
    }
    return report(measured, { smoke, rounds, timing, load, writePlot });
  } finally {
    for (const c of Object.values(clients)) c.stop();
    for (const s of Object.values(servers)) await s.stop();
  }
}

/**
 * Re-analyses and redraws a saved bench/results/growth.json (its rounds,
 * not its medians) without measuring anything: for a change to the fits or
 * the plot, or for a file whose sweeps come from more than one run.
 */
export function replotGrowth(file, { writePlot = false } = {}) {
  const data = JSON.parse(readFileSync(file, 'utf8'));
  console.log(`\n## ${TITLE} (from ${file}, measured ${data.date})`);
  const measured = {};
  for (const [key, sweep] of Object.entries(data.sweeps)) measured[key] = new Map(sweep.rows.map((row) => [row.x, row.rounds]));
  const c = data.config;
  return report(measured, { smoke: c.smoke, rounds: c.rounds, timing: { warmMs: c.warmMs, windowMs: c.windowMs }, load: c.loadavgStart ?? data.environment.loadavg1, writePlot });
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? null : process.argv[i + 1] ?? null;
  };
  const writePlot = process.argv.includes('--write-plot');
  if (arg('--replot') !== null) replotGrowth(arg('--replot'), { writePlot });
  else {
    const smoke = process.argv.includes('--smoke');
    const rounds = Number(arg('--rounds')) >= 1 ? Number(arg('--rounds')) : smoke ? 1 : 3;
    const only = arg('--only')?.split(',') ?? null;
    await runGrowth({ smoke, rounds, writePlot, only });
  }
}
