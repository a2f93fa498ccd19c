// Slowloris: fast-client throughput (keep-alive hello world, wrk) with 1 000
// slow connections open that trickle their heads one byte at a time, vs
// without them — the figure issue #3 asks for. Our server (headersTimeout 60 s
// by default: the slow heads stay open for the whole run) vs node:http.
// `node bench/slowloris.mjs [--smoke]`
import { connect } from 'node:net';
import { fmt, load, printTable, startServer, writeResult, sleep } from './lib.mjs';

const smoke = process.argv.includes('--smoke');
const SLOW = smoke ? 200 : 1000;
const SECONDS = smoke ? 1 : 3;
const ROUNDS = smoke ? 1 : 3;

/** Opens `n` connections that send one byte of a never-ending head every 200 ms. */
async function slowClients(port, n) {
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r).once('error', r));
    s.write('GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: ');
    sockets.push(s);
  }
  const timer = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write('x');
  }, 200);
  return {
    alive: () => sockets.filter((s) => !s.destroyed).length,
    close: () => {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    },
  };
}

export async function runSlowloris() {
  console.log(`\n## Slowloris: keep-alive hello world (50 connections) with ${SLOW} slow-head connections open vs without`);
  const rows = [];
  const result = {};
  for (const kind of ['ours', 'node']) {
    const server = await startServer(kind, 'hello', { nofile: 20000 });
    try {
      const base = [];
      const under = [];
      let alive = 0;
      for (let r = 0; r < ROUNDS; r++) {
        base.push((await load({ port: server.port, connections: 50, seconds: SECONDS })).rps);
        const slow = await slowClients(server.port, SLOW);
        await sleep(200);
        under.push((await load({ port: server.port, connections: 50, seconds: SECONDS })).rps);
        alive = Math.min(alive || Infinity, slow.alive());
        slow.close();
        await sleep(200);
      }
      const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      result[kind] = { withoutSlow: med(base), withSlow: med(under), ratio: med(under) / med(base), slowStillOpen: alive };
      rows.push([kind === 'ours' ? 'repy-http' : 'node:http', fmt(med(base)), fmt(med(under)), `${(med(under) / med(base)).toFixed(2)}×`, String(alive)]);
    } finally {
      await server.stop();
    }
  }
  printTable(['server', 'req/s without', `req/s with ${SLOW} slow`, 'with / without', 'slow heads still open'], rows);
  writeResult('slowloris', { slow: SLOW, seconds: SECONDS, rounds: ROUNDS, result });
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) await runSlowloris();
