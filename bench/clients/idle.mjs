// Idle-connections client: opens `count` connections (at most `parallel`
// connecting at once), sends one GET on each and reads its response, then
// keeps them all open and idle. Prints {"ready":N,"failed":N,"ms":N} once
// every connection is idle, and closes them all when stdin says "close"
// (or ends), then prints {"closed":N} and exits.
//
//   node bench/clients/idle.mjs <port> <count> [parallel=256]
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
const parallel = Number(process.argv[4] ?? 256);
const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 'latin1');

const sockets = [];
let failed = 0;

function one() {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    let got = '';
    const fail = () => {
      failed++;
      s.destroy();
      resolve();
    };
    s.once('error', fail);
    s.once('connect', () => s.write(request));
    s.on('data', function onData(d) {
      got += d.latin1Slice(0, d.length);
      const h = got.indexOf('\r\n\r\n');
      if (h === -1) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(got.slice(0, h));
      if (m === null || got.length < h + 4 + Number(m[1])) return;
      s.off('data', onData);
      s.off('error', fail);
      s.on('error', () => {});
      if (!got.startsWith('HTTP/1.1 200')) {
        fail();
        return;
      }
      sockets.push(s);
      resolve();
    });
  });
}

const start = performance.now();
let next = 0;
await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
  while (next < count) {
    next++;
    await one();
  }
}));
process.stdout.write(`${JSON.stringify({ ready: sockets.length, failed, ms: performance.now() - start })}\n`);

let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  for (const s of sockets) s.destroy();
  process.stdout.write(`${JSON.stringify({ closed: sockets.length })}\n`);
  process.exit(0);
};
const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => { if (l.trim() === 'close') close(); });
rl.on('close', close);
