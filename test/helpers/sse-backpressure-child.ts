/**
 * Child of test/sse-backpressure.test.ts (run with --expose-gc): a server
 * streams to a raw client that stops reading after the head, and reports
 * the server's memory. Mode `await`: the producer sends as fast as `await
 * send()` lets it for `ms`. Mode `flood`: the producer does not wait (a
 * fan-out source), with a small `maxQueue`; the stream must be cut with
 * ERR_SSE_QUEUE_FULL reported to onError.
 */
import { connect } from 'node:net';
import { boundAddress, registerCallback, stopCallback } from '../../src/index.js';
import { eventStream, type EventStream } from '../../src/sse/index.js';

const mode = process.argv[2] as 'await' | 'flood';
const ms = Number(process.argv[3] ?? 2000);
const gc = (globalThis as { gc?: () => void }).gc!;
const mem = (): { heap: number; rss: number } => {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
};

const errors: string[] = [];
let stream: EventStream | null = null;
const id = await registerCallback(['127.0.0.1', 0], (req) => {
  stream = eventStream(req, mode === 'flood' ? { maxQueue: 64 * 1024, heartbeat: 0 } : { heartbeat: 0 });
  return stream.response;
}, { onError: (e) => errors.push((e as { code?: string }).code ?? String(e)), writeTimeout: 60_000 });

const payload = 'z'.repeat(1024);
const sock = connect(boundAddress(id)[1], '127.0.0.1', () => sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
sock.on('error', () => {});
let clientClosedAt = 0;
sock.on('close', () => (clientClosedAt = Date.now()));
await new Promise<void>((r) => sock.once('data', () => r()));
sock.pause(); // the reader stops reading: from here on only the kernel buffers fill
const before = mem();
const s = stream as unknown as EventStream;
let accepted = 0;
let peakQueued = 0;
const start = Date.now();
let closedAt = 0;
void s.closed.then(() => (closedAt = Date.now()));
if (mode === 'await') {
  let pending = false;
  const producer = (async () => {
    while (Date.now() - start < ms) {
      pending = true;
      if (!(await s.send({ data: payload }))) break;
      pending = false;
      accepted += payload.length;
      peakQueued = Math.max(peakQueued, s.queuedBytes);
    }
  })();
  await new Promise((r) => setTimeout(r, ms + 100));
  const after = mem();
  console.log(JSON.stringify({ mode, accepted, peakQueued, stalled: pending, heapDelta: after.heap - before.heap, rssDelta: after.rss - before.rss, errors }));
  sock.destroy();
  await producer;
} else {
  let offered = 0;
  while (Date.now() - start < ms && !s.isClosed) {
    // 10 KB per turn: a reader that keeps up takes that easily; only one that stopped falls behind.
    for (let i = 0; i < 10; i++) {
      offered += payload.length;
      void s.send({ data: payload });
      peakQueued = Math.max(peakQueued, s.queuedBytes);
    }
    await new Promise((r) => setImmediate(r));
  }
  // The cut: reported at once; the socket then lingers (lingerTimeout) and is destroyed.
  await new Promise((r) => setTimeout(r, 3000));
  const after = mem();
  // A paused socket notices nothing: read again, and see the connection end without the last chunk.
  let tail = '';
  sock.on('data', (d: Buffer) => (tail = (tail + d.toString('latin1')).slice(-16)));
  sock.resume();
  await new Promise((r) => setTimeout(r, 1000));
  console.log(JSON.stringify({ mode, offered, peakQueued, closed: closedAt !== 0, closedAfter: closedAt - start, clientClosed: clientClosedAt !== 0, cleanEnd: tail.endsWith('\r\n0\r\n\r\n'), heapDelta: after.heap - before.heap, rssDelta: after.rss - before.rss, errors }));
  sock.destroy();
}
await stopCallback(id);
