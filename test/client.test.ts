// The client (src/client.ts) against three peers: this project's server, a
// node:http server (an independent implementation) and a raw node:net server
// that sends tricky or broken bytes. Every server listens on port 0 and every
// wait is bounded. docs/client.md is the specification.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import {
  CLIENT_DEFAULTS, getString, HttpBrokenServerError, HttpClientError, HttpConnectionError, HttpForbiddenError,
  HttpRedirectError, HttpResponseTooLargeError, HttpTimeoutError, open, saveFile,
} from '../src/client/client.js';
import { ValueError } from '../src/errors.js';
import { RequestParser } from '../src/parser/parser.js';
import { parseMessages } from '../src/parser/inspect.js';
import { quoteParameters } from '../src/message/url.js';
import { main as cli } from '../src/cli.js';
import * as index from '../src/index.js';
import type { RequestDict } from '../src/server/request.js';
import {
  closedPort, nodeServer, rawServer, rejection, reply, repyServer, sleep, within,
} from './helpers/client-servers.js';

/** A name lookup that answers 127.0.0.1 for every name (net.connect may ask for all addresses). */
const pinLookup: LookupFunction = (_host, options, cb) => {
  if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

const OK = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

// ---------------------------------------------------------------------------
// The original httpretrieve tests (tests/ut_httpretrieve_*.mix), against this project's server.

t.test('httpretrieve content: a 2890-byte body round-trips through getString', async (t) => {
  const body = Array.from({ length: 2890 }, (_, i) => String.fromCharCode(0x21 + (i % 90))).join('');
  const port = await repyServer(t, () => ({ statuscode: 200, message: body }));
  const got = await within(getString(`http://127.0.0.1:${port}/content`));
  t.equal(got.length, 2890);
  t.equal(got, body);
});

t.test('httpretrieve content_timeout: the server waits before answering → HttpTimeoutError (idle)', async (t) => {
  const raw = await rawServer(t, async (socket) => {
    await sleep(2000);
    socket.end(OK('late'));
  });
  const start = Date.now();
  const err = await rejection(getString(`http://127.0.0.1:${raw.port}/`, { timeout: 300 }));
  t.type(err, HttpTimeoutError);
  t.type(err, HttpClientError);
  t.equal(err.code, 'ETIMEDOUT_IDLE');
  t.equal(err.timeout, 300);
  t.ok(Date.now() - start < 1500, 'fired on time');
});

t.test('httpretrieve header_timeout: a callback that never answers → HttpTimeoutError', async (t) => {
  const port = await repyServer(t, (req) => new Promise((resolve) => req.signal.addEventListener('abort', () => resolve({ statuscode: 200 }))));
  const err = await rejection(open(`http://127.0.0.1:${port}/`, { idleTimeout: 250 }));
  t.type(err, HttpTimeoutError);
  t.equal(err.code, 'ETIMEDOUT_IDLE');
  t.match(err.message, /waiting for data/);
});

t.test('httpretrieve filelikeobj_closed: read after close → ValueError', async (t) => {
  const port = await repyServer(t, () => ({ statuscode: 200, message: 'normal server' }));
  const res = await within(open(`http://127.0.0.1:${port}/`));
  res.close();
  res.close(); // twice is fine
  t.ok(res.closed);
  const err = await rejection(res.read());
  t.type(err, ValueError);
  t.equal(err.message, 'I/O operation on closed file');
  await t.rejects(res.read(5), ValueError);
  await t.rejects((async () => {
    for await (const _ of res) void _;
  })(), ValueError, 'iterating a closed response');
});

t.test('httpretrieve read_done: a second read gives an empty Buffer', async (t) => {
  const port = await repyServer(t, () => ({ statuscode: 200, message: 'normal server' }));
  const res = await within(open(`http://127.0.0.1:${port}/`));
  t.equal((await res.read()).toString(), 'normal server');
  t.equal((await res.read()).length, 0);
  t.equal((await res.read(10)).length, 0);
  res.close();
});

t.test('httpretrieve read_limit: read(1000) of a 13-byte body; limit types', async (t) => {
  const port = await repyServer(t, () => ({ statuscode: 200, message: 'normal server' }));
  const res = await within(open(`http://127.0.0.1:${port}/`));
  await t.rejects(res.read(1.5), TypeError);
  await t.rejects(res.read('5' as never), TypeError);
  await t.rejects(res.read(NaN), TypeError);
  await t.rejects(res.read(-1), ValueError);
  t.equal((await res.read(0)).length, 0, 'read(0) reads nothing (the original read data)');
  t.equal((await res.read(6)).toString(), 'normal');
  t.equal((await res.read(1000)).toString(), ' server');
  t.equal((await res.read(null)).length, 0);
  res.close();
});

t.test('httpretrieve post: the echoed body equals quoteParameters(postdata)', async (t) => {
  let seen: RequestDict | null = null;
  const port = await repyServer(t, async (req) => {
    seen = req;
    return { statuscode: 200, message: await req.datastream.read() };
  });
  const postdata = { first: '1st', second: '2nd' };
  const got = await within(getString(`http://127.0.0.1:${port}/post`, { postdata }));
  t.equal(got, quoteParameters(postdata));
  t.equal(seen!.verb, 'POST');
  t.equal(seen!.headers['Content-Length'], String(got.length));
  t.equal(seen!.headers['Content-Type'], 'application/x-www-form-urlencoded', 'an object is a form');
});

// ---------------------------------------------------------------------------
// The request: line, fields, URL handling.

t.test('the request as this server sees it: Host with port, Connection: close, query joined, no userinfo or fragment', async (t) => {
  let seen: RequestDict | null = null;
  const port = await repyServer(t, (req) => {
    seen = req;
    return { statuscode: 200, message: 'ok' };
  });
  const res = await within(open(`http://user:secret@127.0.0.1:${port}/p/a%20th?x=1#frag`, {
    querydata: { q: 'a b', 'k&': '=' },
    httpheaders: { 'X-Custom': 'v1', 'x-number': 42, 'X-Multi': ['a', 'b'] },
  }));
  t.equal(res.statuscode, 200);
  t.same(res.httpstatus, ['HTTP/1.1', 200, 'OK']);
  t.equal(res.url, `http://127.0.0.1:${port}/p/a%20th?x=1&q=a%20b&k%26=%3D`, 'userinfo and fragment dropped');
  t.equal(res.redirects, 0);
  await res.read();
  res.close();
  const r = seen!;
  t.equal(r.verb, 'GET');
  t.equal(r.path, '/p/a%20th');
  t.equal(r.querystr, 'x=1&q=a%20b&k%26=%3D', 'the URL query, then querydata');
  t.same(r.querydict, { x: '1', q: 'a b', 'k&': '=' });
  t.equal(r.version, '1.1');
  t.equal(r.headers['Host'], `127.0.0.1:${port}`);
  t.equal(r.headers['Connection'], 'close');
  t.equal(r.headers['X-Custom'], 'v1');
  t.equal(r.headers['X-Number'], '42');
  t.equal(r.headers['X-Multi'], 'a, b');
  t.equal(r.headers['Authorization'], undefined, 'userinfo is never sent');
  t.notOk(JSON.stringify(r.rawheaders).includes('secret'));
  t.equal(r.headers['Content-Length'], undefined, 'no content, no Content-Length');
});

t.test('the exact request bytes, and they parse with the strict request parser', async (t) => {
  const raw = await rawServer(t, reply(OK('x')));
  await within(getString(`http://127.0.0.1:${raw.port}/a?b=1`, { httpheaders: { 'X-A': 'é 1' } }));
  t.equal(raw.requests[0]!.head, `GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:${raw.port}\r\nX-A: é 1\r\nConnection: close\r\n\r\n`.replace('é', '\xc3\xa9'), 'a value is sent as UTF-8');
  await within(getString(`http://127.0.0.1:${raw.port}`, { postdata: Buffer.from([0, 1, 2, 255]), method: 'PUT' }));
  const put = raw.requests[1]!;
  t.equal(put.line, 'PUT / HTTP/1.1', 'an empty path is /');
  t.same([...put.body], [0, 1, 2, 255], 'bytes as they are');
  t.ok(put.fields.some(([n, v]) => n === 'Content-Length' && v === '4'));
  t.notOk(put.fields.some(([n]) => n === 'Content-Type'), 'no Content-Type for bytes');
  await within(getString(`http://127.0.0.1:${raw.port}/`, { postdata: '' }));
  t.equal(raw.requests[2]!.line, 'POST / HTTP/1.1', "postdata '' is still a POST");
  t.ok(raw.requests[2]!.fields.some(([n, v]) => n === 'Content-Length' && v === '0'));
  await within(getString(`http://127.0.0.1:${raw.port}/ü path?q=ü x`, { querydata: 'raw=1 2' }));
  t.equal(raw.requests[3]!.line, 'GET /%C3%BC%20path?q=%C3%BC%20x&raw=1%202 HTTP/1.1', 'characters a target cannot hold are percent-encoded');
  for (const req of raw.requests) {
    const p = new RequestParser();
    p.push(Buffer.concat([Buffer.from(req.head, 'latin1'), req.body]));
    const ev = p.next();
    t.equal(ev.type, 'head', `parses: ${req.line}`);
  }
});

t.test('an internationalised host name is sent in its ASCII form', async (t) => {
  const raw = await rawServer(t, reply(OK('x')));
  await within(getString(`http://Bücher.example:${raw.port}/`, { lookup: pinLookup }));
  t.ok(raw.requests[0]!.fields.some(([n, v]) => n === 'Host' && v === `xn--bcher-kva.example:${raw.port}`));
});

t.test('a user Host field replaces the default one', async (t) => {
  const raw = await rawServer(t, reply(OK('x')));
  await within(getString(`http://127.0.0.1:${raw.port}/`, { httpheaders: { host: 'virtual.example:8080' } }));
  const hosts = raw.requests[0]!.fields.filter(([n]) => n.toLowerCase() === 'host');
  t.same(hosts, [['host', 'virtual.example:8080']]);
});

t.test('proxy: absolute-form target, Host of the origin server', async (t) => {
  const proxy = await rawServer(t, reply(OK('via proxy')));
  const text = await within(getString('http://origin.example/p?q=1', { proxy: ['127.0.0.1', proxy.port] }));
  t.equal(text, 'via proxy');
  t.equal(proxy.requests[0]!.line, 'GET http://origin.example/p?q=1 HTTP/1.1');
  t.ok(proxy.requests[0]!.fields.some(([n, v]) => n === 'Host' && v === 'origin.example'), 'no :80 in Host');
  await within(getString('http://origin.example:8080/', { proxy: ['127.0.0.1', proxy.port] }));
  t.equal(proxy.requests[1]!.line, 'GET http://origin.example:8080/ HTTP/1.1');
  t.ok(proxy.requests[1]!.fields.some(([n, v]) => n === 'Host' && v === 'origin.example:8080'));
});

t.test('bad arguments: TypeError / ValueError before any connection', async (t) => {
  const raw = await rawServer(t, reply(OK('x')));
  const u = `http://127.0.0.1:${raw.port}/`;
  const cases: [string, Promise<unknown>, new (...a: never[]) => Error, RegExp?][] = [
    ['https through a proxy', open(`https://127.0.0.1:${raw.port}/`, { proxy: ['127.0.0.1', raw.port] }), ValueError, /no CONNECT tunnel/],
    ['servername address', open(`https://127.0.0.1:${raw.port}/`, { servername: '127.0.0.1' }), ValueError, /not an address/],
    ['servername characters', open(`https://127.0.0.1:${raw.port}/`, { servername: 'a b' }), ValueError, /host name/],
    ['servername type', open(`https://127.0.0.1:${raw.port}/`, { servername: 5 as never }), TypeError],
    ['ca type', open(`https://127.0.0.1:${raw.port}/`, { ca: 5 as never }), TypeError, /PEM/],
    ['rejectUnauthorized type', open(`https://127.0.0.1:${raw.port}/`, { rejectUnauthorized: 'no' as never }), TypeError],
    ['allowDowngrade type', open(u, { allowDowngrade: 1 as never }), TypeError],
    ['ftp', open('ftp://h/'), ValueError, /HTTP protocol/],
    ['no scheme', open('127.0.0.1/'), ValueError],
    ['no host', open('http:///path'), ValueError, /Missing hostname/],
    ['bad port', open('http://h:88-88/'), ValueError],
    ['bad host', open('http://a b/'), ValueError],
    ['bad IPv6', open('http://[zz]/'), ValueError],
    ['url type', open(5 as never), TypeError],
    ['options type', open(u, 5 as never), TypeError],
    ['unknown option', open(u, { tiemout: 5 } as never), ValueError, /unknown option/],
    ['header name', open(u, { httpheaders: { 'Bad Name': 'x' } }), ValueError],
    ['header name colon', open(u, { httpheaders: { 'X:Y': 'x' } }), ValueError],
    ['empty header name', open(u, { httpheaders: { '': 'x' } }), ValueError],
    ['CRLF in value', open(u, { httpheaders: { 'X-A': 'a\r\nInjected: 1' } }), ValueError],
    ['LF in value', open(u, { httpheaders: { 'X-A': 'a\nb' } }), ValueError],
    ['NUL in value', open(u, { httpheaders: { 'X-A': 'a\0b' } }), ValueError],
    ['value type', open(u, { httpheaders: { 'X-A': {} as never } }), TypeError],
    ['value NaN', open(u, { httpheaders: { 'X-A': NaN } }), TypeError],
    ['headers type', open(u, { httpheaders: 'X-A: 1' as never }), TypeError],
    ['managed Content-Length', open(u, { httpheaders: { 'content-length': '5' } }), ValueError],
    ['managed Transfer-Encoding', open(u, { httpheaders: { 'Transfer-Encoding': 'chunked' } }), ValueError],
    ['managed Connection', open(u, { httpheaders: { Connection: 'keep-alive' } }), ValueError],
    ['bad Host', open(u, { httpheaders: { Host: 'a/b' } }), ValueError],
    ['querydata type', open(u, { querydata: 5 as never }), TypeError],
    ['querydata value', open(u, { querydata: { a: 1 } as never }), TypeError],
    ['postdata type', open(u, { postdata: 5 as never }), TypeError],
    ['postdata array', open(u, { postdata: ['a'] as never }), TypeError],
    ['method', open(u, { method: 'GE T' }), ValueError],
    ['method type', open(u, { method: 5 as never }), TypeError],
    ['CONNECT', open(u, { method: 'CONNECT' }), ValueError],
    ['timeout type', open(u, { timeout: '5' as never }), TypeError],
    ['negative timeout', open(u, { idleTimeout: -1 }), ValueError],
    ['maxResponseSize', open(u, { maxResponseSize: 1.5 }), ValueError],
    ['maxRedirects', open(u, { maxRedirects: 'x' as never }), TypeError],
    ['followRedirects', open(u, { followRedirects: 1 as never }), TypeError],
    ['proxy type', open(u, { proxy: 'h:1' as never }), TypeError],
    ['proxy length', open(u, { proxy: ['h'] as never }), ValueError],
    ['proxy host', open(u, { proxy: [5, 1] as never }), TypeError],
    ['proxy empty host', open(u, { proxy: ['', 1] }), ValueError],
    ['proxy port', open(u, { proxy: ['h', 0] }), ValueError],
    ['proxy port type', open(u, { proxy: ['h', '1'] as never }), TypeError],
    ['allow type', open(u, { allow: 'x' as never }), TypeError],
    ['allow rule', open(u, { allow: [['h']] as never }), TypeError],
    ['allow host', open(u, { allow: [['', 1]] }), TypeError],
    ['allow port', open(u, { allow: [['h', 70000]] }), TypeError],
    ['lookup type', open(u, { lookup: 5 as never }), TypeError],
    ['saveFile filename', saveFile(u, 5 as never), TypeError],
    ['saveFile empty filename', saveFile(u, ''), ValueError],
  ];
  for (const [name, p, cls, msg] of cases) {
    const err = await rejection(p);
    t.type(err, cls, name);
    if (msg) t.match(err.message, msg, name);
  }
  t.equal(raw.connections, 0, 'nothing connected');
  const gopher = await rejection(open('GOPHER://x/'));
  t.equal(gopher.code, 'ERR_UNSUPPORTED_SCHEME');
  const tunnel = await rejection(open('HTTPS://x/', { proxy: ['127.0.0.1', 1] }));
  t.equal(tunnel.code, 'ERR_UNSUPPORTED_PROXY');
});

t.test('options: null means none, 0 and Infinity disable a timeout, defaults are exported', async (t) => {
  const raw = await rawServer(t, reply(OK('x')));
  t.equal(await within(getString(`http://127.0.0.1:${raw.port}/`, null)), 'x');
  t.equal(await within(getString(`http://127.0.0.1:${raw.port}/`, { timeout: 0, totalTimeout: Infinity, querydata: null, postdata: null, httpheaders: null, proxy: null, allow: null })), 'x');
  t.same(CLIENT_DEFAULTS, { connectTimeout: 10000, idleTimeout: 30000, totalTimeout: 300000, maxResponseSize: 64 * 1024 * 1024, maxHeaderSize: 16384, maxRedirects: 5 });
});

t.test('index exports the client', async (t) => {
  for (const name of ['open', 'getString', 'saveFile', 'HttpResponse', 'quote', 'quotePlus', 'unquote', 'unquotePlus', 'unquoteToBytes',
    'quoteParameters', 'unquoteParameters', 'urlsplit', 'HttpClientError', 'HttpConnectionError', 'HttpTimeoutError',
    'HttpBrokenServerError', 'HttpResponseTooLargeError', 'HttpRedirectError', 'HttpForbiddenError', 'CLIENT_DEFAULTS', 'registerCallback']) {
    t.ok(name in index, name);
  }
});

// ---------------------------------------------------------------------------
// Responses from node:http, an independent implementation.

t.test('node:http: chunked content with trailers, repeated fields, status and headers', async (t) => {
  const port = await nodeServer(t, (req, res) => {
    res.writeHead(201, 'Made', { 'Content-Type': 'text/plain', 'Set-Cookie': ['a=1', 'b=2'], Trailer: 'X-Checksum' });
    res.write('hello ');
    setTimeout(() => {
      res.write(`world ${req.headers['host']} ${req.headers['connection']}`);
      res.addTrailers({ 'X-Checksum': 'abc' });
      res.end();
    }, 20);
  });
  const res = await within(open(`http://127.0.0.1:${port}/`));
  t.same(res.httpstatus, ['HTTP/1.1', 201, 'Made']);
  t.equal(res.headers['Content-Type'], 'text/plain');
  t.equal(res.headers['Transfer-Encoding'], 'chunked');
  t.equal(res.headers['Set-Cookie'], 'a=1, b=2', 'repeats joined');
  t.same(res.rawheaders.filter(([n]) => n === 'Set-Cookie'), [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
  const chunks: string[] = [];
  for await (const c of res) chunks.push(c.toString());
  t.ok(chunks.length >= 2, 'chunks as they arrive');
  t.equal(chunks.join(''), `hello world 127.0.0.1:${port} close`);
  t.same(res.trailers, { 'X-Checksum': 'abc' });
  t.same(res.rawtrailers, [['X-Checksum', 'abc']]);
  t.equal((await res.read()).length, 0, 'after iterating to the end: empty');
  res.close();
});

t.test('node:http: POST bytes, the server checks length and hash', async (t) => {
  const port = await nodeServer(t, (req, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      h.update(d);
    });
    req.on('end', () => res.end(`${req.method} ${n} ${h.digest('hex')} ${req.headers['content-length']}`));
  });
  const body = Buffer.alloc(1_000_000, 7);
  for (let i = 0; i < body.length; i += 997) body[i] = i & 255;
  const got = await within(getString(`http://127.0.0.1:${port}/up`, { postdata: body }));
  t.equal(got, `POST 1000000 ${createHash('sha256').update(body).digest('hex')} 1000000`);
});

t.test('node:http: a large upload to a slow reader: write progress keeps the idle timer alive', async (t) => {
  const port = await nodeServer(t, (req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      req.pause();
      setTimeout(() => req.resume(), 4);
    });
    req.on('end', () => res.end(String(n)));
  });
  // Larger than the socket buffers (a few MiB on loopback) several times over,
  // so that the upload lasts longer than idleTimeout while the server reads.
  const size = 24 * 1024 * 1024;
  const start = Date.now();
  const got = await within(getString(`http://127.0.0.1:${port}/`, { postdata: Buffer.alloc(size, 1), idleTimeout: 1000 }), 30_000);
  t.equal(got, String(size));
  const took = Date.now() - start;
  t.comment(`upload took ${took} ms with idleTimeout 1000`);
  t.ok(took > 1000, 'the upload outlasted idleTimeout');
});

t.test('node:http: 204, 304 and HEAD have no content', async (t) => {
  const port = await nodeServer(t, (req, res) => {
    if (req.url === '/204') res.writeHead(204).end();
    else if (req.url === '/304') res.writeHead(304, { ETag: '"x"' }).end();
    else res.writeHead(200, { 'Content-Length': '11' }).end(req.method === 'HEAD' ? undefined : 'hello world');
  });
  for (const [path, method, status] of [['/204', 'GET', 204], ['/304', 'GET', 304], ['/h', 'HEAD', 200]] as const) {
    const res = await within(open(`http://127.0.0.1:${port}${path}`, { method }));
    t.equal(res.statuscode, status);
    t.equal((await within(res.read())).length, 0, `${method} ${path}`);
    res.close();
  }
  const head = await within(open(`http://127.0.0.1:${port}/h`, { method: 'HEAD' }));
  t.equal(head.headers['Content-Length'], '11', 'the field is kept, the content is not expected');
  head.close();
});

t.test('node:http: interim 100 Continue and 103 Early Hints are skipped', async (t) => {
  const port = await nodeServer(t, (_req, res) => {
    res.writeContinue();
    res.writeEarlyHints({ link: '</a.css>; rel=preload' });
    setTimeout(() => res.end('final'), 10);
  });
  const res = await within(open(`http://127.0.0.1:${port}/`));
  t.equal(res.statuscode, 200);
  t.equal((await res.read()).toString(), 'final');
  t.equal(res.headers['Link'], undefined, "the 103's fields are not the final response's");
  res.close();
});

t.test('node:http over IPv6: [::1]:port', async (t) => {
  let port: number;
  try {
    port = await nodeServer(t, (req, res) => res.end(String(req.headers['host'])), '::1');
  } catch {
    t.pass('skipped: no IPv6 loopback here');
    return;
  }
  t.equal(await within(getString(`http://[::1]:${port}/`)), `[::1]:${port}`);
});

// ---------------------------------------------------------------------------
// Tricky responses from a raw server.

t.test('raw: chunked with extensions and trailers', async (t) => {
  const raw = await rawServer(t, reply(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, X-Other\r\n\r\n'
    + '5;ext=1;q="a \\"b\\""\r\nhello\r\n1;e\r\n \r\nA\r\n0123456789\r\n0;last=yes\r\nX-Sum: 16\r\nx-other: a\r\nX-Other: b\r\n\r\n',
  ));
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  t.equal((await res.read()).toString(), 'hello 0123456789');
  t.same(res.trailers, { 'X-Sum': '16', 'X-Other': 'a, b' });
  t.equal(res.rawtrailers.length, 3);
  res.close();
});

t.test('raw: no Content-Length → the content runs until close', async (t) => {
  const raw = await rawServer(t, async (socket) => {
    socket.write('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ');
    await sleep(30);
    socket.end('second');
  });
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  t.same(res.httpstatus, ['HTTP/1.0', 200, 'OK']);
  t.equal((await res.read()).toString(), 'first second');
  res.close();
});

t.test('raw: a 100 Continue (and a bare 102) before the final response', async (t) => {
  const raw = await rawServer(t, async (socket) => {
    socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    await sleep(20);
    socket.write('HTTP/1.1 102 Processing\r\nX-Interim: 1\r\n\r\n');
    socket.end(OK('done', 'X-Final: 1\r\n'));
  });
  const res = await within(open(`http://127.0.0.1:${raw.port}/`, { postdata: 'x' }));
  t.equal(res.statuscode, 200);
  t.same(res.headers, { 'Content-Length': '4', 'X-Final': '1' });
  t.equal((await res.read()).toString(), 'done');
  res.close();
});

t.test('raw: a status line without a reason phrase is fine (the original refused it)', async (t) => {
  const raw = await rawServer(t, reply('HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok'));
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  t.same(res.httpstatus, ['HTTP/1.1', 200, '']);
  t.equal((await res.read()).toString(), 'ok');
  res.close();
});

t.test('raw: malformed responses → HttpBrokenServerError with the parser code and offset', async (t) => {
  // [bytes, code, offset]: code null where the verdict is the parser's policy
  // (tested in the parser's own tests): then only "the same as the parser" is checked.
  const cases: [string, string | null, number | null][] = [
    ['garbage\r\n\r\n', 'STATUS_LINE_INVALID', 0],
    ['HTP/1.1 200 OK\r\n\r\n', 'VERSION_INVALID', 2],
    ['HTTP/1.1 2000 OK\r\n\r\n', 'STATUS_LINE_INVALID', 12],
    ['HTTP/1.1 20 OK\r\n\r\n', 'STATUS_LINE_INVALID', 11],
    ['HTTP/1.1 099 Low\r\n\r\n', 'STATUS_LINE_INVALID', 9],
    ['HTTP/2.0 200 OK\r\n\r\n', 'VERSION_NOT_SUPPORTED', 0],
    ['HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'BARE_LF', 15],
    ['HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n', 'HEADER_NAME_INVALID', 19],
    ['HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n', 'HEADER_VALUE_INVALID', 21],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', 'CONTENT_LENGTH_CONFLICT', 52],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'CONTENT_LENGTH_INVALID', 33],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 'TE_WITH_CONTENT_LENGTH', 61],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n folded\r\n\r\n', null, null],
    ['', 'UNEXPECTED_EOF', 0],
    ['HTTP/1.1 200 O', 'UNEXPECTED_EOF', 14],
    ['HTTP/1.1 100 Continue\r\n\r\n', 'UNEXPECTED_EOF', 25],
  ];
  for (const [bytes, code, offset] of cases) {
    const name = JSON.stringify(bytes);
    const verdict = parseMessages(Buffer.from(bytes, 'latin1'), { kind: 'response', eof: true });
    const raw = await rawServer(t, reply(bytes));
    const err = await rejection(open(`http://127.0.0.1:${raw.port}/`));
    t.type(err, HttpBrokenServerError, name);
    if (code !== null) {
      t.equal(err.code, code, name);
      t.equal(err.offset, offset, `${name} offset`);
    }
    if (verdict.error !== null) {
      t.equal(err.code, verdict.error.code, `${name}: the parser's code`);
      t.equal(err.offset, verdict.error.offset, `${name}: the parser's offset`);
      t.equal((err.cause as { code?: string }).code, err.code, 'cause is the parser error');
    }
    t.equal(err.url, `http://127.0.0.1:${raw.port}/`);
  }
});

t.test('raw: a final transfer coding other than chunked is read until the close (RFC 9112 §6.3 rule 4)', async (t) => {
  for (const te of ['gzip', 'chunked, gzip']) {
    const raw = await rawServer(t, reply(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\ncoded bytes`));
    const res = await within(open(`http://127.0.0.1:${raw.port}/`));
    t.equal(res.statuscode, 200, te);
    t.equal((await res.read()).toString(), 'coded bytes', `${te}: the content as sent, up to the close`);
  }
});

t.test('raw: malformed content is an error of read(), after the good bytes', async (t) => {
  const raw = await rawServer(t, reply('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n'));
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  const err = await rejection(res.read());
  t.type(err, HttpBrokenServerError);
  t.equal(err.code, 'CHUNK_SIZE_INVALID');
  const raw2 = await rawServer(t, reply('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  const res2 = await within(open(`http://127.0.0.1:${raw2.port}/`));
  t.equal((await res2.read(3)).toString(), 'abc');
  const eof = await rejection(res2.read());
  t.equal(eof.code, 'UNEXPECTED_EOF', 'closed before Content-Length bytes');
  t.equal(eof.offset, 42);
});

t.test('raw: 101 Switching Protocols that was not asked for', async (t) => {
  const raw = await rawServer(t, reply('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nzzz'));
  const err = await rejection(open(`http://127.0.0.1:${raw.port}/`));
  t.type(err, HttpBrokenServerError);
  t.equal(err.code, 'UNEXPECTED_UPGRADE');
});

t.test('raw: oversized heads', async (t) => {
  const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nok`;
  const raw = await rawServer(t, reply(big));
  const err = await rejection(open(`http://127.0.0.1:${raw.port}/`));
  t.type(err, HttpBrokenServerError);
  t.equal(err.code, 'HEADERS_TOO_LARGE');
  const ok = await within(getString(`http://127.0.0.1:${raw.port}/`, { maxHeaderSize: 32_768 }));
  t.equal(ok, 'ok', 'maxHeaderSize raises the limit');
  const many = `HTTP/1.1 200 OK\r\n${'X: 1\r\n'.repeat(101)}\r\n`;
  const raw2 = await rawServer(t, reply(many));
  t.equal((await rejection(open(`http://127.0.0.1:${raw2.port}/`))).code, 'TOO_MANY_HEADERS');
  const line = `HTTP/1.1 200 ${'r'.repeat(9000)}\r\n\r\n`;
  const raw3 = await rawServer(t, reply(line));
  t.type(await rejection(open(`http://127.0.0.1:${raw3.port}/`)), HttpBrokenServerError, 'a status line too long');
});

t.test('raw: content longer than Content-Length: the extra bytes are ignored', async (t) => {
  const raw = await rawServer(t, reply('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES HTTP/1.1 200 OK\r\n\r\n'));
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  t.equal((await res.read()).toString(), 'hello');
  t.equal((await res.read()).length, 0);
  res.close();
  // Also when the extra bytes come later, in their own packet.
  const raw2 = await rawServer(t, async (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    await sleep(30);
    socket.end('garbage');
  });
  t.equal(await within(getString(`http://127.0.0.1:${raw2.port}/`)), 'hello');
});

t.test('raw: a stall mid-body → the read rejects with ETIMEDOUT_IDLE', async (t) => {
  const raw = await rawServer(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  });
  const res = await within(open(`http://127.0.0.1:${raw.port}/`, { idleTimeout: 200 }));
  const start = Date.now();
  const err = await rejection(res.read());
  t.type(err, HttpTimeoutError);
  t.equal(err.code, 'ETIMEDOUT_IDLE');
  t.ok(Date.now() - start < 1500);
  const err2 = await rejection(res.read());
  t.equal(err2.code, 'ETIMEDOUT_IDLE', 'and later reads too');
  res.close();
});

t.test('raw: a server that trickles forever → ETIMEDOUT_TOTAL although bytes keep coming', async (t) => {
  let timer: NodeJS.Timeout | undefined;
  const raw = await rawServer(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
    timer = setInterval(() => socket.write('x'), 30);
    socket.on('close', () => clearInterval(timer));
  });
  t.teardown(() => clearInterval(timer));
  const start = Date.now();
  const res = await within(open(`http://127.0.0.1:${raw.port}/`, { idleTimeout: 200, totalTimeout: 500 }));
  const err = await rejection(res.read());
  t.type(err, HttpTimeoutError);
  t.equal(err.code, 'ETIMEDOUT_TOTAL');
  t.equal(err.timeout, 500);
  const took = Date.now() - start;
  t.ok(took >= 450 && took < 2000, `cut after ${took} ms`);
});

t.test('the total timeout also bounds the wait for the head', async (t) => {
  let timer: NodeJS.Timeout | undefined;
  const raw = await rawServer(t, (socket) => {
    timer = setInterval(() => socket.write('H'), 30); // a status line that never ends... until the line limit
    socket.on('close', () => clearInterval(timer));
  });
  t.teardown(() => clearInterval(timer));
  const err = await rejection(open(`http://127.0.0.1:${raw.port}/`, { totalTimeout: 300, idleTimeout: 10_000 }));
  t.type(err, HttpBrokenServerError, 'HH... is not a status line');
  const raw2 = await rawServer(t, () => {});
  const err2 = await rejection(open(`http://127.0.0.1:${raw2.port}/`, { totalTimeout: 300, idleTimeout: 10_000 }));
  t.equal(err2.code, 'ETIMEDOUT_TOTAL');
  t.equal(err2.requestSent, true, 'connected and sent, then no answer: it may have reached the server');
});

t.test('connect timeout: a name lookup that never answers', async (t) => {
  const err = await rejection(open('http://never.example/', { connectTimeout: 200, lookup: () => {} }));
  t.type(err, HttpTimeoutError);
  t.equal(err.code, 'ETIMEDOUT_CONNECT');
  t.equal(err.timeout, 200);
  t.equal(err.requestSent, false, 'never connected: nothing was sent');
  const viaTimeout = await rejection(open('http://never.example/', { timeout: 150, lookup: () => {} }));
  t.equal(viaTimeout.code, 'ETIMEDOUT_CONNECT', 'timeout sets connectTimeout');
});

t.test('connection failures → HttpConnectionError with the OS code and cause', async (t) => {
  const port = await closedPort();
  const refused = await rejection(open(`http://127.0.0.1:${port}/`));
  t.type(refused, HttpConnectionError);
  t.equal(refused.code, 'ECONNREFUSED');
  t.equal((refused.cause as { code?: string }).code, 'ECONNREFUSED');
  t.equal(refused.address, '127.0.0.1');
  t.equal(refused.port, port);
  t.match(refused.message, new RegExp(`^Could not connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): `), 'the message names the address, then the code');
  t.equal(refused.requestSent, false, 'refused: nothing was sent, a retry is safe');
  const dns = await rejection(open('http://no-such-host.invalid/', { connectTimeout: 4000 }));
  t.ok(dns instanceof HttpConnectionError || (dns instanceof HttpTimeoutError && dns.code === 'ETIMEDOUT_CONNECT'), `DNS failure: ${dns.message}`);
  if (dns instanceof HttpConnectionError) t.match(dns.code, /^(ENOTFOUND|EAI_AGAIN|EAI_FAIL|ESERVFAIL)$/);
  const failing = await rejection(open('http://x.example/', {
    lookup: (_h, _o, cb) => cb(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }), '', 4),
  }));
  t.equal(failing.code, 'ENOTFOUND', 'a lookup error');
  // A reset in the middle of the content.
  const raw = await rawServer(t, async (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
    await sleep(30);
    socket.resetAndDestroy();
  });
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  const reset = await rejection(res.read());
  t.type(reset, HttpConnectionError);
  t.equal(reset.code, 'ECONNRESET');
  t.match(reset.message, /^Connection to 127\.0\.0\.1:\d+ failed \(ECONNRESET\): /);
  t.equal(reset.requestSent, true, 'a reset after the request went out: it may have reached the server');
  // A reset of a close-delimited response is an error, not the end.
  const raw2 = await rawServer(t, async (socket) => {
    socket.write('HTTP/1.0 200 OK\r\n\r\npartial');
    await sleep(30);
    socket.resetAndDestroy();
  });
  const res2 = await within(open(`http://127.0.0.1:${raw2.port}/`));
  t.equal((await rejection(res2.read())).code, 'ECONNRESET');
});

t.test('maxResponseSize: by Content-Length at once, chunked or close-delimited while reading', async (t) => {
  const raw = await rawServer(t, reply(OK('x'.repeat(2000))));
  const err = await rejection(open(`http://127.0.0.1:${raw.port}/`, { maxResponseSize: 1000 }));
  t.type(err, HttpResponseTooLargeError);
  t.equal(err.code, 'ERR_RESPONSE_TOO_LARGE');
  t.equal(err.limit, 1000);
  t.equal((err.cause as { code?: string }).code, 'BODY_TOO_LARGE');
  const raw2 = await rawServer(t, reply(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'y'.repeat(1024)}\r\n0\r\n\r\n`));
  const res2 = await within(open(`http://127.0.0.1:${raw2.port}/`, { maxResponseSize: 1000 }));
  t.equal((await rejection(res2.read())).code, 'ERR_RESPONSE_TOO_LARGE');
  const raw3 = await rawServer(t, reply(`HTTP/1.0 200 OK\r\n\r\n${'z'.repeat(1500)}`));
  const res3 = await within(open(`http://127.0.0.1:${raw3.port}/`, { maxResponseSize: 1000 }));
  t.equal((await res3.read(1000)).length, 1000, 'every byte up to the limit');
  t.equal((await rejection(res3.read())).code, 'ERR_RESPONSE_TOO_LARGE');
  t.equal(await within(getString(`http://127.0.0.1:${raw3.port}/`, { maxResponseSize: 1500 })), 'z'.repeat(1500), 'exactly the limit is fine');
});

// ---------------------------------------------------------------------------
// Redirects.

t.test('redirects: relative Location, chain, final url', async (t) => {
  const port = await repyServer(t, (req) => {
    if (req.path === '/a') return { statuscode: 301, headers: { Location: 'b?x=1' } };
    if (req.path === '/b') return { statuscode: 302, headers: { Location: `//127.0.0.1:${boundPort}/c#frag` } };
    if (req.path === '/c') return { statuscode: 308, headers: { Location: '/d' } };
    return { statuscode: 200, message: `${req.verb} ${req.path} ${req.querystr}` };
  });
  const boundPort = port;
  const res = await within(open(`http://127.0.0.1:${port}/a`));
  t.equal(res.statuscode, 200);
  t.equal(res.url, `http://127.0.0.1:${port}/d`);
  t.equal(res.redirects, 3);
  t.equal((await res.read()).toString(), 'GET /d null');
  res.close();
});

t.test('redirects: method and content by status (303 → GET; 301/302 after POST → GET; 307/308 keep)', async (t) => {
  const seen: { verb: string; body: string; type: string | undefined }[] = [];
  const port = await repyServer(t, async (req) => {
    const body = (await req.datastream.read()).toString();
    if (req.path.startsWith('/r')) return { statuscode: Number(req.path.slice(2)), headers: { Location: '/final' } };
    seen.push({ verb: req.verb, body, type: req.headers['Content-Type'] });
    return { statuscode: 200, message: 'ok' };
  });
  const expect: [number, string, string, string | undefined][] = [
    [303, 'POST', 'GET', undefined], [301, 'POST', 'GET', undefined], [302, 'POST', 'GET', undefined],
    [307, 'POST', 'POST', 'data'], [308, 'POST', 'POST', 'data'], [301, 'PUT', 'PUT', 'data'], [303, 'PUT', 'GET', undefined],
  ];
  for (const [status, method, verb, body] of expect) {
    await within(getString(`http://127.0.0.1:${port}/r${status}`, { postdata: 'data', method, httpheaders: { 'Content-Type': 'text/x' } }));
    const s = seen.at(-1)!;
    t.equal(s.verb, verb, `${method} + ${status} → ${verb}`);
    t.equal(s.body, body ?? '', `${method} + ${status}: content`);
    t.equal(s.type, body === undefined ? undefined : 'text/x', `${method} + ${status}: Content-Type`);
  }
  const head = await within(open(`http://127.0.0.1:${port}/r303`, { method: 'HEAD' }));
  t.equal(seen.at(-1)!.verb, 'HEAD', 'HEAD stays HEAD after 303');
  head.close();
});

t.test('redirects: without Location, or not followed, the 3xx is the response', async (t) => {
  const port = await repyServer(t, (req) => (req.path === '/none'
    ? { statuscode: 302, message: 'no location' }
    : { statuscode: 301, headers: { Location: '/none' }, message: 'moved' }));
  const res = await within(open(`http://127.0.0.1:${port}/none`));
  t.equal(res.statuscode, 302);
  t.equal((await res.read()).toString(), 'no location', 'its content is readable (the original returned a closed socket)');
  res.close();
  const manual = await within(open(`http://127.0.0.1:${port}/x`, { followRedirects: false }));
  t.equal(manual.statuscode, 301);
  t.equal(manual.headers['Location'], '/none');
  t.equal((await manual.read()).toString(), 'moved');
  manual.close();
});

t.test('raw: a redirect loop → HttpRedirectError ERR_TOO_MANY_REDIRECTS', async (t) => {
  const raw = await rawServer(t, reply('HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n'));
  const err = await rejection(open(`http://127.0.0.1:${raw.port}/loop`));
  t.type(err, HttpRedirectError);
  t.equal(err.code, 'ERR_TOO_MANY_REDIRECTS');
  t.equal(err.redirects, 5);
  t.equal(err.status, 302);
  t.equal(err.location, '/loop');
  t.equal(raw.requests.length, 6, 'the first request and five redirects');
  const none = await rejection(open(`http://127.0.0.1:${raw.port}/loop`, { maxRedirects: 0 }));
  t.equal(none.code, 'ERR_TOO_MANY_REDIRECTS');
  t.equal(raw.requests.length, 7);
  const two = await rejection(open(`http://127.0.0.1:${raw.port}/loop`, { maxRedirects: 2 }));
  t.equal(two.redirects, 2);
});

t.test('raw: redirects that cannot be followed', async (t) => {
  for (const [location, code] of [
    ['ftp://127.0.0.1/', 'ERR_REDIRECT_SCHEME'],
    ['http://[zz/', 'ERR_REDIRECT_LOCATION'],
    ['http://exa mple/', 'ERR_REDIRECT_LOCATION'],
    ['http://a{b/', 'ERR_REDIRECT_LOCATION'],
  ] as const) {
    const raw = await rawServer(t, reply(`HTTP/1.1 301 Moved\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`));
    const err = await rejection(open(`http://127.0.0.1:${raw.port}/`));
    t.type(err, HttpRedirectError, location);
    t.equal(err.code, code, location);
    t.equal(err.location, location);
  }
});

t.test('raw: a redirect to another host does not carry Authorization or Cookie', async (t) => {
  const target = await rawServer(t, reply(OK('target')));
  const origin = await rawServer(t, (socket, req) => {
    const to = req.line.includes('/same') ? `/landed` : `http://localhost:${target.port}/landed`;
    if (req.line.includes('/landed')) socket.end(OK('same host'));
    else socket.end(`HTTP/1.1 307 Temporary Redirect\r\nLocation: ${to}\r\nContent-Length: 0\r\n\r\n`);
  });
  const httpheaders = { Authorization: 'Bearer secret', Cookie: 'sid=1', 'Proxy-Authorization': 'Basic x', 'X-Keep': 'yes' };
  const other = await within(getString(`http://127.0.0.1:${origin.port}/`, { httpheaders, postdata: 'p', lookup: pinLookup }));
  t.equal(other, 'target');
  const landed = target.requests[0]!;
  t.equal(landed.line, 'POST /landed HTTP/1.1', '307 keeps the method');
  t.equal(landed.body.toString(), 'p', 'and the content');
  const names = landed.fields.map(([n]) => n.toLowerCase());
  t.notOk(names.includes('authorization'), 'no Authorization');
  t.notOk(names.includes('cookie'), 'no Cookie');
  t.notOk(names.includes('proxy-authorization'), 'no Proxy-Authorization');
  t.ok(names.includes('x-keep'), 'other fields are kept');
  t.ok(landed.fields.some(([n, v]) => n === 'Host' && v === `localhost:${target.port}`));
  // The same host and port: kept.
  await within(getString(`http://127.0.0.1:${origin.port}/same`, { httpheaders }));
  const same = origin.requests.at(-1)!;
  t.equal(same.line, 'GET /landed HTTP/1.1');
  t.ok(same.fields.some(([n, v]) => n === 'Authorization' && v === 'Bearer secret'), 'Authorization kept on the same origin');
  // Another port of the same host: dropped.
  await within(getString(`http://127.0.0.1:${origin.port}/`, { httpheaders, lookup: pinLookup }));
  t.notOk(target.requests[1]!.fields.some(([n]) => n === 'Authorization'));
});

t.test('allow: the first URL and every redirect must pass', async (t) => {
  const target = await rawServer(t, reply(OK('target')));
  const origin = await rawServer(t, reply(`HTTP/1.1 302 Found\r\nLocation: http://localhost:${target.port}/x\r\nContent-Length: 0\r\n\r\n`));
  const first = await rejection(open(`http://127.0.0.1:${origin.port}/`, { allow: [['example.com', 80]] }));
  t.type(first, HttpForbiddenError);
  t.equal(first.code, 'ERR_HOST_NOT_ALLOWED');
  t.equal(first.redirect, false);
  t.equal(first.hostname, '127.0.0.1');
  t.equal(origin.connections, 0, 'nothing sent to a refused host');
  t.equal(first.requestSent, false);
  const wrongPort = await rejection(open(`http://127.0.0.1:${origin.port}/`, { allow: [['127.0.0.1', 1]] }));
  t.equal(wrongPort.code, 'ERR_HOST_NOT_ALLOWED');
  const redirect = await rejection(open(`http://127.0.0.1:${origin.port}/`, { allow: [['127.0.0.1', origin.port]] }));
  t.type(redirect, HttpForbiddenError);
  t.equal(redirect.redirect, true);
  t.equal(redirect.hostname, 'localhost');
  t.equal(redirect.port, target.port);
  t.equal(target.connections, 0, 'the disallowed redirect was not followed');
  const ok = await within(getString(`http://127.0.0.1:${origin.port}/`, { allow: [['127.0.0.1', '*'], ['LOCALHOST', target.port]], lookup: pinLookup }));
  t.equal(ok, 'target', 'both allowed (host names compare case-insensitively)');
  const asked: unknown[] = [];
  const pred = await rejection(open(`http://127.0.0.1:${origin.port}/`, {
    allow: (x) => {
      asked.push(x);
      return !x.redirect;
    },
  }));
  t.equal(pred.code, 'ERR_HOST_NOT_ALLOWED');
  t.same(asked, [
    { url: `http://127.0.0.1:${origin.port}/`, hostname: '127.0.0.1', port: origin.port, redirect: false, secure: false },
    { url: `http://localhost:${target.port}/x`, hostname: 'localhost', port: target.port, redirect: true, secure: false },
  ]);
  t.equal(await within(getString(`http://127.0.0.1:${target.port}/`, { allow: [['*', '*']] })), 'target');
  t.equal(await within(getString(`http://[::1]:${target.port}/`, { allow: [['[::1]', target.port]], lookup: pinLookup }).catch((e: Error) => e.constructor.name)), 'HttpConnectionError', 'an IPv6 rule in brackets matches (the connection itself may fail)');
});

// ---------------------------------------------------------------------------
// Reading: backpressure, iteration, concurrency.

t.test('a large body through backpressure, read slowly', async (t) => {
  const size = 5 * 1024 * 1024;
  const port = await repyServer(t, () => ({
    statuscode: 200,
    message: (async function* () {
      for (let i = 0; i < size / 65536; i++) yield Buffer.alloc(65536, i & 255);
    })(),
  }));
  const res = await within(open(`http://127.0.0.1:${port}/`));
  t.equal(res.headers['Transfer-Encoding'], 'chunked');
  const h = createHash('sha256');
  let n = 0;
  await sleep(100); // the socket is paused meanwhile
  for (;;) {
    const c = await within(res.read(100_000));
    if (c.length === 0) break;
    n += c.length;
    h.update(c);
  }
  const expected = createHash('sha256');
  for (let i = 0; i < size / 65536; i++) expected.update(Buffer.alloc(65536, i & 255));
  t.equal(n, size);
  t.equal(h.digest('hex'), expected.digest('hex'));
  res.close();
});

t.test('an idle timeout does not fire while the reader, not the network, is slow', async (t) => {
  const raw = await rawServer(t, reply(`HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n${'q'.repeat(300_000)}`));
  const res = await within(open(`http://127.0.0.1:${raw.port}/`, { idleTimeout: 150 }));
  await sleep(400);
  t.equal((await within(res.read())).length, 300_000);
  res.close();
});

t.test('reads are served in call order; leaving a loop early closes the response', async (t) => {
  const raw = await rawServer(t, reply(OK('abcdefghij')));
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  const [a, b, c] = await within(Promise.all([res.read(3), res.read(3), res.read()]));
  t.same([a.toString(), b.toString(), c.toString()], ['abc', 'def', 'ghij']);
  res.close();
  const res2 = await within(open(`http://127.0.0.1:${raw.port}/`));
  for await (const chunk of res2) {
    t.ok(chunk.length > 0);
    break;
  }
  t.ok(res2.closed);
  await t.rejects(res2.read(), ValueError);
});

t.test('close() while a read waits rejects it', async (t) => {
  const raw = await rawServer(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab');
  });
  const res = await within(open(`http://127.0.0.1:${raw.port}/`));
  const pending = res.read(10);
  await sleep(30);
  res.close();
  const err = await rejection(pending);
  t.type(err, ValueError);
  t.equal(err.message, 'I/O operation on closed file');
});

// ---------------------------------------------------------------------------
// saveFile.

t.test('saveFile: writes through a temporary file, never truncates on failure', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'repy-client-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'out.bin');
  const payload = Buffer.alloc(200_000, 9);
  const good = await rawServer(t, reply(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`), payload])));
  t.equal(await within(saveFile(`http://127.0.0.1:${good.port}/`, file)), payload.length);
  t.same(await readFile(file), payload);

  await writeFile(file, 'precious');
  const stall = await rawServer(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
  });
  const err = await rejection(saveFile(`http://127.0.0.1:${stall.port}/`, file, { idleTimeout: 150 }));
  t.equal(err.code, 'ETIMEDOUT_IDLE');
  t.equal(await readFile(file, 'utf8'), 'precious', 'the existing file is untouched');
  const refused = await rejection(saveFile(`http://127.0.0.1:${await closedPort()}/`, file));
  t.equal(refused.code, 'ECONNREFUSED');
  const broken = await rawServer(t, reply('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nXX\r\n'));
  t.type(await rejection(saveFile(`http://127.0.0.1:${broken.port}/`, file)), HttpBrokenServerError);
  t.equal(await readFile(file, 'utf8'), 'precious');
  t.same(await readdir(dir), ['out.bin'], 'no temporary file left behind');
  const missing = await rejection(saveFile(`http://127.0.0.1:${good.port}/`, join(dir, 'no', 'such', 'dir.bin')));
  t.equal(missing.code, 'ENOENT', 'the file system error');
});

// ---------------------------------------------------------------------------
// The CLI shows a response the way the client reads it.

t.test('repy-http parse --response: chunked with extensions and trailers', async (t) => {
  const lines: string[] = [];
  const status = cli(['parse', '--response', '-e', 'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5;ext=1\\r\\nhello\\r\\n0\\r\\nX-Sum: 5\\r\\n\\r\\n'], (l) => lines.push(l));
  t.equal(status, 0);
  const out = JSON.parse(lines.join('\n')) as { messages: { statuscode: number; body: string; trailers: [string, string][] }[]; error: null };
  t.equal(out.messages[0]!.statuscode, 200);
  t.equal(out.messages[0]!.body, 'hello');
  t.same(out.messages[0]!.trailers, [['X-Sum', '5']]);
  t.equal(out.error, null);
});
