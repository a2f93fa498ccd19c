// Benchmarks 1 and 2: hello world over keep-alive connections, one request
// at a time or pipelined, against node:http and a raw node:net server that
// answers each "\r\n\r\n" with a canned response (the practical limit).
// The three servers run at once, each in its own process on the server core;
// the load generator runs on the client core, alternating A B C A B C ...
import { alternateHttp, LOADGEN, load, printRatios, ratio, startServer, writeResult } from './lib.mjs';

export const CONTENDERS = [
  { key: 'ours', label: 'repy-http' },
  { key: 'node', label: 'node:http' },
  { key: 'raw', label: 'raw node:net' },
];

/**
 * @param {object} p
 * @param {string} p.name result file name
 * @param {string} p.title
 * @param {number} p.pipeline requests per write
 * @param {number} p.connections
 * @param {number} p.seconds per round
 * @param {number} p.warmup seconds per contender before the rounds (0: none)
 * @param {number} p.rounds
 * @param {object} p.targets { node, raw } ratio targets (null: none)
 */
export async function runHttp({ name, title, pipeline, connections, seconds, warmup, rounds, targets }) {
  console.log(`\n## ${title}`);
  console.log(`${connections} connections, ${pipeline > 1 ? `${pipeline} requests per write, ` : ''}${LOADGEN} ${seconds} s × ${rounds} rounds per contender, alternating${warmup > 0 ? `, after ${warmup} s warm-up each` : ''}`);
  const servers = {};
  try {
    for (const c of CONTENDERS) servers[c.key] = await startServer(c.key, 'hello');
    if (warmup > 0) for (const c of CONTENDERS) await load({ port: servers[c.key].port, connections, seconds: warmup, pipeline });
    const stats = await alternateHttp({ contenders: CONTENDERS, servers, rounds, loadOptions: { connections, seconds, pipeline } });
    const ours = stats.ours;
    // The CPU-time ratios (their µs/req over ours) estimate the throughput
    // ratios when the machine is busy: CPU time is not lost to descheduling.
    const ratios = [
      ratio('repy-http / node:http', ours.rps.median / stats.node.rps.median, targets.node),
      ratio('repy-http / raw node:net', ours.rps.median / stats.raw.rps.median, targets.raw),
      ratio('by server CPU per request: vs node:http', stats.node.cpuPerReqUs.median / ours.cpuPerReqUs.median, targets.node),
      ratio('by server CPU per request: vs raw node:net', stats.raw.cpuPerReqUs.median / ours.cpuPerReqUs.median, targets.raw),
    ];
    console.log('');
    printRatios(ratios);
    const file = writeResult(name, { title, config: { pipeline, connections, seconds, warmup, rounds, loadgen: LOADGEN }, contenders: stats, ratios });
    console.log(`→ ${file}`);
    return { name, title, ratios };
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
}
