// The recipient and server requirements (MUST / MUST NOT) of RFC 9112 §2.2,
// §3, §5, §6, §7, §9.3 and RFC 9110 §5.5, §5.6, §8.6, one row each, with the
// section cited. Where test/parser.test.ts already has an equivalent row, a
// comment names it (`parser.test: '<row name>'`) instead of a duplicate.
//
// Each row is parsed whole, at every prefix (a clean prefix is never an
// error), at every split point and byte by byte: the same answer each time
// (for the two 8 KiB request lines: a sample of the prefixes and split points).
// A row whose current answer differs from the RFC carries the RFC's answer
// and a `todo` naming the difference: its assertions run and are marked
// todo (reported, not counted as failures).
//
// After the byte table: the CONNECT tunnel rule of the response parser, the
// server's own output (prepareResponse), and three socket tests for the
// rules that only a connection can show (§6.3 rule 6, §9.3).
import t, { type Test } from 'tap';
import { parseMessages } from '../src/parser/inspect.js';
import { ResponseParser, type ParserOptions, type RequestHead, type ResponseHead } from '../src/parser/parser.js';
import type { ParseErrorCode } from '../src/errors.js';
import { prepareResponse, type ResponseContext } from '../src/server/response.js';
import type { RequestDict } from '../src/server/request.js';
import { Client, parseReplies, serve } from './helpers/wire.js';
import { normOutcome } from './helpers/outcome.js';

interface Msg {
  method?: string;
  target?: string;
  status?: number;
  version?: string;
  headers?: [string, string][];
  /** One field whose value must match (when several spellings are right). */
  headerLike?: [string, RegExp];
  body?: string;
  trailers?: [string, string][];
  contentLength?: number | null;
  keepAlive?: boolean;
  expectContinue?: boolean;
  complete?: boolean;
}

interface Row {
  /** The section, e.g. 'RFC 9112 §5.1'. */
  sec: string;
  /** What the section requires, in a few words. */
  rule: string;
  raw: string;
  /** The rejection, or (without it) the messages. */
  error?: ParseErrorCode;
  offset?: number;
  msgs?: Msg[];
  /** True when the parser must be waiting for more bytes at the end. */
  partial?: boolean;
  opts?: ParserOptions & { kind?: 'request' | 'response' };
  todo?: string;
}

type Extra = { todo?: string };

const H = 'Host: a\r\n';
const TE = 'Transfer-Encoding: chunked\r\n';
const POST_CHUNKED = `POST / HTTP/1.1\r\n${H}${TE}\r\n`; // 56 bytes: the chunked body starts at offset 56
const ok = (sec: string, rule: string, raw: string, msgs: Msg[], more: Partial<Row> = {}): Row => ({ sec, rule, raw, msgs, ...more });
const bad = (sec: string, rule: string, raw: string, error: ParseErrorCode, offset: number | undefined, more: Partial<Row> = {}): Row => ({
  sec, rule, raw, error, ...(offset !== undefined ? { offset } : {}), ...more,
});


// prettier-ignore
const ROWS: Row[] = [
  // ---- RFC 9112 §2.2 Message Parsing
  ok('RFC 9112 §2.2', 'a recipient MUST parse a message as octets (an overlong UTF-8 LF is two octets, not a line end)',
    `GET / HTTP/1.1\r\n${H}X: \xc0\x8a\xe5\x98\x8a\r\n\r\n`, [{ headers: [['Host', 'a'], ['X', '\xc0\x8a\xe5\x98\x8a']] }]),
  // parser.test: 'obs-text allowed in values', 'NBSP is not OWS: kept in the value'
  bad('RFC 9112 §2.2', 'a bare CR MUST be treated as invalid: in the request-target', `GET /a\rb HTTP/1.1\r\n${H}\r\n`, 'BARE_CR', 6),
  bad('RFC 9112 §2.2', 'a bare CR MUST be treated as invalid: before the request line', `\rGET / HTTP/1.1\r\n${H}\r\n`, 'BARE_CR', 0),
  bad('RFC 9112 §2.2', 'a bare CR MUST be treated as invalid: in a field name', `GET / HTTP/1.1\r\n${H}X\r: a\r\n\r\n`, 'HEADER_NAME_INVALID', 26),
  bad('RFC 9112 §2.2', 'a bare CR MUST be treated as invalid: in a trailer value', `${POST_CHUNKED}0\r\nX: a\rb\r\n\r\n`, 'BARE_CR', 63),
  bad('RFC 9112 §2.2', 'a bare CR MUST be treated as invalid: in a quoted chunk extension', `${POST_CHUNKED}1;a="b\rc"\r\nx\r\n0\r\n\r\n`, 'CHUNK_EXTENSION_INVALID', 62),
  // parser.test: 'bare CR in the request line', 'bare CR in a value', 'CR then X ending the head', 'bare CR in the chunk line', 'CR without LF after data'
  bad('RFC 9112 §2.2', 'whitespace between start-line and first field MUST be rejected or the line ignored (HTAB)', 'GET / HTTP/1.1\r\n\tHost: a\r\n\r\n', 'OBS_FOLD', 16),
  bad('RFC 9112 §2.2', 'a whitespace-preceded first line is never used: its Content-Length does not frame', `POST / HTTP/1.1\r\n Content-Length: 5\r\n${H}\r\nhello`, 'OBS_FOLD', 17),
  // parser.test: 'whitespace before the first field' (SP)
  // SHOULD ignore at least one empty line before the request-line — parser.test: 'leading empty lines ignored (RFC 9112 §2.2)'
  // MAY recognise a bare LF — parser.test: 'bare LF allowed by option' (default refuses: 'bare LF after the request line', 'bare LF after a field')

  // ---- RFC 9112 §3 Request Line
  bad('RFC 9112 §3', 'a request-target longer than the server parses MUST get 414 (default limit)', `GET /${'a'.repeat(8200)} HTTP/1.1\r\n${H}\r\n`, 'URI_TOO_LONG', 8192),
  ok('RFC 9112 §3', 'request lines of 8000 octets are supported by default (RECOMMENDED minimum)', `GET /${'a'.repeat(7986)} HTTP/1.1\r\n${H}\r\n`, [{ method: 'GET' }]),
  // parser.test: 'request line too long → 414', 'request line exactly at the limit'; single SP: 'two spaces before the target', 'two spaces before the version'
  // §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host — parser.test: 'HTTP/1.1 without Host'
  bad('RFC 9112 §3.2', 'HTTP/1.1 without Host MUST get 400, even with an absolute-form target', 'GET http://a.example/ HTTP/1.1\r\n\r\n', 'HOST_MISSING', 34),
  // §3.2: more than one Host line MUST get 400 — parser.test: 'two Host fields'
  bad('RFC 9112 §3.2', 'more than one Host MUST get 400 in ANY request message (HTTP/1.0 too)', 'GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n', 'HOST_DUPLICATE', 31),
  bad('RFC 9112 §3.2', 'more than one Host MUST get 400 (the second one empty)', `GET / HTTP/1.1\r\n${H}Host:\r\n\r\n`, 'HOST_DUPLICATE', 30),
  // §3.2: a Host with an invalid value MUST get 400 — parser.test: 'Host with a path', 'Host with a bad port'
  bad('RFC 9112 §3.2', 'an invalid Host value MUST get 400 in any request (HTTP/1.0, SP inside)', 'GET / HTTP/1.0\r\nHost: a b\r\n\r\n', 'HOST_INVALID', 22),
  bad('RFC 9112 §3.2, RFC 9110 §7.2', 'an invalid Host value MUST get 400 (userinfo is not part of Host)', 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', 'HOST_INVALID', 22),
  // §3.2.2: a server MUST accept the absolute-form — parser.test: 'absolute-form'
  ok('RFC 9112 §3.2.2', 'the absolute-form MUST be accepted; its authority (not Host) names the target, so it is kept whole',
    'GET http://b.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n', [{ target: 'http://b.example/x?y', headers: [['Host', 'a.example']] }]),
  // §3.2.3/§3.2.4 forms per method — parser.test: 'CONNECT needs host:port', 'asterisk-form only for OPTIONS'

  // ---- RFC 9112 §5 Field Syntax
  // §5.1: a server MUST reject whitespace between field name and colon with 400 — parser.test: 'space before colon'
  bad('RFC 9112 §5.1', 'whitespace (HTAB) between field name and colon MUST get 400', `GET / HTTP/1.1\r\n${H}X\t: a\r\n\r\n`, 'HEADER_NAME_INVALID', 26),
  bad('RFC 9112 §5.1', 'whitespace between field name and colon MUST get 400, in a trailer field too', `${POST_CHUNKED}0\r\nX : a\r\n\r\n`, 'HEADER_NAME_INVALID', 60),
  // §5.1 OWS around the value is excluded — parser.test: 'OWS trimmed, inner spaces kept'
  ok('RFC 9112 §5', 'field names are case-insensitive: any case of Content-Length frames the body', `POST / HTTP/1.1\r\n${H}cONTENT-lENGTH: 2\r\n\r\nhi`, [{ contentLength: 2, body: 'hi' }]),
  bad('RFC 9112 §5, §3.2', 'field names are case-insensitive: hOsT and HOST are two Host lines', 'GET / HTTP/1.1\r\nhOsT: a\r\nHOST: b\r\n\r\n', 'HOST_DUPLICATE', 31),
  // §5.2: a server MUST reject obs-fold with 400 or replace it with SP — parser.test: 'obs-fold' (SP), 'folded trailer'
  bad('RFC 9112 §5.2', 'obs-fold (HTAB) in a request MUST get 400 or become SP', `GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`, 'OBS_FOLD', 31),
  bad('RFC 9112 §5.2', 'a folded Content-Length is refused, never read as "1 0" or 10', `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\n 0\r\n\r\n0123456789`, 'OBS_FOLD', 45),
  ok('RFC 9112 §5.2', 'a user agent MUST replace obs-fold in a response with SP (not reject it)',
    'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n', [{ status: 200, headerLike: ['X', /^a +b$/] }],
    { opts: { kind: 'response' } }),

  // ---- RFC 9110 §5.5 Field Values
  // CR, LF or NUL in a value: MUST reject or replace with SP — parser.test: 'NUL in value', 'bare CR in a value', 'bare LF after a field'
  bad('RFC 9110 §5.5', 'NUL in a field value MUST be rejected (or SP), also at its end', `GET / HTTP/1.1\r\n${H}X: evil\x00\r\n\r\n`, 'HEADER_VALUE_INVALID', 32),
  bad('RFC 9110 §5.5', 'NUL in a field value MUST be rejected (or SP), in a trailer too', `${POST_CHUNKED}0\r\nX: a\x00b\r\n\r\n`, 'HEADER_VALUE_INVALID', 63),
  // other CTLs MAY be retained; this parser refuses them — parser.test: 'DEL in value', 'form feed in value'
  // leading/trailing whitespace MUST be excluded from the value — parser.test: 'OWS trimmed, inner spaces kept'

  // ---- RFC 9110 §5.6 Common Rules
  ok('RFC 9110 §5.6.1.2, RFC 9112 §9.3', 'empty list elements MUST be ignored: Connection ",CLOSE," closes',
    `GET / HTTP/1.1\r\n${H}Connection: ,CLOSE,\r\n\r\n`, [{ keepAlive: false }]),
  ok('RFC 9110 §5.6.1.2, RFC 9112 §9.3', 'empty list elements MUST be ignored: HTTP/1.0 ", Keep-Alive" persists',
    'GET / HTTP/1.0\r\nConnection: , Keep-Alive\r\n\r\n', [{ version: '1.0', keepAlive: true }]),
  ok('RFC 9110 §5.6.1.2, §10.1.1', 'empty list elements MUST be ignored: Expect ", 100-continue"',
    `PUT / HTTP/1.1\r\n${H}Expect: , 100-continue\r\nContent-Length: 1\r\n\r\nx`, [{ expectContinue: true, body: 'x' }]),
  ok('RFC 9110 §5.6.1.2, RFC 9112 §6.1', 'empty list elements MUST be ignored: Transfer-Encoding ",chunked" is chunked',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  ok('RFC 9110 §5.6.1.2, RFC 9112 §6.1', 'empty list elements MUST be ignored: Transfer-Encoding "chunked, " is chunked',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, \r\n\r\n1\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  // parser.test: 'empty list members are ignored', 'empty TE names no coding' (a list of no coding frames nothing)
  bad('RFC 9110 §5.6.2, RFC 9112 §6.1', 'a transfer coding is a token: a DQUOTE inside is invalid', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chu"nked\r\n\r\n`, 'TE_INVALID', 45),
  // tokens elsewhere — parser.test: 'method with a separator', 'non-token in name', 'non-ASCII in name'
  ok('RFC 9110 §5.6.3, RFC 9112 §7.1.1', 'BWS MUST be parsed and removed: SP before ";" of a chunk extension',
    `${POST_CHUNKED}1 ;a=b\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  ok('RFC 9110 §5.6.3, RFC 9112 §7.1.1', 'BWS MUST be parsed and removed: SP around "=" of a chunk extension',
    `${POST_CHUNKED}1;a = "b"\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  // parser.test: 'BWS around ";" and "=" in extensions', and BWS anywhere else is still refused
  ok('RFC 9110 §5.6.4', 'a quoted-pair is the octet after "\\": an escaped DQUOTE does not end the string, ";" and "=" inside do not split it',
    `${POST_CHUNKED}1;a="\\";b=c"\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  // parser.test: 'chunk extensions' (d="x \"y\""), 'unterminated quoted extension'

  // ---- RFC 9110 §8.6 Content-Length
  // 1*DIGIT — parser.test: 'CL with sign', 'CL negative', 'CL hex', 'CL empty', 'CL with inner space', 'CL with NBSP'; decimal: 'leading zeros'
  ok('RFC 9110 §8.6', 'large numerals MUST be read without overflow: 15 digits, exact', `POST / HTTP/1.1\r\n${H}Content-Length: 999999999999999\r\n\r\n`,
    [{ contentLength: 999999999999999, complete: false }], { partial: true, opts: { maxBodySize: Infinity } }),
  bad('RFC 9110 §8.6', 'large numerals MUST NOT lose precision: 16 digits are refused, never rounded', `POST / HTTP/1.1\r\n${H}Content-Length: 1000000000000000\r\n\r\n`,
    'CONTENT_LENGTH_INVALID', 42, { opts: { maxBodySize: Infinity } }),
  // parser.test: 'CL overflow'; "42, 42" MAY be accepted — parser.test: 'identical repeats agree'
  bad('RFC 9110 §8.6', 'a value that is not the same decimal repeated MAY be rejected: "5,"', `POST / HTTP/1.1\r\n${H}Content-Length: 5,\r\n\r\nhello`, 'CONTENT_LENGTH_INVALID', 42),
  // a server MUST NOT send Content-Length in 1xx, 204 or a 2xx to CONNECT: see 'server output' below

  // ---- RFC 9112 §6 Message Body
  // §6.1 a recipient MUST parse chunked — parser.test: 'chunked body'
  // §6.1 HTTP/1.0 with Transfer-Encoding MUST be treated as faulty framing — parser.test: 'TE in HTTP/1.0'
  bad('RFC 9112 §6.1', 'HTTP/1.0 with Transfer-Encoding is faulty framing even with Content-Length', `POST / HTTP/1.0\r\nContent-Length: 1\r\n${TE}\r\n0\r\n\r\n`, 'TE_WITH_CONTENT_LENGTH', 55),
  // §6.1 CL with TE: MAY reject, MUST close (the close: test/garden.test.ts transducer-23) — parser.test: 'TE with CL → 400', 'CL then TE → 400'
  bad('RFC 9112 §6.1, §6.3 rule 3', 'Content-Length: 0 with Transfer-Encoding is refused like any CL with TE', `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n${TE}\r\n0\r\n\r\n`, 'TE_WITH_CONTENT_LENGTH', 64),
  // §6.3 rule 1: HEAD, 1xx, 204, 304 responses end at the empty line — parser.test: '304 has no content', 'HEAD response has no content', '1xx then final'
  ok('RFC 9112 §6.3 rule 1', 'a 204 ends at the empty line whatever its Transfer-Encoding says',
    'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', [{ status: 204, body: '' }, { status: 200, body: 'ok' }], { opts: { kind: 'response' } }),
  ok('RFC 9112 §6.3 rule 1', 'a 1xx ends at the empty line whatever its Content-Length says',
    'HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', [{ status: 100, body: '' }, { status: 200, body: 'ok' }], { opts: { kind: 'response' } }),
  ok('RFC 9112 §6.3 rule 1', 'a 204 ends at the empty line, regardless of the header fields (an unknown coding too)',
    'HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n', [{ status: 204, body: '' }],
    { opts: { kind: 'response' } }),
  // §6.3 rule 2 (2xx to CONNECT): see 'a 2xx to CONNECT is a tunnel' below
  // §6.3 rule 4: a request whose final coding is not chunked MUST get 400 and close
  bad('RFC 9112 §6.3 rule 4', 'final coding not chunked (gzip alone) MUST get 400', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, 'TE_NOT_CHUNKED_FINAL', undefined),
  bad('RFC 9112 §6.3 rule 4', 'final coding not chunked ("chunked, gzip") MUST get 400', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, 'TE_NOT_CHUNKED_FINAL', undefined),
  bad('RFC 9112 §6.3 rule 4', 'final coding not chunked (over two lines: chunked, then gzip) MUST get 400', `POST / HTTP/1.1\r\n${H}${TE}Transfer-Encoding: gzip\r\n\r\n`, 'TE_NOT_CHUNKED_FINAL', undefined),
  // parser.test: 'unknown final coding → 400', 'identity final → 400'; 'gzip, chunked → 501' (§6.1 SHOULD 501, chunked final);
  // 'chunked twice' is 400 (TE_NOT_CHUNKED_FINAL)
  // §6.3 rule 5: invalid Content-Length → 400 and close — parser.test: 'CL disagree', 'CL list disagree' and the CL rows above; the close: test/garden.test.ts
  // §6.3 rule 6: closed early → incomplete and close — parser.test: 'EOF in the middle of a body'; the server: socket test below
  ok('RFC 9112 §6.3 rule 6', 'a valid Content-Length is the exact length: what follows is the next request',
    `POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\n0123456789GET /2 HTTP/1.1\r\n${H}\r\n`, [{ method: 'POST', body: '0123456789' }, { method: 'GET', target: '/2' }]),
  ok('RFC 9112 §6.3 rule 7', 'a request with neither field has no content: what follows is the next request',
    `POST / HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n`, [{ method: 'POST', body: '' }, { method: 'GET', target: '/2' }]),
  // parser.test: 'no framing means no content'; rule 8 (close-delimited response): 'close-delimited response'

  // ---- RFC 9112 §7 Transfer Codings
  ok('RFC 9112 §7, RFC 9112 §5', 'coding names and field names are case-insensitive: TRANSFER-ENCODING: CHUNKED',
    `POST / HTTP/1.1\r\n${H}TRANSFER-ENCODING: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  // parser.test: 'TE is case-insensitive'; chunked with parameters SHOULD be an error: 'chunked with a parameter'
  ok('RFC 9112 §7.1', 'large hex numerals MUST be read without overflow: 2^53 - 1 is exact', `${POST_CHUNKED}1fffffffffffff\r\n`,
    [{ complete: false }], { partial: true, opts: { maxBodySize: Infinity } }),
  bad('RFC 9112 §7.1', 'large hex numerals MUST NOT lose precision: 2^53 is refused', `${POST_CHUNKED}20000000000000\r\n`, 'CHUNK_SIZE_TOO_LARGE', 69, { opts: { maxBodySize: Infinity } }),
  ok('RFC 9112 §7.1', 'leading zeros do not count towards overflow', `${POST_CHUNKED}0000000000000000000001\r\nx\r\n0\r\n\r\n`, [{ body: 'x' }]),
  // parser.test: 'chunk size overflow'; last-chunk = 1*("0"): 'chunk sizes in either case, leading zeros'
  // §7.1.1 a recipient MUST ignore unrecognised extensions — parser.test: 'chunk extensions'; the size limit: 'chunk line too long', 'chunk extensions too large over the message'
  ok('RFC 9112 §7.1.2', 'a trailer field MUST NOT be merged into the header section: trailer CL/TE/Host/Connection change nothing',
    `${POST_CHUNKED}1\r\nx\r\n0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nHost: b\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n${H}\r\n`,
    [{ headers: [['Host', 'a'], ['Transfer-Encoding', 'chunked']], keepAlive: true, body: 'x',
       trailers: [['Content-Length', '5'], ['Transfer-Encoding', 'chunked'], ['Host', 'b'], ['Connection', 'close']] }, { target: '/2' }]),
  // parser.test: 'trailers', 'bad trailer name', 'folded trailer', 'too many trailers'

  // ---- RFC 9112 §9.3 Persistence
  ok('RFC 9112 §9.3', 'the "close" option wins over keep-alive (HTTP/1.1)', `GET / HTTP/1.1\r\n${H}Connection: keep-alive, close\r\n\r\n`, [{ keepAlive: false }]),
  ok('RFC 9112 §9.3', 'the "close" option wins over keep-alive (HTTP/1.0)', 'GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n', [{ keepAlive: false }]),
  // parser.test: 'simple GET' (1.1 persists), 'HTTP/1.0 closes by default', 'HTTP/1.0 keep-alive', 'HTTP/1.1 Connection: close', 'data after Connection: close'
  // §9.3 a server MUST read the whole body or close; §9.3.2 responses in request order: socket tests below and
  // test/server.test.ts 'pipelined requests are answered in order when callbacks finish out of order'
];


/** Every cut point of a short input; of a long one (the 8 KiB request lines), both ends and a sample between. */
function cutPoints(n: number, from = 1): number[] {
  const all: number[] = [];
  for (let k = from; k < n; k++) if (n <= 1024 || k < from + 64 || k >= n - 64 || k % 97 === 0) all.push(k);
  return all;
}

function check(t: Test, row: Row, x: Extra): void {
  const raw = Buffer.from(row.raw, 'latin1');
  const opts = row.opts ?? {};
  const whole = parseMessages(raw, opts);
  if (row.error) {
    t.equal(whole.error?.code, row.error, 'error code', x);
    if (row.offset !== undefined) t.equal(whole.error?.offset, row.offset, 'error offset', x);
  } else {
    t.equal(whole.error, null, `no error${whole.error ? ` (got ${whole.error.code} at ${whole.error.offset})` : ''}`, x);
    t.equal(whole.partial, row.partial ?? false, row.partial ? 'waiting for more bytes' : 'nothing pending', x);
    const msgs = row.msgs!;
    t.equal(whole.messages.length, msgs.length, 'message count', x);
    msgs.forEach((want, k) => {
      const got = whole.messages[k];
      if (!got) return;
      const head = got.head as RequestHead & ResponseHead;
      t.equal(got.complete, want.complete ?? true, `[${k}] complete`, x);
      for (const key of ['method', 'target', 'status', 'version', 'contentLength', 'keepAlive', 'expectContinue'] as const) {
        if (want[key] !== undefined) t.equal(head[key], want[key], `[${k}] ${key}`, x);
      }
      if (want.headers) t.same(head.rawHeaders, want.headers, `[${k}] headers`, x);
      if (want.headerLike) {
        const [name, re] = want.headerLike;
        t.match(head.rawHeaders.find(([n]) => n === name)?.[1] ?? '', re, `[${k}] ${name} value`, x);
      }
      if (want.body !== undefined) t.equal(got.body.toString('latin1'), want.body, `[${k}] body`, x);
      if (want.trailers) t.same(got.trailers, want.trailers, `[${k}] trailers`, x);
    });
  }
  // A prefix of the bytes before the decisive one is never an error.
  const cleanUpTo = row.error ? Math.min(raw.length, whole.error?.offset ?? 0) : raw.length;
  let prefixErrors = 0;
  for (const k of [0, ...cutPoints(cleanUpTo)]) if (parseMessages(raw.subarray(0, k), opts).error) prefixErrors++;
  t.equal(prefixErrors, 0, 'no clean prefix is an error', x);
  const want = normOutcome(whole);
  let diffs = 0;
  for (const k of cutPoints(raw.length)) if (normOutcome(parseMessages(raw, { ...opts, splitAt: [k] })) !== want) diffs++;
  t.equal(diffs, 0, 'same answer at every split point', x);
  t.equal(normOutcome(parseMessages(raw, { ...opts, split: 1 })), want, 'same answer byte by byte', x);
}

t.test('RFC 9112 / RFC 9110 recipient requirements, byte by byte', async (t) => {
  for (const row of ROWS) {
    const x: Extra = row.todo ? { todo: row.todo } : {};
    const name = row.raw.length > 70 ? `${JSON.stringify(row.raw.slice(0, 60))}…` : JSON.stringify(row.raw);
    t.test(`${row.sec}: ${row.rule}${row.todo ? ' (todo)' : ''} — ${name}`, async (t) => check(t, row, x));
  }
});

// RFC 9112 §6.3 rule 2: "A client MUST ignore any Content-Length or
// Transfer-Encoding header fields received in" a 2xx response to CONNECT.
t.test('RFC 9112 §6.3 rule 2: a 2xx to CONNECT is a tunnel, its CL / TE ignored', async (t) => {
  const cases: [string, Extra][] = [
    ['Content-Length: 5', {}],
    ['Transfer-Encoding: chunked', {}],
    ['Transfer-Encoding: gzip', {}],
  ];
  for (const [field, x] of cases) {
    const p = new ResponseParser();
    p.expectNoBody('CONNECT');
    p.push(Buffer.from(`HTTP/1.1 200 Connection Established\r\n${field}\r\n\r\ntunnel bytes`, 'latin1'));
    const events: string[] = [];
    for (let ev = p.next(); ev.type !== 'partial'; ev = p.next()) {
      events.push(ev.type === 'error' ? `error ${ev.error.code}` : ev.type);
      if (ev.type === 'error') break;
    }
    t.same(events, ['head', 'end'], `${field}: head, end, no content`, x);
    t.ok(p.upgraded, `${field}: the rest is the tunnel`, x);
    t.equal(p.upgraded ? p.takeRemaining().toString() : '', 'tunnel bytes', `${field}: the tunnel bytes untouched`, x);
  }
});

// The server's own output: the MUST / MUST NOT of a sending server, through
// prepareResponse (what the connection writes).
t.test('server output', async (t) => {
  const ctx = (method: string, version: '1.0' | '1.1' = '1.1', keepAlive = true): ResponseContext => ({ method, version, keepAlive });
  const headOf = (r: ReturnType<typeof prepareResponse>): string => r.head ?? '';

  t.test('RFC 9110 §8.6, RFC 9112 §6.1: no Content-Length or Transfer-Encoding in a 204', async (t) => {
    const r = prepareResponse({ statuscode: 204, headers: { 'Content-Length': '5', 'Transfer-Encoding': 'chunked' }, message: 'hello' }, ctx('GET'));
    t.notMatch(headOf(r), /content-length|transfer-encoding/i);
    t.equal(r.body ?? r.bodyText, null, 'and no content');
    t.equal(r.stream, null);
  });

  t.test('RFC 9110 §8.6, RFC 9112 §6.1: no 1xx from a callback, so none with Content-Length', async (t) => {
    t.throws(() => prepareResponse({ statuscode: 100 }, ctx('GET')), { code: 'ERR_INVALID_RESPONSE' });
  });

  t.test('RFC 9110 §8.6, RFC 9112 §6.1: no Content-Length or Transfer-Encoding in a 2xx to CONNECT', async (t) => {
    const x = {};
    t.notMatch(headOf(prepareResponse({ statuscode: 200 }, ctx('CONNECT', '1.1', false))), /content-length|transfer-encoding/i, 'no content', x);
    t.notMatch(headOf(prepareResponse({ statuscode: 200, message: 'x' }, ctx('CONNECT', '1.1', false))), /content-length|transfer-encoding/i, 'string content', x);
    t.notMatch(headOf(prepareResponse({ statuscode: 200, message: ['x'] }, ctx('CONNECT', '1.1', false))), /content-length|transfer-encoding/i, 'streamed content', x);
  });

  t.test('RFC 9112 §6.1: no Transfer-Encoding in a response to an HTTP/1.0 request', async (t) => {
    const streamed = prepareResponse({ statuscode: 200, message: ['a', 'b'] }, ctx('GET', '1.0'));
    t.notMatch(headOf(streamed), /transfer-encoding/i, 'a stream is close-delimited');
    t.match(headOf(streamed), /\r\nConnection: close\r\n/, 'and the connection closes');
    t.notOk(streamed.chunked);
    const asked = prepareResponse({ statuscode: 200, headers: { 'Transfer-Encoding': 'chunked' }, message: 'ab' }, ctx('GET', '1.0'));
    t.notMatch(headOf(asked), /transfer-encoding/i, 'chunked asked by the callback is not sent');
    t.match(headOf(asked), /\r\nContent-Length: 2\r\n/);
  });

  t.test('RFC 9110 §8.6: Content-Length in a HEAD response is what GET would send', async (t) => {
    const r = prepareResponse({ statuscode: 200, message: 'hello' }, ctx('HEAD'));
    t.match(headOf(r), /\r\nContent-Length: 5\r\n/);
    t.equal(r.body ?? r.bodyText, null, 'no content');
  });

  t.test('RFC 9110 §5.5, RFC 9112 §2.2: no CR, LF, NUL in what the server writes (response splitting)', async (t) => {
    for (const value of ['a\r\nSet-Cookie: x=1', 'a\rb', 'a\nb', 'a\x00b', 'a\u560ab' /* U+560A: low byte 0x0A */]) {
      t.throws(() => prepareResponse({ statuscode: 200, headers: { X: value } }, ctx('GET')), { code: 'ERR_INVALID_RESPONSE' }, JSON.stringify(value));
    }
    t.throws(() => prepareResponse({ statuscode: 200, statusmsg: 'OK\r\nX: 1' }, ctx('GET')), { code: 'ERR_INVALID_RESPONSE' }, 'reason phrase');
    t.throws(() => prepareResponse({ statuscode: 200, headers: { 'X\r\nY': '1' } }, ctx('GET')), { code: 'ERR_INVALID_RESPONSE' }, 'field name');
  });

  t.test('RFC 9112 §9.6 (SHOULD): a response after which the connection closes says close', async (t) => {
    t.match(headOf(prepareResponse({ statuscode: 200 }, ctx('GET', '1.1', false))), /\r\nConnection: close\r\n/);
    t.match(headOf(prepareResponse({ statuscode: 200, headers: { Connection: 'keep-alive' } }, ctx('GET', '1.1', false))), /\r\nConnection: close\r\n/, 'whatever the callback wrote');
  });
});

// Rules only a connection can show.
t.test('over a socket', async (t) => {
  t.test('RFC 9112 §9.3: a body the callback does not read is skipped, not taken for the next request', async (t) => {
    const paths: string[] = [];
    const { port } = await serve(t, (req: RequestDict) => {
      paths.push(req.path);
      return { statuscode: 200, message: req.path };
    });
    const c = new Client(port);
    await c.ready;
    const body = 'GET /smuggled HTTP/1.1\r\n\r\n';
    c.write(`POST /1 HTTP/1.1\r\n${H}Content-Length: ${body.length}\r\n\r\n${body}GET /2 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    const received = await c.closedByServer(3000);
    t.same(parseReplies(received).map((r) => r.body), ['/1', '/2'], 'two answers, in order');
    t.same(paths, ['/1', '/2'], 'the unread body was never a request');
  });

  t.test('RFC 9112 §9.3: too much unread body after the response → the connection is closed', async (t) => {
    const paths: string[] = [];
    const { port } = await serve(t, (req: RequestDict) => {
      paths.push(req.path);
      return { statuscode: 200, message: req.path };
    }, { maxDrainSize: 16 });
    const c = new Client(port);
    await c.ready;
    c.write(`POST /1 HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\n`);
    await c.responses(1, 3000);
    c.write(`${'x'.repeat(100)}GET /2 HTTP/1.1\r\n${H}\r\n`);
    const received = await c.closedByServer(3000);
    t.same(parseReplies(received).map((r) => r.body), ['/1'], 'only the first request is answered');
    t.same(paths, ['/1'], 'nothing after the drained body was read as a request');
  });

  t.test('RFC 9112 §6.3 rule 6: closed before Content-Length octets arrived → incomplete, connection closed', async (t) => {
    let readError: unknown = null;
    const { port } = await serve(t, async (req: RequestDict) => {
      try {
        await req.datastream.read();
      } catch (err) {
        readError = err;
        throw err;
      }
      return { statuscode: 200 };
    }, { onError: () => {} });
    const c = new Client(port);
    await c.ready;
    c.write(`POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`);
    c.end();
    const received = await c.closedByServer(3000);
    t.notOk(parseReplies(received).some((r) => r.status === 200), 'never answered as if complete');
    t.equal((readError as { code?: string } | null)?.code, 'UNEXPECTED_EOF', 'the callback learns the content is incomplete');
    t.ok(c.closed, 'the server closed the connection');
  });
});

t.comment(`RFC rows: ${ROWS.length} (${ROWS.filter((r) => r.todo).length} todo), plus CONNECT tunnel, server output and socket checks`);
