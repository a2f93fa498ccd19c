// Benchmark "how cost grows" (issue #15): the cost of a request to
// repy-http's server (the hello-world server of bench/server.mjs, from dist/,
// pinned to core 0) as four things grow, each swept on its own:
//
//   1. header fields per request: 1 … 100 (Host plus ~29-byte X-Growth-NN fields)
//   2. request content: a Content-Length POST of 0 B … 1 MiB (the upload app,
//      which reads the whole body from req.datastream)
//   3. pipelining depth: 1 … 64 requests per write
//   4. open connections: 10 … 10 000, each doing request/response in a loop
//
// The load comes from bench/clients/growth-load.mjs on core 1, which opens
// the connections first and keeps them busy; the measured window starts
// after a warm-up, so connecting is not part of the cost. Per point: the
// server's CPU time per request (process.cpuUsage(), user + system: not
// counted while descheduled, so it holds up on a busy machine) and wall time
// per request (the window over the responses). The points of a sweep
// alternate over the rounds (x₁ … x₇, x₁ … x₇, …) and the medians are kept.
//
// For each sweep: a table, the step ratios, a least-squares fit of
// cost = a + b·x (R², largest relative residual) and of a + b·x + c·x² (the
// quadratic term's share of the cost at the largest x), and a verdict. Only
// printed: a benchmark never fails on its numbers. The plot goes to
// bench/results/growth.svg, and with `writePlot` (--write-plot) also to
// bench/img/growth.svg, the figure in bench/README.md.
//
//   node bench/growth.mjs [--smoke] [--rounds N] [--write-plot]   (also: npm run bench -- growth)
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
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

/**
 * One point: open the connections, warm up, count the responses and the
 * server's CPU time over `windowMs`, close the connections, and have the
 * server run a full GC, so that one point's garbage is not collected in the
 * next point's window.
 */
async function measurePoint(server, client, sweep, x, { warmMs, windowMs }) {
  const spec = sweep.load(x);
  const opened = await client.open(spec);
  if (opened.opened < spec.connections) throw new Error(`${sweep.key} ${x}: only ${opened.opened} of ${spec.connections} connections opened (${opened.failed} failed)`);
  await sleep(warmMs + spec.connections / 20); // 10 000 connections' first requests all land at once: let that wave pass
  const [cpu0, m0] = await Promise.all([server.cpu(), client.mark()]);
  await sleep(windowMs);
  const [cpu1, m1] = await Promise.all([server.cpu(), client.mark()]);
  await client.close();
  await sleep(20 + spec.connections / 100); // the server sees the closes
  await server.mem(); // a full GC (the server runs with --expose-gc)
  const requests = m1.responses - m0.responses;
  const wallUs = (m1.t - m0.t) * 1000;
  const cpuUs = cpu1 - cpu0;
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
  if (sweep.shape !== 'flat') header.push('step ÷ x growth');
  header.push('errors');
  printTable(header, rows.map((r, i) => {
    const cells = [sweep.xLabel(r.x), fmt(r.cpuPerReqUs, 2), fmt(r.wallPerReqUs, 2), fmt(r.rps), fmt(100 * r.cpuShare)];
    if (sweep.perUnit) cells.push(r.x > 0 ? fmt(r.cpuPerReqUs / (r.x / sweep.perUnit), 3) : '—');
    if (perWrite) cells.push(fmt(cost[i].y, 2));
    const s = st[i];
    // The step of the cost the verdict is about: per request, or per write for pipelining.
    cells.push(s.ratio === null ? '' : fmt(s.ratio, 2));
    if (sweep.shape !== 'flat') cells.push(s.normalised === null ? '' : fmt(s.normalised, 2));
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
    lines.push(`the cost per request should not depend on the number of ${sweep.xName}: max / min = ${fmt(f.ratio, 2)} (${fmt(f.min, 2)} … ${fmt(f.max, 2)} µs)`);
    if (lin.line !== null) {
      const [a, b] = lin.line.coef;
      lines.push(`line: ${fmt(a, 2)} µs ${b >= 0 ? '+' : '−'} ${fmt(Math.abs(b) * 1000, 4)} µs per 1 000 ${sweep.xName}; at ${fmt(lin.xMax)} the x term is ${pct((b * lin.xMax) / lin.line.predict(lin.xMax))} of the cost`);
    }
    analysis.verdictShort = f.flat ? 'flat' : 'not flat';
    analysis.verdict = `${analysis.verdictShort} (max / min ${fmt(f.ratio, 2)} ${f.flat ? '≤' : '>'} ${FLAT_RATIO})`;
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

/**
 * @param {object} p
 * @param {boolean} p.smoke three points per sweep (up to 1 000 connections), short windows
 * @param {number} p.rounds rounds over each sweep's points
 * @param {boolean} [p.writePlot] also write bench/img/growth.svg
 */
export async function runGrowth({ smoke, rounds, writePlot = false }) {
  const title = 'How cost grows: µs per request against headers, content, pipelining and connections';
  console.log(`\n## ${title}`);
  const timing = smoke ? { warmMs: 50, windowMs: 100 } : { warmMs: 150, windowMs: 400 };
  console.log(`repy-http's hello-world server on the server core, bench/clients/growth-load.mjs on the client core; per point ${timing.warmMs} ms warm-up then a ${timing.windowMs} ms window, ${rounds} round${rounds === 1 ? '' : 's'} alternating over the points, medians${smoke ? '\nsmoke: three points a sweep and short windows; the fits and verdicts need the full run' : ''}`);
  const load0 = loadavg()[0];
  const servers = {};
  const clients = {};
  try {
    [servers.hello, servers.upload] = await Promise.all([startServer('ours', 'hello', { nofile: MAX_CONNECTIONS + 1024 }), startServer('ours', 'upload')]);
    clients.hello = startClient(servers.hello.port);
    clients.upload = startClient(servers.upload.port);
    const points = (sweep) => (smoke ? sweep.smoke : sweep.full);
    // Warm-up, thrown away: every point once, so that the JIT has settled on
    // every request shape before any window counts (smoke: one point a sweep).
    for (const sweep of SWEEPS) {
      for (const x of smoke ? [sweep.smoke[1]] : sweep.warm ?? sweep.full) await measurePoint(servers[sweep.app], clients[sweep.app], sweep, x, { warmMs: smoke ? 100 : 200, windowMs: 10 });
    }
    const samples = Object.fromEntries(SWEEPS.map((s) => [s.key, new Map()]));
    for (let r = 0; r < rounds; r++) {
      for (const sweep of SWEEPS) {
        for (const x of points(sweep)) {
          const m = await measurePoint(servers[sweep.app], clients[sweep.app], sweep, x, timing);
          const list = samples[sweep.key].get(x) ?? [];
          list.push(m);
          samples[sweep.key].set(x, list);
        }
      }
    }
    const results = {};
    for (const sweep of SWEEPS) {
      const rows = [...samples[sweep.key]].map(([x, ms]) => ({
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
      }));
      results[sweep.key] = { title: sweep.title, config: sweep.load(sweep.full[0]), rows, analysis: analyse(sweep, rows) };
    }
    const svg = plot(SWEEPS, results, { smoke, load: load0, rounds });
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
    const file = writeResult('growth', { title, config: { smoke, rounds, ...timing }, sweeps: results });
    console.log(`→ ${file}`);
    // No target: the runner's summary shows, per sweep, the number its verdict rests on.
    return {
      name: 'growth',
      title,
      ratios: SWEEPS.map((s) => {
        const an = results[s.key].analysis;
        const verdict = an.verdictShort;
        if (s.shape === 'flat') return ratio(`${s.key}: ${verdict}; max / min µs per request`, an.flatness.ratio, null);
        return ratio(`${s.key}: ${verdict}; quadratic share at the largest x`, 100 * (an.quadratic?.share ?? NaN), null, false, '%');
      }),
    };
  } finally {
    for (const c of Object.values(clients)) c.stop();
    for (const s of Object.values(servers)) await s.stop();
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  const i = process.argv.indexOf('--rounds');
  const rounds = i !== -1 && Number(process.argv[i + 1]) >= 1 ? Number(process.argv[i + 1]) : smoke ? 1 : 3;
  await runGrowth({ smoke, rounds, writePlot: process.argv.includes('--write-plot') });
}
