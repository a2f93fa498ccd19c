// HTTPS keep-alive hello world (issue #16): repy-http's `tls` option against
// node:https, both in their own process pinned to the server core, the same
// self-signed EC P-256 certificate, node's default TLS settings on both sides
// (TLS 1.3, the same cipher), wrk (or autocannon) keeping its connections
// alive so that the numbers measure HTTP over TLS, not handshakes. The two
// servers alternate, round after round; the ratio is of the medians.
//
//   node bench/tls.mjs [--smoke]      (after npm run build; also `npm run bench -- tls`)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, LOADGEN, load, printRatios, printTable, ratio, startServer, summarize, writeResult } from './lib.mjs';

const CONTENDERS = [
  { key: 'ours-tls', label: 'repy-http (tls)' },
  { key: 'node-tls', label: 'node:https' },
];

/** A throwaway key and self-signed certificate for 127.0.0.1 in a temp dir; returns the dir. */
function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-bench-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}

/**
 * @param {object} p
 * @param {number} p.connections
 * @param {number} p.seconds per round
 * @param {number} p.warmup seconds per contender before the rounds (0: none)
 * @param {number} p.rounds
 * @param {number} p.target the ratio issue #16 asks for (repy-http / node:https)
 */
export async function runTls({ connections, seconds, warmup, rounds, target }) {
  const title = 'HTTPS keep-alive hello world: repy-http (tls option) vs node:https';
  console.log(`\n## ${title}`);
  console.log(`${connections} connections, ${LOADGEN} ${seconds} s × ${rounds} rounds per contender, alternating${warmup > 0 ? `, after ${warmup} s warm-up each` : ''}`);
  const dir = makeCertificate();
  process.env.BENCH_TLS_KEY = join(dir, 'key.pem');
  process.env.BENCH_TLS_CERT = join(dir, 'cert.pem');
  const servers = {};
  try {
    for (const c of CONTENDERS) servers[c.key] = await startServer(c.key, 'hello');
    if (warmup > 0) for (const c of CONTENDERS) await load({ port: servers[c.key].port, connections, seconds: warmup, secure: true });
    const runs = Object.fromEntries(CONTENDERS.map((c) => [c.key, []]));
    for (let r = 0; r < rounds; r++) {
      for (const c of CONTENDERS) {
        const server = servers[c.key];
        const cpu0 = await server.cpu();
        const res = await load({ port: server.port, connections, seconds, secure: true });
        const cpu = (await server.cpu()) - cpu0;
        runs[c.key].push({ ...res, cpuPerReqUs: cpu / res.requests, cpuLoad: cpu / 1e6 / res.seconds });
      }
    }
    const stats = {};
    for (const c of CONTENDERS) {
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
      CONTENDERS.map((c) => {
        const s = stats[c.key];
        return [
          c.label, fmt(s.rps.median), fmt(s.rps.min), fmt(s.rps.max), fmt(s.latencyP50Ms.median, 2), fmt(s.latencyP99Ms.median, 2),
          fmt(s.cpuPerReqUs.median, 2), fmt(100 * s.cpuLoad.median), fmt(s.errors),
        ];
      }),
    );
    const ours = stats['ours-tls'];
    const node = stats['node-tls'];
    const ratios = [
      ratio('repy-http / node:https', ours.rps.median / node.rps.median, target),
      ratio('by server CPU per request: vs node:https', node.cpuPerReqUs.median / ours.cpuPerReqUs.median, target),
    ];
    console.log('');
    printRatios(ratios);
    const file = writeResult('tls', { title, config: { connections, seconds, warmup, rounds, loadgen: LOADGEN }, contenders: stats, ratios });
    console.log(`→ ${file}`);
    return { name: 'tls', title, ratios };
  } finally {
    for (const s of Object.values(servers)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run on its own: node bench/tls.mjs [--smoke]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  if (LOADGEN === null) {
    console.error('no HTTP load generator: install wrk (apt-get install -y wrk) or autocannon (npm install)');
    process.exit(1);
  }
  await runTls({ connections: 50, seconds: smoke ? 1 : 3, warmup: smoke ? 0 : 2, rounds: smoke ? 1 : 10, target: 1.0 });
}
