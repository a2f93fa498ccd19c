// Benchmark 6: hello world served by a cluster: repy-http/cluster with 1 and
// 2 workers, and node:http under node:cluster with 2 workers, in one run,
// alternating rounds. The workers are not pinned (they need the cores); the
// load generator runs on the machine too, so on 2 cores it competes with
// the workers for CPU: the 2-worker numbers understate what 2 free cores
// give, and the ratio of 2 workers to 1 is a floor, not the scaling.
//
//   node bench/cluster.mjs [--smoke]      (also: npm run bench -- cluster)
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { BENCH_DIR, fmt, jsonLines, LOADGEN, load, printRatios, printTable, ratio, summarize, writeResult } from './lib.mjs';

export const CLUSTER_CONTENDERS = [
  { key: 'ours1', label: 'repy-http, 1 worker', kind: 'ours', workers: 1 },
  { key: 'ours2', label: 'repy-http, 2 workers', kind: 'ours', workers: 2 },
  { key: 'node2', label: 'node:http cluster, 2 workers', kind: 'node', workers: 2 },
];

async function startCluster(kind, workers) {
  // Not pinned: the cluster's workers spread over the cores.
  const child = spawn(process.execPath, [join(BENCH_DIR, 'cluster-server.mjs'), kind, String(workers)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = jsonLines(child);
  const ready = await lines.next((m) => m.ready === true, 60_000);
  const exited = new Promise((r) => child.once('exit', r));
  return {
    port: ready.port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.write('exit\n');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/**
 * @param {object} p
 * @param {number} p.seconds per round
 * @param {number} p.rounds
 * @param {number} p.warmup seconds per contender before the rounds (0: none)
 * @param {number} p.connections
 */
export async function runCluster({ seconds, rounds, warmup, connections }) {
  const title = 'Cluster hello world: repy-http 1 and 2 workers vs node:http cluster 2 workers';
  console.log(`\n## ${title}`);
  console.log(`${connections} connections, ${LOADGEN} ${seconds} s × ${rounds} rounds per contender, alternating${warmup > 0 ? `, after ${warmup} s warm-up each` : ''}`);
  console.log(`note: ${cpus().length} cores; the load generator runs beside the workers and competes with them for CPU, so 2 workers cannot reach 2× here`);
  const servers = {};
  try {
    for (const c of CLUSTER_CONTENDERS) servers[c.key] = await startCluster(c.kind, c.workers);
    if (warmup > 0) for (const c of CLUSTER_CONTENDERS) await load({ port: servers[c.key].port, connections, seconds: warmup });
    const runs = Object.fromEntries(CLUSTER_CONTENDERS.map((c) => [c.key, []]));
    for (let r = 0; r < rounds; r++) {
      for (const c of CLUSTER_CONTENDERS) runs[c.key].push(await load({ port: servers[c.key].port, connections, seconds }));
    }
    const stats = {};
    for (const c of CLUSTER_CONTENDERS) {
      const rs = runs[c.key];
      stats[c.key] = {
        label: c.label,
        rps: summarize(rs.map((x) => x.rps)),
        latencyP99Ms: summarize(rs.map((x) => x.latencyP99Ms)),
        errors: rs.reduce((a, x) => a + x.errors, 0),
      };
    }
    printTable(
      ['contender', 'median req/s', 'min', 'max', 'p99 ms', 'errors'],
      CLUSTER_CONTENDERS.map((c) => {
        const s = stats[c.key];
        return [c.label, fmt(s.rps.median), fmt(s.rps.min), fmt(s.rps.max), fmt(s.latencyP99Ms.median, 2), fmt(s.errors)];
      }),
    );
    const ratios = [
      ratio('repy-http: 2 workers / 1 worker', stats.ours2.rps.median / stats.ours1.rps.median, null),
      ratio('repy-http 2 workers / node:http cluster 2 workers', stats.ours2.rps.median / stats.node2.rps.median, null),
    ];
    console.log('');
    printRatios(ratios);
    const file = writeResult('cluster', { title, config: { seconds, rounds, warmup, connections, loadgen: LOADGEN }, contenders: stats, ratios });
    console.log(`→ ${file}`);
    return { name: 'cluster', title, ratios };
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  await runCluster({ seconds: smoke ? 1 : 3, rounds: smoke ? 1 : 7, warmup: smoke ? 0 : 2, connections: 50 });
}
