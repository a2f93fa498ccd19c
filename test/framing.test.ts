// framing.ts: the message body length of RFC 9112 §6.3, rule by rule, for
// requests, responses and the response writer alike; and the two response
// rules that differ from a request's (docs/conformance.md).
import t from 'tap';
import { messageBodyLength, newFraming, sentFraming, type FramingFields } from '../src/parser/framing.js';
import { parseMessages } from '../src/parser/inspect.js';
import type { ResponseHead } from '../src/parser/parser.js';
import { HttpParseError } from '../src/errors.js';

const te = (...codings: string[]): FramingFields => Object.assign(newFraming(), { te: true, codings });
const res = (status: number, fields: FramingFields, method = 'GET'): unknown => {
  const r = messageBodyLength(fields, false, method, status, 7);
  return r instanceof HttpParseError ? r.code : r;
};
const req = (method: string, fields: FramingFields): unknown => {
  const r = messageBodyLength(fields, true, method, 0, 7);
  return r instanceof HttpParseError ? r.code : r;
};

t.test('RFC 9112 §6.3 in rule order', async (t) => {
  t.equal(res(200, sentFraming(5, false), 'HEAD'), 'none', 'rule 1: HEAD');
  t.equal(res(103, te('chunked')), 'none', 'rule 1: 1xx');
  t.equal(res(204, sentFraming(5, false)), 'none', 'rule 1: 204');
  t.equal(res(304, te('gzip')), 'none', 'rule 1: 304, framing fields ignored');
  t.equal(res(101, sentFraming(4, false)), 'tunnel', '101: the new protocol');
  t.equal(res(200, newFraming(), 'CONNECT'), 'tunnel', 'rule 2: 2xx to CONNECT');
  t.equal(res(407, sentFraming(3, false), 'CONNECT'), 'length', 'rule 2: only a 2xx');
  t.equal(res(200, te('chunked')), 'chunked', 'rule 4');
  t.equal(res(200, te('gzip')), 'until-close', 'rule 4: response, final coding not chunked');
  t.equal(res(200, te('chunked', 'gzip')), 'until-close', 'rule 4: response, chunked not final');
  t.equal(req('POST', te('gzip')), 'TE_NOT_CHUNKED_FINAL', 'rule 4: request, final coding not chunked');
  t.equal(res(200, te('chunked', 'chunked')), 'TE_NOT_CHUNKED_FINAL', 'chunked twice (§6.1)');
  t.equal(res(200, te('gzip', 'chunked')), 'TE_UNSUPPORTED', 'a coding before chunked is not implemented');
  t.equal(res(200, te('chunked;')), 'TE_INVALID', 'chunked takes no parameters');
  t.equal(res(200, te()), 'TE_INVALID', 'no coding');
  t.equal(req('CONNECT', te('gzip')), 'TE_NOT_CHUNKED_FINAL', 'a CONNECT request: the codings are still checked');
  t.equal(req('CONNECT', sentFraming(5, false)), 'tunnel', 'a CONNECT request has no content');
  t.equal(res(200, sentFraming(0, false)), 'length', 'rule 6');
  t.equal(req('GET', newFraming()), 'none', 'rule 7');
  t.equal(res(200, newFraming()), 'until-close', 'rule 8');
});

t.test('a response whose final coding is not chunked runs until the connection closes', async (t) => {
  for (const coding of ['gzip', 'chunked, gzip']) {
    const bytes = Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${coding}\r\n\r\nabc`, 'latin1');
    const r = parseMessages(bytes, { kind: 'response', eof: true });
    t.equal(r.error, null, coding);
    const head = r.messages[0]!.head as ResponseHead;
    t.same([head.closeDelimited, head.keepAlive, head.chunked, r.messages[0]!.body.toString(), r.messages[0]!.complete], [true, false, false, 'abc', true], coding);
  }
  const r = parseMessages(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 'latin1'));
  t.equal(r.error?.code, 'TE_NOT_CHUNKED_FINAL', 'a request still gets 400');
});

t.test('a stray CRLF after a response is ignored, keep-alive or not', async (t) => {
  const after = (first: string): ReturnType<typeof parseMessages> =>
    parseMessages(Buffer.from(`${first}\r\nHTTP/1.1 204 No Content\r\n\r\n`, 'latin1'), { kind: 'response' });
  const keep = after('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  t.equal(keep.error, null, 'after a keep-alive response');
  t.same(keep.messages.map((m) => [(m.head as ResponseHead).status, m.head.offset]), [[200, 0], [204, 40]], 'the next status line, at its own offset');
  const interim = after('HTTP/1.1 100 Continue\r\n\r\n');
  t.same(interim.messages.map((m) => (m.head as ResponseHead).status), [100, 204], 'after an interim response');
  const close = parseMessages(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n\r\n', 'latin1'), { kind: 'response' });
  t.equal(close.error, null, 'after Connection: close');
  t.equal(parseMessages(Buffer.from('\rHTTP/1.1 200 OK\r\n\r\n', 'latin1'), { kind: 'response' }).error?.code, 'BARE_CR', 'a lone CR is still refused');
});

t.test('HTTP/1.0: a 1xx is interim, then the final response decides', async (t) => {
  const r = parseMessages(Buffer.from('HTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', 'latin1'), { kind: 'response' });
  t.equal(r.error, null);
  t.same(r.messages.map((m) => [(m.head as ResponseHead).status, m.body.toString(), m.complete]), [[100, '', true], [200, 'ok', true]]);
});
