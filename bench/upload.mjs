// Benchmark 4: one large streamed upload over one connection, read by the
// server chunk by chunk (ours: `for await (const c of req.datastream)`,
// node:http: `for await (const c of req)`). Throughput in MB/s (10^6 bytes)
// from the client's first byte to the response, and the server process's
// peak RSS growth during the upload. A fresh server process per upload.
import { join } from 'node:path';
import { BENCH_DIR, fmt, jsonLines, printRatios, printTable, procMem, ratio, resetPeak, spawnPinned, startServer, summarize, writeResult } from './lib.mjs';

const CONTENDERS = [
  { key: 'ours', label: 'repy-http' },
  { key: 'node', label: 'node:http' },
];
const MiB = 1024 * 1024;

async function uploadOnce(kind, size, chunk) {
  const server = await startServer(kind, 'upload');
  try {
    const cpu0 = await server.cpu();
    const base = procMem(server.pid)?.rss ?? NaN; // the idle server just before the upload
    const peakReset = resetPeak(server.pid);
    let peak = base;
    const sampler = setInterval(() => {
      const m = procMem(server.pid);
      if (m !== null && m.rss > peak) peak = m.rss;
    }, 10);
    const client = spawnPinned('client', [process.execPath, join(BENCH_DIR, 'clients', 'upload.mjs'), String(server.port), String(size), String(chunk)]);
    const res = await jsonLines(client).next((m) => m.bytes !== undefined, 600_000);
    clearInterval(sampler);
    const cpuUs = (await server.cpu()) - cpu0;
    const m = procMem(server.pid);
    if (m !== null && peakReset && m.hwm > peak) peak = m.hwm;
    if (res.status !== 200 || res.body !== String(size)) throw new Error(`${kind}: upload answered ${res.status} ${JSON.stringify(res.body)}, expected 200 ${size}`);
    return { mbps: size / res.ms / 1000, ms: res.ms, cpuMsPerGiB: (cpuUs / 1000) * (1024 * MiB / size), rssGrowth: peak - base, baseRss: base, peakSource: peakReset ? 'VmHWM + 10 ms samples' : '10 ms samples' };
  } finally {
    await server.stop();
  }
}

/**
 * @param {object} p
 * @param {number} p.size bytes per upload
 * @param {number} p.chunk bytes per client write
 * @param {number} p.rounds
 */
export async function runUpload({ size, chunk, rounds }) {
  const title = `Streamed upload of ${fmt(size / MiB)} MiB through datastream vs node:http`;
  console.log(`\n## ${title}`);
  console.log(`one connection, Content-Length, ${chunk / 1024} KiB writes with backpressure; ${rounds} rounds per contender, alternating, fresh server process each`);
  const runs = Object.fromEntries(CONTENDERS.map((c) => [c.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of CONTENDERS) runs[c.key].push(await uploadOnce(c.key, size, chunk));
  }
  const stats = {};
  for (const c of CONTENDERS) {
    const rs = runs[c.key];
    stats[c.key] = { label: c.label, mbps: summarize(rs.map((x) => x.mbps)), cpuMsPerGiB: summarize(rs.map((x) => x.cpuMsPerGiB)), rssGrowth: summarize(rs.map((x) => x.rssGrowth)), baseRss: summarize(rs.map((x) => x.baseRss)), peakSource: rs[0].peakSource };
  }
  printTable(
    ['contender', 'median MB/s', 'min', 'max', 'server CPU ms/GiB', 'RSS growth MiB (median)', 'max', 'base RSS MiB'],
    CONTENDERS.map((c) => {
      const s = stats[c.key];
      return [
        c.label, fmt(s.mbps.median), fmt(s.mbps.min), fmt(s.mbps.max), fmt(s.cpuMsPerGiB.median),
        fmt(s.rssGrowth.median / MiB, 1), fmt(s.rssGrowth.max / MiB, 1), fmt(s.baseRss.median / MiB, 1),
      ];
    }),
  );
  console.log('');
  const ratios = [
    ratio('repy-http / node:http throughput', stats.ours.mbps.median / stats.node.mbps.median, 0.9),
    // Issue #15: CPU per GiB no more than node:http's (≥ 1.0×; issue #5 asked ≥ 0.9×).
    ratio('by server CPU per GiB: vs node:http', stats.node.cpuMsPerGiB.median / stats.ours.cpuMsPerGiB.median, 1.0),
    ratio('repy-http peak RSS growth', stats.ours.rssGrowth.median / MiB, 64, false, 'MiB'),
  ];
  printRatios(ratios);
  console.log(`(node:http peak RSS growth ${fmt(stats.node.rssGrowth.median / MiB, 1)} MiB)`);
  const file = writeResult('upload', { title, config: { size, chunk, rounds }, contenders: stats, ratios });
  console.log(`→ ${file}`);
  return { name: 'upload', title, ratios };
}
