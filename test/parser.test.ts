// The parser as a table: raw bytes → expected messages or error. Every case
// is parsed whole, at every prefix (a valid input's prefix is never an
// error), at every single split point and one byte at a time (always the
// same answer), as picohttpparser, uWebSockets and llhttp test theirs.
import t, { type Test } from 'tap';
import { parseMessages } from '../src/parser/inspect.js';
import { RequestParser, ResponseParser, type ParserOptions, type RequestHead, type ResponseHead } from '../src/parser/parser.js';
import { HttpParseError, type ParseErrorCode } from '../src/errors.js';
import { normOutcome } from './helpers/outcome.js';

interface Msg {
  method?: string;
  target?: string;
  status?: number;
  reason?: string;
  version?: string;
  headers?: [string, string][];
  body?: string;
  trailers?: [string, string][];
  keepAlive?: boolean;
  upgrade?: boolean;
  expectContinue?: boolean;
  complete?: boolean;
}

interface Case {
  name: string;
  raw: string;
  msgs?: Msg[];
  error?: ParseErrorCode;
  offset?: number;
  opts?: ParserOptions & { kind?: 'request' | 'response'; head?: boolean; eof?: boolean };
}

const H = 'Host: a\r\n';
const ok = (name: string, raw: string, msgs: Msg[], opts?: Case['opts']): Case => ({ name, raw, msgs, ...(opts ? { opts } : {}) });
const bad = (name: string, raw: string, error: ParseErrorCode, offset?: number, opts?: Case['opts']): Case => ({ name, raw, error, ...(offset !== undefined ? { offset } : {}), ...(opts ? { opts } : {}) });

const requests: Case[] = [
  // ---- request line (RFC 9112 §3)
  ok('simple GET', `GET / HTTP/1.1\r\n${H}\r\n`, [{ method: 'GET', target: '/', version: '1.1', headers: [['Host', 'a']], body: '', keepAlive: true }]),
  ok('HTTP/1.0 closes by default', 'GET /x HTTP/1.0\r\n\r\n', [{ method: 'GET', target: '/x', version: '1.0', headers: [], keepAlive: false }]),
  ok('HTTP/1.0 keep-alive', 'GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', [{ version: '1.0', keepAlive: true }]),
  ok('HTTP/1.1 Connection: close', `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, [{ keepAlive: false }]),
  ok('HTTP/1.9 is handled as 1.1 (RFC 9112 §2.3)', `GET / HTTP/1.9\r\n${H}\r\n`, [{ version: '1.1' }]),
  ok('extension method', `PURGE /c HTTP/1.1\r\n${H}\r\n`, [{ method: 'PURGE' }]),
  ok('method is case-sensitive, kept as sent', `get / HTTP/1.1\r\n${H}\r\n`, [{ method: 'get' }]),
  ok('leading empty lines ignored (RFC 9112 §2.2)', `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, [{ method: 'GET' }]),
  ok('target with query and odd visible chars', `GET /a?b=1&c="d"|{e} HTTP/1.1\r\n${H}\r\n`, [{ target: '/a?b=1&c="d"|{e}' }]),
  ok('absolute-form', 'GET http://a.example:81/p?q HTTP/1.1\r\nHost: a.example:81\r\n\r\n', [{ target: 'http://a.example:81/p?q' }]),
  ok('asterisk-form for OPTIONS', `OPTIONS * HTTP/1.1\r\n${H}\r\n`, [{ method: 'OPTIONS', target: '*' }]),
  ok('CONNECT authority-form stops parsing (tunnel)', 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\nbinary', [{ method: 'CONNECT', target: 'a.example:443', upgrade: true }]),
  ok('HTTP/0.9 simple request', 'GET /old\r\n', [{ method: 'GET', target: '/old', version: '0.9', headers: [], keepAlive: false }]),
  bad('HTTP/0.9 needs GET', 'POST /old\r\n', 'HTTP09_INVALID', 5),
  bad('HTTP/0.9 needs origin-form', 'GET *\r\n', 'HTTP09_INVALID', 4),
  bad('empty method', ' / HTTP/1.1\r\n\r\n', 'METHOD_INVALID', 0),
  bad('method with a separator', 'GE(T / HTTP/1.1\r\n\r\n', 'METHOD_INVALID', 2),
  bad('method then CRLF', 'GET\r\n\r\n', 'REQUEST_LINE_INVALID', 3),
  bad('tab between method and target', 'GET\t/ HTTP/1.1\r\n\r\n', 'METHOD_INVALID', 3),
  bad('two spaces before the target', 'GET  / HTTP/1.1\r\n\r\n', 'REQUEST_LINE_INVALID', 4),
  bad('two spaces before the version', 'GET /  HTTP/1.1\r\n\r\n', 'VERSION_INVALID', 6),
  bad('space in target', 'GET /a b HTTP/1.1\r\n\r\n', 'VERSION_INVALID', 7),
  bad('non-ASCII in target', 'GET /\xce\xb4 HTTP/1.1\r\n\r\n', 'TARGET_INVALID', 5),
  bad('NUL in target', 'GET /\x00 HTTP/1.1\r\n\r\n', 'TARGET_INVALID', 5),
  bad('lower-case http', 'GET / http/1.1\r\n\r\n', 'VERSION_INVALID', 6),
  bad('version with two digits', 'GET / HTTP/1.10\r\n\r\n', 'VERSION_INVALID', 14),
  bad('trailing space after version', 'GET / HTTP/1.1 \r\n\r\n', 'VERSION_INVALID', 14),
  bad('HTTP/2.0 → 505', 'GET / HTTP/2.0\r\n\r\n', 'VERSION_NOT_SUPPORTED', 6),
  bad('HTTP/0.9 spelled out → 505', 'GET / HTTP/0.9\r\n\r\n', 'VERSION_NOT_SUPPORTED', 6),
  bad('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HTTP2_PREFACE', 0),
  bad('http absolute-form without a host (RFC 9110 §4.2.1)', `GET http: HTTP/1.1\r\n${H}\r\n`, 'TARGET_INVALID', 4),
  bad('http absolute-form with an empty host', `GET http:///x HTTP/1.1\r\n${H}\r\n`, 'TARGET_INVALID', 4),
  bad('http absolute-form with only a port', `GET http://:80/ HTTP/1.1\r\n${H}\r\n`, 'TARGET_INVALID', 4),
  ok('http absolute-form with userinfo and IPv6', `GET http://u:p@[::1]:8/x HTTP/1.1\r\n${H}\r\n`, [{ target: 'http://u:p@[::1]:8/x' }]),
  ok('other schemes are not checked for a host', `GET urn:isbn:123 HTTP/1.1\r\n${H}\r\n`, [{ target: 'urn:isbn:123' }]),
  ok('Upgrade in HTTP/1.0 is ignored (RFC 9110 §7.8)', 'GET / HTTP/1.0\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\nGET /b HTTP/1.0\r\n\r\n', [{ upgrade: false }, { target: '/b' }]),
  ok('CONNECT Content-Length is not a body (RFC 9110 §9.3.6)', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 999999999999999\r\n\r\n', [{ upgrade: true }]),
  bad('origin-form must start with /', `GET a/b HTTP/1.1\r\n${H}\r\n`, 'TARGET_INVALID', 4),
  bad('asterisk-form only for OPTIONS', `GET * HTTP/1.1\r\n${H}\r\n`, 'TARGET_INVALID', 4),
  bad('CONNECT needs host:port', 'CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n', 'TARGET_INVALID', 8),
  bad('request line too long → 414', `GET /${'a'.repeat(100)} HTTP/1.1\r\n${H}\r\n`, 'URI_TOO_LONG', 64, { maxRequestLineSize: 64 }),
  ok('request line exactly at the limit', `GET /${'a'.repeat(50)} HTTP/1.1\r\n${H}\r\n`, [{ method: 'GET' }], { maxRequestLineSize: 64 }),
  bad('endless leading CRLF', '\r\n'.repeat(40), 'REQUEST_LINE_INVALID', 64, { maxRequestLineSize: 64 }),

  // ---- line endings (RFC 9112 §2.2)
  bad('bare LF after the request line', 'GET / HTTP/1.1\nHost: a\n\n', 'BARE_LF', 14),
  bad('bare LF after a field', `GET / HTTP/1.1\r\nHost: a\n\r\n`, 'BARE_LF', 23),
  bad('bare CR in the request line', 'GET / HTTP/1.1\rHost: a\r\n\r\n', 'BARE_CR', 14),
  bad('bare CR in a value', `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, 'BARE_CR', 29),
  bad('CR then X ending the head', `GET / HTTP/1.1\r\n${H}\rX`, 'BARE_CR', 25),
  ok('bare LF allowed by option', 'GET / HTTP/1.1\nHost: a\nX: 1\n\n', [{ headers: [['Host', 'a'], ['X', '1']] }], { allowBareLF: true }),
  ok('bare LF chunked allowed by option', 'POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n', [{ body: 'abc' }], { allowBareLF: true }),
  ok('bare LF on HTTP/0.9 allowed by option', 'GET /\n', [{ version: '0.9' }], { allowBareLF: true }),

  // ---- field lines (RFC 9112 §5, RFC 9110 §5)
  ok('OWS trimmed, inner spaces kept', `GET / HTTP/1.1\r\n${H}X:  \t a  b \t \r\nY:\r\n\r\n`, [{ headers: [['Host', 'a'], ['X', 'a  b'], ['Y', '']] }]),
  ok('obs-text allowed in values', `GET / HTTP/1.1\r\n${H}X: D\xfcsseldorf\r\n\r\n`, [{ headers: [['Host', 'a'], ['X', 'D\xfcsseldorf']] }]),
  ok('NBSP is not OWS: kept in the value', `GET / HTTP/1.1\r\n${H}X: \xa0v\xa0\r\n\r\n`, [{ headers: [['Host', 'a'], ['X', '\xa0v\xa0']] }]),
  ok('repeated fields kept in order', `GET / HTTP/1.1\r\n${H}A: 1\r\na: 2\r\n\r\n`, [{ headers: [['Host', 'a'], ['A', '1'], ['a', '2']] }]),
  bad('space before colon', `GET / HTTP/1.1\r\n${H}Content-Length : 1\r\n\r\nx`, 'HEADER_NAME_INVALID', 39),
  bad('empty field name', `GET / HTTP/1.1\r\n: x\r\n\r\n`, 'HEADER_NAME_INVALID', 16),
  bad('line without colon', `GET / HTTP/1.1\r\n${H}Foo\r\n\r\n`, 'HEADER_NAME_INVALID', 28),
  bad('non-token in name', `GET / HTTP/1.1\r\nF@o: x\r\n\r\n`, 'HEADER_NAME_INVALID', 17),
  bad('non-ASCII in name', `GET / HTTP/1.1\r\n\xefoo: x\r\n\r\n`, 'HEADER_NAME_INVALID', 16),
  bad('obs-fold', `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 'OBS_FOLD', 31),
  bad('whitespace before the first field', 'GET / HTTP/1.1\r\n Host: a\r\n\r\n', 'OBS_FOLD', 16),
  bad('NUL in value', `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`, 'HEADER_VALUE_INVALID', 29),
  bad('DEL in value', `GET / HTTP/1.1\r\n${H}X: a\x7fb\r\n\r\n`, 'HEADER_VALUE_INVALID', 29),
  bad('form feed in value', `GET / HTTP/1.1\r\n${H}X: a\x0cb\r\n\r\n`, 'HEADER_VALUE_INVALID', 29),
  bad('too many fields → 431', `GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\nC: 3\r\n\r\n`, 'TOO_MANY_HEADERS', 37, { maxHeaderCount: 3 }),
  ok('exactly the field count limit', `GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\n\r\n`, [{ method: 'GET' }], { maxHeaderCount: 3 }),
  bad('header section too large → 431', `GET / HTTP/1.1\r\n${H}X: ${'v'.repeat(100)}\r\n\r\n`, 'HEADERS_TOO_LARGE', 16 + 40, { maxHeaderSize: 40 }),

  // ---- Host (RFC 9112 §3.2)
  bad('HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 'HOST_MISSING', 18),
  ok('HTTP/1.1 without Host, requireHost false', 'GET / HTTP/1.1\r\n\r\n', [{ method: 'GET' }], { requireHost: false }),
  ok('HTTP/1.0 without Host', 'GET / HTTP/1.0\r\n\r\n', [{ version: '1.0' }]),
  ok('empty Host', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', [{ headers: [['Host', '']] }]),
  ok('IPv6 Host', 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', [{ headers: [['Host', '[::1]:8080']] }]),
  bad('two Host fields', `GET / HTTP/1.1\r\n${H}host: b\r\n\r\n`, 'HOST_DUPLICATE', 31),
  bad('Host with a path', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 'HOST_INVALID', 22),
  bad('Host with a bad port', 'GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n', 'HOST_INVALID', 22),

  // ---- Content-Length (RFC 9110 §8.6, RFC 9112 §6.3)
  ok('Content-Length body', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`, [{ body: 'hello' }]),
  ok('leading zeros', `POST / HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabc`, [{ body: 'abc' }]),
  ok('identical repeats agree', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc`, [{ body: 'abc' }]),
  ok('GET may carry content', `GET / HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhi`, [{ method: 'GET', body: 'hi' }]),
  ok('no framing means no content', `POST / HTTP/1.1\r\n${H}\r\n`, [{ body: '' }]),
  bad('CL with sign', `POST / HTTP/1.1\r\n${H}Content-Length: +1\r\n\r\nx`, 'CONTENT_LENGTH_INVALID', 42),
  bad('CL negative', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 'CONTENT_LENGTH_INVALID', 42),
  bad('CL hex', `POST / HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n`, 'CONTENT_LENGTH_INVALID', 42),
  bad('CL empty', `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`, 'CONTENT_LENGTH_INVALID', 41),
  bad('CL with inner space', `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\n`, 'CONTENT_LENGTH_INVALID', 42),
  bad('CL with NBSP', `POST / HTTP/1.1\r\n${H}Content-Length: \xa01\r\n\r\nx`, 'CONTENT_LENGTH_INVALID', 42),
  bad('CL overflow', `POST / HTTP/1.1\r\n${H}Content-Length: 1000000000000000000000\r\n\r\n`, 'CONTENT_LENGTH_INVALID', 42),
  bad('CL disagree', `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\n`, 'CONTENT_LENGTH_CONFLICT', 61),
  bad('CL list disagree', `POST / HTTP/1.1\r\n${H}Content-Length: 1, 2\r\n\r\n`, 'CONTENT_LENGTH_CONFLICT', 42),
  bad('CL over maxBodySize → 413', `POST / HTTP/1.1\r\n${H}Content-Length: 11\r\n\r\n`, 'BODY_TOO_LARGE', 48, { maxBodySize: 10 }),

  // ---- Transfer-Encoding (RFC 9112 §6.1, §6.3)
  ok('chunked body', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`, [{ body: 'hello world', trailers: [] }]),
  ok('chunk sizes in either case, leading zeros', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0a\r\nabcdefghij\r\n000\r\n\r\n`, [{ body: '0123456789abcdefghij' }]),
  ok('chunk extensions', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a;b=c;d="x \\"y\\""\r\nabc\r\n0;z\r\n\r\n`, [{ body: 'abc' }]),
  ok('trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nVary: *\r\nX-T: 1\r\n\r\n`, [{ body: 'x', trailers: [['Vary', '*'], ['X-T', '1']] }]),
  ok('TE is case-insensitive', `POST / HTTP/1.1\r\n${H}transfer-encoding: Chunked\r\n\r\n0\r\n\r\n`, [{ body: '' }]),
  bad('TE with CL → 400', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, 'TE_WITH_CONTENT_LENGTH', 70),
  bad('CL then TE → 400', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 'TE_WITH_CONTENT_LENGTH', 64),
  bad('gzip, chunked → 501', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`, 'TE_UNSUPPORTED', 62),
  bad('unknown final coding → 400 (RFC 9112 §6.3 rule 4)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: pigeons\r\n\r\n`, 'TE_NOT_CHUNKED_FINAL', 56),
  bad('identity final → 400 (removed in RFC 9112)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`, 'TE_NOT_CHUNKED_FINAL', 57),
  bad('chunked, gzip → 400 (chunked not final)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, 'TE_NOT_CHUNKED_FINAL', 62),
  bad('two lines: gzip then chunked → 501', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`, 'TE_UNSUPPORTED', 81),
  bad('chunked twice', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 'TE_NOT_CHUNKED_FINAL', 84),
  ok('empty list members are ignored (RFC 9110 §5.6.1.2)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked,\r\n\r\n1\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  bad('empty list member with CL is still TE+CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, 'TE_WITH_CONTENT_LENGTH', 71),
  bad('too many empty list members', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${','.repeat(9)}chunked\r\n\r\n`, 'TE_INVALID', 45),
  bad('empty TE names no coding', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`, 'TE_INVALID', 48),
  bad('chunked with a parameter', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;x=1\r\n\r\n`, 'TE_INVALID', 60),
  bad('NBSP around chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \xa0chunked\r\n\r\n`, 'TE_INVALID', 45),
  bad('TE in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'TE_IN_HTTP10', 36),

  // ---- chunked coding (RFC 9112 §7.1)
  bad('empty chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\n\r\n`, 'CHUNK_SIZE_INVALID', 56),
  bad('0x prefix', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x1\r\nx\r\n0\r\n\r\n`, 'CHUNK_SIZE_INVALID', 57),
  bad('space after size without extension', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n`, 'CHUNK_SIZE_INVALID', 58),
  ok('BWS around ";" and "=" in extensions (RFC 9112 §7.1.1)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1 ;\ta = "b" ; c\t;d=e\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  bad('BWS before CRLF after a value', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;a=b \r\nx\r\n0\r\n\r\n`, 'CHUNK_EXTENSION_INVALID', 62),
  bad('BWS before CRLF after a name', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;a \r\nx\r\n0\r\n\r\n`, 'CHUNK_EXTENSION_INVALID', 60),
  bad('CR is not BWS', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r;a\r\nx\r\n`, 'BARE_CR', 57),
  bad('space before size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n 1\r\nx\r\n0\r\n\r\n`, 'CHUNK_SIZE_INVALID', 56),
  bad('underscore in size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0_2e\r\n\r\n`, 'CHUNK_SIZE_INVALID', 57),
  bad('chunk size overflow', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n`, 'CHUNK_SIZE_TOO_LARGE', 69),
  bad('chunk over maxBodySize', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n`, 'BODY_TOO_LARGE', 69, { maxBodySize: 10 }),
  bad('data longer than the size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n`, 'CHUNK_DATA_END_INVALID', 60),
  bad('CR without LF after data', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nx\rX`, 'CHUNK_DATA_END_INVALID', 61),
  bad('bare LF after data', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n`, 'CHUNK_DATA_END_INVALID', 60),
  bad('bare CR in the chunk line', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\rx`, 'BARE_CR', 57),
  bad('bare LF in the chunk line', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n`, 'BARE_LF', 57),
  bad('empty extension name', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n`, 'CHUNK_EXTENSION_INVALID', 58),
  bad('a separator as extension name', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;=b\r\nx\r\n0\r\n\r\n`, 'CHUNK_EXTENSION_INVALID', 58),
  bad('unterminated quoted extension', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;a="b\r\nx\r\n`, 'CHUNK_EXTENSION_INVALID', 62),
  bad('chunk line too long', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(40)}\r\n`, 'CHUNK_EXTENSIONS_TOO_LARGE', 56 + 32, { maxChunkLineSize: 32 }),
  bad('chunk extensions too large over the message', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;aaaa\r\nx\r\n1;bbbb\r\nx\r\n`, 'CHUNK_EXTENSIONS_TOO_LARGE', 72, { maxChunkExtensionsSize: 8 }),
  bad('bad trailer name', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n`, 'HEADER_NAME_INVALID', 62),
  bad('folded trailer', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\n  2\r\n\r\n`, 'OBS_FOLD', 65),
  bad('too many trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n`, 'TOO_MANY_HEADERS', 71, { maxHeaderCount: 2 }),

  // ---- messages on one connection (RFC 9112 §9.3)
  ok('pipelined requests', `GET /1 HTTP/1.1\r\n${H}\r\nPOST /2 HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nxGET /3 HTTP/1.1\r\n${H}\r\n`,
    [{ target: '/1' }, { target: '/2', body: 'x' }, { target: '/3' }]),
  bad('data after Connection: close', `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET / HTTP/1.1\r\n`, 'DATA_AFTER_CLOSE', 46),
  ok('empty lines after a closing message are ignored', `GET / HTTP/1.0\r\n\r\n\r\n`, [{ version: '1.0' }]),
  ok('Upgrade stops parsing after the message', `GET / HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00`, [{ upgrade: true }]),
  ok('Upgrade without Connection: upgrade is ignored', `GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`, [{ upgrade: false }, { target: '/2' }]),
  ok('Expect: 100-continue', `PUT / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx`, [{ expectContinue: true, body: 'x' }]),
  ok('Expect on HTTP/1.0 is ignored', `PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx`, [{ expectContinue: false }]),
  bad('EOF in the middle of a head', `GET / HTTP/1.1\r\nHo`, 'UNEXPECTED_EOF', 18, { eof: true }),
  bad('EOF in the middle of a body', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nab`, 'UNEXPECTED_EOF', 49, { eof: true }),
  ok('EOF between messages is clean', `GET / HTTP/1.1\r\n${H}\r\n`, [{ method: 'GET' }], { eof: true }),
];

const responses: Case[] = [
  ok('response with Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', [{ status: 200, reason: 'OK', body: 'hi', keepAlive: true }], { kind: 'response' }),
  ok('close-delimited response', 'HTTP/1.1 200 OK\r\n\r\nabc', [{ status: 200, body: 'abc', keepAlive: false }], { kind: 'response', eof: true }),
  ok('chunked response with trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nhi\r\n0\r\nT: 1\r\n\r\n', [{ body: 'hi', trailers: [['T', '1']] }], { kind: 'response' }),
  ok('1xx then final', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', [{ status: 100 }, { status: 204, body: '' }], { kind: 'response' }),
  ok('reason phrase may be empty or missing', 'HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\nHTTP/1.1 201\r\nContent-Length: 0\r\n\r\n', [{ status: 200, reason: '' }, { status: 201, reason: '' }], { kind: 'response' }),
  ok('304 has no content', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', [{ status: 304, body: '' }], { kind: 'response' }),
  ok('HEAD response has no content', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', [{ status: 200, body: '' }], { kind: 'response', head: true }),
  ok('101 switches protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00', [{ status: 101, upgrade: true }], { kind: 'response' }),
  bad('bad status line', 'HTTP/1.1 2000 OK\r\n\r\n', 'STATUS_LINE_INVALID', 12, { kind: 'response' }),
  bad('not HTTP', 'ICY 200 OK\r\n\r\n', 'STATUS_LINE_INVALID', 0, { kind: 'response' }),
  bad('status below 100', 'HTTP/1.1 099 X\r\n\r\n', 'STATUS_LINE_INVALID', 9, { kind: 'response' }),
  bad('HTTP/2 response', 'HTTP/2.0 200 OK\r\n\r\n', 'VERSION_NOT_SUPPORTED', 0, { kind: 'response' }),
  ok('response without content ignores its Transfer-Encoding', 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n', [{ status: 204, body: '' }], { kind: 'response' }),
  bad('response with a coding it cannot decode', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'TE_UNSUPPORTED', 53, { kind: 'response' }),
  ok('a user agent unfolds obs-fold (RFC 9112 §5.2)', 'HTTP/1.1 200 OK\r\nX: a\r\n \t b \r\nY:\r\n c\r\nContent-Length: 0\r\n\r\n', [{ headers: [['X', 'a b'], ['Y', 'c'], ['Content-Length', '0']] }], { kind: 'response' }),
  bad('a folded framing field is refused even in a response', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 0\r\n\r\n', 'OBS_FOLD', 36, { kind: 'response' }),
  bad('a fold before any field is refused', 'HTTP/1.1 200 OK\r\n X: a\r\n\r\n', 'OBS_FOLD', 17, { kind: 'response' }),
  ok('a folded trailer in a response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n 2\r\n\r\n', [{ trailers: [['T', '1 2']] }], { kind: 'response' }),
  bad('response TE+CL', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n', 'TE_WITH_CONTENT_LENGTH', 61, { kind: 'response' }),
  bad('response body too large', 'HTTP/1.1 200 OK\r\n\r\n0123456789abc', 'BODY_TOO_LARGE', 29, { kind: 'response', maxBodySize: 10 }),
];


function check(t: Test, c: Case): void {
  const raw = Buffer.from(c.raw, 'latin1');
  const opts = c.opts ?? {};
  const whole = parseMessages(raw, opts);
  if (c.error) {
    t.equal(whole.error?.code, c.error, 'error code');
    if (c.offset !== undefined) t.equal(whole.error?.offset, c.offset, 'error offset');
    t.ok(whole.error instanceof HttpParseError, 'typed error');
  } else {
    t.equal(whole.error, null, `no error${whole.error ? ` (got ${whole.error.message})` : ''}`);
    const msgs = c.msgs!;
    t.equal(whole.messages.length, msgs.length, 'message count');
    msgs.forEach((want, k) => {
      const got = whole.messages[k];
      if (!got) return;
      const head = got.head as RequestHead & ResponseHead;
      t.equal(got.complete, want.complete ?? true, `[${k}] complete`);
      for (const key of ['method', 'target', 'status', 'reason', 'version', 'keepAlive', 'upgrade', 'expectContinue'] as const) {
        if (want[key] !== undefined) t.equal(head[key], want[key], `[${k}] ${key}`);
      }
      if (want.headers) t.same(head.rawHeaders, want.headers, `[${k}] headers`);
      if (want.body !== undefined) t.equal(got.body.toString('latin1'), want.body, `[${k}] body`);
      if (want.trailers) t.same(got.trailers, want.trailers, `[${k}] trailers`);
    });
  }
  // Every prefix of a valid input is "needs more", never an error; for an
  // invalid one, every prefix up to the error offset is clean.
  const cleanUpTo = c.error ? Math.min(raw.length, whole.error?.offset ?? 0) : raw.length;
  let prefixErrors = 0;
  for (let k = 0; k < cleanUpTo; k++) {
    const r = parseMessages(raw.subarray(0, k), { ...opts, eof: false });
    if (r.error) prefixErrors++;
  }
  t.equal(prefixErrors, 0, 'no prefix is an error');
  // Every split point and byte-at-a-time give the same answer as whole.
  const want = normOutcome(whole);
  let splitDiffs = 0;
  for (let k = 1; k < raw.length; k++) if (normOutcome(parseMessages(raw, { ...opts, splitAt: [k] })) !== want) splitDiffs++;
  t.equal(splitDiffs, 0, 'same result at every split point');
  t.equal(normOutcome(parseMessages(raw, { ...opts, split: 1 })), want, 'same result byte by byte');
}

t.test('requests', async (t) => {
  for (const c of requests) t.test(c.name, async (t) => check(t, c));
});

t.test('responses', async (t) => {
  for (const c of responses) t.test(c.name, async (t) => check(t, { ...c, opts: { kind: 'response', ...c.opts } }));
});

t.test('a head fed one byte at a time is scanned once (no quadratic rescans)', async (t) => {
  const value = 'v'.repeat(12000);
  const raw = Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nX: ${value}\r\n\r\n`, 'latin1');
  const p = new RequestParser();
  let events = 0;
  for (let k = 0; k < raw.length; k++) {
    p.push(raw.subarray(k, k + 1));
    for (let ev = p.next(); ev.type !== 'partial'; ev = p.next()) {
      events++;
      if (ev.type === 'head') t.equal(ev.head.rawHeaders[1]![1].length, value.length, 'long value intact');
    }
  }
  t.equal(events, 2, 'head and end');
  t.equal(p.offset, raw.length, 'every byte consumed');
});

t.test('consumption is monotonic and data events are views of the input', async (t) => {
  const p = new RequestParser();
  const body = Buffer.from('0123456789');
  p.push(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n'));
  p.push(body.subarray(0, 4));
  p.push(body.subarray(4));
  const seen: string[] = [];
  let last = 0;
  for (let ev = p.next(); ev.type !== 'partial'; ev = p.next()) {
    t.ok(p.offset >= last, 'offset never goes back');
    last = p.offset;
    seen.push(ev.type);
    if (ev.type === 'data') t.equal(ev.data.buffer, body.buffer, 'zero-copy slice');
  }
  t.same(seen, ['head', 'data', 'data', 'end']);
});

t.test('an error is sticky', async (t) => {
  const p = new RequestParser();
  p.push(Buffer.from('GET / HTTP/1.1\r\nBad Name: x\r\n\r\n'));
  const a = p.next();
  p.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
  const b = p.next();
  t.equal(a.type, 'error');
  t.equal(b.type, 'error');
  t.ok(p.done);
  if (a.type === 'error') t.same(a.error.toJSON(), { code: 'HEADER_NAME_INVALID', status: 400, offset: 19, reason: 'invalid character in field name' });
});

t.test('takeRemaining returns the bytes after an upgrade', async (t) => {
  const p = new RequestParser();
  p.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nabc'));
  p.push(Buffer.from('def'));
  for (let ev = p.next(); ev.type !== 'partial'; ev = p.next());
  t.ok(p.upgraded);
  t.equal(p.takeRemaining().toString(), 'abcdef');
});

t.test('ResponseParser.expectNoBody for CONNECT: a 2xx is a tunnel', async (t) => {
  const p = new ResponseParser();
  p.expectNoBody('CONNECT');
  p.push(Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\ntunnel'));
  const ev = p.next();
  t.equal(ev.type, 'head');
  t.equal(p.next().type, 'end');
  t.ok(p.upgraded);
  t.equal(p.takeRemaining().toString(), 'tunnel');
});

t.test('a Buffer reused for new bytes is parsed anew (no stale cached string)', async (t) => {
  const p = new RequestParser();
  const buf = Buffer.from('GET /aaaa HTTP/1.1\r\nHost: a\r\n\r\n');
  p.push(buf);
  const first = p.next();
  p.next();
  buf.write('GET /bbbb HTTP/1.1\r\nHost: b\r\n\r\n');
  p.push(buf);
  const second = p.next();
  t.equal(first.type === 'head' ? first.head.target : null, '/aaaa');
  t.equal(second.type === 'head' ? second.head.target : null, '/bbbb');
  t.same(second.type === 'head' ? second.head.rawHeaders : null, [['Host', 'b']]);
});
