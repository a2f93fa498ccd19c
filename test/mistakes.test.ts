// Common mistakes get messages that say what to do (issue #10): a Promise
// where a value is expected ("did you forget await?"), the statuscode range,
// and a forbidden character named with its code point and the rule.
import t from 'tap';
import { prepareResponse, type ResponseContext } from '../src/server/response.js';
import { boundAddress, registerCallback, stopCallback } from '../src/server/server.js';
import { InvalidResponseError } from '../src/errors.js';
import { Client, serve } from './helpers/wire.js';

const GET11: ResponseContext = { method: 'GET', version: '1.1', keepAlive: true };

function messageOf(result: unknown): string {
  try {
    prepareResponse(result, GET11);
  } catch (err) {
    if (!(err instanceof InvalidResponseError)) throw err;
    return err.message;
  }
  throw new Error('no error');
}

t.test('a Promise where a value is expected: did you forget await?', async (t) => {
  const p = Promise.resolve('x');
  t.equal(messageOf({ statuscode: 200, message: p }), 'callback returned an invalid response: message is a Promise — did you forget await?');
  t.equal(messageOf({ statuscode: Promise.resolve(200) }), 'callback returned an invalid response: statuscode is a Promise — did you forget await?');
  t.equal(messageOf({ statuscode: 200, headers: Promise.resolve({}) }), 'callback returned an invalid response: headers is a Promise — did you forget await?');
  t.equal(messageOf({ statuscode: 200, headers: { ETag: p } }), 'callback returned an invalid response: header "ETag" is a Promise — did you forget await?');
  t.equal(messageOf({ statuscode: 200, statusmsg: p }), 'callback returned an invalid response: statusmsg is a Promise — did you forget await?');
  // Any thenable, not only a native Promise.
  t.match(messageOf({ statuscode: 200, message: { then() {} } }), 'message is a Promise — did you forget await?');
});

t.test('statuscode must be an integer 200-599', async (t) => {
  for (const v of [99, 600, 200.5, '200', null]) t.match(messageOf({ statuscode: v }), 'statuscode must be an integer 200-599, got ');
  t.match(messageOf({ statuscode: 101 }), 'interim (1xx) response');
});

t.test('a forbidden character is named, with the rule', async (t) => {
  t.equal(messageOf({ statuscode: 200, headers: { 'X-Name': 'caf日' } }),
    'callback returned an invalid response: header "X-Name" has a forbidden character \'日\' (U+65E5) in its value; ' +
    'values must be Latin-1 (ISO-8859-1) text without control characters, or encoded (e.g. encodeURIComponent / RFC 8187)');
  t.match(messageOf({ statuscode: 200, headers: { 'X-A': 'a\nb' } }), "forbidden character '\\n' (U+000A) in its value; values must be Latin-1 (ISO-8859-1)");
  t.match(messageOf({ statuscode: 200, headers: { 'X-A': 'a\rb' } }), "'\\r' (U+000D)");
  t.match(messageOf({ statuscode: 200, headers: { 'X-A': 'a\x1bb' } }), "'\\x1b' (U+001B)");
  t.match(messageOf({ statuscode: 200, headers: { 'X-A': 'a\x7f' } }), "'\\x7f' (U+007F)");
  t.match(messageOf({ statuscode: 200, headers: { 'X-A': 'smile 😀' } }), "'😀' (U+1F600)", 'a whole code point, not half a surrogate pair');
  t.match(messageOf({ statuscode: 200, headers: { 'X Name': 'v' } }), `header name "X Name" has a forbidden character ' ' (U+0020); names must be tokens`);
  t.match(messageOf({ statuscode: 200, headers: { 'X-名': 'v' } }), `header name "X-名" has a forbidden character '名' (U+540D)`);
  t.match(messageOf({ statuscode: 200, headers: { '': 'v' } }), 'header name "" is empty');
  t.equal(messageOf({ statuscode: 200, statusmsg: 'OK\r\nX: y' }),
    "callback returned an invalid response: statusmsg has a forbidden character '\\r' (U+000D); it must be Latin-1 (ISO-8859-1) text without control characters");
  t.match(messageOf({ statuscode: 200, statusmsg: 'Gut 日' }), "'日' (U+65E5)");
  // Latin-1 itself is fine.
  t.doesNotThrow(() => prepareResponse({ statuscode: 200, statusmsg: 'Très bien', headers: { 'X-A': 'café' } }, GET11));
});

t.test('over the wire: message: req.datastream.read() un-awaited → 500, onError says so', async (t) => {
  const errors: unknown[] = [];
  const { port } = await serve(t, (req) => ({ statuscode: 200, message: req.datastream.read() as never }), { onError: (e) => errors.push(e) });
  const c = new Client(port);
  await c.ready;
  t.teardown(() => c.destroy());
  c.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi');
  const [r] = await c.responses(1);
  t.equal(r!.status, 500);
  t.equal(errors.length, 1);
  t.type(errors[0], InvalidResponseError);
  t.match((errors[0] as Error).message, 'message is a Promise — did you forget await?');
});

t.test('stopCallback and boundAddress of an un-awaited registerCallback: TypeError with the hint', async (t) => {
  const pending = registerCallback(['127.0.0.1', 0], () => ({ statuscode: 204 }));
  const hint = { name: 'TypeError', message: 'id is a Promise — did you forget await? (registerCallback resolves with the id)' };
  await t.rejects(stopCallback(pending as never), hint);
  t.throws(() => boundAddress(pending as never), hint);
  const id = await pending;
  await stopCallback(id);
  await t.rejects(stopCallback(id), { name: 'KeyError' }, 'an unknown id is still a KeyError');
});
