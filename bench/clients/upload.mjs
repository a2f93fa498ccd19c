// Upload client: one connection, one POST with Content-Length, `size` bytes
// written in `chunk`-byte writes with backpressure (waits for 'drain'
// whenever write() returns false). Prints one JSON line:
// {"bytes":N,"ms":N,"status":N,"body":"..."} — ms from the first byte
// written to the whole response read.
//
//   node bench/clients/upload.mjs <port> <size> [chunk=65536]
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const port = Number(process.argv[2]);
const size = Number(process.argv[3]);
const chunkSize = Number(process.argv[4] ?? 65536);
const chunk = Buffer.alloc(chunkSize, 'x'); // never modified, so writing it again and again is safe

const socket = connect({ port, host: '127.0.0.1', noDelay: true });
await new Promise((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('error', reject);
});
let response = '';
const done = new Promise((resolve, reject) => {
  socket.on('data', (d) => {
    response += d.latin1Slice(0, d.length);
    const h = response.indexOf('\r\n\r\n');
    if (h === -1) return;
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(response.slice(0, h));
    if (m !== null && response.length >= h + 4 + Number(m[1])) resolve();
  });
  socket.on('end', resolve);
  socket.on('error', reject);
});
const start = performance.now();
socket.write(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`);
let sent = 0;
while (sent < size) {
  const n = Math.min(chunkSize, size - sent);
  const ok = socket.write(n === chunkSize ? chunk : chunk.subarray(0, n));
  sent += n;
  if (!ok) await new Promise((resolve) => socket.once('drain', resolve));
}
await done;
const ms = performance.now() - start;
socket.destroy();
const h = response.indexOf('\r\n\r\n');
const status = Number(response.slice(9, 12));
process.stdout.write(`${JSON.stringify({ bytes: sent, ms, status, body: response.slice(h + 4).trim() })}\n`);
