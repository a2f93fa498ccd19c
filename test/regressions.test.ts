// Regressions: each test names the bug it pins (found while documenting).
import t from 'tap';
import { Readable } from 'node:stream';
import { createReadStream, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMessages } from '../src/parser/inspect.js';
import { ResponseParser } from '../src/parser/parser.js';
import { getString } from '../src/client/client.js';
import { registerCallback, stopCallback, boundAddress } from '../src/server/server.js';
import { Client, exchange, serve, sleep } from './helpers/wire.js';

const H = 'Host: t\r\n';

t.test('a Node Readable as message is streamed, not treated as file-like', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-'));
  const file = join(dir, 'f.txt');
  writeFileSync(file, 'from a file\n');
  const { port } = await serve(t, (req) => ({
    statuscode: 200,
    message: req.path === '/file' ? createReadStream(file) : Readable.from(['a', Buffer.from('b')]),
  }));
  const c = new Client(port);
  await c.ready;
  c.write(`GET /readable HTTP/1.1\r\n${H}\r\nGET /file HTTP/1.1\r\n${H}\r\n`);
  const replies = await c.responses(2);
  t.same(replies.map((r) => r.body), ['ab', 'from a file\n']);
  t.equal(replies[0]!.headers['transfer-encoding'], 'chunked');
  c.destroy();
});

t.test('a body that breaks after the response was sent closes the connection', async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200, message: 'early' }));
  const c = new Client(port);
  await c.ready;
  c.write(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`);
  await c.responses(1);
  c.write('ZZ\r\n');
  await c.closedByServer(2000);
  t.ok(c.closed, 'closed, not left open');
});

t.test('draining an answered request whose rest stalls is bounded by bodyTimeout', async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200, message: 'early' }), { bodyTimeout: 150 });
  const c = new Client(port);
  await c.ready;
  c.write(`POST / HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\nabc`);
  await c.responses(1);
  await c.closedByServer(2000);
  t.ok(c.closed);
});

t.test('stopTimeout and lingerTimeout Infinity mean "no deadline", not 1 ms', async (t) => {
  const id = await registerCallback(['127.0.0.1', 0], async () => {
    await sleep(100);
    return { statuscode: 200, message: 'late but whole' };
  }, { stopTimeout: Infinity, lingerTimeout: Infinity });
  const c = new Client(boundAddress(id)[1]);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  await sleep(20);
  await stopCallback(id);
  const [r] = await c.responses(1);
  t.equal(r!.body, 'late but whole');
  c.destroy();
});

t.test("the server's close decision wins over the callback's Connection: keep-alive", async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200, headers: { Connection: 'keep-alive' }, message: 'x' }));
  const reply = await exchange(port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  t.match(reply, /\r\nConnection: close\r\n/);
  t.notMatch(reply, /keep-alive/);
  const c = new Client(port);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  const [r] = await c.responses(1);
  t.equal(r!.headers['connection'], 'keep-alive', "kept when the connection stays open");
  c.destroy();
});

t.test('a 417 to HEAD has no content', async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200 }));
  const reply = await exchange(port, `HEAD / HTTP/1.1\r\n${H}Expect: something\r\n\r\n`);
  t.match(reply, /^HTTP\/1\.1 417 /);
  t.match(reply, /\r\n\r\n$/, 'ends after the head');
});

t.test('an HTTP/0.9 request line of exactly maxRequestLineSize is accepted', async (t) => {
  const line = `GET /${'a'.repeat(59)}`;
  t.equal(line.length, 64);
  const ok = parseMessages(Buffer.from(`${line}\r\n`), { maxRequestLineSize: 64 });
  t.equal(ok.error, null);
  const over = parseMessages(Buffer.from(`${line}a\r\n`), { maxRequestLineSize: 64 });
  t.equal(over.error?.code, 'URI_TOO_LONG');
});

t.test('a message stream that stops producing is cut at callbackTimeout, and closed', async (t) => {
  const errors: { code?: string }[] = [];
  const { port } = await serve(t, () => ({
    statuscode: 200,
    message: (async function* () {
      yield 'first';
      await new Promise(() => {}); // never produces again
    })(),
  }), { callbackTimeout: 150, onError: (e) => errors.push(e as { code?: string }) });
  const c = new Client(port);
  await c.ready;
  c.write(`GET / HTTP/1.1\r\n${H}\r\n`);
  await c.closedByServer(3000);
  t.ok(c.closed, 'the connection is cut');
  t.match(c.received.toString('latin1'), /first/);
  t.same(errors.map((e) => e.code), ['ERR_CALLBACK_TIMEOUT']);
});

t.test('bodyTimeout does not run while the client waits for 100 Continue', async (t) => {
  const { port } = await serve(t, async (req) => {
    await sleep(400); // longer than bodyTimeout, before reading
    const b = await req.datastream.read();
    return { statuscode: 200, message: b.toString() };
  }, { bodyTimeout: 150 });
  const c = new Client(port);
  await c.ready;
  c.write(`PUT / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
  await c.until((b) => b.includes('100 Continue'), 3000);
  c.write('hello');
  const [r] = await c.responses(1);
  t.equal(r!.status, 200);
  t.equal(r!.body, 'hello');
  c.destroy();
});

t.test('ResponseParser after CONNECT: a non-2xx answer keeps its content', async (t) => {
  const p = new ResponseParser();
  p.expectNoBody('CONNECT');
  p.push(Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 5\r\n\r\nnope!'));
  const types: string[] = [];
  let body = '';
  for (let ev = p.next(); ev.type !== 'partial'; ev = p.next()) {
    types.push(ev.type);
    if (ev.type === 'data') body += ev.data.toString();
  }
  t.same(types, ['head', 'data', 'end']);
  t.equal(body, 'nope!');
  t.notOk(p.upgraded);
});

t.test('client timeouts beyond 2^31-1 ms mean no deadline (not 1 ms)', async (t) => {
  const { port } = await serve(t, async () => {
    await sleep(50);
    return { statuscode: 200, message: 'slow but fine' };
  });
  const text = await getString(`http://127.0.0.1:${port}/`, { idleTimeout: 3e9, connectTimeout: 3e9, totalTimeout: 3e9 });
  t.equal(text, 'slow but fine');
});

t.test('on stop, an answer prepared before the stop still says Connection: close when it is the last', async (t) => {
  const id = await registerCallback(['127.0.0.1', 0], async (req) => {
    if (req.path === '/slow') await sleep(300);
    return { statuscode: 200, message: req.path };
  });
  const c = new Client(boundAddress(id)[1]);
  await c.ready;
  c.write(`GET /slow HTTP/1.1\r\n${H}\r\nGET /fast HTTP/1.1\r\n${H}\r\n`);
  await sleep(100); // /fast has answered (prepared as keep-alive), /slow has not
  const stopping = stopCallback(id);
  const replies = await c.responses(2, 3000);
  await stopping;
  t.same(replies.map((r) => r.body), ['/slow', '/fast']);
  t.equal(replies[1]!.headers['connection'], 'close', 'the last answer says close');
  t.notOk(replies[0]!.headers['connection'] === 'close', 'the one before it does not');
  await c.closedByServer(2000);
  t.ok(c.closed);
});
