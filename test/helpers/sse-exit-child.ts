/**
 * Child of test/sse.test.ts: serves one event stream with the default
 * heartbeat, lets a raw client connect and vanish, waits for `closed`,
 * stops the server, and prints what is still alive. The parent checks
 * that this process then exits by itself: no timer and no listener left.
 */
import { getEventListeners } from 'node:events';
import { connect } from 'node:net';
import { boundAddress, registerCallback, stopCallback } from '../../src/index.js';
import type { RequestDict } from '../../src/server/request.js';
import { eventStream, type EventStream } from '../../src/sse/index.js';

let stream: EventStream | null = null;
let request: RequestDict | null = null;
const id = await registerCallback(['127.0.0.1', 0], (req) => {
  request = req;
  stream = eventStream(req, { heartbeat: 50 });
  void stream.send({ data: 'hi' });
  return stream.response;
});
const sock = connect(boundAddress(id)[1], '127.0.0.1', () => sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
sock.on('error', () => {});
await new Promise<void>((r) => sock.once('data', () => r()));
sock.destroy();
while (stream === null) await new Promise((r) => setImmediate(r));
await (stream as EventStream).closed;
await stopCallback(id);
// Let the closes settle (the sockets' close events) before looking.
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({
  closed: (stream as EventStream).isClosed,
  listeners: getEventListeners((request as unknown as RequestDict).signal, 'abort').length,
  resources: process.getActiveResourcesInfo(),
}));
