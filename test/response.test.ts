// prepareResponse as a table: dictionary in → head, framing and connection
// decision out (the wire tests in server.test.ts cover the same rules end
// to end; these pin every branch of the framing decision).
import t from 'tap';
import { closing, errorResponse, httpDate, prepareResponse, type PreparedResponse, type ResponseContext } from '../src/server/response.js';
import { InvalidResponseError } from '../src/errors.js';

const GET11: ResponseContext = { method: 'GET', version: '1.1', keepAlive: true };
const GET10: ResponseContext = { method: 'GET', version: '1.0', keepAlive: false };
const HEAD11: ResponseContext = { method: 'HEAD', version: '1.1', keepAlive: true };

const headOf = (r: PreparedResponse): string => r.head ?? '';
const bodyOf = (r: PreparedResponse): string | undefined => r.bodyText ?? r.body?.toString();
async function streamed(r: PreparedResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r.stream!) parts.push(c);
  return Buffer.concat(parts).toString();
}

t.test('framing decisions', async (t) => {
  const text = prepareResponse({ statuscode: 200, message: 'hi' }, GET11);
  t.match(headOf(text), /^HTTP\/1\.1 200 OK\r\nDate: .+\r\nContent-Length: 2\r\n\r\n$/);
  t.equal(bodyOf(text), 'hi');
  t.equal(text.body, null, 'ASCII text stays text (written with the head)');
  const utf8 = prepareResponse({ statuscode: 200, message: 'héllo' }, GET11);
  t.match(headOf(utf8), /Content-Length: 6\r\n/, 'non-ASCII text: UTF-8 bytes counted');
  t.equal(utf8.body?.toString('utf8'), 'héllo');
  t.equal(utf8.bodyText, null);
  t.equal(text.close, false);

  const bytes = prepareResponse({ statuscode: 200, message: new Uint8Array([104, 105]) }, GET11);
  t.match(headOf(bytes), /Content-Length: 2\r\n/);

  const empty = prepareResponse({ statuscode: 200 }, GET11);
  t.match(headOf(empty), /Content-Length: 0\r\n/);

  const chunkedAsked = prepareResponse({ statuscode: 200, headers: { 'transfer-encoding': 'Chunked' }, message: 'abc' }, GET11);
  t.equal(chunkedAsked.chunked, true);
  t.match(headOf(chunkedAsked), /Transfer-Encoding: chunked\r\n/);
  t.notMatch(headOf(chunkedAsked), /Content-Length/);
  t.equal(await streamed(chunkedAsked), 'abc');

  const stream10 = prepareResponse({ statuscode: 200, message: ['a', 'b'] }, { ...GET10, keepAlive: true });
  t.equal(stream10.close, true, 'HTTP/1.0 stream is close-delimited');
  t.equal(stream10.chunked, false);
  t.match(headOf(stream10), /^HTTP\/1\.0 200 OK\r\n[^]*Connection: close\r\n\r\n$/);
  t.equal(await streamed(stream10), 'ab');

  const declared = prepareResponse({ statuscode: 200, headers: { 'Content-Length': '2' }, message: ['a', 'b'] }, GET11);
  t.equal(declared.declaredLength, 2);
  t.match(headOf(declared), /Content-Length: 2\r\n/);

  const keep10 = prepareResponse({ statuscode: 200, message: 'x' }, { ...GET10, keepAlive: true });
  t.match(headOf(keep10), /Connection: keep-alive\r\n/);

  const close11 = prepareResponse({ statuscode: 200, headers: { Connection: 'Keep-Alive, close' }, message: 'x' }, GET11);
  t.equal(close11.close, true, "the callback's Connection: close is honoured");
  t.equal(headOf(close11).match(/Connection:/g)?.length, 1, 'one Connection field');
  t.match(headOf(close11), /\r\nConnection: close\r\n/, 'the decision is written');

  const skipped = prepareResponse({ statuscode: 200, headers: { A: undefined, B: null, C: 'c' } }, GET11);
  t.notMatch(headOf(skipped), /\r\n(A|B):/, 'undefined and null header values are left out');
  t.match(headOf(skipped), /\r\nC: c\r\n/);

  const dated = prepareResponse({ statuscode: 200, headers: { Date: 'Thu, 01 Jan 1970 00:00:00 GMT' } }, GET11);
  t.equal(headOf(dated).match(/Date:/g)?.length, 1, "the callback's Date wins");
});

t.test('no content for HEAD, 204, 304', async (t) => {
  const head = prepareResponse({ statuscode: 200, message: 'four' }, HEAD11);
  t.match(headOf(head), /Content-Length: 4\r\n/);
  t.equal(bodyOf(head), undefined);
  const headStream = prepareResponse({ statuscode: 200, message: ['x'] }, HEAD11);
  t.notMatch(headOf(headStream), /Content-Length|Transfer-Encoding/);
  t.equal(headStream.stream, null);
  const headDeclared = prepareResponse({ statuscode: 200, headers: { 'Content-Length': 99 }, message: ['x'] }, HEAD11);
  t.match(headOf(headDeclared), /Content-Length: 99\r\n/);
  for (const status of [204, 304]) {
    const r = prepareResponse({ statuscode: status, message: 'ignored' }, GET11);
    t.notMatch(headOf(r), /Content-Length|Transfer-Encoding/, `${status}: no framing fields`);
    t.equal(bodyOf(r), undefined);
  }
});

t.test('HTTP/0.9 answers are the body only', async (t) => {
  const r = prepareResponse({ statuscode: 200, message: 'raw' }, { method: 'GET', version: '0.9', keepAlive: false });
  t.equal(r.head, null);
  t.equal(bodyOf(r), 'raw');
  t.equal(r.close, true);
  const asked = prepareResponse({ statuscode: 200, version: '0.9', message: 'raw' }, GET11);
  t.equal(asked.head, null, 'a callback may ask for 0.9');
});

t.test('file-like close() failures are contained', async (t) => {
  const sync = prepareResponse({ statuscode: 200, message: { read: () => '', close: () => { throw new Error('x'); } } }, GET11);
  t.doesNotThrow(() => sync.cleanup());
  const asyncClose = prepareResponse({ statuscode: 200, message: { read: async () => '', close: async () => { throw new Error('x'); } } }, GET11);
  t.doesNotThrow(() => asyncClose.cleanup());
  const noClose = prepareResponse({ statuscode: 200, message: { read: () => new Uint8Array(0) } }, GET11);
  t.doesNotThrow(() => noClose.cleanup());
  t.equal(await streamed(noClose), '');
});

t.test('invalid dictionaries', async (t) => {
  const bad: [string, unknown][] = [
    ['undefined', undefined], ['array', []], ['string', 'x'],
    ['statusmsg not a string', { statuscode: 200, statusmsg: 5 }],
    ['headers not an object', { statuscode: 200, headers: 'x' }],
    ['headers as array', { statuscode: 200, headers: [] }],
    ['header value object', { statuscode: 200, headers: { A: {} } }],
    ['header value boolean', { statuscode: 200, headers: { A: true } }],
    ['header value NaN', { statuscode: 200, headers: { A: NaN } }],
    ['header value array with number', { statuscode: 200, headers: { A: ['a', 1] } }],
    ['header value > 0xff', { statuscode: 200, headers: { A: 'snowman ☃' } }],
    ['header value NUL', { statuscode: 200, headers: { A: 'a\0b' } }],
    ['header value leading space', { statuscode: 200, headers: { A: ' a' } }],
    ['empty header name', { statuscode: 200, headers: { '': 'a' } }],
    ['Content-Length twice', { statuscode: 200, headers: { 'Content-Length': ['1', '1'] }, message: 'x' }],
    ['Content-Length negative', { statuscode: 200, headers: { 'Content-Length': '-1' } }],
    ['statusmsg > 0xff', { statuscode: 200, statusmsg: 'ok ☃' }],
    ['version number', { statuscode: 200, version: 1.1 }],
  ];
  for (const [name, value] of bad) t.throws(() => prepareResponse(value, GET11), InvalidResponseError, name);
  const badChunk = prepareResponse({ statuscode: 200, message: [1 as unknown as string] }, GET11);
  await t.rejects(streamed(badChunk), InvalidResponseError, 'a chunk that is not string or bytes');
});

t.test('errorResponse and httpDate', async (t) => {
  t.match(errorResponse(400, 'X').toString(), /^HTTP\/1\.1 400 Bad Request\r\n[^]*Content-Length: 15\r\nConnection: close\r\n\r\nBad Request: X\n$/);
  t.equal(errorResponse(599, '').toString('latin1').split('\r\n\r\n')[1], 'Error\n');
  t.equal(errorResponse(400, 'X', '0.9').toString(), 'Bad Request: X\n');
  t.match(httpDate(), /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  t.equal(httpDate(), httpDate(), 'cached within a second');
});

t.test('httpDate follows the clock: the second after, a new date', async (t) => {
  // Timers fire in the order they are due, so a wait that ends after a
  // whole second has let the cache's timer (due at that second) run first.
  const pastNextSecond = (ms: number) => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + ms));
  // Not right after the earlier subtest's call: if a second ended since and
  // the event loop has not turned, the cache still holds that second (the
  // documented lag), which is not what this test is about.
  await pastNextSecond(100);
  const before = new Date().toUTCString();
  const first = httpDate();
  t.ok(first === before || first === new Date().toUTCString(), 'the current second');
  await pastNextSecond(30);
  const again = new Date().toUTCString();
  const next = httpDate();
  t.not(next, first);
  t.ok(next === again || next === new Date().toUTCString(), 'the new second');
});

t.test('closing() rewrites the Connection lines of a prepared response', async (t) => {
  const kept = prepareResponse({ statuscode: 200, headers: { Connection: 'keep-alive', 'X-A': '1' }, message: 'x' }, GET11);
  const c = closing(kept);
  t.equal(c.close, true);
  t.notMatch(c.head!, /keep-alive/);
  t.match(c.head!, /\r\nX-A: 1\r\n[^]*\r\nConnection: close\r\n\r\n$/);
  const ten = closing(prepareResponse({ statuscode: 200, message: 'x' }, { ...GET10, keepAlive: true }));
  t.match(ten.head!, /\r\nConnection: close\r\n\r\n$/);
  const already = prepareResponse({ statuscode: 200, message: 'x' }, GET10);
  t.equal(closing(already).head, already.head, 'already closing: unchanged');
  const old = prepareResponse({ statuscode: 200, message: 'x' }, { method: 'GET', version: '0.9', keepAlive: false });
  t.equal(closing(old).head, null, 'HTTP/0.9 has no head');
});
