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
import { alternateHttp, LOADGEN, load, printRatios, ratio, startServer, writeResult } from './lib.mjs';

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
    const stats = await alternateHttp({ contenders: CONTENDERS, servers, rounds, loadOptions: { connections, seconds, secure: true } });
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
