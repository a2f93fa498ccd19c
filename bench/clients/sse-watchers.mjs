// SSE watchers for bench/sse-fanout.mjs: opens `count` raw connections
// (GET /, one stream each) and counts the events each receives (an event
// ends with an empty line: "\n\n", found across reads with a 1-byte carry;
// chunk framing never contains it). Prints {"ready":N,"failed":N} once
// every stream has sent its first event (the ': stream open' comment
// block); then, on stdin "expect <E>", {"done":true,"ms":N} as soon as every
// watcher has counted E more events, timed from the command.
//
//   node bench/clients/sse-watchers.mjs <port> <count>
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`, 'latin1');
const seen = new Int32Array(count); // blocks seen per watcher (the first is the open comment)
let failed = 0;
let target = -1;
let pending = 0; // watchers not yet at target
let started = 0;

function onBlocks(i, n) {
  const before = seen[i];
  seen[i] += n;
  if (target > 0 && before < target && seen[i] >= target && --pending === 0) {
    process.stdout.write(`${JSON.stringify({ done: true, ms: performance.now() - started })}\n`);
  }
}

function open(i) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    let lastLF = false;
    let ready = false;
    s.once('connect', () => s.write(request));
    s.on('error', () => {
      if (!ready) {
        failed++;
        resolve();
      }
    });
    s.on('data', (d) => {
      let n = 0;
      let from = 0;
      if (lastLF && d[0] === 10) n++;
      for (;;) {
        const j = d.indexOf('\n\n', from, 'latin1');
        if (j === -1) break;
        n++;
        from = j + 2;
      }
      lastLF = d[d.length - 1] === 10;
      if (n > 0) onBlocks(i, n);
      if (!ready && seen[i] >= 1) {
        ready = true;
        resolve();
      }
    });
  });
}

let next = 0;
await Promise.all(Array.from({ length: Math.min(128, count) }, async () => {
  while (next < count) await open(next++);
}));
process.stdout.write(`${JSON.stringify({ ready: count - failed, failed })}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, e] = line.trim().split(' ');
  if (cmd === 'expect') {
    started = performance.now();
    const base = Math.max(...seen);
    target = base + Number(e);
    pending = 0;
    for (let i = 0; i < count; i++) if (seen[i] < target) pending++;
  } else if (cmd === 'exit') process.exit(0);
}).on('close', () => process.exit(0));
