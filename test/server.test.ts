// The server over real sockets: registration, versions, keep-alive,
// pipelining, bodies, 100-continue, HEAD, the error answers, faulty
// callbacks, stopping, and clients that go away.
import t from 'tap';
import { createServer } from 'node:net';
import { boundAddress, registerCallback, stopCallback } from '../src/server/server.js';
import { IndexError, KeyError, ValueError, InvalidResponseError } from '../src/errors.js';
import type { RequestDict } from '../src/server/request.js';
import { Client, exchange, parseReplies, serve, sleep } from './helpers/wire.js';

const H = 'Host: t\r\n';
const echo = async (req: RequestDict) => {
  const body = await req.datastream.read();
  return {
    statuscode: 200,
    headers: { 'Content-Type': 'text/plain' },
    message: `${req.verb} ${req.path} ${req.version} ${body.length} ${body.toString('latin1')}`,
  };
};

t.test('registration', async (t) => {
  t.test('port 0 picks a port; boundAddress tells it', async (t) => {
    const id = await registerCallback(['127.0.0.1', 0], echo);
    t.ok(Number.isInteger(id) && id > 0, 'positive integer id');
    const [host, port] = boundAddress(id);
    t.equal(host, '127.0.0.1');
    t.ok(port > 0 && port < 65536, `bound port ${port}`);
    const reply = await exchange(port, `GET /a HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    t.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    await stopCallback(id);
    await t.rejects(stopCallback(id), KeyError, 'second stop → KeyError');
    t.throws(() => boundAddress(id), KeyError, 'boundAddress after stop → KeyError');
  });

  t.test('ids are distinct', async (t) => {
    const a = await serve(t, echo);
    const b = await serve(t, echo);
    t.not(a.id, b.id);
  });

  t.test('address in use keeps the OS error code', async (t) => {
    const { port } = await serve(t, echo);
    const err = await registerCallback(['127.0.0.1', port], echo).then(() => null, (e: NodeJS.ErrnoException) => e);
    t.equal(err?.code, 'EADDRINUSE');
  });

  t.test('a port held by another program', async (t) => {
    const other = createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    t.teardown(() => other.close());
    const port = (other.address() as { port: number }).port;
    await t.rejects(registerCallback(['127.0.0.1', port], echo), { code: 'EADDRINUSE' });
  });

  t.test('bad arguments', async (t) => {
    await t.rejects(registerCallback(['127.0.0.1', '80' as unknown as number], echo), TypeError, 'port not a number');
    await t.rejects(registerCallback(['127.0.0.1', 1.5], echo), TypeError, 'port not an integer');
    await t.rejects(registerCallback(['127.0.0.1', 70000], echo), ValueError, 'port out of range');
    await t.rejects(registerCallback(['127.0.0.1', -1], echo), ValueError, 'negative port');
    await t.rejects(registerCallback(['127.0.0.1'] as unknown as [string, number], echo), IndexError, 'one item');
    await t.rejects(registerCallback(null as unknown as [string, number], echo), TypeError, 'no address');
    await t.rejects(registerCallback([80 as unknown as string, 0], echo), TypeError, 'host not a string');
    await t.rejects(registerCallback(['', 0], echo), ValueError, 'empty host');
    await t.rejects(registerCallback(['127.0.0.1', 0], 'nope' as never), TypeError, 'callback not a function');
    await t.rejects(registerCallback(['127.0.0.1', 0], echo, { bogus: 1 } as never), ValueError, 'unknown option');
    await t.rejects(registerCallback(['127.0.0.1', 0], echo, { maxPipelined: 0 }), ValueError, 'maxPipelined 0');
    await t.rejects(registerCallback(['127.0.0.1', 0], echo, { headersTimeout: 'x' } as never), TypeError, 'option type');
    await t.rejects(registerCallback(['127.0.0.1', 0], echo, { onError: 1 } as never), TypeError, 'onError type');
    await t.rejects(registerCallback(['127.0.0.1', 0], echo, 'x' as never), TypeError, 'options type');
    await t.rejects(stopCallback(987654), KeyError, 'unknown id');
  });
});

t.test('versions', async (t) => {
  const { port } = await serve(t, echo);

  t.test('HTTP/0.9: the body only, then close', async (t) => {
    const reply = await exchange(port, 'GET /old\r\n');
    t.equal(reply, 'GET /old 0.9 0 ');
  });

  t.test('HTTP/1.0: Content-Length and close', async (t) => {
    const reply = await exchange(port, 'GET /x HTTP/1.0\r\n\r\n');
    t.match(reply, /^HTTP\/1\.0 200 OK\r\n/);
    t.match(reply, /\r\nContent-Length: 13\r\n/);
    t.match(reply, /\r\nConnection: close\r\n/);
    t.match(reply, /\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
    t.match(reply, /\r\n\r\nGET \/x 1\.0 0 $/);
  });

  t.test('HTTP/1.0 keep-alive', async (t) => {
    const c = new Client(port);
    await c.ready;
    c.write('GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [a] = await c.responses(1);
    t.equal(a!.headers['connection'], 'keep-alive');
    c.write('GET /2 HTTP/1.0\r\n\r\n');
    await c.closedByServer();
    const all = c.received.toString('latin1');
    t.match(all, /GET \/2 1\.0 0 $/, 'second request on the same connection');
  });

  t.test('HTTP/1.1 keep-alive: several requests on one connection', async (t) => {
    const c = new Client(port);
    await c.ready;
    for (let k = 0; k < 3; k++) {
      c.write(`GET /${k} HTTP/1.1\r\n${H}\r\n`);
      const replies = await c.responses(k + 1);
      t.equal(replies[k]!.body, `GET /${k} 1.1 0 `);
      t.notOk(c.closed, 'still open');
    }
    c.write(`GET /last HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    await c.closedByServer();
    t.ok(c.closed, 'closed after Connection: close');
  });

  t.test('a response version lower than the request is honoured', async (t) => {
    const { port: p } = await serve(t, () => ({ statuscode: 200, version: '1.0', message: 'x' }));
    const c = new Client(p);
    await c.ready;
    c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
    const [r] = await c.responses(1);
    t.equal(r!.version, '1.0');
    t.equal(r!.headers['connection'], 'keep-alive', 'HTTP/1.0 needs the keep-alive option to persist (RFC 9112 §9.3)');
    c.destroy();
  });
});

t.test('pipelined requests are answered in order when callbacks finish out of order', async (t) => {
  const started: string[] = [];
  const { port } = await serve(t, async (req) => {
    started.push(req.path);
    const delay = { '/a': 150, '/b': 10, '/c': 60 }[req.path] ?? 0;
    await sleep(delay);
    return { statuscode: 200, message: req.path };
  });
  const c = new Client(port);
  await c.ready;
  c.write(`GET /a HTTP/1.1\r\n${H}\r\nGET /b HTTP/1.1\r\n${H}\r\nGET /c HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  const replies = await c.responses(3);
  t.same(replies.map((r) => r.body), ['/a', '/b', '/c']);
  t.same(started, ['/a', '/b', '/c'], 'callbacks ran concurrently, in arrival order');
  await c.closedByServer();
});

t.test('request dictionary', async (t) => {
  let seen: RequestDict | null = null;
  const { id, port } = await serve(t, async (req) => {
    seen = req;
    await req.datastream.read();
    return { statuscode: 204 };
  });
  const c = new Client(port);
  await c.ready;
  c.write(`POST /p/a%20th?x=1&y=a+b%21&z&x=2 HTTP/1.1\r\nhost: t\r\ncontent-type: text/plain\r\nX-Multi: 1\r\nx-multi: 2\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Length: 3\r\n\r\nabc`);
  const [r] = await c.responses(1);
  t.equal(r!.status, 204);
  t.equal(r!.body, '');
  t.notOk('content-length' in r!.headers, 'no Content-Length on 204');
  const req = seen! as RequestDict;
  t.equal(req.verb, 'POST');
  t.equal(req.path, '/p/a%20th', 'path undecoded');
  t.equal(req.querystr, 'x=1&y=a+b%21&z&x=2');
  t.same(req.querydict, { x: '2', y: 'a b!', z: null });
  t.equal(req.version, '1.1');
  t.same(req.headers, { Host: 't', 'Content-Type': 'text/plain', 'X-Multi': '1, 2', Cookie: 'a=1; b=2', 'Content-Length': '3' });
  t.same(req.rawheaders[0], ['host', 't']);
  t.equal(req.httpdid, id);
  t.equal(req.remoteipstr, '127.0.0.1');
  t.equal(req.remoteportnum, c.socket.localPort);
  t.type(req.signal, AbortSignal);
  c.destroy();
});

t.test('request bodies', async (t) => {
  t.test('chunked upload with trailers, read in pieces', async (t) => {
    const pieces: number[] = [];
    let trailers: unknown = null;
    const { port } = await serve(t, async (req) => {
      for (;;) {
        const b = await req.datastream.read(4);
        if (b.length === 0) break;
        pieces.push(b.length);
      }
      trailers = req.datastream.trailers;
      return { statuscode: 200, message: String(req.datastream.bytesRead) };
    });
    const c = new Client(port);
    await c.ready;
    c.write(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n`);
    await sleep(30);
    c.write('7;ext=1\r\ndefghij\r\n0\r\nX-Sum: 10\r\n\r\n');
    const [r] = await c.responses(1);
    t.equal(r!.body, '10');
    t.same(pieces, [4, 4, 2], 'read(n) gives exactly n bytes until the end');
    t.same(trailers, [['X-Sum', '10']]);
    c.destroy();
  });

  t.test('async iteration over the datastream', async (t) => {
    const { port } = await serve(t, async (req) => {
      let n = 0;
      for await (const chunk of req.datastream) n += chunk.length;
      return { statuscode: 200, message: String(n) };
    });
    const c = new Client(port);
    await c.ready;
    c.write(`PUT / HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\n`);
    for (let k = 0; k < 10; k++) {
      c.write(Buffer.alloc(10000, 0x61));
      await sleep(2);
    }
    const [r] = await c.responses(1);
    t.equal(r!.body, '100000');
    c.destroy();
  });

  t.test('an unread body is drained and the next request answered', async (t) => {
    const { port } = await serve(t, (req) => ({ statuscode: 200, message: req.path }));
    const c = new Client(port);
    await c.ready;
    c.write(`POST /1 HTTP/1.1\r\n${H}Content-Length: 5000\r\n\r\n${'x'.repeat(5000)}GET /2 HTTP/1.1\r\n${H}\r\n`);
    const replies = await c.responses(2);
    t.same(replies.map((r) => r.body), ['/1', '/2']);
    c.destroy();
  });

  t.test('an unread body larger than maxDrainSize closes the connection', async (t) => {
    const { port } = await serve(t, () => ({ statuscode: 200, message: 'early' }), { maxDrainSize: 1000 });
    const c = new Client(port);
    await c.ready;
    c.write(`POST / HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\n`);
    await c.responses(1);
    c.write(Buffer.alloc(50000, 0x61));
    await c.closedByServer();
    t.ok(c.closed, 'closed instead of draining forever');
    t.match(c.received.toString('latin1'), /^HTTP\/1\.1 200 OK/);
  });

  t.test('the socket is not read faster than the callback consumes (backpressure)', async (t) => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { port } = await serve(t, async (req) => {
      await gate;
      let n = 0;
      for await (const chunk of req.datastream) n += chunk.length;
      return { statuscode: 200, message: String(n) };
    });
    const size = 64 * 1024 * 1024;
    const c = new Client(port);
    await c.ready;
    c.write(`POST / HTTP/1.1\r\n${H}Content-Length: ${size}\r\n\r\n`);
    const block = Buffer.alloc(1024 * 1024, 0x62);
    for (let k = 0; k < 64; k++) c.write(block);
    await sleep(300);
    const pending = c.socket.writableLength;
    t.ok(pending > 32 * 1024 * 1024, `the client still holds ${pending} bytes: the server stopped reading`);
    release();
    const [r] = await c.responses(1, 20000);
    t.equal(r!.body, String(size), 'everything arrives once the callback reads');
    c.destroy();
  });
});

t.test('Expect: 100-continue', async (t) => {
  t.test('100 Continue is sent when the callback reads, before the body arrives', async (t) => {
    const { port } = await serve(t, echo);
    const c = new Client(port);
    await c.ready;
    c.write(`PUT /up HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
    await c.until((b) => b.includes('\r\n\r\n'));
    t.equal(c.received.toString('latin1'), 'HTTP/1.1 100 Continue\r\n\r\n');
    c.write('hello');
    const [r] = await c.responses(1);
    t.equal(r!.body, 'PUT /up 1.1 5 hello');
    c.destroy();
  });

  t.test('a callback that answers without reading: no 100, connection closed', async (t) => {
    const { port } = await serve(t, () => ({ statuscode: 413, message: 'too big' }));
    const c = new Client(port);
    await c.ready;
    c.write(`PUT /up HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 500000\r\n\r\n`);
    await c.closedByServer();
    const s = c.received.toString('latin1');
    t.notMatch(s, /100 Continue/);
    t.match(s, /^HTTP\/1\.1 413 Content Too Large\r\n/);
  });

  t.test('an unsupported expectation → 417', async (t) => {
    const { port } = await serve(t, echo);
    const reply = await exchange(port, `PUT / HTTP/1.1\r\n${H}Expect: teapot\r\nContent-Length: 1\r\n\r\nx`);
    t.match(reply, /^HTTP\/1\.1 417 Expectation Failed\r\n/);
  });
});

t.test('HEAD: the headers of a GET, no body, framing intact', async (t) => {
  const { port } = await serve(t, (req) => ({ statuscode: 200, message: `body of ${req.path}` }));
  const c = new Client(port);
  await c.ready;
  c.write(`HEAD /h HTTP/1.1\r\n${H}\r\nGET /g HTTP/1.1\r\n${H}\r\n`);
  await c.until((b) => b.toString('latin1').endsWith('body of /g'));
  const s = c.received.toString('latin1');
  const [head, rest] = s.split(/(?<=\r\n\r\n)/);
  t.match(head, /Content-Length: 10\r\n/, 'length of the GET body');
  t.match(rest, /^HTTP\/1\.1 200 OK\r\n/, 'the next response follows at once: no HEAD body');
  c.destroy();
});

t.test('responses', async (t) => {
  t.test('streamed message: chunked on 1.1, close-delimited on 1.0', async (t) => {
    const { port } = await serve(t, () => ({
      statuscode: 200,
      message: (async function* () {
        yield 'one,';
        await sleep(5);
        yield Buffer.from('two');
      })(),
    }));
    const c = new Client(port);
    await c.ready;
    c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
    const [r] = await c.responses(1);
    t.equal(r!.headers['transfer-encoding'], 'chunked');
    t.equal(r!.body, 'one,two');
    c.destroy();
    const old = await exchange(port, 'GET / HTTP/1.0\r\n\r\n');
    t.notMatch(old, /Transfer-Encoding/);
    t.match(old, /Connection: close\r\n\r\none,two$/);
  });

  t.test('file-like message with close()', async (t) => {
    let closed = false;
    const parts = ['Hello', '!', ''];
    const { port } = await serve(t, () => ({
      statuscode: 200,
      headers: { 'Content-Length': 6 },
      message: { read: () => parts.shift() ?? '', close: () => (closed = true) },
    }));
    const reply = await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    t.match(reply, /Content-Length: 6\r\n/);
    t.match(reply, /\r\n\r\nHello!$/);
    t.ok(closed, 'close() called');
  });

  t.test('statusmsg, repeated headers, numbers, UTF-8 body', async (t) => {
    const { port } = await serve(t, () => ({
      statuscode: 299, statusmsg: 'Fine Thanks', headers: { 'Set-Cookie': ['a=1', 'b=2'], 'X-N': 42 }, message: 'héllo',
    }));
    const reply = await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    t.match(reply, /^HTTP\/1\.1 299 Fine Thanks\r\n/);
    t.match(reply, /Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-N: 42\r\n/);
    t.match(reply, /Content-Length: 6\r\n/);
  });
});

t.test('the error answers: status, Connection: close, short text, then close', async (t) => {
  const { port } = await serve(t, echo, { maxBodySize: 10, maxRequestLineSize: 100, maxHeaderCount: 5, headersTimeout: 150 });
  const cases: [string, string, number][] = [
    ['bad field name', `GET / HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`, 400],
    ['missing Host', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['smuggling: TE and CL', `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
    ['413 body too large', `POST / HTTP/1.1\r\n${H}Content-Length: 11\r\n\r\n`, 413],
    ['414 URI too long', `GET /${'a'.repeat(200)} HTTP/1.1\r\n${H}\r\n`, 414],
    ['431 too many fields', `GET / HTTP/1.1\r\n${H}A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n`, 431],
    ['501 transfer coding', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`, 501],
    ['505 version', 'GET / HTTP/2.0\r\n\r\n', 505],
  ];
  for (const [name, bytes, status] of cases) {
    const reply = await exchange(port, bytes);
    t.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), `${name}: ${status}`);
    t.match(reply, /\r\nConnection: close\r\n/, `${name}: Connection: close`);
    t.match(reply, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/, `${name}: text`);
    const body = reply.split('\r\n\r\n')[1] ?? '';
    t.ok(body.length > 0 && body.length < 200, `${name}: short body ${JSON.stringify(body)}`);
  }

  t.test('408 when the head trickles too slowly', async (t) => {
    const c = new Client(port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHo');
    const start = Date.now();
    await c.closedByServer(3000);
    t.match(c.received.toString('latin1'), /^HTTP\/1\.1 408 Request Timeout\r\n/);
    t.ok(Date.now() - start >= 100, 'not before the timeout');
  });

  t.test('a bad chunk after the callback started: the read rejects, the client gets 400', async (t) => {
    let readError: unknown = null;
    let aborted = false;
    const { port: p } = await serve(t, async (req) => {
      try {
        await req.datastream.read();
      } catch (e) {
        readError = e;
      }
      aborted = req.signal.aborted;
      return { statuscode: 200, message: 'never sent' };
    });
    const reply = await exchange(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\nZZ\r\n`);
    t.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    t.match(reply, /CHUNK_SIZE_INVALID/);
    t.match(readError, { code: 'CHUNK_SIZE_INVALID' });
    t.ok(aborted, 'signal fired');
  });
});

t.test('faulty callbacks become a generic 500 and the server keeps serving', async (t) => {
  const errors: unknown[] = [];
  const behaviours: Record<string, () => unknown> = {
    '/throw': () => {
      throw new Error('secret internals');
    },
    '/reject': () => Promise.reject(new Error('secret rejection')),
    '/null': () => null,
    '/number': () => 42,
    '/nostatus': () => ({ message: 'x' }),
    '/badstatus': () => ({ statuscode: 700 }),
    '/floatstatus': () => ({ statuscode: 200.5 }),
    '/interim': () => ({ statuscode: 101 }),
    '/inject': () => ({ statuscode: 200, headers: { 'X-A': 'a\r\nSet-Cookie: evil=1' } }),
    '/badname': () => ({ statuscode: 200, headers: { 'Bad Name': 'x' } }),
    '/badmsg': () => ({ statuscode: 200, statusmsg: 'OK\r\nX: y' }),
    '/badversion': () => ({ statuscode: 200, version: '2.0' }),
    '/badmessage': () => ({ statuscode: 200, message: 12 }),
    '/badlength': () => ({ statuscode: 200, headers: { 'Content-Length': '3' }, message: 'abcdef' }),
    '/badte': () => ({ statuscode: 200, headers: { 'Transfer-Encoding': 'gzip' }, message: 'x' }),
    '/ok': () => ({ statuscode: 200, message: 'fine' }),
  };
  const { port } = await serve(t, (req) => behaviours[req.path]!() as never, { onError: (e) => errors.push(e) });
  const c = new Client(port);
  await c.ready;
  const paths = Object.keys(behaviours);
  for (const p of paths) c.write(`GET ${p} HTTP/1.1\r\n${H}\r\n`);
  const replies = await c.responses(paths.length);
  paths.forEach((p, k) => {
    const r = replies[k]!;
    if (p === '/ok') {
      t.equal(r.status, 200, 'the last request on the same connection is answered');
      t.equal(r.body, 'fine');
    } else {
      t.equal(r.status, 500, `${p} → 500`);
      t.equal(r.body, 'Internal Server Error\n', `${p}: generic body`);
      t.notMatch(JSON.stringify(r.raw), /secret|evil/, `${p}: nothing of the failure leaks`);
    }
  });
  t.equal(errors.length, paths.length - 1, 'every failure reported to onError');
  t.equal(errors.filter((e) => e instanceof InvalidResponseError).length, paths.length - 3, 'bad dictionaries are InvalidResponseError');
  c.destroy();

  t.test('an onError that throws does not break the server', async (t) => {
    const { port: p } = await serve(t, () => {
      throw new Error('x');
    }, { onError: () => {
      throw new Error('hook failed');
    } });
    const reply = await exchange(p, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    t.match(reply, /^HTTP\/1\.1 500 /);
  });

  t.test('a message stream that fails after the head cuts the connection', async (t) => {
    const errs: unknown[] = [];
    const { port: p } = await serve(t, () => ({
      statuscode: 200,
      message: (async function* () {
        yield 'partial';
        throw new Error('stream broke');
      })(),
    }), { onError: (e) => errs.push(e) });
    const reply = await exchange(p, `GET / HTTP/1.1\r\n${H}\r\n`);
    t.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    t.notMatch(reply, /0\r\n\r\n$/, 'no terminating chunk: the client sees a truncated message');
    t.equal(errs.length, 1);
  });
});

t.test('stopCallback', async (t) => {
  t.test('lets an in-flight request finish, closes idle connections, refuses new ones', async (t) => {
    let signalFired = false;
    const id = await registerCallback(['127.0.0.1', 0], async (req) => {
      await sleep(200);
      signalFired = req.signal.aborted;
      return { statuscode: 200, message: 'done' };
    });
    const port = boundAddress(id)[1];
    const idle = new Client(port);
    await idle.ready;
    const busy = new Client(port);
    await busy.ready;
    busy.write(`GET / HTTP/1.1\r\n${H}\r\n`);
    await sleep(50);
    const stopping = stopCallback(id);
    await idle.closedByServer(2000);
    t.ok(idle.closed, 'idle keep-alive connection closed');
    const [r] = await busy.responses(1);
    t.equal(r!.body, 'done', 'in-flight request answered');
    t.equal(r!.headers['connection'], 'close');
    await stopping;
    t.ok(signalFired, 'the in-flight request saw its signal fire');
    await busy.closedByServer(2000);
    t.ok(busy.closed);
    const refused = await new Promise<string>((resolve) => {
      const c = new Client(port);
      c.socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      c.socket.once('connect', () => resolve('connected'));
    });
    t.equal(refused, 'ECONNREFUSED');
    // The port is free again: it can be registered anew.
    const again = await registerCallback(['127.0.0.1', port], echo);
    t.equal(boundAddress(again)[1], port);
    await stopCallback(again);
  });

  t.test('stopIdleTimeout: a request sent on an idle connection after the stop is answered, with Connection: close', async (t) => {
    const id = await registerCallback(['127.0.0.1', 0], echo, { stopIdleTimeout: 2000 });
    const port = boundAddress(id)[1];
    const c = new Client(port);
    await c.ready;
    c.write(`GET /first HTTP/1.1\r\n${H}\r\n`);
    await c.responses(1);
    const quiet = new Client(port); // idle all along: closed once the grace is over
    await quiet.ready;
    const start = Date.now();
    const stopping = stopCallback(id);
    await sleep(100);
    t.notOk(c.closed, 'the idle connection is still open during the grace');
    c.write(`GET /second HTTP/1.1\r\n${H}\r\n`);
    const [, r] = await c.responses(2);
    t.equal(r!.status, 200, 'the request that crossed the stop is answered');
    t.equal(r!.body, 'GET /second 1.1 0 ');
    t.equal(r!.headers['connection'], 'close', 'and told that the connection ends');
    await c.closedByServer(2000);
    t.ok(c.closed, 'then closed');
    await quiet.closedByServer(5000);
    t.ok(quiet.closed && quiet.received.length === 0, 'a connection that stays idle is closed without a word');
    await stopping;
    t.ok(Date.now() - start >= 1900, `stopCallback waited for the grace (${Date.now() - start} ms)`);
  });

  t.test('stopIdleTimeout 0 (default): the idle connection is closed at once, a request sent after is lost', async (t) => {
    const id = await registerCallback(['127.0.0.1', 0], echo);
    const c = new Client(boundAddress(id)[1]);
    await c.ready;
    c.write(`GET /first HTTP/1.1\r\n${H}\r\n`);
    await c.responses(1);
    const stopping = stopCallback(id);
    await sleep(100);
    c.write(`GET /second HTTP/1.1\r\n${H}\r\n`);
    await c.closedByServer(2000);
    t.equal(parseReplies(c.received).length, 1, 'only the first request was answered');
    await stopping;
    await t.rejects(registerCallback(['127.0.0.1', 0], echo, { stopIdleTimeout: -1 }), ValueError, 'a negative grace is refused');
  });

  t.test('a callback that never answers is cut at stopTimeout', async (t) => {
    const id = await registerCallback(['127.0.0.1', 0], () => new Promise(() => {}), { stopTimeout: 200 });
    const c = new Client(boundAddress(id)[1]);
    await c.ready;
    c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
    await sleep(30);
    const start = Date.now();
    await stopCallback(id);
    t.ok(Date.now() - start < 1000, 'resolved at the deadline');
    await c.closedByServer(1000);
    t.ok(c.closed);
  });
});

t.test('clients that go away', async (t) => {
  t.test('mid-body: the read rejects, the signal fires, the server goes on', async (t) => {
    let readError: { code?: string } | null = null;
    let aborted = false;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((r) => (resolveDone = r));
    const { port } = await serve(t, async (req) => {
      if (req.path === '/upload') {
        try {
          await req.datastream.read();
        } catch (e) {
          readError = e as { code?: string };
        }
        aborted = req.signal.aborted;
        resolveDone();
      }
      return { statuscode: 200 };
    });
    const c = new Client(port);
    await c.ready;
    c.write(`POST /upload HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\nhalf`);
    await sleep(30);
    c.destroy();
    await done;
    // A FIN mid-body is a truncated message; a reset is a client gone.
    t.match(readError!.code, /^(UNEXPECTED_EOF|ERR_CLIENT_GONE)$/);
    t.ok(aborted, 'signal fired');
    const reply = await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    t.match(reply, /^HTTP\/1\.1 200 /, 'the server still answers others');
  });

  t.test('before the response: the signal fires', async (t) => {
    let resolveSeen: (v: boolean) => void = () => {};
    const seen = new Promise<boolean>((r) => (resolveSeen = r));
    const { port } = await serve(t, async (req) => {
      await new Promise<void>((r) => req.signal.addEventListener('abort', () => r()));
      resolveSeen(req.signal.aborted);
      return { statuscode: 200 };
    });
    const c = new Client(port);
    await c.ready;
    c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
    await sleep(30);
    c.destroy();
    t.equal(await seen, true);
  });

  t.test('half-close mid-head: answered 400 (RFC 9112 §8), then closed', async (t) => {
    const { port } = await serve(t, echo);
    const c = new Client(port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHos');
    c.end();
    await c.closedByServer();
    t.match(c.received.toString('latin1'), /^HTTP\/1\.1 400 Bad Request\r\n[^]*UNEXPECTED_EOF/);
  });

  t.test('reset mid-head: nothing crashes', async (t) => {
    const { port } = await serve(t, echo);
    const c = new Client(port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHos');
    c.socket.resetAndDestroy();
    await sleep(30);
    const reply = await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    t.match(reply, /^HTTP\/1\.1 200 /);
  });
});
