// repy-http/sse, the server side (issue #11): the framing table read back by
// the client's parser at every split point and over real sockets;
// heartbeats seen by a raw client; `closed` and no leak when the client
// goes or the server stops; HEAD; HTTP/1.0; resume from every id; fast
// producers coalesced into few writes; the header fields and option checks.
import t, { type Test } from 'tap';
import { getEventListeners } from 'node:events';
import { connect, type Socket } from 'node:net';
import { registerCallback, stopCallback, boundAddress } from '../src/index.js';
import type { RequestDict } from '../src/server/request.js';
import { eventStream, events, EventStreamParser, formatComment, formatEvent, lastEventId, prepareEvent, type EventStream, type SseEvent, type SseMessage } from '../src/sse/index.js';
import { sleep, within } from './helpers/client-servers.js';

/** Parses `bytes` in two pieces cut at `at` (or whole). */
function parseAt(bytes: Buffer, at: number | null): SseMessage[] {
  const p = new EventStreamParser({ maxEventSize: 4 * 1024 * 1024, maxLineLength: 4 * 1024 * 1024 });
  if (at === null) return p.push(bytes);
  return [...p.push(bytes.subarray(0, at)), ...p.push(bytes.subarray(at))];
}

const MiB = 'x'.repeat(1024 * 1024 - 3) + '😀\n'; // 1 MiB of data in UTF-16 units, with a line break and an astral char at the end

/** [name, event, what the receiver must see (data)] */
export const TABLE: [string, SseEvent, string][] = [
  ['plain', { data: 'hello' }, 'hello'],
  ['LF splits', { data: 'a\nb' }, 'a\nb'],
  ['CR splits', { data: 'a\rb' }, 'a\nb'],
  ['CRLF splits once', { data: 'a\r\nb' }, 'a\nb'],
  ['LF CR is two breaks', { data: 'a\n\rb' }, 'a\n\nb'],
  ['leading and trailing breaks', { data: '\na\n' }, '\na\n'],
  ['only breaks', { data: '\r\n\r\n' }, '\n\n'],
  ['empty data', { data: '' }, ''],
  ['leading spaces kept', { data: '  two spaces' }, '  two spaces'],
  ['colons in data', { data: 'a: b:c' }, 'a: b:c'],
  ['looks like fields', { data: 'id: 9\n\nevent: x' }, 'id: 9\n\nevent: x'],
  ['unicode BMP', { data: 'é中ß€' }, 'é中ß€'],
  ['unicode astral', { data: '😀𝄞🏳️‍🌈' }, '😀𝄞🏳️‍🌈'],
  ['lone high surrogate → U+FFFD', { data: 'a\ud83db' }, 'a\ufffdb'],
  ['lone low surrogate → U+FFFD', { data: '\ude00z' }, '\ufffdz'],
  ['NUL in data', { data: 'a\0b' }, 'a\0b'],
  ['BOM inside data', { data: '\ufeffx' }, '\ufeffx'],
  ['with id and type', { id: 42, event: 'tick', data: 'x' }, 'x'],
  ['unicode id and type', { id: 'é-😀', event: 'ünï', data: 'x' }, 'x'],
  ['big data 1 MiB', { id: 'big', data: MiB }, MiB],
];

t.test('framing table: formatEvent read back by the parser at every split point', async (t) => {
  for (const [name, e, data] of TABLE) {
    const bytes = Buffer.from(formatEvent(e), 'utf8');
    const want: SseMessage[] = [{ id: e.id === undefined ? '' : String(e.id), event: e.event ?? 'message', data }];
    t.same(parseAt(bytes, null), want, `${name}: whole`);
    // Every split point; for the big row every point near the ends and a stride in between.
    const points: number[] = [];
    if (bytes.length < 4096) for (let i = 1; i < bytes.length; i++) points.push(i);
    else {
      for (let i = 1; i < 40; i++) points.push(i, bytes.length - i);
      for (let i = 40; i < bytes.length - 40; i += 65537) points.push(i);
    }
    let bad = 0;
    for (const at of points) if (JSON.stringify(parseAt(bytes, at)) !== JSON.stringify(want)) bad++;
    t.equal(bad, 0, `${name}: ${points.length} split points agree`);
  }
  // Several events back to back, and comments between them.
  const all = TABLE.slice(0, -1).map(([, e]) => formatEvent(e) + formatComment('c\nd')).join('');
  const bytes = Buffer.from(all, 'utf8');
  const want = TABLE.slice(0, -1).map(([, , data]) => data);
  let bad = 0;
  for (let i = 1; i < bytes.length; i++) {
    const got = parseAt(bytes, i).map((m) => m.data);
    if (JSON.stringify(got) !== JSON.stringify(want)) bad++;
  }
  t.equal(bad, 0, 'the whole table in one stream, split anywhere');
  const p = new EventStreamParser();
  t.same(p.push(Buffer.from(formatEvent({ retry: 1234 }) + formatEvent({ id: 7 }) + formatEvent({ data: 'x' }))), [{ id: '7', event: 'message', data: 'x' }]);
  t.equal(p.retry, 1234);
});

t.test('framing: what cannot be written is a TypeError', async (t) => {
  for (const id of ['a\nb', 'a\rb', 'a\0b']) t.throws(() => formatEvent({ id, data: 'x' }), TypeError, JSON.stringify(id));
  for (const event of ['a\nb', 'a\rb']) t.throws(() => formatEvent({ event, data: 'x' }), TypeError, JSON.stringify(event));
  t.throws(() => formatEvent({ id: {} as never }), TypeError);
  t.throws(() => formatEvent({ event: 5 as never }), TypeError);
  t.throws(() => formatEvent({ data: 5 as never }), TypeError);
  for (const retry of [-1, 1.5, NaN, Infinity, '5' as never]) t.throws(() => formatEvent({ retry }), TypeError);
  t.throws(() => formatEvent(null as never), TypeError);
  t.throws(() => formatComment(1 as never), TypeError);
  t.equal(formatComment('a\r\nb'), ': a\n: b\n');
  t.equal(formatEvent({}), '\n');
});

/** A server whose callback hands each stream to `onStream`. */
async function sseServer(t: Test, onStream: (s: EventStream, req: RequestDict) => void, options: Parameters<typeof eventStream>[1] = {}, serverOptions = {}): Promise<{ port: number; id: number; errors: unknown[] }> {
  const errors: unknown[] = [];
  const id = await registerCallback(['127.0.0.1', 0], (req) => {
    const s = eventStream(req, options);
    onStream(s, req);
    return s.response;
  }, { onError: (e: unknown) => errors.push(e), ...serverOptions });
  t.teardown(() => stopCallback(id).catch(() => {}));
  return { port: boundAddress(id)[1], id, errors };
}

/** A raw socket that sends `request` and collects what comes back. */
function rawClient(port: number, request: string): { sock: Socket; data: () => string; closed: Promise<void> } {
  const chunks: Buffer[] = [];
  const sock = connect(port, '127.0.0.1', () => sock.write(request));
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  return { sock, data: () => Buffer.concat(chunks).toString('utf8'), closed };
}

const until = async (cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> =>
  within((async () => { while (!cond()) await sleep(5); })(), ms, what);

t.test('the framing table over a real socket, read by events()', async (t) => {
  const { port } = await sseServer(t, (s) => {
    void (async () => {
      for (const [, e] of TABLE) await s.send(e);
      await s.send({ event: 'end', data: '' });
    })();
  }, { heartbeat: 0 });
  const got: SseMessage[] = [];
  for await (const m of events(`http://127.0.0.1:${port}/`)) {
    if (m.event === 'end') break;
    got.push(m);
  }
  t.same(got.map((m) => m.data), TABLE.map(([, , d]) => d));
  t.same(got.map((m) => m.event), TABLE.map(([, e]) => e.event ?? 'message'));
});

t.test('response head: fields, and headers option', async (t) => {
  const { port } = await sseServer(t, (s) => void s.close(), { headers: { 'Access-Control-Allow-Origin': '*', 'cache-control': 'no-store' }, retry: 2500 });
  const c = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => c.data().endsWith('0\r\n\r\n'));
  const text = c.data();
  t.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(text, /\r\nContent-Type: text\/event-stream\r\n/);
  t.match(text, /\r\ncache-control: no-store\r\n/);
  t.notMatch(text, /no-cache/);
  t.match(text, /\r\nX-Accel-Buffering: no\r\n/);
  t.match(text, /\r\nAccess-Control-Allow-Origin: \*\r\n/);
  t.match(text, /retry: 2500\n: stream open\n\n/);
  c.sock.destroy();
  const req = { setTimeout() {}, signal: new AbortController().signal } as unknown as RequestDict;
  t.throws(() => eventStream(req, { headers: { 'content-type': 'text/plain' } }), TypeError);
  t.throws(() => eventStream(req, { headers: 5 as never }), TypeError);
  t.throws(() => eventStream(req, { heartbeat: -1 }), TypeError);
  t.throws(() => eventStream(req, { maxQueue: NaN }), TypeError);
  t.throws(() => eventStream(req, { retry: 1.5 }), TypeError);
  t.throws(() => eventStream({} as RequestDict), TypeError);
});

t.test('heartbeats are seen by a raw client, and only when quiet', async (t) => {
  const { port } = await sseServer(t, () => {}, { heartbeat: 40 });
  const c = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => (c.data().match(/: heartbeat\n/g) ?? []).length >= 3, 3000, 'three heartbeats');
  c.sock.destroy();
  // A stream that is busy gets no heartbeat.
  let sender: NodeJS.Timeout | undefined;
  const busy = await sseServer(t, (s) => {
    sender = setInterval(() => void s.send({ data: 'x' }), 10);
    void s.closed.then(() => clearInterval(sender));
  }, { heartbeat: 200 });
  const b = rawClient(busy.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await sleep(600);
  t.ok((b.data().match(/data: x/g) ?? []).length > 10, 'events flowed');
  t.notMatch(b.data(), /heartbeat/, 'no heartbeat while busy');
  b.sock.destroy();
  // Infinity means none (a timer that long would fire at once).
  const none = await sseServer(t, () => {}, { heartbeat: Infinity });
  const n = rawClient(none.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await sleep(150);
  t.notMatch(n.data(), /heartbeat/);
  n.sock.destroy();
});

t.test('the client goes: closed resolves, no listener, no timer', async (t) => {
  let stream: EventStream | null = null;
  let request: RequestDict | null = null;
  const { port } = await sseServer(t, (s, req) => {
    stream = s;
    request = req;
    void s.send({ id: 1, data: 'hi' });
  }, { heartbeat: 30 });
  const c = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => c.data().includes('data: hi'));
  t.equal(getEventListeners(request!.signal, 'abort').length, 1, 'the stream listens to req.signal');
  c.sock.destroy();
  // A half-close is legal HTTP, so the server learns the client went at the next write: the heartbeat.
  await within(stream!.closed, 3000, 'closed');
  t.equal(stream!.isClosed, true);
  t.equal(getEventListeners(request!.signal, 'abort').length, 0, 'listener removed');
  t.equal(await stream!.send({ data: 'late' }), false, 'send after close says false');
  t.equal(stream!.queuedBytes, 0);
});

t.test('the process can exit: nothing is left behind (child process)', async (t) => {
  const { spawn } = await import('node:child_process');
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', 'test/helpers/sse-exit-child.ts'], { env, cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await within(new Promise<number | null>((r) => child.on('exit', (c) => r(c))), 20_000, 'child exit');
  t.equal(code, 0, out);
  const report = JSON.parse(out.trim().split('\n').pop()!);
  t.equal(report.closed, true, 'closed resolved');
  t.equal(report.listeners, 0, 'no abort listener left');
  t.same(report.resources.filter((r: string) => r === 'Timeout'), [], 'no timer left');
});

t.test('stopCallback ends the streams', async (t) => {
  const streams: EventStream[] = [];
  const id = await registerCallback(['127.0.0.1', 0], (req) => {
    const s = eventStream(req);
    streams.push(s);
    void s.send({ data: 'x' });
    return s.response;
  });
  const port = boundAddress(id)[1];
  const a = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const got: SseMessage[] = [];
  const b = (async () => {
    for await (const m of events(`http://127.0.0.1:${port}/`, { retry: 10, maxReconnects: 0 })) got.push(m);
  })().catch((e) => e);
  await until(() => streams.length === 2 && got.length === 1 && a.data().includes('data: x'));
  await within(stopCallback(id), 5000, 'stopCallback');
  await within(Promise.all(streams.map((s) => s.closed)), 3000, 'streams closed');
  await within(a.closed, 3000, 'raw client sees the close');
  const err = await within(b, 3000, 'events() ends');
  t.equal((err as { code?: string }).code, 'ECONNREFUSED', 'reconnection refused: the server is gone');
});

t.test('HEAD: the head only, and the stream is over', async (t) => {
  let stream: EventStream | null = null;
  const { port } = await sseServer(t, (s) => (stream = s));
  const c = rawClient(port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => c.data().includes('\r\n\r\n'));
  await sleep(50);
  t.match(c.data(), /^HTTP\/1\.1 200 OK\r\n[^]*Content-Type: text\/event-stream\r\n[^]*\r\n\r\n$/);
  t.notMatch(c.data(), /stream open/);
  await within(stream!.closed, 2000, 'closed after HEAD');
  c.sock.destroy();
});

t.test('HTTP/1.0: close-delimited, ends when the stream closes', async (t) => {
  const { port } = await sseServer(t, (s) => {
    void (async () => {
      await s.send({ id: 1, data: 'a' });
      await s.send({ id: 2, data: 'b\nc' });
      s.close();
    })();
  });
  const c = rawClient(port, 'GET / HTTP/1.0\r\n\r\n');
  await within(c.closed, 3000, 'server closes');
  const [head, body] = c.data().split('\r\n\r\n');
  t.match(head!, /^HTTP\/1\.0 200 OK/);
  t.notMatch(head!, /Transfer-Encoding|Content-Length/i);
  t.equal(body, ': stream open\n\nid: 1\ndata: a\n\nid: 2\ndata: b\ndata: c\n\n');
});

t.test('resume from every id: exclusive, nothing missing, nothing twice', async (t) => {
  const HISTORY = Array.from({ length: 25 }, (_, i) => ({ id: i + 1, event: i % 2 ? 'odd' : 'even', data: `event ${i + 1}` }));
  const { port } = await sseServer(t, (s, req) => {
    const since = Number(lastEventId(req) ?? 0);
    void (async () => {
      for (const e of HISTORY) if (e.id > since) await s.send(e);
      await s.send({ event: 'caught-up', data: '' });
    })();
  }, { heartbeat: 0 });
  for (let k = 0; k <= HISTORY.length; k++) {
    const ids: string[] = [];
    const viaQuery = k % 2 === 1;
    const url = viaQuery ? `http://127.0.0.1:${port}/?lastEventId=${k}` : `http://127.0.0.1:${port}/`;
    for await (const m of events(url, viaQuery ? {} : { lastEventId: String(k) })) {
      if (m.event === 'caught-up') break;
      ids.push(m.id);
    }
    t.same(ids, HISTORY.filter((e) => e.id > k).map((e) => String(e.id)), `resume after ${k}${viaQuery ? ' (query)' : ''}`);
  }
  // The header wins over the query; a UTF-8 id survives the round trip.
  const seen: (string | undefined)[] = [];
  const srv = await sseServer(t, (s, req) => {
    seen.push(lastEventId(req));
    s.close();
  });
  // (A pending next() holds a generator's return() back: the signal is what stops a waiting iteration.)
  const ac = new AbortController();
  const p = events(`http://127.0.0.1:${srv.port}/?last-event-id=q`, { lastEventId: 'é😀', retry: 5, signal: ac.signal }).next();
  await until(() => seen.length >= 1);
  ac.abort();
  t.same(await within(p, 2000, 'abort ends the iteration'), { done: true, value: undefined });
  t.equal(seen[0], 'é😀');
  const q = await sseServer(t, (s, req) => {
    seen.push(lastEventId(req));
    s.close();
  });
  const base = seen.length;
  const c = rawClient(q.port, 'GET /?last-event-id=7 HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => seen.length >= base + 1);
  t.equal(seen[base], '7');
  const r = rawClient(q.port, 'GET /?x=1 HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => seen.length >= base + 2);
  t.equal(seen[base + 1], undefined);
  c.sock.destroy();
  r.sock.destroy();
});

/** Decodes chunked framing; returns the chunks' payloads (to count writes). */
function chunksOf(body: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', i);
    if (eol === -1) return out;
    const size = parseInt(body.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out.push(body.slice(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

t.test('a fast producer is coalesced into few writes', async (t) => {
  const N = 2000;
  const { port } = await sseServer(t, (s) => {
    // Not awaited: all queued in one turn, then the connection pulls.
    for (let i = 1; i <= N; i++) void s.send({ id: i, data: `event ${i}` });
    s.close();
  }, { heartbeat: 0 });
  const c = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => c.data().endsWith('\r\n0\r\n\r\n'));
  const body = Buffer.from(c.data(), 'latin1').toString('latin1');
  const chunks = chunksOf(body.slice(body.indexOf('\r\n\r\n') + 4));
  const text = chunks.join('');
  const p = new EventStreamParser();
  const got = p.push(Buffer.from(text, 'latin1'));
  t.equal(got.length, N, 'every event arrives');
  t.equal(got[N - 1]!.id, String(N));
  t.ok(chunks.length <= 3, `${N} events in ${chunks.length} chunks`);
  c.sock.destroy();
});

t.test('send waits at highWaterMark and resumes when the socket drains', async (t) => {
  let stream: EventStream | null = null;
  const { port } = await sseServer(t, (s) => (stream = s), { highWaterMark: 1000, heartbeat: 0 });
  const c = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => stream !== null && c.data().includes('stream open'));
  c.sock.pause();
  // Fill the kernel buffers: sends resolve until the writer blocks, then the queue holds them.
  const big = 'y'.repeat(64 * 1024);
  let waited: Promise<boolean> | null = null;
  for (let i = 0; i < 2000 && waited === null; i++) {
    const p = stream!.send({ data: big });
    const settled = await Promise.race([p.then(() => true), sleep(20).then(() => false)]);
    if (!settled) waited = p;
  }
  t.ok(waited !== null, 'send stopped resolving at once');
  t.ok(stream!.queuedBytes >= 1000);
  c.sock.resume();
  t.equal(await within(waited!, 5000, 'send resumes'), true);
  c.sock.destroy();
});

t.test('prepareEvent: formatted once, sent to many streams as is', async (t) => {
  const streams: EventStream[] = [];
  const { port } = await sseServer(t, (s) => streams.push(s), { heartbeat: 0 });
  const a = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const b = rawClient(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => streams.length === 2);
  const ready = prepareEvent({ id: 3, event: 'e', data: 'ü\nx' });
  t.ok(Object.isFrozen(ready));
  t.equal(ready.bytes, Buffer.byteLength(ready.text));
  for (const s of streams) t.equal(await s.send(ready), true);
  // A look-alike object is not trusted as prepared: it is an ordinary event (here: empty).
  for (const s of streams) await s.send({ text: 'data: forged\n\n', bytes: 14 } as never);
  for (const s of streams) s.close();
  await until(() => a.data().endsWith('0\r\n\r\n') && b.data().endsWith('0\r\n\r\n'));
  for (const c of [a, b]) {
    t.match(c.data(), 'id: 3\nevent: e\ndata: ü\ndata: x\n\n');
    t.notMatch(c.data(), /forged/);
  }
  t.throws(() => prepareEvent({ id: 'a\nb' }), TypeError);
});

t.test('maxQueue in process: a reader that stopped is cut and reported; a burst before the head is a 500', async (t) => {
  let stream: EventStream | null = null;
  const srv = await sseServer(t, (s) => (stream = s), { maxQueue: 8 * 1024, heartbeat: 0 });
  const c = rawClient(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => stream !== null && c.data().includes('stream open'));
  c.sock.pause();
  const chunk = 'q'.repeat(1024);
  let offered = 0;
  // 4 KB per turn, under maxQueue: only a reader that stopped falls behind (the writer waits in drain).
  while (!stream!.isClosed && offered < 256 * 1024 * 1024) {
    for (let i = 0; i < 4; i++) {
      void stream!.send({ data: chunk });
      offered += chunk.length;
    }
    await new Promise((r) => setImmediate(r));
  }
  t.ok(stream!.isClosed, `closed after ${(offered / 1024 / 1024).toFixed(1)} MB offered`);
  await within(stream!.closed, 2000, 'closed');
  await until(() => srv.errors.length > 0, 2000, 'reported');
  t.equal((srv.errors[0] as { code?: string }).code, 'ERR_SSE_QUEUE_FULL');
  t.equal(await stream!.send({ data: 'more' }), false);
  t.ok(offered > 64 * 1024, 'the kernel buffers filled first');
  c.sock.destroy();

  // A burst past maxQueue in one synchronous run, while the writer waits for the flush of that run.
  let burst: EventStream | null = null;
  const b = await sseServer(t, (s) => (burst = s), { maxQueue: 4 * 1024, heartbeat: 0 });
  const bc = rawClient(b.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => burst !== null && bc.data().includes('stream open'));
  await sleep(20);
  for (let i = 0; i < 8; i++) void burst!.send({ data: chunk });
  await within(burst!.closed, 2000, 'burst closed');
  await until(() => b.errors.length > 0, 2000, 'burst reported');
  t.equal((b.errors[0] as { code?: string }).code, 'ERR_SSE_QUEUE_FULL');
  await within(bc.closed, 3000, 'connection cut');
  t.notOk(bc.data().endsWith('0\r\n\r\n'), 'cut, not ended');

  // Overflowing before the response is even returned: the first pull fails, the head is not committed.
  const early = await sseServer(t, (s) => {
    for (let i = 0; i < 4; i++) void s.send({ data: 'w'.repeat(100) });
  }, { maxQueue: 150 });
  const e = rawClient(early.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => e.data().includes('\r\n\r\n'));
  t.match(e.data(), /^HTTP\/1\.1 500 /);
  await until(() => early.errors.length > 0, 2000, 'reported');
  t.equal((early.errors[0] as { code?: string }).code, 'ERR_SSE_QUEUE_FULL');
  e.sock.destroy();
});
