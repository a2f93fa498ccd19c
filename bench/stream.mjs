// Benchmark: a streamed response of many chunks, repy-http (an async
// generator as `message`) against node:http (a `res.write` loop with
// backpressure), both in one server process pinned to the server core;
// curl on the client core downloads it, alternating, and the time to the
// last byte is compared (issue #15), and the server process's CPU time per
// download (the server is idle between downloads, so the difference of its
// CPU time before and after one is that download's cost: a figure that a
// busy client or a noisy machine moves much less). Two shapes: 100 000 pieces of ~10
// bytes (where one write per piece was 5× slower than node:http before the
// writer coalesced small chunks) and 1 000 pieces of 64 KiB.
//
//   node bench/stream.mjs [--smoke]      (also: npm run bench -- stream)
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, fmt, jsonLines, pinned, printRatios, printTable, ratio, runToEnd, spawnPinned, summarize, writeResult } from './lib.mjs';

async function download(port, path) {
  const out = await runToEnd(pinned('client', ['curl', '-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `http://127.0.0.1:${port}${path}`]));
  const [secs, size] = out.trim().split(' ').map(Number);
  return { secs, size };
}

export async function runStream({ rounds }) {
  const title = 'Streamed responses: an async generator (repy-http) vs a res.write loop (node:http)';
  console.log(`\n## ${title}`);
  const child = spawnPinned('server', [process.execPath, join(BENCH_DIR, 'stream-server.mjs')]);
  try {
    const lines = jsonLines(child);
    const ready = await lines.next((m) => m.ready === true, 30_000);
    const cases = [
      { path: '/small', label: '100 000 × ~10 B' },
      { path: '/large', label: '1 000 × 64 KiB' },
    ];
    const cpuNow = async () => {
      child.stdin.write('cpu\n');
      return (await lines.next((m) => m.cpu !== undefined)).cpu;
    };
    /** One download, with the server's CPU time (ms) it took. */
    const measured = async (port, path) => {
      const before = await cpuNow();
      const d = await download(port, path);
      return { ...d, cpuMs: (await cpuNow() - before) / 1000 };
    };
    const stats = {};
    for (const c of cases) {
      const ours = [];
      const node = [];
      const oursCpu = [];
      const nodeCpu = [];
      await download(ready.ours, c.path); // warm-up
      await download(ready.node, c.path);
      for (let r = 0; r < rounds; r++) {
        const a = await measured(ready.ours, c.path);
        const b = await measured(ready.node, c.path);
        if (a.size !== b.size) throw new Error(`${c.path}: sizes differ (${a.size} vs ${b.size})`);
        ours.push(a.secs);
        node.push(b.secs);
        oursCpu.push(a.cpuMs);
        nodeCpu.push(b.cpuMs);
      }
      stats[c.path] = { label: c.label, ours: summarize(ours), node: summarize(node), oursCpuMs: summarize(oursCpu), nodeCpuMs: summarize(nodeCpu) };
    }
    printTable(
      ['shape', 'repy-http s (median)', 'node:http s (median)', 'min / max ours', 'min / max node', 'server CPU ms ours', 'node'],
      cases.map((c) => {
        const s = stats[c.path];
        return [c.label, fmt(s.ours.median, 3), fmt(s.node.median, 3), `${fmt(s.ours.min, 3)} / ${fmt(s.ours.max, 3)}`, `${fmt(s.node.min, 3)} / ${fmt(s.node.max, 3)}`,
          fmt(s.oursCpuMs.median, 1), fmt(s.nodeCpuMs.median, 1)];
      }),
    );
    const ratios = cases.flatMap((c) => [
      ratio(`${c.label}: node:http time / repy-http time`, stats[c.path].node.median / stats[c.path].ours.median, 1.0),
      ratio(`${c.label}: by server CPU per download`, stats[c.path].nodeCpuMs.median / stats[c.path].oursCpuMs.median, 1.0),
    ]);
    console.log('');
    printRatios(ratios);
    const file = writeResult('stream', { title, config: { rounds }, cases: stats, ratios });
    console.log(`→ ${file}`);
    return { name: 'stream', title, ratios };
  } finally {
    child.stdin.write('exit\n');
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runStream({ rounds: process.argv.includes('--smoke') ? 1 : 7 });
}
