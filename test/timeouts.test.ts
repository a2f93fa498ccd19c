// Timeouts and connection bounds over real sockets (docs/limits.md).
import t from 'tap';
import { Client, exchange, serve, sleep } from './helpers/wire.js';
import type { RequestDict } from '../src/server/request.js';

const H = 'Host: t\r\n';

t.test('headersTimeout: a trickled head gets 408 (slowloris)', async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200 }), { headersTimeout: 200 });
  const c = new Client(port);
  await c.ready;
  const start = Date.now();
  // One byte every 50 ms: activity must not reset the deadline.
  const trickle = setInterval(() => c.write('X'), 50);
  c.write('GET / HTTP/1.1\r\nX-Slow: ');
  await c.closedByServer(3000);
  clearInterval(trickle);
  t.match(c.received.toString('latin1'), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  const took = Date.now() - start;
  t.ok(took >= 200 && took < 1500, `cut after ${took} ms although bytes kept coming`);
});

t.test('keepAliveTimeout closes an idle connection quietly', async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200, message: 'x' }), { keepAliveTimeout: 150 });
  const c = new Client(port);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  await c.responses(1);
  const start = Date.now();
  await c.closedByServer(3000);
  t.ok(c.closed);
  t.ok(Date.now() - start >= 100, 'not before the timeout');
  t.equal(c.received.toString('latin1').match(/HTTP\/1\.1/g)?.length, 1, 'nothing sent on close');
});

t.test('bodyTimeout: content that stops arriving → 408, the read rejects', async (t) => {
  let readErr: { code?: string } | null = null;
  const { port } = await serve(t, async (req) => {
    try {
      await req.datastream.read();
    } catch (e) {
      readErr = e as { code?: string };
    }
    return { statuscode: 200 };
  }, { bodyTimeout: 150 });
  const c = new Client(port);
  await c.ready;
  c.write(`POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`);
  await c.closedByServer(3000);
  t.match(c.received.toString('latin1'), /^HTTP\/1\.1 408 /);
  t.equal(readErr!.code, 'ERR_BODY_TIMEOUT');
});

t.test('bodyTimeout does not fire while the server itself paused reading (backpressure)', async (t) => {
  const { port } = await serve(t, async (req) => {
    await sleep(400); // longer than bodyTimeout, without reading
    let n = 0;
    for await (const c of req.datastream) n += c.length;
    return { statuscode: 200, message: String(n) };
  }, { bodyTimeout: 150, highWaterMark: 1024 });
  const c = new Client(port);
  await c.ready;
  const size = 4 * 1024 * 1024;
  c.write(`POST / HTTP/1.1\r\n${H}Content-Length: ${size}\r\n\r\n`);
  c.write(Buffer.alloc(size, 1));
  const [r] = await c.responses(1, 10000);
  t.equal(r!.body, String(size));
  c.destroy();
});

t.test('req.setTimeout overrides bodyTimeout for a slow upload', async (t) => {
  const { port } = await serve(t, async (req: RequestDict) => {
    req.setTimeout(0);
    const b = await req.datastream.read();
    return { statuscode: 200, message: b.toString() };
  }, { bodyTimeout: 100 });
  const c = new Client(port);
  await c.ready;
  c.write(`POST / HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\na`);
  await sleep(300);
  c.write('b');
  const [r] = await c.responses(1);
  t.equal(r!.body, 'ab');
  c.destroy();
});

t.test('req.setTimeout rejects nonsense', async (t) => {
  let thrown: unknown = null;
  const { port } = await serve(t, (req) => {
    try {
      req.setTimeout(-1);
    } catch (e) {
      thrown = e;
    }
    return { statuscode: 204 };
  });
  await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.type(thrown, TypeError);
});

t.test('callbackTimeout: a callback that hangs → 503, signal, onError', async (t) => {
  const errors: { code?: string }[] = [];
  let aborted = false;
  const { port } = await serve(t, (req) => new Promise((resolve) => {
    req.signal.addEventListener('abort', () => {
      aborted = true;
      setTimeout(() => resolve({ statuscode: 200, message: 'too late' }), 10);
    });
  }), { callbackTimeout: 150, onError: (e) => errors.push(e as { code?: string }) });
  const reply = await exchange(port, `GET / HTTP/1.1\r\n${H}\r\n`, 3000);
  t.match(reply, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  t.notMatch(reply, /too late/);
  t.ok(aborted, 'signal fired');
  await sleep(30);
  t.same(errors.map((e) => e.code), ['ERR_CALLBACK_TIMEOUT']);
});

t.test('callbackTimeout runs from the return of the promise, not from the call', async (t) => {
  // 250 ms of synchronous work, then a promise that settles 100 ms later:
  // 350 ms in all, but only 100 ms of waiting the server could cut short.
  const { port } = await serve(t, () => {
    const until = Date.now() + 250;
    while (Date.now() < until) { /* busy */ }
    return new Promise((resolve) => setTimeout(() => resolve({ statuscode: 200, message: 'in time' }), 100));
  }, { callbackTimeout: 200 });
  const reply = await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, 3000);
  t.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(reply, /in time$/);
});

t.test('writeTimeout: a client that never reads is cut', async (t) => {
  const errors: { code?: string }[] = [];
  const big = Buffer.alloc(8 * 1024 * 1024, 0x41);
  const { port } = await serve(t, () => ({ statuscode: 200, message: (function* () {
    for (let k = 0; k < 64; k++) yield big;
  })() }), { writeTimeout: 200, onError: (e) => errors.push(e as { code?: string }) });
  const c = new Client(port);
  await c.ready;
  c.socket.pause(); // never read
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  const start = Date.now();
  while (!errors.length && Date.now() - start < 5000) await sleep(20);
  t.same(errors.map((e) => e.code), ['ERR_WRITE_TIMEOUT']);
  c.destroy();
});

t.test('maxConnections: one more connection gets 503 and is closed', async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200, message: 'ok' }), { maxConnections: 2 });
  const a = new Client(port);
  const b = new Client(port);
  await Promise.all([a.ready, b.ready]);
  await sleep(30);
  const third = await exchange(port, `GET / HTTP/1.1\r\n${H}\r\n`);
  t.match(third, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  a.destroy();
  await sleep(50);
  const again = await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.match(again, /^HTTP\/1\.1 200 /, 'a slot freed is usable');
  b.destroy();
});

t.test('maxPipelined bounds the requests queued on one connection', async (t) => {
  let running = 0;
  let maxRunning = 0;
  const { port } = await serve(t, async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(20);
    running--;
    return { statuscode: 200, message: 'x' };
  }, { maxPipelined: 4 });
  const c = new Client(port);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`.repeat(20));
  const replies = await c.responses(20, 10000);
  t.equal(replies.length, 20, 'all answered');
  t.ok(maxRunning <= 4, `at most 4 callbacks at once (saw ${maxRunning})`);
  c.destroy();
});
