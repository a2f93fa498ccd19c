// The SSE client `events(url)` (issue #11): the incremental parser against
// the spec's rules at every split point, and the client over real sockets:
// reconnection with Last-Event-ID after `retry`, the answers that end it
// (204, other statuses, other types), its limits, the client's `signal`
// option, and that abort and `break` close the socket.
import t, { type Test } from 'tap';
import { open } from '../src/client/client.js';
import { eventStream, events, lastEventId, EventStreamParser, SseError, type SseMessage } from '../src/sse/index.js';
import { closedPort, rawServer, rejection, repyServer, sleep, within } from './helpers/client-servers.js';

/** Feeds `bytes` cut at `splits`, returns the events and the final parser. */
function parseSplit(bytes: Buffer, splits: number[], options = {}): { out: SseMessage[]; p: EventStreamParser } {
  const p = new EventStreamParser(options);
  const out: SseMessage[] = [];
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    out.push(...p.push(bytes.subarray(at, s)));
    at = s;
  }
  return { out, p };
}

/** Parses whole, then at every single split point; all must agree with `want`. */
function everySplit(t: Test, name: string, bytes: Buffer, want: SseMessage[], retry: number | null = null): void {
  const whole = parseSplit(bytes, []);
  t.same(whole.out, want, `${name}: whole`);
  t.equal(whole.p.retry, retry, `${name}: retry`);
  let bad = 0;
  for (let i = 1; i < bytes.length; i++) {
    const r = parseSplit(bytes, [i]);
    if (JSON.stringify(r.out) !== JSON.stringify(want) || r.p.retry !== retry) bad++;
  }
  // One byte at a time: every boundary at once.
  const bytewise = parseSplit(bytes, Array.from({ length: bytes.length }, (_, i) => i));
  t.same(bytewise.out, want, `${name}: byte by byte`);
  t.equal(bad, 0, `${name}: same events at every split point`);
}

const ev = (data: string, id = '', event = 'message'): SseMessage => ({ id, event, data });

t.test('parser: the spec rules at every split point', async (t) => {
  const rows: [string, string | Buffer, SseMessage[], number?][] = [
    ['LF', 'data: a\n\n', [ev('a')]],
    ['CRLF', 'data: a\r\n\r\n', [ev('a')]],
    ['CR', 'data: a\r\r', [ev('a')]],
    ['mixed line breaks', 'data: a\rdata: b\r\ndata: c\n\r\n', [ev('a\nb\nc')]],
    ['BOM at the start is dropped', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('data: x\n\n')]), [ev('x')]],
    ['a second BOM is data', '\ufeffdata: x\n\n\ufeffdata: y\n\n', [ev('x')]], // "\ufeffdata" is an unknown field
    ['one space dropped, not two', 'data:  two\ndata:none\n\n', [ev(' two\nnone')]],
    ['field without colon', 'data\n\ndata\ndata\n\n', [ev(''), ev('\n')]],
    ['empty data dispatches', 'data:\n\n', [ev('')]],
    ['no data: no dispatch, type reset', 'event: x\n\ndata: y\n\n', [ev('y')]],
    ['comments are ignored', ': hi\n:\ndata: z\n: bye\n\n', [ev('z')]],
    ['event type', 'event: tick\ndata: 1\n\n', [ev('1', '', 'tick')]],
    ['empty event type is message', 'event:\ndata: 1\n\n', [ev('1')]],
    ['id carries over', 'id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n', [ev('a', '7'), ev('b', '7'), ev('c', '')]],
    ['id with NUL ignored', 'id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n', [ev('a', '1'), ev('b', '1')]],
    ['id-only block moves the id', 'id: 5\n\ndata: a\n\n', [ev('a', '5')]],
    ['retry digits', 'retry: 1500\ndata: a\n\n', [ev('a')], 1500],
    ['retry not digits ignored', 'retry: 15x\nretry: -1\nretry: 1.5\nretry:\ndata: a\n\n', [ev('a')], null as unknown as number],
    ['unknown field', 'foo: bar\ndata: a\n\n', [ev('a')]],
    ['unfinished event dropped', 'data: a\n\ndata: b\n', [ev('a')]],
    ['unicode: astral and BMP', 'data: é😀中\n\n', [ev('é😀中')]],
    ['invalid UTF-8 becomes U+FFFD', Buffer.from([...Buffer.from('data: a'), 0xff, 0xfe, ...Buffer.from('b\n\n')]), [ev('a\ufffd\ufffdb')]],
    ['CR at the end of one chunk, LF at the start of the next', 'data: a\r\ndata: b\r\n\r\n', [ev('a\nb')]],
  ];
  for (const [name, input, want, retry] of rows) {
    everySplit(t, name, Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8'), want, retry ?? null);
  }
});

t.test('parser: limits end with a clear error', async (t) => {
  const p = new EventStreamParser({ maxLineLength: 10 });
  t.same(p.push(Buffer.from('data: 1234\n\n')), [ev('1234')]);
  const e = t.throws(() => p.push(Buffer.from('data: 12345'))) as SseError;
  t.equal(e.code, 'ERR_SSE_LINE_TOO_LONG');
  // An endless line without a break, fed in small pieces, is caught as it grows.
  const q = new EventStreamParser({ maxLineLength: 1000 });
  let err: unknown = null;
  try {
    for (let i = 0; i < 200; i++) q.push(Buffer.from('xxxxxxxxxx'));
  } catch (x) {
    err = x;
  }
  t.equal((err as SseError).code, 'ERR_SSE_LINE_TOO_LONG');
  const r = new EventStreamParser({ maxEventSize: 10 });
  t.equal((t.throws(() => r.push(Buffer.from('data: 123456\ndata: 123456\n'))) as SseError).code, 'ERR_SSE_EVENT_TOO_LARGE');
  t.throws(() => new EventStreamParser({ maxLineLength: 0 }), TypeError);
  t.throws(() => new EventStreamParser({ lastEventId: 5 as unknown as string }), TypeError);
});

t.test('events(): reconnects after retry with Last-Event-ID, exclusive resume', async (t) => {
  const seen: (string | undefined)[] = [];
  let conn = 0;
  const port = await repyServer(t, (req) => {
    conn++;
    seen.push(lastEventId(req));
    const s = eventStream(req, { retry: 20 });
    const from = Number(lastEventId(req) ?? 0);
    // Two events per connection, then the server ends the stream.
    void (async () => {
      for (let i = from + 1; i <= from + 2; i++) await s.send({ id: i, data: `e${i}` });
      s.close();
    })();
    return s.response;
  });
  const got: SseMessage[] = [];
  for await (const e of events(`http://127.0.0.1:${port}/`)) {
    got.push(e);
    if (got.length === 6) break;
  }
  t.same(got.map((e) => e.id), ['1', '2', '3', '4', '5', '6']);
  t.same(got.map((e) => e.data), ['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  t.same(seen, [undefined, '2', '4']);
  t.equal(conn, 3);
});

t.test('events(): lastEventId and headers options are sent', async (t) => {
  const srv = await rawServer(t, (socket) => {
    socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\r\ndata: hi\n\n');
  });
  const it = events(`http://127.0.0.1:${srv.port}/`, { lastEventId: '41', headers: { Authorization: 'Bearer x' }, retry: 10 });
  const first = await within(it.next());
  t.same(first.value, ev('hi', '41'));
  await it.return!();
  const f = Object.fromEntries(srv.requests[0]!.fields.map(([n, v]) => [n.toLowerCase(), v]));
  t.equal(f['last-event-id'], '41');
  t.equal(f['authorization'], 'Bearer x');
  t.equal(f['accept'], 'text/event-stream');
});

t.test('events(): answers that end the stream for good', async (t) => {
  const cases: [string, string, number?][] = [
    ['HTTP/1.1 204 No Content\r\n\r\n', 'ERR_SSE_NO_CONTENT', 204],
    ['HTTP/1.1 500 Oops\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n', 'ERR_SSE_STATUS', 500],
    ['HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 'ERR_SSE_STATUS', 404],
    ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\ndata: x\n\n', 'ERR_SSE_CONTENT_TYPE', 200],
    ['HTTP/1.1 200 OK\r\n\r\ndata: x\n\n', 'ERR_SSE_CONTENT_TYPE', 200],
    ['HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ' + 'x'.repeat(5000), 'ERR_SSE_LINE_TOO_LONG', undefined],
  ];
  for (const [bytes, code, status] of cases) {
    const srv = await rawServer(t, (socket) => void socket.end(bytes));
    const it = events(`http://127.0.0.1:${srv.port}/`, { retry: 10, maxLineLength: 1000 });
    const err = (await rejection(it.next())) as unknown as SseError;
    t.ok(err instanceof SseError, `${code}: an SseError`);
    t.equal(err.code, code);
    t.equal(err.status, status);
    t.equal(srv.connections, 1, `${code}: no reconnection`);
  }
});

t.test('events(): connection errors reconnect, up to maxReconnects', async (t) => {
  const port = await closedPort();
  const it = events(`http://127.0.0.1:${port}/`, { retry: 5, maxReconnects: 2 });
  const err = await rejection(it.next());
  t.equal(err.code, 'ECONNREFUSED');
  // A server that cuts the stream mid-event: the unfinished event is not delivered, the reconnection resumes.
  let n = 0;
  const srv = await rawServer(t, (socket) => {
    n++;
    // Chunked, cut inside a chunk: the client's UNEXPECTED_EOF is a lost connection.
    const part = 'id: 1\ndata: one\n\nid: 2\ndata: t';
    if (n === 1) socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${(part.length + 10).toString(16)}\r\n${part}`);
    else socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 2\ndata: two\n\n');
  });
  const got: SseMessage[] = [];
  for await (const e of events(`http://127.0.0.1:${srv.port}/`, { retry: 5 })) {
    got.push(e);
    if (got.length === 2) break;
  }
  t.same(got, [ev('one', '1'), ev('two', '2')]);
  const f = Object.fromEntries(srv.requests[1]!.fields.map(([a, b]) => [a.toLowerCase(), b]));
  t.equal(f['last-event-id'], '1', 'the unfinished block did not move the id');
});

t.test('events(): abort and break close the socket promptly', async (t) => {
  // break: the server sees its request signal abort.
  let aborted = 0;
  const port = await repyServer(t, (req) => {
    req.signal.addEventListener('abort', () => aborted++);
    // The client's close is seen at the next write (a half-close alone is
    // legal HTTP/1.1, so the server keeps writing): the heartbeat is that write.
    const s = eventStream(req, { heartbeat: 30 });
    void s.send({ data: 'x' });
    return s.response;
  });
  for await (const e of events(`http://127.0.0.1:${port}/`)) {
    t.equal(e.data, 'x');
    break;
  }
  await within((async () => { while (aborted < 1) await sleep(5); })(), 3000, 'server sees the break');
  // abort while waiting for the next event.
  const ac = new AbortController();
  const it = events(`http://127.0.0.1:${port}/`, { signal: ac.signal });
  t.equal((await it.next()).value?.data, 'x');
  const pending = it.next();
  setTimeout(() => ac.abort(), 20);
  t.same(await within(pending, 2000), { done: true, value: undefined });
  await within((async () => { while (aborted < 2) await sleep(5); })(), 3000, 'server sees the abort');
  // abort while connecting to a server that never answers, and while waiting to reconnect.
  const silent = await rawServer(t, () => {});
  const ac2 = new AbortController();
  const it2 = events(`http://127.0.0.1:${silent.port}/`, { signal: ac2.signal });
  const p2 = it2.next();
  await sleep(50);
  ac2.abort();
  t.same(await within(p2, 1000), { done: true, value: undefined });
  const dead = await closedPort();
  const ac3 = new AbortController();
  const p3 = events(`http://127.0.0.1:${dead}/`, { signal: ac3.signal, retry: 60_000 }).next();
  await sleep(50);
  ac3.abort();
  t.same(await within(p3, 1000), { done: true, value: undefined });
  // return() while a next() is pending (the loop's owner gives up from elsewhere) ends it too.
  const it5 = events(`http://127.0.0.1:${silent.port}/`);
  const p5 = it5.next();
  await sleep(50);
  t.same(await within(it5.return!(), 1000, 'return'), { done: true, value: undefined });
  t.same(await within(p5, 1000), { done: true, value: undefined });
  t.same(await it5.next(), { done: true, value: undefined }, 'finished for good');
  const it6 = events(`http://127.0.0.1:${silent.port}/`);
  const p6 = it6.next();
  await t.rejects(it6.throw!(new Error('boom')), { message: 'boom' });
  t.same(await within(p6, 1000), { done: true, value: undefined });
  const ac4 = new AbortController();
  ac4.abort();
  t.same(await events(`http://127.0.0.1:${dead}/`, { signal: ac4.signal }).next(), { done: true, value: undefined });
});

t.test('events(): bad arguments', async (t) => {
  t.throws(() => events(5 as unknown as string), TypeError);
  t.throws(() => events('http://x/', { nope: 1 } as never), TypeError);
  t.throws(() => events('http://x/', { signal: {} as AbortSignal }), TypeError);
  t.throws(() => events('http://x/', { retry: -1 }), TypeError);
  t.throws(() => events('http://x/', { headers: null as never }), TypeError);
  t.throws(() => events('http://x/', { lastEventId: 1 as never }), TypeError);
});

t.test('client: the signal option aborts open and reads, and is validated', async (t) => {
  const silent = await rawServer(t, () => {});
  const ac = new AbortController();
  const p = open(`http://127.0.0.1:${silent.port}/`, { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 20);
  t.equal((await rejection(p, 2000)).message, 'stop');
  const ac2 = new AbortController();
  ac2.abort();
  t.equal((await rejection(open(`http://127.0.0.1:${silent.port}/`, { signal: ac2.signal }))).name, 'AbortError');
  const trickle = await rawServer(t, (s) => void s.write('HTTP/1.1 200 OK\r\n\r\nabc'));
  const ac3 = new AbortController();
  const res = await open(`http://127.0.0.1:${trickle.port}/`, { signal: ac3.signal });
  t.equal((await res.read(3)).toString(), 'abc');
  const r = res.read();
  ac3.abort();
  t.equal((await rejection(r, 2000)).name, 'AbortError');
  await t.rejects(open('http://127.0.0.1:1/', { signal: 'x' as never }), TypeError);
});

t.test('events(): a stream is not bounded by the client\'s maxResponseSize (64 MiB)', async (t) => {
  const MB = 1024 * 1024;
  const block = Buffer.from(`data: ${'m'.repeat(MB - 8)}\n\n`);
  const srv = await rawServer(t, async (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n');
    for (let i = 0; i < 70; i++) {
      if (!socket.write(block)) await new Promise((r) => socket.once('drain', r));
    }
    socket.write('event: end\ndata: \n\n');
  });
  let n = 0;
  let bytes = 0;
  for await (const e of events(`http://127.0.0.1:${srv.port}/`)) {
    if (e.event === 'end') break;
    n++;
    bytes += e.data.length;
  }
  t.equal(n, 70);
  t.ok(bytes > 64 * MB, `${(bytes / MB).toFixed(1)} MiB read through one response`);
});

t.test('events(): a silent connection past idleTimeout is reopened', async (t) => {
  let n = 0;
  const srv = await rawServer(t, (socket) => {
    n++;
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 1\ndata: first\n\n');
    if (n > 1) socket.write('id: 2\ndata: second\n\n');
    // then silence: no heartbeat, no close
  });
  const got: SseMessage[] = [];
  for await (const e of events(`http://127.0.0.1:${srv.port}/`, { idleTimeout: 150, retry: 10 })) {
    got.push(e);
    if (got.length === 3) break;
  }
  t.same(got.map((e) => e.data), ['first', 'first', 'second']);
  t.equal(n, 2, 'one reconnection');
  const f = Object.fromEntries(srv.requests[1]!.fields.map(([a, b]) => [a.toLowerCase(), b]));
  t.equal(f['last-event-id'], '1');
});
