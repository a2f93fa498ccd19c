// Keep-alive connection reuse (the `keepAlive` option, src/client/pool.ts),
// over real sockets: the servers count the connections they see. Raw
// node:net servers play the misbehaving peers (extra bytes, closing a
// kept-alive connection under the next request, HTTP/1.0).
import t, { type Test } from 'tap';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { ConnectionPool, getString, open, HttpConnectionError, HttpTimeoutError, POOL_DEFAULTS } from '../src/client/client.js';
import * as index from '../src/index.js';
import { ValueError } from '../src/errors.js';
import { hasOpenssl, makeCa } from './helpers/tls-ca.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(5);
  }
}

async function listen(t: Test, server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close(() => r());
  }));
  return (server.address() as AddressInfo).port;
}

interface Counted {
  port: number;
  connections: number;
  open: number;
  maxOpen: number;
  closed: number;
  requests: { method: string; url: string; connection: string | undefined; socket: number }[];
}

/** A node:http server that counts its connections and the requests on each. */
async function countingServer(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void, keepAliveTimeout = 30_000): Promise<Counted> {
  const stats: Counted = { port: 0, connections: 0, open: 0, maxOpen: 0, closed: 0, requests: [] };
  const ids = new WeakMap<Socket, number>();
  const server = createHttpServer((req, res) => {
    stats.requests.push({ method: req.method!, url: req.url!, connection: req.headers.connection, socket: ids.get(req.socket)! });
    handler(req, res);
  });
  server.keepAliveTimeout = keepAliveTimeout;
  server.on('connection', (s: Socket) => {
    ids.set(s, ++stats.connections);
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    s.on('close', () => {
      stats.open--;
      stats.closed++;
    });
  });
  stats.port = await listen(t, server);
  return stats;
}

const hello = (_req: IncomingMessage, res: ServerResponse): void => {
  res.end('hello');
};

/**
 * A raw server: `respond(request, socket, nth)` is called for each request
 * head (and its Content-Length content) on each connection; `nth` counts
 * from 1 per connection.
 */
async function rawServer(t: Test, respond: (head: string, socket: Socket, nth: number, body: string) => void): Promise<{ port: number; connections: number; heads: string[] }> {
  const out = { port: 0, connections: 0, heads: [] as string[] };
  const server = createNetServer((socket) => {
    out.connections++;
    socket.on('error', () => {});
    let buf = '';
    let nth = 0;
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const m = /content-length: (\d+)/i.exec(head);
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        const body = buf.slice(end + 4, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        out.heads.push(head);
        respond(head, socket, ++nth, body);
      }
    });
  });
  out.port = await listen(t, server);
  return out;
}

const ok = (body = 'ok', extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

function newPool(t: Test, opts: ConstructorParameters<typeof ConnectionPool>[0] = {}): ConnectionPool {
  const pool = new ConnectionPool(opts);
  t.teardown(() => pool.close());
  return pool;
}

t.test('the pool and its option are exported and validated before anything is sent', async (t) => {
  t.equal(index.ConnectionPool, ConnectionPool, 'exported from the package root');
  t.same(POOL_DEFAULTS, { maxSocketsPerOrigin: 6, idleTimeout: 5000, maxOrigins: 64 });
  const p = new ConnectionPool();
  t.same([p.maxSocketsPerOrigin, p.maxIdlePerOrigin, p.idleTimeout, p.maxOrigins], [6, 6, 5000, 64], 'defaults');
  t.equal(new ConnectionPool({ maxSocketsPerOrigin: Infinity }).maxIdlePerOrigin, 1024, 'unbounded sockets: idle still bounded');
  t.throws(() => new ConnectionPool({ maxSocketsPerOrigin: 0 }), ValueError);
  t.throws(() => new ConnectionPool({ maxSocketsPerOrigin: 1.5 }), ValueError);
  t.throws(() => new ConnectionPool({ maxSocketsPerOrigin: '2' as unknown as number }), TypeError);
  t.throws(() => new ConnectionPool({ maxIdlePerOrigin: -1 }), ValueError);
  t.throws(() => new ConnectionPool({ maxIdlePerOrigin: Infinity }), ValueError);
  t.throws(() => new ConnectionPool({ maxOrigins: 0 }), ValueError);
  t.throws(() => new ConnectionPool({ idleTimeout: 0 }), ValueError);
  t.throws(() => new ConnectionPool({ idleTimeout: 2 ** 31 }), ValueError);
  t.throws(() => new ConnectionPool({ idleTimeout: NaN }), TypeError);
  t.throws(() => new ConnectionPool({ idel: 1 } as never), ValueError, 'unknown option');
  t.throws(() => new ConnectionPool(null as never), TypeError);
  t.equal(new ConnectionPool({ maxIdlePerOrigin: 0, idleTimeout: 10 }).idleTimeout, 10);

  const srv = await countingServer(t, hello);
  const url = `http://127.0.0.1:${srv.port}/`;
  await t.rejects(getString(url, { keepAlive: 'yes' as never }), TypeError);
  await t.rejects(getString(url, { keepAlive: {} as never }), TypeError);
  p.close();
  p.close(); // idempotent
  t.equal(p.closed, true);
  await t.rejects(getString(url, { keepAlive: p }), { name: 'ValueError', code: 'ERR_POOL_CLOSED' });
  t.equal(srv.connections, 0, 'nothing was sent for a bad option');
  t.equal(await getString(url, { keepAlive: false }), 'hello');
  t.equal(await getString(url, { keepAlive: null }), 'hello');
  t.equal(srv.requests[0]!.connection, 'close', 'keepAlive false: Connection: close as before');
});

t.test('100 sequential requests use one connection, without Connection: close', async (t) => {
  const srv = await countingServer(t, hello);
  const pool = newPool(t);
  for (let i = 0; i < 100; i++) t.equal(await getString(`http://127.0.0.1:${srv.port}/${i}`, { keepAlive: pool }), 'hello');
  t.equal(srv.connections, 1, 'one connection');
  t.equal(srv.requests.length, 100);
  t.ok(srv.requests.every((r) => r.connection === undefined), 'no Connection field');
  t.same(pool.stats(), { origins: 1, busy: 0, idle: 1, waiting: 0 });
  // keepAlive: true → the shared default pool.
  for (let i = 0; i < 3; i++) await getString(`http://127.0.0.1:${srv.port}/d`, { keepAlive: true });
  t.equal(srv.connections, 2, 'the default pool: one more connection, reused');
});

t.test('each response kind that ends by its framing leaves the connection reusable', async (t) => {
  const big = Buffer.alloc(300_000, 'x');
  const srv = await countingServer(t, (req, res) => {
    if (req.url === '/204') res.writeHead(204).end();
    else if (req.url === '/304') res.writeHead(304).end();
    else if (req.url === '/chunked') {
      res.write('a');
      res.end('b');
    } else if (req.url === '/big') res.end(big);
    else if (req.url === '/redirect') res.writeHead(302, { Location: '/target' }).end('moved');
    else if (req.url === '/continue') {
      res.writeContinue();
      setTimeout(() => res.end('after 100'), 5);
    } else res.end('hello');
  });
  const pool = newPool(t);
  const base = `http://127.0.0.1:${srv.port}`;
  const head = await open(`${base}/h`, { method: 'HEAD', keepAlive: pool });
  t.equal((await head.read()).length, 0, 'HEAD: no content');
  head.close();
  t.equal((await open(`${base}/204`, { keepAlive: pool })).statuscode, 204);
  t.equal((await open(`${base}/304`, { keepAlive: pool })).statuscode, 304);
  t.equal(await getString(`${base}/chunked`, { keepAlive: pool }), 'ab');
  t.equal((await getString(`${base}/big`, { keepAlive: pool })).length, big.length, 'a large content read with backpressure');
  const r = await open(`${base}/redirect`, { keepAlive: pool });
  t.equal([r.statuscode, r.redirects, (await r.read()).toString()].join(' '), '200 1 hello', 'a redirect to the same origin');
  r.close();
  t.equal(await getString(`${base}/continue`, { keepAlive: pool, postdata: 'x', httpheaders: { Expect: '100-continue' } }), 'after 100', 'an interim 100 then the response');
  t.equal(await getString(`${base}/put`, { keepAlive: pool, method: 'PUT', postdata: Buffer.alloc(200_000, 'p') }), 'hello', 'a large request content');
  t.equal(srv.connections, 1, 'every request on one connection');
  t.equal(srv.requests.length, 9, 'the redirect is two requests');
});

t.test('maxSocketsPerOrigin bounds the connections; further requests wait their turn', async (t) => {
  const srv = await countingServer(t, (_req, res) => setTimeout(() => res.end('slow'), 10));
  const pool = newPool(t, { maxSocketsPerOrigin: 2 });
  const all = Array.from({ length: 20 }, (_, i) => getString(`http://127.0.0.1:${srv.port}/${i}`, { keepAlive: pool }));
  await sleep(1);
  const during = pool.stats();
  t.same(await Promise.all(all), Array(20).fill('slow'));
  t.equal(during.busy, 2, 'two in use');
  t.equal(during.waiting, 18, 'eighteen queued');
  t.equal(srv.maxOpen, 2, 'the server never saw more than 2 connections at once');
  t.equal(srv.connections, 2, 'and only 2 in all');
  // FIFO: the requests reached the server in the order they were made.
  t.same(srv.requests.map((r) => Number(r.url.slice(1))), Array.from({ length: 20 }, (_, i) => i));
});

t.test('idle connections: closed after idleTimeout, and dropped when the server closes them', async (t) => {
  const srv = await countingServer(t, hello);
  const pool = newPool(t, { idleTimeout: 100 });
  await getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: pool });
  t.equal(pool.stats().idle, 1);
  await until(() => srv.closed === 1);
  t.pass('the server saw the close');
  t.same(pool.stats(), { origins: 0, busy: 0, idle: 0, waiting: 0 }, 'the origin is forgotten');

  // A server that closes each connection 30 ms after its response (and announces nothing).
  const short = await rawServer(t, (_h, s) => {
    s.write(ok('hello'));
    setTimeout(() => s.end(), 30);
  });
  const pool2 = newPool(t, { idleTimeout: 60_000 });
  await getString(`http://127.0.0.1:${short.port}/`, { keepAlive: pool2 });
  t.equal(pool2.stats().idle, 1, 'kept');
  await until(() => pool2.stats().idle === 0);
  t.pass('the server closed it: the pool dropped it');
  t.equal(await getString(`http://127.0.0.1:${short.port}/`, { keepAlive: pool2 }), 'hello', 'the next request opens a new one');
  t.equal(short.connections, 2);
});

t.test("the server's Keep-Alive: timeout=N shortens the idle time (less a second)", async (t) => {
  let field = '';
  let closed = 0;
  const srv = await rawServer(t, (_h, s) => {
    s.once('close', () => closed++);
    s.write(ok('x', field));
  });
  const pool = newPool(t, { idleTimeout: 60_000 });
  const url = `http://127.0.0.1:${srv.port}/`;
  field = 'Keep-Alive: timeout=1, max=100\r\n';
  await getString(url, { keepAlive: pool });
  t.equal(pool.stats().idle, 0, 'timeout=1: not kept (a second of margin leaves nothing)');
  field = 'Keep-Alive: max=5, Timeout = 2\r\n';
  await getString(url, { keepAlive: pool });
  t.equal(pool.stats().idle, 1, 'timeout=2: kept');
  await until(() => closed === 2, 10_000);
  t.equal(pool.stats().idle, 0, 'then closed by the pool about a second later, not after 60 s');
  field = 'Keep-Alive: timeout=soon\r\nkeep-alive: timeout=\r\nKeep-Alive: timeout=1234567890\r\n';
  await getString(url, { keepAlive: pool });
  t.equal(pool.stats().idle, 1, 'values that are not a number of seconds are ignored');
  t.equal(srv.connections, 3);
});

t.test('an idle connection that receives bytes is broken: destroyed', async (t) => {
  const srv = await rawServer(t, (_h, socket) => {
    socket.write(ok('one'));
    setTimeout(() => socket.write('garbage'), 30);
  });
  const pool = newPool(t);
  t.equal(await getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: pool }), 'one');
  t.equal(pool.stats().idle, 1);
  await until(() => pool.stats().idle === 0);
  t.equal(await getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: pool }), 'one');
  t.equal(srv.connections, 2, 'a new connection');
});

t.test('not reused after Connection: close, HTTP/1.0, a close-delimited body, extra bytes, or an early close()', async (t) => {
  const cases: [string, (s: Socket) => void][] = [
    ['Connection: close', (s) => s.write(ok('x', 'Connection: close\r\n'))],
    ['HTTP/1.0', (s) => s.write('HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx')],
    ['close-delimited', (s) => s.end('HTTP/1.1 200 OK\r\n\r\nx')],
    ['extra bytes after the response', (s) => s.write(`${ok('x')}EXTRA`)],
  ];
  for (const [name, write] of cases) {
    const srv = await rawServer(t, (_h, s) => write(s));
    const pool = newPool(t);
    for (let i = 0; i < 2; i++) t.equal(await getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: pool }), 'x', `${name}: request ${i + 1}`);
    t.equal(srv.connections, 2, `${name}: a new connection for the second request`);
    t.equal(pool.stats().idle, 0, `${name}: nothing kept`);
  }

  // A response closed before its end: its connection is destroyed, not drained.
  const srv = await countingServer(t, (req, res) => {
    if (req.url === '/endless') {
      res.write('start');
      const more = setInterval(() => res.write('more'), 5);
      res.on('close', () => clearInterval(more));
    } else res.end('short');
  });
  const pool = newPool(t);
  const res = await open(`http://127.0.0.1:${srv.port}/endless`, { keepAlive: pool });
  t.equal((await res.read(5)).toString(), 'start');
  res.close();
  t.equal(pool.stats().busy, 0, 'the slot is free at once');
  await until(() => srv.closed === 1);
  t.equal(await getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: pool }), 'short');
  t.equal(srv.connections, 2);
});

t.test('a reused connection closed under the next request: idempotent methods retried once, POST not', async (t) => {
  for (const how of ['end', 'destroy'] as const) {
    // Each connection answers its first request, then closes on the second without a byte:
    // what a client sees when the server closed the idle connection as the request was written.
    const srv = await rawServer(t, (_h, s, nth) => {
      if (nth === 1) s.write(ok('first'));
      else if (how === 'end') s.end();
      else s.resetAndDestroy();
    });
    const pool = newPool(t);
    const url = `http://127.0.0.1:${srv.port}/`;
    t.equal(await getString(url, { keepAlive: pool }), 'first');
    t.equal(await getString(url, { keepAlive: pool }), 'first', `${how}: GET retried on a new connection`);
    t.equal(srv.connections, 2);
    t.equal(await getString(url, { keepAlive: pool, method: 'PUT', postdata: 'put-content' }), 'first', `${how}: PUT (idempotent) retried`);
    t.equal(srv.connections, 3);
    t.match(srv.heads.at(-1), /^PUT /, 'the PUT went again, content and all');
    const before = srv.heads.length;
    const err = await getString(url, { keepAlive: pool, postdata: 'once' }).catch((e: unknown) => e);
    t.type(err, HttpConnectionError, `${how}: POST is not retried`);
    t.equal((err as HttpConnectionError).requestSent, true, 'requestSent: the server may have it');
    t.equal(srv.heads.length - before, 1, 'the server saw the POST once');
    t.equal(srv.connections, 3, 'no new connection for the POST');
    t.equal(await getString(url, { keepAlive: pool }), 'first', 'a new connection, kept');
    const patch = await getString(url, { keepAlive: pool, method: 'PATCH', postdata: 'x' }).catch((e: unknown) => e);
    t.type(patch, HttpConnectionError, `${how}: nor PATCH`);
  }
});

t.test('a retry happens at most once, and a failure on a new connection is never retried', async (t) => {
  let phase = 'setup';
  const srv = await rawServer(t, (_h, s, nth) => {
    if (phase === 'setup' && nth === 1) s.write(ok('first'));
    else s.end(); // every later request: closed without a response
  });
  const pool = newPool(t);
  const url = `http://127.0.0.1:${srv.port}/`;
  t.equal(await getString(url, { keepAlive: pool }), 'first');
  phase = 'broken';
  const err = await getString(url, { keepAlive: pool }).catch((e: unknown) => e);
  t.match(err, { code: 'UNEXPECTED_EOF', requestSent: true }, 'the retry failed too: reported');
  t.equal(srv.connections, 2, 'one retry, on one new connection');
  const fresh = await getString(url, { keepAlive: pool }).catch((e: unknown) => e);
  t.match(fresh, { code: 'UNEXPECTED_EOF' }, 'on a new connection: reported at once');
  t.equal(srv.connections, 3, 'not retried');
});

/**
 * A pool of one connection, held by a request to `/hold` that the server
 * answers only when `release()` is called; other paths answer 'hello'.
 */
async function heldPool(t: Test): Promise<{ srv: Awaited<ReturnType<typeof countingServer>>; pool: ConnectionPool; base: string; held: Promise<string>; release: () => void }> {
  let release: (() => void) | null = null;
  const srv = await countingServer(t, (req, res) => {
    if (req.url === '/hold') release = () => res.end('held');
    else res.end('hello');
  });
  const pool = newPool(t, { maxSocketsPerOrigin: 1 });
  const base = `http://127.0.0.1:${srv.port}`;
  const held = getString(`${base}/hold`, { keepAlive: pool });
  await until(() => release !== null);
  return { srv, pool, base, held, release: () => release!() };
}

t.test('waiting for a slot counts against connectTimeout, totalTimeout and the signal', async (t) => {
  const { srv, pool, base, held, release } = await heldPool(t);
  const connect = await getString(`${base}/c`, { keepAlive: pool, connectTimeout: 50 }).catch((e: unknown) => e);
  t.type(connect, HttpTimeoutError);
  t.match(connect, { code: 'ETIMEDOUT_CONNECT', requestSent: false });
  const total = await getString(`${base}/t`, { keepAlive: pool, totalTimeout: 50 }).catch((e: unknown) => e);
  t.match(total, { code: 'ETIMEDOUT_TOTAL', requestSent: false });
  const ac = new AbortController();
  const aborted = getString(`${base}/a`, { keepAlive: pool, signal: ac.signal }).catch((e: unknown) => e);
  await sleep(20);
  ac.abort(new Error('stop waiting'));
  t.match(await aborted, { message: 'stop waiting' });
  t.equal(pool.stats().waiting, 0, 'the queue is empty again');
  const waiting = getString(`${base}/w`, { keepAlive: pool });
  release();
  t.equal(await held, 'held');
  t.equal(await waiting, 'hello', 'the next waiter got the connection');
  t.same(srv.requests.map((r) => r.url), ['/hold', '/w'], 'the requests that gave up were never sent');
  t.equal(srv.connections, 1);
});

t.test('many cancelled waiters do not accumulate', async (t) => {
  const { srv, pool, base, held, release } = await heldPool(t);
  const ac = new AbortController();
  const gone = Array.from({ length: 100 }, () => getString(`${base}/x`, { keepAlive: pool, signal: ac.signal }).catch(() => 'aborted'));
  ac.abort();
  t.same(new Set(await Promise.all(gone)), new Set(['aborted']));
  t.equal(pool.stats().waiting, 0);
  release();
  t.equal(await held, 'held');
  t.equal(await getString(`${base}/y`, { keepAlive: pool }), 'hello');
  t.equal(srv.requests.length, 2);
});

t.test('limits: maxIdlePerOrigin and maxOrigins', async (t) => {
  const srv = await countingServer(t, (_req, res) => setTimeout(() => res.end('x'), 5));
  const noIdle = newPool(t, { maxIdlePerOrigin: 0 });
  for (let i = 0; i < 3; i++) await getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: noIdle });
  t.equal(srv.connections, 3, 'maxIdlePerOrigin 0: nothing kept');

  const two = newPool(t, { maxSocketsPerOrigin: 4, maxIdlePerOrigin: 2 });
  await Promise.all(Array.from({ length: 4 }, () => getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: two })));
  t.equal(two.stats().idle, 2, 'four used, two kept');

  const other = await countingServer(t, hello);
  const one = newPool(t, { maxOrigins: 1 });
  await getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: one });
  await getString(`http://127.0.0.1:${other.port}/`, { keepAlive: one });
  t.same(one.stats(), { origins: 1, busy: 0, idle: 1, waiting: 0 }, 'the first origin was forgotten for the second');
  // Both origins busy at once with maxOrigins 1: the second is served, on a connection not kept.
  const before = other.connections;
  const [a, b] = await Promise.all([
    getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: one }),
    getString(`http://127.0.0.1:${other.port}/`, { keepAlive: one }),
  ]);
  t.same([a, b], ['x', 'hello']);
  t.ok(one.stats().origins <= 1, 'never more than maxOrigins');
  t.equal(other.requests.at(-1)!.connection, 'close', 'the uncounted request said Connection: close');
  t.equal(other.connections, before + 1);
});

t.test('close(): idle connections closed, in-flight ones closed when they end', async (t) => {
  let release: (() => void) | null = null;
  const srv = await countingServer(t, (req, res) => {
    if (req.url === '/hold') release = () => res.end('held');
    else res.end('hello');
  });
  const pool = new ConnectionPool({ maxSocketsPerOrigin: 2 });
  const base = `http://127.0.0.1:${srv.port}`;
  const held = getString(`${base}/hold`, { keepAlive: pool });
  await until(() => release !== null);
  await getString(`${base}/`, { keepAlive: pool });
  t.same(pool.stats(), { origins: 1, busy: 1, idle: 1, waiting: 0 });
  pool.close();
  await until(() => srv.closed === 1);
  t.pass('the idle connection was closed');
  release!();
  t.equal(await held, 'held', 'the request in flight completes');
  await until(() => srv.closed === 2);
  t.same(pool.stats(), { origins: 0, busy: 0, idle: 0, waiting: 0 });
});

t.test('a pool closed during a redirect chain: the next hop gets its own connection', async (t) => {
  const pool = new ConnectionPool();
  const srv = await countingServer(t, (req, res) => {
    if (req.url === '/r') {
      pool.close();
      res.writeHead(302, { Location: '/t' }).end();
    } else res.end('there');
  });
  t.equal(await getString(`http://127.0.0.1:${srv.port}/r`, { keepAlive: pool }), 'there');
  t.equal(srv.requests[1]!.connection, 'close');
});

t.test('TLS options separate pool entries', { skip: hasOpenssl() ? false : 'no openssl' }, async (t) => {
  const c = makeCa(t);
  const connections: number[] = [];
  const server = createHttpsServer({ key: c.server.key, cert: c.server.cert }, (_req, res) => res.end('secure'));
  server.keepAliveTimeout = 30_000;
  let n = 0;
  server.on('connection', () => connections.push(++n));
  const port = await listen(t, server);
  const pool = newPool(t);
  const url = `https://localhost:${port}/`;
  t.equal(await getString(url, { keepAlive: pool, ca: c.ca }), 'secure');
  t.equal(await getString(url, { keepAlive: pool, ca: c.ca }), 'secure');
  t.equal(n, 1, 'same options: reused');
  t.equal(await getString(url, { keepAlive: pool, rejectUnauthorized: false }), 'secure');
  t.equal(n, 2, 'rejectUnauthorized false: another connection, never the verified one');
  t.equal(await getString(url, { keepAlive: pool, ca: [c.ca], servername: 'localhost' }), 'secure');
  t.equal(n, 3, 'another servername: another connection');
  await t.rejects(getString(url, { keepAlive: pool }), HttpConnectionError, 'without the ca: verified afresh, refused');
  t.equal(pool.stats().origins, 3);
  t.equal(n, 4, 'the refused one connected');
  t.equal(await getString(url, { keepAlive: pool, ca: c.ca }), 'secure');
  t.equal(n, 4, 'the first entry is reused');
});

t.test('an idle pooled socket does not keep the process alive', async (t) => {
  const srv = await countingServer(t, hello, 60_000);
  const root = resolve(import.meta.dirname, '..');
  const src = resolve(root, 'src', 'client', 'client.ts');
  const code = `
    import { getString, ConnectionPool } from ${JSON.stringify(src)};
    const pool = new ConnectionPool({ idleTimeout: 60000 });
    console.log(await getString('http://127.0.0.1:${srv.port}/', { keepAlive: pool }));
    console.log(await getString('http://127.0.0.1:${srv.port}/', { keepAlive: true }));
  `;
  const r = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((done) => {
    execFile('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--import', '@tapjs/typescript/import', '--input-type=module', '-e', code],
      { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => done({ err, stdout, stderr }));
  });
  t.equal(r.err, null, r.stderr);
  t.equal(r.stdout.trim(), 'hello\nhello', 'the child exited by itself after its requests');
  t.equal(srv.connections, 2);
});

t.test('close() after the whole content was read: later reads and the loop still reject', async (t) => {
  const srv = await countingServer(t, hello);
  const pool = newPool(t);
  const url = `http://127.0.0.1:${srv.port}/`;
  const res = await open(url, { keepAlive: pool });
  t.equal((await res.read()).toString(), 'hello');
  res.close();
  await t.rejects(res.read(), { name: 'ValueError', code: 'ERR_CLOSED' });
  const looped = await open(url, { keepAlive: pool });
  const seen: string[] = [];
  const err = await (async () => {
    for await (const chunk of looped) {
      seen.push(chunk.toString());
      looped.close();
    }
  })().catch((e: unknown) => e);
  t.same(seen, ['hello']);
  t.match(err, { name: 'ValueError', code: 'ERR_CLOSED' }, 'close() inside the loop ends it with the error, as before');
  t.equal(srv.connections, 1, 'both responses ended cleanly: one connection');
});

t.test('the lookup function and the proxy are part of the origin', async (t) => {
  const srv = await countingServer(t, (req, res) => res.end(req.url));
  const pool = newPool(t);
  const viaA: import('node:net').LookupFunction = (_h, opts, cb) => (opts.all ? (cb as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
  const viaB: import('node:net').LookupFunction = (h, o, cb) => viaA(h, o, cb);
  const url = `http://pinned.test:${srv.port}/x`;
  t.equal(await getString(url, { keepAlive: pool, lookup: viaA }), '/x');
  t.equal(await getString(url, { keepAlive: pool, lookup: viaA }), '/x');
  t.equal(srv.connections, 1, 'the same lookup: reused');
  t.equal(await getString(url, { keepAlive: pool, lookup: viaB }), '/x');
  t.equal(srv.connections, 2, 'another lookup: another connection');
  // The counting server as a proxy: it gets the absolute URL.
  const proxied = `http://elsewhere.test/p`;
  t.equal(await getString(proxied, { keepAlive: pool, proxy: ['127.0.0.1', srv.port] }), 'http://elsewhere.test/p');
  t.equal(await getString(proxied, { keepAlive: pool, proxy: ['127.0.0.1', srv.port] }), 'http://elsewhere.test/p');
  t.equal(srv.connections, 3, 'through the proxy: one connection, reused');
  t.equal(pool.stats().origins, 3);
});

t.test('an aborted signal with a pool: nothing sent, no slot taken', async (t) => {
  const srv = await countingServer(t, hello);
  const pool = newPool(t);
  const ac = new AbortController();
  ac.abort(new Error('before'));
  await t.rejects(getString(`http://127.0.0.1:${srv.port}/`, { keepAlive: pool, signal: ac.signal }), { message: 'before' });
  t.same(pool.stats(), { origins: 0, busy: 0, idle: 0, waiting: 0 });
  t.equal(srv.connections, 0);
});

t.test('a mixed load leaves the pool consistent: every request settles, nothing leaks, the bound holds', async (t) => {
  const srv = await countingServer(t, (req, res) => {
    const kind = req.url!.split('/')[1];
    if (kind === 'close') res.setHeader('Connection', 'close');
    if (kind === 'big') {
      res.write(Buffer.alloc(100_000, 'b'));
      setTimeout(() => res.end('end'), 2);
    } else setTimeout(() => res.end(kind), 1 + (Number(req.url!.split('/')[2]) % 3));
  });
  const pool = newPool(t, { maxSocketsPerOrigin: 3, maxIdlePerOrigin: 2 });
  const base = `http://127.0.0.1:${srv.port}`;
  const kinds = ['ok', 'close', 'big', 'early', 'abort', 'head'];
  let maxBusy = 0;
  const sampler = setInterval(() => (maxBusy = Math.max(maxBusy, pool.stats().busy)), 1);
  const outcomes = await Promise.all(Array.from({ length: 120 }, async (_, i) => {
    const kind = kinds[i % kinds.length]!;
    const url = `${base}/${kind === 'early' || kind === 'head' ? 'ok' : kind}/${i}`;
    if (kind === 'early') {
      const res = await open(url, { keepAlive: pool });
      res.close();
      return 'early';
    }
    if (kind === 'abort') {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), i % 4);
      return getString(url, { keepAlive: pool, signal: ac.signal }).then(() => 'abort', () => 'abort');
    }
    if (kind === 'head') return (await open(url, { keepAlive: pool, method: 'HEAD' })).statuscode === 200 ? 'head' : 'bad';
    const text = await getString(url, { keepAlive: pool });
    return kind === 'big' ? (text.length === 100_003 ? 'big' : 'bad') : text;
  }));
  t.same(new Set(outcomes), new Set(kinds), 'every request settled as expected');
  clearInterval(sampler);
  // (The server's own count can lag: a connection the client destroyed is closed there a moment later.)
  t.ok(maxBusy > 0 && maxBusy <= 3, `never more than 3 connections in use (saw ${maxBusy})`);
  const s = pool.stats();
  t.equal(s.busy, 0, 'no slot leaked');
  t.equal(s.waiting, 0);
  t.ok(s.idle <= 2, 'idle bounded');
  t.ok(srv.connections < srv.requests.length, `connections were reused (${srv.connections} for ${srv.requests.length} requests)`);
});
