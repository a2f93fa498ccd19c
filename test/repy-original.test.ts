/**
 * The original's server tests (seattlelib_v1 tests/ut_seattlelibtests_testhttpserver.mix,
 * tests 1–17), replayed byte for byte over raw sockets against the port, with
 * the expectations the port decided on (docs: repy-behaviour.md Part A):
 * known-length 1.1 responses carry Content-Length instead of the original's
 * chunked-plus-bogus-trailer framing, HTTP/0.9 is served, obs-fold and
 * TE+CL are refused, callback failures get a generic 500, and 1.1 requests
 * carry Host (RFC 9112 §3.2).
 */
import t, { type Test } from 'tap';
import { boundAddress, registerCallback, stopCallback, type RequestDict, type ResponseDict } from '../src/index.js';
import { field, rawExchange, rawExchangeDetailed, responsesComplete, splitResponses, type RawResponse } from './helpers/raw.js';

const TIMEOUT = 5000;

interface Seen {
  verb: string;
  path: string;
  version: string;
  httpdid: number;
  headers: Record<string, string>;
  trailers: [string, string][];
}

/** Requests the callbacks saw, newest last. */
const seen: Seen[] = [];

function record(req: RequestDict): Seen {
  const s: Seen = { verb: req.verb, path: req.path, version: req.version, httpdid: req.httpdid, headers: req.headers, trailers: [] };
  seen.push(s);
  return s;
}

/** The original harness's func1: 200 OK text/html, body = path + "\n" (+ body length for POST). */
async function func1(req: RequestDict): Promise<ResponseDict> {
  const s = record(req);
  let message = `${req.path}\n`;
  if (req.verb === 'POST') {
    message += `${(await req.datastream.read()).length}\n`;
    s.trailers = req.datastream.trailers.map(([n, v]) => [n, v]);
  }
  return { version: '1.1', statuscode: 200, statusmsg: 'OK', headers: { 'Content-Type': 'text/html' }, message };
}

/** The original's stringio: a file-like object whose read(size) slices a string. */
class StringIO {
  closed = 0;
  constructor(private rest: string) {}
  read(size?: number): string {
    const out = size === undefined ? this.rest : this.rest.slice(0, size);
    this.rest = this.rest.slice(out.length);
    return out;
  }
  close(): void {
    this.closed++;
  }
}

/** Sends one request and takes the reply apart; the server must close the connection. */
async function exchange(t: Test, port: number, bytes: string, n = 1): Promise<RawResponse[]> {
  const r = await rawExchangeDetailed(port, bytes, { timeoutMs: TIMEOUT });
  t.ok(r.closed, 'the server closed the connection');
  t.notOk(r.timedOut, 'within the time limit');
  const responses = splitResponses(r.data);
  t.equal(responses.length, n, `${n} response(s)`);
  for (const res of responses) t.ok(res.complete, `response ${res.statusLine} is complete`);
  return responses;
}

/** The 200 func1 gives, with the port's framing: Content-Length, never chunked. */
function assertFunc1(t: Test, r: RawResponse | undefined, version: string, body: string, close: boolean): void {
  if (r === undefined) {
    t.fail('no response');
    return;
  }
  t.equal(r.statusLine, `HTTP/${version} 200 OK`, 'status line');
  t.equal(field(r, 'Content-Type'), 'text/html', 'the callback\'s Content-Type');
  t.equal(field(r, 'Content-Length'), String(Buffer.byteLength(body)), 'Content-Length: the length is known');
  t.equal(field(r, 'Transfer-Encoding'), undefined, 'not chunked');
  t.match(field(r, 'Date'), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, 'a Date field (IMF-fixdate)');
  t.equal(r.body.toString('latin1'), body, 'body');
  if (close) t.equal(field(r, 'Connection'), 'close', 'Connection: close');
  else t.not(field(r, 'Connection'), 'close', 'keeps the connection open');
}

/** A server-generated error answer: status, text/plain, Content-Length, Connection: close. */
function assertError(t: Test, r: RawResponse | undefined, status: number, reason: string, code?: string): void {
  if (r === undefined) {
    t.fail('no response');
    return;
  }
  t.equal(r.statusLine, `HTTP/1.1 ${status} ${reason}`, 'status line');
  t.equal(field(r, 'Connection'), 'close', 'Connection: close');
  t.equal(field(r, 'Content-Length'), String(r.body.length), 'Content-Length matches the body');
  t.match(field(r, 'Content-Type'), /^text\/plain/, 'text/plain');
  if (code !== undefined) t.match(r.body.toString('latin1'), code, `the body names ${code}`);
}

let port = 0;

const stoppedIds = new Set<number>();
/** stopCallback once per id (a test may stop early, its teardown then does nothing). */
async function stop(id: number): Promise<void> {
  if (stoppedIds.has(id)) return;
  stoppedIds.add(id);
  await stopCallback(id);
}

t.test('func1 server: tests 1–12 and 16', async (t) => {
  const id = await registerCallback(['127.0.0.1', 0], func1);
  t.teardown(() => stop(id));
  port = boundAddress(id)[1];
  t.ok(port > 0, 'listening on a real port');

  t.test('test1: HTTP/1.0 GET', async (t) => {
    const [r] = await exchange(t, port, 'GET /test1 HTTP/1.0\r\n\r\n');
    assertFunc1(t, r, '1.0', '/test1\n', true);
    t.equal(seen.at(-1)?.version, '1.0', 'the callback saw version 1.0');
  });

  t.test('test2: HTTP/1.0 POST with Content-Length 5', async (t) => {
    const [r] = await exchange(t, port, 'POST /test2 HTTP/1.0\r\nContent-Length: 5\r\n\r\n12345');
    assertFunc1(t, r, '1.0', '/test2\n5\n', true);
  });

  t.test('test3: HTTP/1.1 GET with Connection: close gets Content-Length, not chunked', async (t) => {
    const [r] = await exchange(t, port, 'GET /test3 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assertFunc1(t, r, '1.1', '/test3\n', true);
    t.equal(r?.trailers.length, 0, 'no bogus Content-Length trailer');
  });

  t.test('test4: two pipelined HTTP/1.1 GETs in one write, only the second says close', async (t) => {
    const rs = await exchange(
      t, port,
      'GET /test4a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + 'GET /test4b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      2,
    );
    assertFunc1(t, rs[0], '1.1', '/test4a\n', false);
    assertFunc1(t, rs[1], '1.1', '/test4b\n', true);
  });

  t.test('test4 without close: a keep-alive response is complete without the connection closing', async (t) => {
    const r = await rawExchangeDetailed(port, 'GET /test4c HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', { timeoutMs: TIMEOUT, until: responsesComplete(1) });
    t.ok(r.matched, 'the response was complete while the connection stayed open');
    assertFunc1(t, splitResponses(r.data)[0], '1.1', '/test4c\n', false);
  });

  t.test('test5: chunked PUT that the callback does not read', async (t) => {
    const [r] = await exchange(
      t, port,
      'PUT /test5 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n1234567890\r\n0\r\n\r\n',
    );
    assertFunc1(t, r, '1.1', '/test5\n', true);
  });

  t.test('test5 kept alive: the unread chunked body is drained and the next pipelined request is answered', async (t) => {
    const rs = await exchange(
      t, port,
      'PUT /test5 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n1234567890\r\n0\r\n\r\n' +
        'GET /test5-next HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      2,
    );
    assertFunc1(t, rs[0], '1.1', '/test5\n', false);
    assertFunc1(t, rs[1], '1.1', '/test5-next\n', true);
  });

  t.test('test6: chunked POST with two chunks (2 + 5 bytes)', async (t) => {
    const [r] = await exchange(
      t, port,
      'POST /test6 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n12\r\n5\r\n12345\r\n0\r\n\r\n',
    );
    assertFunc1(t, r, '1.1', '/test6\n7\n', true);
  });

  t.test('test7: obs-fold (folded Connection and Accept-Encoding) → 400 (RFC 9112 §5.2)', async (t) => {
    const before = seen.length;
    const [r] = await exchange(
      t, port,
      'GET /test7 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection:\r\n    close\r\nContent-Type: who cares?\r\nAccept-Encoding:\r\n\t*\r\nX-Foobar-Hdr: Baz\r\n\r\n',
    );
    assertError(t, r, 400, 'Bad Request', 'OBS_FOLD');
    t.equal(seen.length, before, 'the callback was not called');
  });

  t.test('test8: an HTTP/0.9 request gets the body only, then close', async (t) => {
    const r = await rawExchangeDetailed(port, 'GET /test8\r\n', { timeoutMs: TIMEOUT });
    t.ok(r.closed, 'the server closed the connection');
    t.equal(r.data.toString('latin1'), '/test8\n', 'exactly the body: no status line, no header section');
    t.equal(seen.at(-1)?.path, '/test8', 'the callback was called');
    t.equal(seen.at(-1)?.version, '0.9', 'with version 0.9');
  });

  t.test('test8b: HTTP/0.9 is GET only', async (t) => {
    const [r] = await exchange(t, port, 'POST /test8\r\n');
    assertError(t, r, 400, 'Bad Request', 'HTTP09_INVALID');
  });

  t.test('test9: garbage → 400', async (t) => {
    const before = seen.length;
    const [r] = await exchange(t, port, '12315125021453\r\n23042086235');
    assertError(t, r, 400, 'Bad Request');
    t.equal(seen.length, before, 'the callback was not called');
  });

  t.test('test10: Transfer-Encoding chunked with Content-Length → 400 (RFC 9112 §6.3, request smuggling)', async (t) => {
    const before = seen.length;
    const [r] = await exchange(
      t, port,
      'POST /test10 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\nConnection: close\r\n\r\n' +
        '1C\r\n1234567890123456789012345678\r\n0\r\n\r\n',
    );
    assertError(t, r, 400, 'Bad Request', 'TE_WITH_CONTENT_LENGTH');
    t.equal(seen.length, before, 'the callback was not called');
  });

  t.test('test11: Transfer-Encoding gzip, chunked → 501', async (t) => {
    const before = seen.length;
    const [r] = await exchange(
      t, port,
      'POST /test11 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n' +
        '1C\r\n1234567890123456789012345678\r\n0\r\n\r\n',
    );
    assertError(t, r, 501, 'Not Implemented', 'TE_UNSUPPORTED');
    t.equal(seen.length, before, 'the callback was not called');
  });

  t.test('test12: the wrong protocol (210 PORT EHLO) → 400', async (t) => {
    const [r] = await exchange(t, port, '210 PORT EHLO\r\n');
    assertError(t, r, 400, 'Bad Request');
  });

  t.test('test16: chunked POST with zero chunks and a trailer field', async (t) => {
    const [r] = await exchange(
      t, port,
      'POST /test16 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-length: 67\r\n\r\n',
    );
    assertFunc1(t, r, '1.1', '/test16\n0\n', true);
    t.same(seen.at(-1)?.trailers, [['Content-length', '67']], 'the trailer reached the datastream, as sent');
    t.equal(seen.at(-1)?.headers['Content-Length'], undefined, 'and was not merged into the headers');
  });

  t.test('test16 as the original sent it: a folded trailer is obs-fold → 400', async (t) => {
    const [r] = await exchange(
      t, port,
      'POST /test16 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-length:\r\n  67\r\n\r\n',
    );
    assertError(t, r, 400, 'Bad Request', 'OBS_FOLD');
  });

  t.test('an HTTP/1.1 request without Host → 400 (RFC 9112 §3.2)', async (t) => {
    const before = seen.length;
    const [r] = await exchange(t, port, 'GET /nohost HTTP/1.1\r\nConnection: close\r\n\r\n');
    assertError(t, r, 400, 'Bad Request', 'HOST_MISSING');
    t.equal(seen.length, before, 'the callback was not called');
  });

  await t.test('the port is released once stopCallback resolves', async (t) => {
    // Wait for the subtests above (tap runs them in order) before stopping.
    await stop(id);
    t.throws(() => boundAddress(id), { name: 'KeyError' }, 'the id is gone');
    const r = await rawExchangeDetailed(port, 'GET / HTTP/1.0\r\n\r\n', { timeoutMs: TIMEOUT });
    t.equal(r.data.length, 0, 'nothing answers any more');
    t.equal(r.error, 'ECONNREFUSED', 'connection refused');
  });
});

t.test('test13: file-like message (func2), re-registered on the same port', async (t) => {
  t.ok(port > 0, 'the port of the first registration');
  const files: StringIO[] = [];
  const id = await registerCallback(['127.0.0.1', port], (req) => {
    record(req);
    const f = new StringIO('Hello!\r\n');
    files.push(f);
    return { version: '1.1', statuscode: 200, statusmsg: 'OK', headers: { 'Content-Type': 'text/html' }, message: f };
  });
  t.teardown(() => stop(id));
  t.equal(boundAddress(id)[1], port, 'the same port number');

  const raw = await rawExchange(port, 'GET /test13 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { timeoutMs: TIMEOUT });
  const [r] = splitResponses(raw);
  t.equal(r?.statusLine, 'HTTP/1.1 200 OK', 'status line');
  t.equal(r && field(r, 'Transfer-Encoding'), 'chunked', 'unknown length over 1.1: chunked');
  t.equal(r && field(r, 'Content-Length'), undefined, 'no Content-Length with chunked');
  t.equal(r?.wireBody.toString('latin1'), '8\r\nHello!\r\n\r\n0\r\n\r\n', 'one 8-byte chunk, then the last chunk, no trailer');
  t.equal(r?.body.toString('latin1'), 'Hello!\r\n', 'the content');
  t.equal(files[0]?.closed, 1, 'the file-like object was closed once');

  // The same over HTTP/1.0: no chunked coding there, the close ends the content.
  const raw10 = await rawExchange(port, 'GET /test13 HTTP/1.0\r\n\r\n', { timeoutMs: TIMEOUT });
  const [r10] = splitResponses(raw10);
  t.equal(r10?.statusLine, 'HTTP/1.0 200 OK', 'HTTP/1.0 status line');
  t.equal(r10?.framing, 'close', 'close-delimited');
  t.equal(r10 && field(r10, 'Connection'), 'close', 'Connection: close');
  t.equal(r10?.body.toString('latin1'), 'Hello!\r\n', 'the content');
  t.equal(files[1]?.closed, 1, 'closed again');
});

t.test('test14: a callback that throws → generic 500, the error goes to onError', async (t) => {
  const errors: { err: unknown; req: RequestDict | null }[] = [];
  const secret = new Error('callback() takes no arguments (1 given) — secret detail');
  const id = await registerCallback(['127.0.0.1', port], () => {
    throw secret;
  }, { onError: (err, req) => errors.push({ err, req }) });
  t.teardown(() => stop(id));
  t.equal(boundAddress(id)[1], port, 'the same port number');

  const [r] = await exchange(t, port, 'GET / HTTP/1.0\r\n\r\n');
  t.equal(r?.statusLine, 'HTTP/1.0 500 Internal Server Error', 'status line (answers in the request\'s version)');
  t.equal(r?.body.toString('latin1'), 'Internal Server Error\n', 'a generic body');
  t.notMatch(raw(r), /secret|takes no arguments/, 'no exception text reaches the client');
  t.equal(r && field(r, 'Content-Length'), String(r?.body.length), 'Content-Length');
  t.equal(r && field(r, 'Connection'), 'close', 'Connection: close');
  t.equal(errors.length, 1, 'onError called once');
  t.equal(errors[0]?.err, secret, 'with the thrown error');
  t.equal(errors[0]?.req?.path, '/', 'and the request');

  // The server keeps serving after a failure: an async rejection too.
  await stop(id);
  const id2 = await registerCallback(['127.0.0.1', port], async () => Promise.reject(secret), { onError: (err, req) => errors.push({ err, req }) });
  t.teardown(() => stop(id2));
  const [r2] = await exchange(t, port, 'GET /async HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  t.equal(r2?.statusLine, 'HTTP/1.1 500 Internal Server Error', 'a rejection is a 500 too');
  t.equal(r2?.body.toString('latin1'), 'Internal Server Error\n', 'generic body');
  t.equal(errors.length, 2, 'onError called again');
  t.equal(errors[1]?.req?.path, '/async', 'with that request');
});

t.test('test14 in JS: a callback declared with no parameters is still called with the request', async (t) => {
  let calls = 0;
  const id = await registerCallback(['127.0.0.1', port], () => {
    calls++;
    return { statuscode: 200, message: 'no parameters\n' };
  });
  t.teardown(() => stop(id));
  const [r] = await exchange(t, port, 'GET / HTTP/1.0\r\n\r\n');
  t.equal(r?.statusLine, 'HTTP/1.0 200 OK', '200: JavaScript passes the argument regardless');
  t.equal(r?.body.toString('latin1'), 'no parameters\n', 'body');
  t.equal(calls, 1, 'called once');
});

t.test('test15: a callback returning null → generic 500', async (t) => {
  const errors: unknown[] = [];
  const id = await registerCallback(['127.0.0.1', port], () => null as unknown as ResponseDict, { onError: (err) => errors.push(err) });
  t.teardown(() => stop(id));
  t.equal(boundAddress(id)[1], port, 'the same port number');
  const [r] = await exchange(t, port, 'GET / HTTP/1.0\r\n\r\n');
  t.equal(r?.statusLine, 'HTTP/1.0 500 Internal Server Error', 'status line');
  t.equal(r?.body.toString('latin1'), 'Internal Server Error\n', 'a generic body');
  t.equal(r && field(r, 'Connection'), 'close', 'Connection: close');
  t.equal(errors.length, 1, 'onError called once');
  t.match(errors[0], { name: 'InvalidResponseError' }, 'with an InvalidResponseError');
  t.match(String((errors[0] as Error).message), /null/, 'that says what was wrong');
});

t.test('test17: httpdid is the id registerCallback returned', async (t) => {
  const checks: { httpdid: number; registered: boolean }[] = [];
  const id = await registerCallback(['127.0.0.1', port], (req) => {
    let registered = false;
    try {
      registered = boundAddress(req.httpdid)[1] === port;
    } catch {
      registered = false;
    }
    checks.push({ httpdid: req.httpdid, registered });
    return func1(req);
  });
  t.teardown(() => stop(id));
  t.equal(boundAddress(id)[1], port, 'the same port number');
  const [r] = await exchange(t, port, 'GET /test17 HTTP/1.0\r\n\r\n');
  assertFunc1(t, r, '1.0', '/test17\n', true);
  t.equal(checks.length, 1, 'the callback ran');
  t.equal(checks[0]?.httpdid, id, 'httpdid === id');
  t.ok(checks[0]?.registered, 'and names a live registration on this port');
});

function raw(r: RawResponse | undefined): string {
  return r === undefined ? '' : `${r.statusLine}\r\n${r.headers.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n${r.body.toString('latin1')}`;
}
