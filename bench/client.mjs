// Benchmark: the client with keepAlive (issue #15). N sequential GETs of a
// 5-byte hello to a local node:http server, three contenders alternating
// round after round: repy-http's `getString(url, { keepAlive: pool })`,
// Node's global `fetch` (undici, which keeps connections alive), and
// `http.get` with `new http.Agent({ keepAlive: true })` reading the body by
// hand. The server runs in a child process pinned to the server core; the
// clients run in another child pinned to the client core, which measures
// each round's wall time and its own CPU time (user + system, from
// process.cpuUsage). Sequential requests: one is in flight at a time, so
// the rate is bounded by the round trip through both processes, and the
// client's CPU per request is the figure that tells the clients apart when
// the machine is shared.
//
//   node bench/client.mjs [--smoke]      (also: npm run bench -- client)
import { realpathSync } from 'node:fs';
import { createServer, get, Agent } from 'node:http';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { fmt, jsonLines, printRatios, printTable, ratio, spawnPinned, summarize, writeResult } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const BODY = 'hello';

/** The server child: node:http hello world, keep-alive for as long as the run lasts. */
async function serve() {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 600_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
  createInterface({ input: process.stdin }).on('close', () => process.exit(0));
}

/** The clients child: runs the rounds, one JSON line per contender per round. */
async function clients({ port, requests, rounds }) {
  const { getString, ConnectionPool } = await import('../dist/index.js');
  const url = `http://127.0.0.1:${port}/`;
  const pool = new ConnectionPool();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const httpGet = () => new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let s = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (s += c));
      res.on('end', () => resolve(s));
      res.on('error', reject);
    }).on('error', reject);
  });
  const contenders = {
    repy: () => getString(url, { keepAlive: pool }),
    fetch: async () => (await fetch(url)).text(),
    'http.get': httpGet,
  };
  const once = async (name, n) => {
    const f = contenders[name];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const body = await f();
      if (body !== BODY) throw new Error(`${name}: unexpected body ${JSON.stringify(body)}`);
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { secs, cpuUs: cpu.user + cpu.system };
  };
  // Warm-up: JIT and one connection each.
  for (const name of Object.keys(contenders)) await once(name, Math.min(2000, requests));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round, so that no contender always runs first after the others.
    const names = Object.keys(contenders);
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      const m = await once(name, requests);
      process.stdout.write(`${JSON.stringify({ round: r, name, ...m })}\n`);
    }
  }
  pool.close();
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
}

export async function runClient({ requests, rounds }) {
  const title = `Client keep-alive: ${fmt(requests)} sequential GETs, repy-http getString vs fetch vs http.get (keepAlive Agent)`;
  console.log(`\n## ${title}`);
  const server = spawnPinned('server', [process.execPath, SELF, '--server']);
  try {
    const ready = await jsonLines(server).next((m) => m.ready === true, 30_000);
    const child = spawnPinned('client', [process.execPath, SELF, '--clients', JSON.stringify({ port: ready.port, requests, rounds })]);
    const lines = jsonLines(child);
    const byName = { repy: [], fetch: [], 'http.get': [] };
    for (let i = 0; i < rounds * 3; i++) {
      const m = await lines.next((x) => x.round !== undefined, 300_000);
      byName[m.name].push(m);
    }
    await lines.next((x) => x.done === true, 30_000);
    const stats = {};
    for (const [name, ms] of Object.entries(byName)) {
      stats[name] = {
        rps: summarize(ms.map((m) => requests / m.secs)),
        cpuUsPerRequest: summarize(ms.map((m) => m.cpuUs / requests)),
      };
    }
    printTable(
      ['client', 'requests/s (median)', 'min / max', 'client CPU µs/request (median)', 'min / max'],
      Object.entries(stats).map(([name, s]) => [
        name, fmt(s.rps.median), `${fmt(s.rps.min)} / ${fmt(s.rps.max)}`,
        fmt(s.cpuUsPerRequest.median, 1), `${fmt(s.cpuUsPerRequest.min, 1)} / ${fmt(s.cpuUsPerRequest.max, 1)}`,
      ]),
    );
    const ratios = [
      ratio('repy-http req/s / fetch req/s', stats.repy.rps.median / stats.fetch.rps.median, 1.0),
      ratio('repy-http req/s / http.get req/s', stats.repy.rps.median / stats['http.get'].rps.median, 1.0),
      ratio('fetch CPU / repy-http CPU per request', stats.fetch.cpuUsPerRequest.median / stats.repy.cpuUsPerRequest.median, 1.0),
      ratio('http.get CPU / repy-http CPU per request', stats['http.get'].cpuUsPerRequest.median / stats.repy.cpuUsPerRequest.median, 1.0),
    ];
    console.log('');
    printRatios(ratios);
    const file = writeResult('client', { title, config: { requests, rounds }, stats, ratios });
    console.log(`→ ${file}`);
    return { name: 'client', title, ratios };
  } finally {
    server.stdin.end();
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === SELF) {
  if (process.argv[2] === '--server') await serve();
  else if (process.argv[2] === '--clients') await clients(JSON.parse(process.argv[3]));
  else {
    const smoke = process.argv.includes('--smoke');
    await runClient({ requests: smoke ? 1000 : 10_000, rounds: smoke ? 1 : 5 });
  }
}
