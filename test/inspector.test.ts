// The inspector's server side, over real sockets: the onRaw tap (what it
// sees, in which order, that a failing tap does not hurt the server), the
// recorder (valid, keep-alive, chunked, pipelined, rejected, truncated,
// bounded history, its own requests hidden), and the page's files and
// feed (CSP on every response). The page itself runs in Chromium in
// test/inspector-chromium.test.ts.
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect, main } from '../src/cli.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { registerCallback, stopCallback, boundAddress, type ServerOptions } from '../src/index.js';
import { withInspector, INSPECTOR_CSP, type ExchangeRecord } from '../src/inspector/index.js';
import type { RawTraffic } from '../src/server/tap.js';
import { messageRanges } from '../src/parser/ranges.js';
import { rawExchange, responsesComplete } from './helpers/raw.js';
import { resolveOptions } from '../src/server/options.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await sleep(5);
  }
}

const app = async (req: { path: string; verb: string; datastream: { read(): Promise<Buffer> } }) => {
  const body = await req.datastream.read();
  return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: `${req.verb} ${req.path} ${body.length}\n` };
};

async function inspected(t: Test, options: Parameters<typeof withInspector>[1] = {}, server: ServerOptions = {}) {
  const insp = withInspector(app as never, options);
  const id = await registerCallback(['127.0.0.1', 0], insp.callback, { onRaw: insp.onRaw, onError: null, ...server });
  t.teardown(async () => {
    insp.close();
    await stopCallback(id);
  });
  return { insp, port: boundAddress(id)[1] };
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

t.test('onRaw: validated, and off by default', async (t) => {
  t.equal(resolveOptions({}).onRaw, null);
  t.throws(() => resolveOptions({ onRaw: 'yes' }), { name: 'TypeError', message: /onRaw must be a function or null/ });
});

t.test('onRaw sees open, each read before the answers it causes, each write, the end of input, and close', async (t) => {
  const seen: Array<{ connection: number; kind: RawTraffic['kind']; text: string; port: number }> = [];
  const id = await registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200, headers: {}, message: 'ok' }), {
    onRaw: (x) => seen.push({ connection: x.connection, kind: x.kind, text: text(x.bytes), port: x.remotePort }),
  });
  t.teardown(() => stopCallback(id));
  const port = boundAddress(id)[1];
  const req = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const reply = await rawExchange(port, req, { timeoutMs: 3000 });
  await waitUntil(() => seen.some((s) => s.kind === 'close'));
  t.same(seen.map((s) => s.kind).filter((k, i, a) => k !== a[i - 1]), ['open', 'in', 'out', 'end', 'close'], 'open, the read, the writes, the peer\'s FIN, close');
  t.equal(seen.filter((s) => s.kind === 'in').map((s) => s.text).join(''), req, 'the read bytes are the request bytes');
  t.equal(seen.filter((s) => s.kind === 'out').map((s) => s.text).join(''), reply.toString('latin1'), 'the written bytes are what the client received');
  t.equal(new Set(seen.map((s) => s.connection)).size, 1, 'one connection number');
  t.ok(seen[0]!.port > 0, 'the peer port is given');
});

t.test('a tap that throws is reported and the server keeps serving', async (t) => {
  const reported: unknown[] = [];
  const id = await registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200, headers: {}, message: 'ok' }), {
    onRaw: () => {
      throw new Error('tap broke');
    },
    onError: (e) => reported.push(e),
  });
  t.teardown(() => stopCallback(id));
  const reply = await rawExchange(boundAddress(id)[1], 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
  t.match(reply.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
  t.ok(reported.some((e) => (e as Error).message === 'tap broke'), 'reported through onError');
});

t.test('the recorder: keep-alive, chunked, pipelined and a refused smuggling attempt', async (t) => {
  const { insp, port } = await inspected(t);
  const records = (): ExchangeRecord[] => insp.recorder.history;
  const first = 'GET /first?x=1 HTTP/1.1\r\nHost: a\r\n\r\n';
  const second = 'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;n=v\r\nhello\r\n0\r\nT: 1\r\n\r\n';
  const third = 'GET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
  // Keep-alive with pipelining: three requests over one connection, the last two in one write.
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(first);
      setTimeout(() => s.write(second + third), 50);
    });
    s.on('error', reject);
    s.resume();
    s.on('close', () => resolve());
  });
  await waitUntil(() => records().length === 3 && records().every((r) => r.state === 'answered'));
  const [a, b, c] = records();
  t.same([a!.sequence, b!.sequence, c!.sequence], [1, 2, 3], 'in order on their connection');
  t.equal(new Set(records().map((r) => r.connection)).size, 1, 'one connection');
  t.equal(text(a!.request.bytes), first);
  t.equal(text(b!.request.bytes), second, 'the pipelined requests are split where they end');
  t.equal(text(c!.request.bytes), third);
  t.same(b!.request.outcome, messageRanges(Buffer.from(second, 'latin1')), 'the ranges are messageRanges of the request bytes');
  t.match(a!.dict, { verb: 'GET', path: '/first', querystr: 'x=1', headers: { Host: 'a' } }, 'the request dictionary');
  t.match(b!.dict, { verb: 'POST', path: '/up' });
  t.match(text(b!.response!.bytes), /^HTTP\/1\.1 200 OK\r\n[\s\S]*POST \/up 5\n$/, 'the response bytes');
  t.match(text(c!.response!.bytes), /GET \/third 0\n$/);
  t.equal(b!.response!.outcome!.ranges.find((r) => r.kind === 'status') !== undefined, true, 'the response has ranges too');

  const smuggle = 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n';
  const reply = await rawExchange(port, smuggle, { timeoutMs: 3000 });
  t.match(reply.toString('latin1'), /^HTTP\/1\.1 400 /, 'the server refuses it');
  await waitUntil(() => records().length === 4 && records()[3]!.response !== null);
  const r = records()[3]!;
  t.equal(r.state, 'rejected');
  t.equal(r.dict, null, 'the callback never saw it');
  t.equal(r.request.outcome!.error!.code, 'TE_WITH_CONTENT_LENGTH');
  t.equal(text(r.request.bytes), smuggle, 'all the bytes that came, the unparsed rest included');
  t.equal(text(r.response!.bytes), reply.toString('latin1'), 'the 400 that went back');
  t.notOk(records().some((x) => x.dict !== null && (x.dict as { path: string }).path === '/admin'), 'the smuggled request never became a request');
});

t.test('a HEAD response, a 0.9 request and a connection cut mid-request', async (t) => {
  const { insp, port } = await inspected(t);
  await rawExchange(port, 'HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 3000, until: responsesComplete(2, (i) => i === 0) });
  await waitUntil(() => insp.recorder.history.filter((r) => r.state === 'answered').length === 2);
  const [h, g] = insp.recorder.history;
  t.match(text(h!.response!.bytes), /^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Length: 10\r\n\r\n$/, 'no content after a HEAD response head');
  t.match(text(g!.response!.bytes), /^HTTP\/1\.1 200 OK[\s\S]*GET \/after 0\n$/);
  await rawExchange(port, 'GET /old\r\n', { timeoutMs: 3000 });
  await waitUntil(() => insp.recorder.history.length === 3 && insp.recorder.history[2]!.state !== 'receiving' && insp.recorder.history[2]!.state !== 'received');
  t.equal(text(insp.recorder.history[2]!.response!.bytes), 'GET /old 0\n', 'an HTTP/0.9 answer is the content alone');
  // Cut short by the client's FIN: what the server answers 400 UNEXPECTED_EOF.
  const cut = await rawExchange(port, 'POST /cut HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', { timeoutMs: 3000, end: true });
  await waitUntil(() => insp.recorder.history.length === 4 && insp.recorder.history[3]!.response !== null);
  const c = insp.recorder.history[3]!;
  t.equal(c.state, 'rejected');
  t.equal(c.request.outcome!.error?.code, 'UNEXPECTED_EOF', 'cut short: the error the server saw at EOF');
  t.equal(text(c.response!.bytes), cut.toString('latin1'), 'and its answer');
  // Cut without a FIN being seen before the close: the record says so.
  await rawExchange(port, 'POST /gone HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab', { timeoutMs: 100 });
  await waitUntil(() => insp.recorder.history.length === 5 && insp.recorder.history[4]!.state !== 'receiving');
  t.ok(['cut', 'rejected'].includes(insp.recorder.history[4]!.state), insp.recorder.history[4]!.state);
});

t.test('bounded: history and bytes per request; its own requests are not recorded', async (t) => {
  const { insp, port } = await inspected(t, { history: 3, maxBytes: 100 });
  for (let i = 0; i < 5; i++) await rawExchange(port, `GET /n${i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, { timeoutMs: 3000 });
  await rawExchange(port, 'GET /_inspect/app.js HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
  await rawExchange(port, 'GET /_inspectors HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
  const big = `POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n${'x'.repeat(5000)}`;
  await rawExchange(port, big, { timeoutMs: 3000 });
  await waitUntil(() => insp.recorder.history.some((r) => (r.dict as { path?: string } | null)?.path === '/big' && r.state === 'answered'));
  t.same(insp.recorder.history.map((r) => (r.dict as { path: string }).path), ['/n4', '/_inspectors', '/big'], 'the last 3, not the inspector\'s own (a path that only starts like it is the application\'s)');
  const r = insp.recorder.history[2]!;
  t.equal(r.request.bytes.length, 100, 'the first maxBytes bytes are kept');
  t.equal(r.request.total, big.length, 'all of them counted');
  t.equal(r.request.truncated, true);
  t.throws(() => withInspector(app as never, { history: 0 }), TypeError);
  t.throws(() => withInspector(app as never, { path: 'x/' }), TypeError);
  t.throws(() => withInspector(null as never), TypeError);
});

t.test('the page, its files and its feed: strict CSP on every response', async (t) => {
  const { port } = await inspected(t);
  const get = async (path: string): Promise<string> => (await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, { timeoutMs: 3000 })).toString('latin1');
  for (const path of ['/_inspect/', '/_inspect/app.js', '/_inspect/inspector.css', '/_inspect/nothing', '/_inspect']) {
    const res = await get(path);
    t.match(res, `Content-Security-Policy: ${INSPECTOR_CSP}\r\n`, `${path}: CSP`);
    t.match(res, 'X-Content-Type-Options: nosniff\r\n');
  }
  t.match(await get('/_inspect'), /^HTTP\/1\.1 308 [\s\S]*Location: \/_inspect\/\r\n/);
  t.match(await get('/_inspect/nothing'), /^HTTP\/1\.1 404 /);
  t.match(await get('/_inspect/'), /Content-Type: text\/html; charset=utf-8[\s\S]*<script type="module" src=".\/app.js"><\/script>/);
  t.notMatch(await get('/_inspect/'), /<script>|<style>| style=| on[a-z]+=/, 'no inline script, style or handler');
  const parser = await get('/_inspect/parser/ranges.js');
  const errors = await get('/_inspect/errors.js');
  if (parser.startsWith('HTTP/1.1 200')) {
    t.match(parser, /Content-Type: text\/javascript[\s\S]*export function messageRanges/, 'the compiled parser is served as an ES module');
    t.match(errors, /^HTTP\/1\.1 200 /);
  } else t.comment('dist/ has not been built: the parser modules are not served (run npm run build)');
  await rawExchange(port, 'GET /seen HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
  const feed = (await rawExchange(port, 'GET /_inspect/events HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 3000, until: (d) => d.includes('event: exchange') })).toString('latin1');
  t.match(feed, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Type: text\/event-stream/);
  t.match(feed, /event: hello\ndata: \{"parserFound":(true|false),"history":1,"rules":\{/);
  t.match(feed, /event: exchange\ndata: \{"id":1,[^\n]*"base64":"R0VUIC9zZWVu/, 'the history is sent, bytes in base64');
});

t.test('repy-http inspect: the echo callback and the page, until SIGTERM', async (t) => {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
  const child = spawn('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--import', '@tapjs/typescript/import',
    join(repo, 'src', 'cli.ts'), 'inspect', '--port', '0', '--no-log'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  const port = await new Promise<number>((done, fail) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /inspecting the echo callback on http:\/\/127\.0\.0\.1:(\d+)\/ \(page: http:\/\/127\.0\.0\.1:\d+\/_inspect\/\)/.exec(out);
      if (m) done(Number(m[1]));
    });
    child.on('exit', () => fail(new Error(`exited early: ${out} ${err}`)));
  });
  const reply = (await rawExchange(port, 'POST /form?a=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello', { timeoutMs: 3000 })).toString('latin1');
  t.match(reply, /\r\n\r\nPOST \/form\?a=1 HTTP\/1\.1: 5 bytes of content\n  Host: a\n  Content-Length: 5\n/, 'the echo');
  const feed = (await rawExchange(port, 'GET /_inspect/events HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 3000, until: (d) => d.includes('event: exchange') })).toString('latin1');
  t.match(feed, /"parserFound":true/, 'the page finds the compiled parser');
  t.match(feed, /event: exchange\ndata: \{"id":1,[^\n]*"verb":"POST"/, 'the request is on the feed');
  t.match((await rawExchange(port, 'GET /_inspect/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 })).toString('latin1'), /<title>repy-http inspector<\/title>/);
  child.kill('SIGTERM');
  t.equal(await exited, 0, err);
});

t.test('inspect(args): usage errors exit 2; the parse command points at it', async (t) => {
  const lines: string[] = [];
  const out = (l: string): void => void lines.push(l);
  t.equal(await inspect(['--port', 'x'], out), 2);
  t.equal(await inspect(['--bogus'], out), 2);
  t.equal(await inspect(['/nonexistent/dir'], out), 2);
  t.equal(await inspect(['-h'], out), 0);
  t.match(lines.join('\n'), /repy-http inspect \[DIR \| MODULE\.mjs\]/);
  t.equal(main(['inspect'], out), 2);
  t.match(lines.at(-1), /inspect runs only as the repy-http command/);
});

t.test('memory: the recorder keeps at most history × maxBytes, whatever was sent (heap and array buffers after gc)', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { insp, port } = await inspected(t, { history: 20 });
  const body = 'x'.repeat(128 * 1024);
  const send = (i: number): Promise<Buffer> =>
    rawExchange(port, `POST /m${i} HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, { timeoutMs: 5000 });
  // After gc() the freed array buffers' memory is released a little later: collect until it settles.
  const settle = async (): Promise<NodeJS.MemoryUsage> => {
    await waitUntil(() => insp.recorder.openConnections === 0, 5000);
    for (let k = 0; k < 4; k++) {
      gc();
      await sleep(20);
    }
    return process.memoryUsage();
  };
  for (let i = 0; i < 30; i++) await send(i); // warm-up: the history is full
  const before = await settle();
  const N = 200;
  for (let i = 30; i < 30 + N; i++) await send(i);
  await waitUntil(() => insp.recorder.history.at(-1)?.state === 'answered');
  const after = await settle();
  const grown = (after.heapUsed - before.heapUsed) + (after.arrayBuffers - before.arrayBuffers);
  const sent = N * body.length;
  t.equal(insp.recorder.history.length, 20);
  t.ok(insp.recorder.history.every((r) => r.request.truncated && r.request.bytes.length === 64 * 1024), 'each request kept to maxBytes');
  // Unbounded, the history alone would hold N × 64 KiB = 12.5 MiB more.
  t.ok(grown < 4 * 1024 * 1024, `heap + arrayBuffers grew ${(grown / 1048576).toFixed(2)} MiB after ${(sent / 1048576).toFixed(0)} MiB sent (< 4 MiB)`);
});

t.test('Expect: 100-continue: the interim 100 and the final response are one exchange\'s response', async (t) => {
  const { insp, port } = await inspected(t);
  const head = 'POST /ask HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n';
  const got = await new Promise<string>((resolve, reject) => {
    let data = '';
    const s = connect(port, '127.0.0.1', () => s.write(head));
    s.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (data === 'HTTP/1.1 100 Continue\r\n\r\n') s.write('hello');
    });
    s.on('error', reject);
    s.on('close', () => resolve(data));
  });
  t.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  await waitUntil(() => insp.recorder.history.length === 1 && insp.recorder.history[0]!.state === 'answered');
  const r = insp.recorder.history[0]!;
  t.equal(text(r.request.bytes), `${head}hello`, 'the head and the content that followed the 100');
  t.equal(text(r.response!.bytes), got, 'the 100 and the 200, in order');
  t.same(r.response!.outcome!.ranges.filter((x) => x.kind === 'status').map((x) => text(r.response!.bytes.subarray(x.start, x.end))), ['100', '200']);
});

t.test('after a protocol switch (CONNECT) the tunnel bytes are no requests', async (t) => {
  const { insp, port } = await inspected(t);
  const head = 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n';
  const reply = await rawExchange(port, `${head}\x16\x03\x01 tunnel bytes\r\n\r\n`, { timeoutMs: 500 });
  await sleep(100);
  const h = insp.recorder.history;
  t.equal(h.length, 1, 'one exchange');
  t.equal(text(h[0]!.request.bytes), head, 'the CONNECT request alone');
  t.equal(h[0]!.request.outcome!.error, null);
  t.equal(h[0]!.state, 'answered');
  t.equal(text(h[0]!.response!.bytes), reply.toString('latin1'), 'the answer to the CONNECT');
});

t.test('a head that never ends gets its 408 recorded; a failing listener does not stop the recording', async (t) => {
  const { insp, port } = await inspected(t, {}, { headersTimeout: 100 });
  let calls = 0;
  insp.recorder.onRecord = () => {
    calls++;
    throw new Error('listener broke');
  };
  const reply = await rawExchange(port, 'GET /slow HTTP/1.1\r\nHost: a\r\nX-Part', { timeoutMs: 3000 });
  t.match(reply.toString('latin1'), /^HTTP\/1\.1 408 /);
  await waitUntil(() => insp.recorder.history.length === 1 && insp.recorder.history[0]!.response !== null);
  const r = insp.recorder.history[0]!;
  t.equal(text(r.request.bytes), 'GET /slow HTTP/1.1\r\nHost: a\r\nX-Part');
  t.equal(r.request.outcome!.ranges.at(-1)!.kind, 'incomplete', 'the head as far as it came');
  t.equal(text(r.response!.bytes), reply.toString('latin1'), 'the 408');
  t.ok(calls >= 1, 'the listener was called (and its throw swallowed)');
});
