// A streamed message that fails at once (issue #10): its first chunk is
// pulled before the head is committed, so the client gets a clean 500 and
// the connection stays usable; a failure after the first chunk still cuts
// the connection. Over real sockets.
import t from 'tap';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { RequestDict } from '../src/server/request.js';
import { Client, parseReplies, serve, sleep } from './helpers/wire.js';

const H = 'Host: a\r\n';
const MISSING = '/nonexistent/repy-http-missing-file';
const HERE = fileURLToPath(import.meta.url);

type Failure = { err: unknown; req: RequestDict | null };

t.test('a missing file as message: a complete 500, reported, and the connection goes on', async (t) => {
  const errors: Failure[] = [];
  const { port } = await serve(t, (req) => req.path === '/missing'
    ? { statuscode: 200, message: createReadStream(MISSING) }
    : { statuscode: 200, message: 'fine' }, { onError: (err, req) => errors.push({ err, req }) });
  const c = new Client(port);
  await c.ready;
  t.teardown(() => c.destroy());
  c.write(`GET /missing HTTP/1.1\r\n${H}\r\n`);
  const [r] = await c.responses(1);
  t.equal(r!.status, 500);
  t.equal(r!.body, 'Internal Server Error\n');
  t.equal(r!.headers['content-length'], String(r!.body.length), 'well framed');
  t.notOk(r!.headers['connection'], 'no Connection: close');
  t.notOk(c.closed, 'the connection stays open');
  t.equal(errors.length, 1);
  t.equal((errors[0]!.err as NodeJS.ErrnoException).code, 'ENOENT');
  t.equal(errors[0]!.req?.path, '/missing');
  c.write(`GET /ok HTTP/1.1\r\n${H}\r\n`);
  const rs = await c.responses(2);
  t.equal(rs[1]!.status, 200);
  t.equal(rs[1]!.body, 'fine');
});

t.test('pipelined: the early failure keeps the responses in request order', async (t) => {
  const { port } = await serve(t, async (req) => {
    if (req.path === '/slow') {
      await sleep(50);
      return { statuscode: 200, message: 'slow' };
    }
    if (req.path === '/missing') return { statuscode: 200, message: createReadStream(MISSING) };
    return { statuscode: 200, message: (async function* () { yield 'streamed'; })() };
  }, { onError: null });
  const c = new Client(port);
  await c.ready;
  t.teardown(() => c.destroy());
  c.write(`GET /slow HTTP/1.1\r\n${H}\r\nGET /missing HTTP/1.1\r\n${H}\r\nGET /stream HTTP/1.1\r\n${H}\r\n`);
  const rs = await c.responses(3);
  t.same(rs.map((r) => [r.status, r.body]), [[200, 'slow'], [500, 'Internal Server Error\n'], [200, 'streamed']]);
});

t.test('open the file first to turn ENOENT into a 404 (docs/api.md)', async (t) => {
  const { port } = await serve(t, async (req) => {
    let handle;
    try {
      handle = await open(req.path === '/here' ? HERE : MISSING);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { statuscode: 404, message: 'no such file\n' };
      throw err;
    }
    return { statuscode: 200, message: handle.createReadStream() };
  }, { onError: null });
  const c = new Client(port);
  await c.ready;
  t.teardown(() => c.destroy());
  c.write(`GET /gone HTTP/1.1\r\n${H}\r\nGET /here HTTP/1.1\r\n${H}\r\n`);
  const rs = await c.responses(2);
  t.equal(rs[0]!.status, 404);
  t.equal(rs[1]!.status, 200);
  t.match(rs[1]!.body, /open the file first/);
});

t.test('a bad first chunk, or one beyond its Content-Length, is a 500 too', async (t) => {
  const errors: Failure[] = [];
  const { port } = await serve(t, (req) => ({
    statuscode: 200,
    headers: req.path === '/long' ? { 'Content-Length': '2' } : req.path === '/empty' ? { 'Content-Length': '5' } : {},
    message: (async function* () {
      if (req.path === '/empty') return;
      yield req.path === '/null' ? (null as unknown as string) : 'too long';
    })(),
  }), { onError: (err, req) => errors.push({ err, req }) });
  const c = new Client(port);
  await c.ready;
  t.teardown(() => c.destroy());
  c.write(`GET /null HTTP/1.1\r\n${H}\r\nGET /long HTTP/1.1\r\n${H}\r\nGET /empty HTTP/1.1\r\n${H}\r\n`);
  const rs = await c.responses(3);
  t.same(rs.map((r) => r.status), [500, 500, 500]);
  // The three streams are primed at once: their failures arrive in any order.
  const byPath = Object.fromEntries(errors.map((e) => [e.req!.path, e.err as Error]));
  t.same(Object.values(byPath).map((e) => e.name), ['InvalidResponseError', 'InvalidResponseError', 'InvalidResponseError']);
  t.match(byPath['/null']!.message, 'message produced a null chunk');
  t.match(byPath['/long']!.message, 'message longer than its Content-Length 2');
  t.match(byPath['/empty']!.message, 'message shorter (0) than its Content-Length 5');
});

t.test('a stream that fails after its first chunk still cuts the connection', async (t) => {
  const errors: Failure[] = [];
  const { port } = await serve(t, () => ({
    statuscode: 200,
    message: (async function* () {
      yield 'first';
      throw new Error('disk gone');
    })(),
  }), { onError: (err, req) => errors.push({ err, req }) });
  const c = new Client(port);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  const got = (await c.closedByServer()).toString('latin1');
  t.ok(c.closed, 'cut');
  t.match(got, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(got, /\r\n5\r\nfirst\r\n$/, 'no last chunk');
  t.same(parseReplies(Buffer.from(got, 'latin1')), [], 'no complete response');
  t.same(errors.map((e) => (e.err as Error).message), ['disk gone']);
});

t.test('a stalled first chunk counts against callbackTimeout: 503, reported with its request', async (t) => {
  const errors: Failure[] = [];
  const { port } = await serve(t, () => ({
    statuscode: 200,
    message: (async function* () {
      await new Promise(() => {}); // never produces
      yield 'never';
    })(),
  }), { callbackTimeout: 150, onError: (err, req) => errors.push({ err, req }) });
  const c = new Client(port);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  const got = (await c.closedByServer(3000)).toString('latin1');
  t.match(got, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  t.equal(errors.length, 1);
  t.equal((errors[0]!.err as { code?: string }).code, 'ERR_CALLBACK_TIMEOUT');
  t.match((errors[0]!.err as Error).message, 'message stream produced nothing');
  t.equal(errors[0]!.req?.path, '/');
});

t.test('a client gone while the first chunk is awaited: the stream is destroyed', async (t) => {
  let destroyed = false;
  const { port } = await serve(t, () => {
    // A stream that never produces: its first chunk is awaited until the client leaves.
    const stalled = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Buffer>>(() => {}) }), destroy: () => { destroyed = true; } };
    return { statuscode: 200, message: stalled as never };
  }, { onError: null });
  const c = new Client(port);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  await sleep(50);
  c.socket.resetAndDestroy(); // a disconnect, not a half-close (after which the answer would still be written)
  const start = Date.now();
  while (!destroyed && Date.now() - start < 2000) await sleep(10);
  t.ok(destroyed, 'destroy() called');
});

t.test('the message iterator is read as for await reads it: promised values, bad results, closing it', async (t) => {
  const errors: Failure[] = [];
  const closed: string[] = [];
  /** An async iterator by hand (no generator), which says when it is closed. */
  const byHand = (name: string, results: unknown[]): AsyncIterable<unknown> => ({
    [Symbol.asyncIterator]: () => ({
      next: async () => (results.shift() ?? { done: true, value: undefined }) as IteratorResult<unknown>,
      return: async () => {
        closed.push(name);
        return { done: true, value: undefined };
      },
    }),
  });
  const { port } = await serve(t, (req) => {
    const message: Record<string, () => unknown> = {
      // A sync iterable's promised chunks are awaited, as for await does; empty chunks are skipped.
      '/sync-promises': () => [Promise.resolve('a'), '', new Uint8Array([0x62]), Promise.resolve(Buffer.from('c'))],
      // A result that is not an object is a TypeError (a 500 before the head).
      '/not-object': () => byHand('not-object', [42]),
      // A refused chunk closes the message's iterator.
      '/bad-chunk': () => byHand('bad-chunk', [{ done: false, value: 7 }]),
      // A rejected promise from a sync iterable is the stream failing.
      '/sync-rejects': () => [Promise.reject(new Error('no chunk'))],
    };
    return { statuscode: 200, message: message[req.path]!() as string };
  }, { onError: (err, req) => errors.push({ err, req }) });
  const c = new Client(port);
  await c.ready;
  t.teardown(() => c.destroy());
  c.write(['/sync-promises', '/not-object', '/bad-chunk', '/sync-rejects'].map((p) => `GET ${p} HTTP/1.1\r\n${H}\r\n`).join(''));
  const rs = await c.responses(4);
  t.same(rs.map((r) => r.status), [200, 500, 500, 500]);
  t.equal(rs[0]!.body.toString(), 'abc');
  const byPath = Object.fromEntries(errors.map((e) => [e.req!.path, e.err as Error]));
  t.match(byPath['/not-object']!, { name: 'TypeError', message: /returned 42 instead of an object/ });
  t.match(byPath['/bad-chunk']!.message, 'message produced a number chunk');
  t.match(byPath['/sync-rejects']!.message, 'no chunk');
  t.same(closed, ['bad-chunk'], 'the iterator that gave a refused chunk was closed, once');
});
