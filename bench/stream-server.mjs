// The servers of bench/stream.mjs, in one process (pinned to the server
// core): repy-http streaming an async generator, and node:http writing the
// same pieces with a res.write loop. GET /small: 100 000 pieces of about 10
// bytes; GET /large: 1 000 pieces of 64 KiB. Prints
// `{"ready":true,"ours":P,"node":Q}`; `cpu` on stdin prints the process's
// CPU time so far (`{"cpu":µs}`, user + system), `exit` stops it.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { registerCallback, stopCallback, boundAddress } from '../dist/index.js';

const SMALL = Array.from({ length: 1000 }, (_, i) => Buffer.from(`piece ${String(i).padStart(3, '0')}\n`));
const LARGE = Buffer.alloc(64 * 1024, 0x61);
const shapes = {
  '/small': { count: 100_000, piece: (i) => SMALL[i % 1000] },
  '/large': { count: 1_000, piece: () => LARGE },
};

const id = await registerCallback(['127.0.0.1', 0], (req) => {
  const s = shapes[req.path];
  if (s === undefined) return { statuscode: 404 };
  return {
    statuscode: 200,
    headers: { 'Content-Type': 'application/octet-stream' },
    message: (async function* () {
      for (let i = 0; i < s.count; i++) yield s.piece(i);
    })(),
  };
}, { keepAliveTimeout: 600_000 });

const node = createServer((req, res) => {
  const s = shapes[req.url];
  if (s === undefined) return res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  // The loop a node:http user writes, with backpressure as the docs advise.
  let i = 0;
  const more = () => {
    while (i < s.count) {
      if (!res.write(s.piece(i++))) return res.once('drain', more);
    }
    res.end();
  };
  more();
});
await new Promise((r) => node.listen(0, '127.0.0.1', r));
process.stdout.write(`${JSON.stringify({ ready: true, ours: boundAddress(id)[1], node: node.address().port })}\n`);

const rl = createInterface({ input: process.stdin });
const exit = async () => {
  await stopCallback(id);
  node.close();
  process.exit(0);
};
rl.on('line', (l) => {
  const cmd = l.trim();
  if (cmd === 'exit') void exit();
  else if (cmd === 'cpu') {
    const u = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: u.user + u.system })}\n`);
  }
});
rl.on('close', () => void exit());
