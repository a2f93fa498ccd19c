// Benchmark 5: memory per idle keep-alive connection. A client process
// opens N connections, sends one GET on each and reads the response, then
// leaves them all open and idle. The server's RSS (after a full GC) before
// and after, divided by N. A fresh server process per measurement, warmed
// up first by a few hundred connections that come and go.
import { join } from 'node:path';
import { BENCH_DIR, fmt, jsonLines, printRatios, printTable, ratio, sleep, spawnPinned, startServer, summarize, writeResult } from './lib.mjs';

const CONTENDERS = [
  { key: 'ours', label: 'repy-http' },
  { key: 'node', label: 'node:http' },
];

/** Opens `count` idle connections from a client process; resolves with a handle to close them. */
async function openIdle(port, count) {
  const client = spawnPinned('client', [process.execPath, join(BENCH_DIR, 'clients', 'idle.mjs'), String(port), String(count)], { nofile: count + 1024 });
  const lines = jsonLines(client);
  const ready = await lines.next((m) => m.ready !== undefined, 300_000);
  return {
    ready,
    async close() {
      client.stdin.write('close\n');
      await lines.next((m) => m.closed !== undefined).catch(() => {});
    },
  };
}

async function measureOnce(kind, count, warmup) {
  const server = await startServer(kind, 'hello', { nofile: count + 1024 });
  try {
    if (warmup > 0) {
      const w = await openIdle(server.port, warmup);
      await w.close();
      await sleep(300); // let the server see the closes
    }
    const before = await server.mem();
    const conns = await openIdle(server.port, count);
    await sleep(500);
    const after = await server.mem();
    await conns.close();
    if (conns.ready.ready !== count) throw new Error(`${kind}: only ${conns.ready.ready} of ${count} connections (${conns.ready.failed} failed)`);
    const per = (k) => (after[k] - before[k]) / count;
    return { rss: per('rss'), heapUsed: per('heapUsed'), external: per('external'), openMs: conns.ready.ms, before, after };
  } finally {
    await server.stop();
  }
}

/**
 * @param {object} p
 * @param {number} p.count idle connections
 * @param {number} p.warmup connections opened and closed before measuring
 * @param {number} p.rounds
 */
export async function runIdle({ count, warmup, rounds }) {
  const title = `${fmt(count)} idle keep-alive connections: server memory per connection`;
  console.log(`\n## ${title}`);
  console.log(`after one request each; RSS, V8 heap and external memory after a full GC, (after − before) / ${fmt(count)}; ${rounds} rounds per contender, alternating, fresh server process each`);
  const runs = Object.fromEntries(CONTENDERS.map((c) => [c.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of CONTENDERS) runs[c.key].push(await measureOnce(c.key, count, warmup));
  }
  const stats = {};
  for (const c of CONTENDERS) {
    const rs = runs[c.key];
    stats[c.key] = {
      label: c.label,
      rssPerConn: summarize(rs.map((x) => x.rss)),
      heapPerConn: summarize(rs.map((x) => x.heapUsed)),
      externalPerConn: summarize(rs.map((x) => x.external)),
      openMs: summarize(rs.map((x) => x.openMs)),
      samples: rs.map(({ before, after }) => ({ before, after })),
    };
  }
  printTable(
    ['contender', 'median RSS B/conn', 'min', 'max', 'heap B/conn', 'external B/conn', 'open ms'],
    CONTENDERS.map((c) => {
      const s = stats[c.key];
      return [c.label, fmt(s.rssPerConn.median), fmt(s.rssPerConn.min), fmt(s.rssPerConn.max), fmt(s.heapPerConn.median), fmt(s.externalPerConn.median), fmt(s.openMs.median)];
    }),
  );
  console.log('');
  const ratios = [ratio('repy-http / node:http RSS per connection', stats.ours.rssPerConn.median / stats.node.rssPerConn.median, 1.0, false)];
  printRatios(ratios);
  const file = writeResult('idle', { title, config: { count, warmup, rounds }, contenders: stats, ratios });
  console.log(`→ ${file}`);
  return { name: 'idle', title, ratios };
}
