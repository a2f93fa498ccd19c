// Benchmark: a streamed response of many chunks, repy-http (an async
// generator as `message`) against node:http (a `res.write` loop with
// backpressure), both in one server process pinned to the server core;
// curl on the client core downloads it, alternating, and the time to the
// last byte is compared (issue #15). Two shapes: 100 000 pieces of ~10
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
    const ready = await jsonLines(child).next((m) => m.ready === true, 30_000);
    const cases = [
      { path: '/small', label: '100 000 × ~10 B' },
      { path: '/large', label: '1 000 × 64 KiB' },
    ];
    const stats = {};
    for (const c of cases) {
      const ours = [];
      const node = [];
      await download(ready.ours, c.path); // warm-up
      await download(ready.node, c.path);
      for (let r = 0; r < rounds; r++) {
        const a = await download(ready.ours, c.path);
        const b = await download(ready.node, c.path);
        if (a.size !== b.size) throw new Error(`${c.path}: sizes differ (${a.size} vs ${b.size})`);
        ours.push(a.secs);
        node.push(b.secs);
      }
      stats[c.path] = { label: c.label, ours: summarize(ours), node: summarize(node) };
    }
    printTable(
      ['shape', 'repy-http s (median)', 'node:http s (median)', 'min / max ours', 'min / max node'],
      cases.map((c) => {
        const s = stats[c.path];
        return [c.label, fmt(s.ours.median, 3), fmt(s.node.median, 3), `${fmt(s.ours.min, 3)} / ${fmt(s.ours.max, 3)}`, `${fmt(s.node.min, 3)} / ${fmt(s.node.max, 3)}`];
      }),
    );
    const ratios = cases.map((c) => ratio(`${c.label}: node:http time / repy-http time`, stats[c.path].node.median / stats[c.path].ours.median, 1.0));
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
