// Every payload of the HTTP Garden's trophy list
// (../shared/conformance/http-garden-trophies.jsonl, read by path, never
// copied) with the verdict this server must give, judged against RFC 9110 /
// RFC 9112 rather than copied from any other parser. Each row is checked
// three ways:
//
//   1. the parser, whole, at every split point and one byte at a time: the
//      same verdict, error code, status and messages every time;
//   2. the messages that must (and must not) be parsed: a smuggled request
//      never shows up as a message of its own, a body has the right length;
//   3. a real server over a socket: the status lines it answers with, that
//      it closes after an error, and that the callback saw exactly the
//      requests of the table and nothing smuggled.
//
// Many payloads have no Host field, so RFC 9112 §3.2 decides them (400)
// before the bug they were written for is reached. For those rows `sansHost`
// gives the verdict with `requireHost: false`, so the garden's actual subject
// is tested too (on a second server registered with that option).
//
// A row whose current answer is wrong by the RFC carries the RIGHT verdict and
// a `todo` naming the difference: its checks still run, and each of its
// assertions is marked todo (a failure is reported, not counted).
import t, { type Test } from 'tap';
import { loadJsonl, verdictOf, type Verdict } from './helpers/corpus.js';
import { Client, parseReplies, serve, sleep } from './helpers/wire.js';
import { parseMessages, type ParseOutcome } from '../src/parser/inspect.js';
import { PARSE_ERRORS, type ParseErrorCode } from '../src/errors.js';
import type { ParserOptions, RequestHead } from '../src/parser/parser.js';
import type { RequestDict } from '../src/server/request.js';
import { normOutcome } from './helpers/outcome.js';

interface GardenCase {
  id: string;
  title: string;
  raw_base64: string;
  send_parts_base64?: string[];
}

/** A message that must be parsed: `body` is its exact content (latin1) or its length. */
interface Msg {
  method: string;
  target: string;
  body?: string | number;
  /** False for the message the parser stopped in (error or more bytes needed). */
  complete?: boolean;
  contentLength?: number | null;
  headers?: [string, string][];
  trailers?: [string, string][];
}

interface Outcome {
  verdict: Verdict;
  /** reject: the error code and the status the server answers with. */
  code?: ParseErrorCode;
  status?: number;
  /** Every message the parser must begin, in order; absent = none. */
  messages?: Msg[];
  /** incomplete: bytes that complete the message, and the messages then. */
  then?: { bytes: string; messages: Msg[] };
}

interface Row extends Outcome {
  id: string;
  why: string;
  /** The verdict with `requireHost: false` (the payload lacks Host). */
  sansHost?: Outcome;
  /** The current answer differs from this row: why (reported, not failed). */
  todo?: string;
}

/** Extra for every assertion of a row: `{ todo }` for a row whose current answer differs. */
type Extra = { todo?: string };

const inc = (method: string, target: string, extra: Partial<Msg> = {}): Msg => ({ method, target, complete: false, ...extra });
const HOST_WHY = 'no Host field, so RFC 9112 §3.2 (a server MUST answer 400 to an HTTP/1.1 request without Host) decides first';

// prettier-ignore
const TABLE: Row[] = [
  { id: 'server-1', verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('GET', '/')],
    why: 'Python int() read the chunk-size `0_2e` as 0x2e; chunk-size = 1*HEXDIG (RFC 9112 §7.1), so the `_` is refused and the GET hidden behind it is never parsed as a request.' },
  { id: 'server-2', verdict: 'reject', code: 'HEADER_VALUE_INVALID', status: 400,
    why: 'NUL and CR were allowed in a field value; RFC 9110 §5.5: a recipient of CR, LF or NUL in a value MUST reject the message (or replace them with SP): rejected at the NUL.' },
  { id: 'server-3', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: '`Content-Length : 34` had its whitespace stripped and framed the body; RFC 9112 §5.1: a server MUST reject whitespace between field name and colon with 400.' },
  { id: 'server-4', verdict: 'reject', code: 'OBS_FOLD', status: 400,
    why: 'A tab before the first field line was stripped, exposing Content-Length; RFC 9112 §2.2: whitespace between the start-line and the first field MUST be rejected or the line ignored — rejected.' },
  { id: 'server-5', verdict: 'reject', code: 'VERSION_INVALID', status: 400,
    why: '`HTTP/1.32` was read as its longest valid prefix; HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), so the request line is invalid (400, §3).' },
  { id: 'server-6', verdict: 'reject', code: 'METHOD_INVALID', status: 400,
    why: 'The method was cut at its longest token prefix; method = token (RFC 9112 §3.1, RFC 9110 §9.1) and must be followed by exactly one SP, so `G=` is invalid.' },
  { id: 'server-7', verdict: 'reject', code: 'TARGET_INVALID', status: 400,
    why: '`!` was accepted as a request-target; RFC 9112 §3.2 allows only origin-, absolute-, authority- (CONNECT) or asterisk-form (OPTIONS).' },
  { id: 'server-8', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: 'A non-ASCII byte was accepted in a field name; field-name = token (RFC 9110 §5.1, §5.6.2).' },
  { id: 'server-9', verdict: 'reject', code: 'BARE_LF', status: 400,
    why: 'A bare LF served as the space between target and version; only SP separates the request-line parts (RFC 9112 §3) and a bare LF is no line end here (§2.2 MAY accept it; `allowBareLF` is off).' },
  { id: 'server-10', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: 'Python int() read `+1_0` as 10; Content-Length = 1*DIGIT (RFC 9110 §8.6) and an invalid value is an unrecoverable error: 400 and close (RFC 9112 §6.3 rule 5).' },
  { id: 'server-11', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'reject', code: 'TE_NOT_CHUNKED_FINAL', status: 400 },
    why: `Two \`Transfer-Encoding: chunked\` lines were taken as "no body"; ${HOST_WHY}; without it, chunked applied twice is refused (a sender MUST NOT chunk twice, RFC 9112 §6.1, so the framing cannot be trusted, §6.3 rule 4).` },
  { id: 'server-12', verdict: 'reject', code: 'TE_INVALID', status: 400,
    why: 'NBSP around `chunked` was stripped by str.strip(); NBSP is obs-text, not OWS (RFC 9110 §5.6.3), so `\\xa0chunked\\xa0` is not a token and the Transfer-Encoding is invalid.' },
  { id: 'server-13', verdict: 'reject', code: 'BARE_CR', status: 400,
    why: 'A bare CR ended a field line and smuggled a second field; RFC 9112 §2.2: a recipient MUST treat a bare CR as invalid (or replace it with SP).' },
  { id: 'server-14', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: 'Control and delimiter bytes were accepted in a field name; field-name = token (RFC 9110 §5.6.2).' },
  { id: 'server-15', verdict: 'reject', code: 'VERSION_INVALID', status: 400,
    why: '`HTTP/\\r\\r1.1` was accepted as a version; RFC 9112 §2.3: "HTTP/" DIGIT "." DIGIT, case-sensitive, nothing else.' },
  { id: 'server-16', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: 'An empty Content-Length was read as 0; 1*DIGIT (RFC 9110 §8.6), and an invalid value is a 400 and close (RFC 9112 §6.3 rule 5).' },
  { id: 'server-17', verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('GET', '/')],
    why: 'An empty chunk-size line was read as the last chunk; chunk-size = 1*HEXDIG (RFC 9112 §7.1).' },
  { id: 'server-18', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: 'A field line with an empty name was accepted; field-name = token needs at least one tchar (RFC 9110 §5.1, §5.6.2).' },
  { id: 'server-19', verdict: 'reject', code: 'BARE_LF', status: 400,
    why: 'Bare LFs after `Useless:` were skipped as leading whitespace, ending the head early; LF is never OWS (RFC 9110 §5.6.3) and bare LF is refused as a line end (RFC 9112 §2.2).' },
  { id: 'server-20', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: '`\\x85` before the colon was stripped, making `Content-Length` effective; field-name = token (RFC 9110 §5.6.2) and nothing may stand between name and colon (RFC 9112 §5.1).' },
  { id: 'server-21', verdict: 'reject', code: 'TE_WITH_CONTENT_LENGTH', status: 400,
    why: '`,chunked` was taken for an unknown coding and Content-Length framed the body; the empty member is skipped (RFC 9110 §5.6.1.2), so this is chunked with Content-Length, which is refused (RFC 9112 §6.1 MAY reject, §6.3 rule 3): 400.' },
  { id: 'server-22', verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('GET', '/')],
    why: 'The chunk-size `0_2e` was read as its longest hex prefix `0` (a last chunk), so the GET behind it became a request; 1*HEXDIG then only `;` or CRLF (RFC 9112 §7.1): refused.' },
  { id: 'server-23', verdict: 'reject', code: 'CONTENT_LENGTH_CONFLICT', status: 400,
    why: 'Conflicting Content-Length lines (1 then 0) were accepted, the first winning; differing values are an unrecoverable framing error: 400 and close (RFC 9112 §6.3 rule 5, RFC 9110 §8.6).' },
  { id: 'server-24', verdict: 'reject', code: 'VERSION_INVALID', status: 400,
    why: 'Version numbers overflowed an 8-bit integer; each is exactly one DIGIT (RFC 9112 §2.3).' },
  { id: 'server-25', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'incomplete', messages: [inc('GET', '/', { body: '' })], then: { bytes: '0\r\n\r\n', messages: [{ method: 'GET', target: '/', body: '' }] } },
    why: `strtoll() accepted \`0x\`, \`+\`, \`-\` in chunk sizes, but the extracted payload ends after the head (its chunk line is missing); ${HOST_WHY}; without it the parser waits for a chunk-size line (those prefixes are refused as not HEXDIG, see transducer-19).` },
  { id: 'server-26', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: 'A negative Content-Length sent the server into a busy loop; 1*DIGIT has no sign (RFC 9110 §8.6): 400 and close (RFC 9112 §6.3 rule 5).' },
  { id: 'server-27', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: 'A bare `:` line (no name, no value) truncated the header section; an empty field name is not a token (RFC 9110 §5.1).' },
  { id: 'server-28', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: '`Content-Length 10` (no colon) was taken as a field; field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).' },
  { id: 'server-29', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: '`1Z` was read as its longest valid prefix 1; 1*DIGIT (RFC 9110 §8.6), invalid → 400 and close (RFC 9112 §6.3 rule 5).' },
  { id: 'server-30', verdict: 'reject', code: 'BARE_CR', status: 400,
    why: 'The head was ended by `\\r\\n\\rX`; a CR not followed by LF is invalid (RFC 9112 §2.2), so nothing after it is parsed.' },
  { id: 'server-31', verdict: 'reject', code: 'BARE_CR', status: 400, messages: [inc('GET', '/')],
    why: 'A chunk line was ended by `\\rX`; the chunk line ends with CRLF (RFC 9112 §7.1) and a bare CR is invalid (§2.2).' },
  { id: 'server-32', verdict: 'incomplete', messages: [inc('GET', '/', { contentLength: 10, body: '01234567' })],
    then: { bytes: '89', messages: [{ method: 'GET', target: '/', contentLength: 10, body: '0123456789' }] },
    why: 'strtoll(,,0) read `010` as octal 8; Content-Length is decimal and leading zeros are allowed (1*DIGIT, RFC 9110 §8.6), so 10 octets are awaited and the 8 sent leave the message incomplete.' },
  { id: 'server-33', verdict: 'reject', code: 'CONTENT_LENGTH_CONFLICT', status: 400,
    why: 'Conflicting Content-Length lines (0 then 1) were accepted, the last winning; RFC 9112 §6.3 rule 5: 400 and close.' },
  { id: 'server-34', verdict: 'reject', code: 'BARE_CR', status: 400,
    why: 'A CR inside a field value was accepted; RFC 9110 §5.5 (CR in a value: reject or SP) and RFC 9112 §2.2 (bare CR invalid).' },
  { id: 'server-35', verdict: 'reject', code: 'HEADER_VALUE_INVALID', status: 400,
    why: 'Values were truncated at NUL, dropping what followed (ACL bypass); RFC 9110 §5.5: NUL in a value MUST be rejected or replaced with SP — rejected, nothing is dropped silently.' },
  { id: 'server-36', verdict: 'reject', code: 'BARE_CR', status: 400, messages: [inc('POST', '/abc')],
    why: 'A CR in the chunk-ext whitespace after `;a=b` was accepted; chunk-ext allows only SP/HTAB as BWS (RFC 9112 §7.1.1) and a bare CR is invalid (§2.2).' },
  { id: 'server-37', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: '`Transfer-\\r\\nEncoding` was joined into one field name; the line `Transfer-` has no colon (RFC 9112 §5) and is refused before any framing is decided.' },
  { id: 'server-38', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: 'An empty Content-Length meant "read until timeout"; invalid → 400 and close (RFC 9112 §6.3 rule 5), the next request is never read.' },
  { id: 'server-39', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'accept', messages: [{ method: 'GET', target: '/', body: '', trailers: [['X', 'POST / HTTP/1.1']] }] },
    why: `Chunked bodies were ended at \`\\r\\nXX\`; here \`X:POST / HTTP/1.1\` is a valid trailer field (RFC 9112 §7.1.2), so the bytes are ONE GET with a trailer, never a POST; ${HOST_WHY}; without it exactly that one request is accepted.` },
  { id: 'server-40', verdict: 'reject', code: 'METHOD_INVALID', status: 400,
    why: 'A NUL method and a dotted garbage version were accepted; method = token (RFC 9112 §3.1).' },
  { id: 'server-41', verdict: 'accept', messages: [{ method: 'GET', target: '/login', body: '', headers: [['Host', 'a'], ['User', '\x85admin\xa0']] }],
    why: '`\\x85`/`\\xa0` were stripped from values, so `User: \\x85admin\\xa0` matched `admin`; they are obs-text, allowed in a value and not OWS (RFC 9110 §5.5, §5.6.3), so the request is valid and the value is kept byte for byte.' },
  { id: 'server-42', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: 'An empty Content-Length was read as 0 and preferred over the later 43; the empty value is invalid on its own (RFC 9112 §6.3 rule 5) and refused at its line.' },
  { id: 'server-43', verdict: 'reject', code: 'HEADER_VALUE_INVALID', status: 400,
    why: 'A trailing NUL was stripped (`evil\\0` → `evil`); RFC 9110 §5.5: NUL in a value → reject.' },
  { id: 'server-44', verdict: 'reject', code: 'TE_NOT_CHUNKED_FINAL', status: 400,
    why: 'Unknown codings were treated as chunked; a request whose final coding is not chunked has no reliable length and the server MUST answer 400 and close (RFC 9112 §6.3 rule 4) — the 501 of §6.1 (SHOULD) fits an unknown coding before a final chunked.' },
  { id: 'server-45', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'reject', code: 'DATA_AFTER_CLOSE', status: 400, messages: [{ method: 'GET', target: '/', body: '' }] },
    why: `The connection was dropped without answering a valid \`Connection: close\` request followed by garbage; ${HOST_WHY}; without it the GET is answered and the server closes without reading on (RFC 9112 §9.6: MUST NOT process further requests).` },
  { id: 'server-46', verdict: 'reject', code: 'HOST_INVALID', status: 400,
    why: 'Bytes ≥ 0x80 were stripped around values (`\\xffa\\xff` → host `a`, `\\xffchunked\\xff` → chunked); RFC 9112 §3.2: a Host with an invalid value MUST get 400 — refused before the Transfer-Encoding is looked at.' },
  { id: 'server-47', verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('POST', '/')],
    why: 'After an invalid chunk the connection stayed open and resynchronised at the next CRLF; the error is final here: 400 and close (RFC 9112 §2.2 SHOULD 400 and close; §7.1 1*HEXDIG), so the GET after it is never answered.' },
  { id: 'server-48', verdict: 'accept',
    messages: [{ method: 'POST', target: '/', contentLength: 0, body: '' }, { method: 'POST', target: '/', contentLength: 34, body: 'GET / HTTP/1.1\r\nHost: a\r\nid: 2\r\n\r\n' }],
    why: 'Pipelined requests in the first read became the body of a `Content-Length: 0` request; framing is by Content-Length alone (RFC 9112 §6.3 rule 6): an empty first body, then a POST whose 34-octet body is the GET text — exactly two requests, whatever the reads.' },

  { id: 'transducer-1', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: '`Content-Length: 0x10` was forwarded unvalidated; 1*DIGIT (RFC 9110 §8.6), invalid → 400 and close (RFC 9112 §6.3 rule 5).' },
  { id: 'transducer-2', verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('POST', '/')],
    why: 'Invalid chunk-sizes (`Z`) were forwarded; chunk-size = 1*HEXDIG (RFC 9112 §7.1).' },
  { id: 'transducer-3', verdict: 'reject', code: 'BARE_CR', status: 400, messages: [inc('POST', '/')],
    why: '`\\r` was accepted as whitespace before `;` in a chunk line; bare CR is invalid (RFC 9112 §2.2) and BWS is only SP/HTAB (§7.1.1).' },
  { id: 'transducer-4', verdict: 'reject', code: 'VERSION_INVALID', status: 400,
    why: 'Messages with an invalid chunk (`1\\r0\\n`) were forwarded without their body; here the request line already fails: two SPs before the version (RFC 9112 §3: single SP), so no chunk is ever read.' },
  { id: 'transducer-5', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: 'An empty Content-Length was forwarded; invalid (RFC 9110 §8.6) → 400 and close (RFC 9112 §6.3 rule 5).' },
  { id: 'transducer-6', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: '`\\x85` inside a field name was forwarded; field-name = token (RFC 9110 §5.6.2).' },
  { id: 'transducer-7', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('POST', '/')] },
    why: `Chunk sizes were cut at their longest prefix (\`1these-bytes…\`) and re-emitted; ${HOST_WHY}; without it the chunk line is refused (after the hex digits only \`;\` or CRLF may follow, RFC 9112 §7.1).` },
  { id: 'transducer-9', verdict: 'accept', messages: [{ method: 'POST', target: '/', body: '' }],
    why: '`,chunked` was forwarded intact and read as chunked; RFC 9110 §5.6.1.2: a recipient MUST parse and ignore empty list elements, so this is a chunked request with an empty body — the danger was the next hop reading it otherwise (server-21), which an origin server does not have.' },
  { id: 'transducer-10', verdict: 'reject', code: 'BARE_CR', status: 400,
    why: 'CRs inside a field value were forwarded; RFC 9110 §5.5 and RFC 9112 §2.2: reject.' },
  { id: 'transducer-11', verdict: 'reject', code: 'CONTENT_LENGTH_INVALID', status: 400,
    why: 'An empty Content-Length before a valid one was forwarded; the empty value is invalid on its own: 400 and close (RFC 9112 §6.3 rule 5).' },
  { id: 'transducer-12', verdict: 'reject', code: 'HEADER_VALUE_INVALID', status: 400,
    why: 'NUL in a Host value (`google.com\\0.kallus.org`) was forwarded; RFC 9110 §5.5: reject (or SP).' },
  { id: 'transducer-13', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'reject', code: 'CHUNK_DATA_END_INVALID', status: 400, messages: [inc('GET', '/', { body: '0123456789' })] },
    why: `A bare LF was accepted after chunk data; ${HOST_WHY}; without it, chunk-data must be followed by CRLF (RFC 9112 §7.1) and the LF is refused.` },
  { id: 'transducer-14', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: 'The line `Te\\nst: test` was forwarded as-is; an LF inside a field name is neither a tchar nor a line end (RFC 9112 §2.2, §5).' },
  { id: 'transducer-15', verdict: 'reject', code: 'TE_WITH_CONTENT_LENGTH', status: 400,
    why: 'Content-Length and an unrecognised `,chunked` were forwarded together; `,chunked` is chunked (RFC 9110 §5.6.1.2) and CL with TE is refused (RFC 9112 §6.1, §6.3 rule 3): 400.' },
  { id: 'transducer-16', verdict: 'reject', code: 'BARE_LF', status: 400,
    why: 'Bare-LF lines were forwarded without normalising them; RFC 9112 §2.2 only MAY accept a bare LF and this server does not by default.' },
  { id: 'transducer-17', verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('POST', '/', { body: '0\r\n\r\nGET / HTTP/1.1\r\n\r\n' })],
    why: 'An extra CRLF before the last chunk: the next chunk line is empty, which is no chunk-size (RFC 9112 §7.1); the 23 octets read are chunk data, never a request.' },
  { id: 'transducer-18', verdict: 'reject', code: 'TE_WITH_CONTENT_LENGTH', status: 400,
    why: '`,chunked` with Content-Length was forwarded and read as not chunked; `,chunked` is chunked (RFC 9110 §5.6.1.2) and CL with TE is refused (RFC 9112 §6.1, §6.3 rule 3): 400.' },
  { id: 'transducer-19', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('POST', '/')] },
    why: `The chunk-size \`-0x0\` was interpreted and forwarded; ${HOST_WHY}; without it, \`-\` is not HEXDIG (RFC 9112 §7.1).` },
  { id: 'transducer-20', verdict: 'reject', code: 'HEADER_NAME_INVALID', status: 400,
    why: 'A line `c\\0` was joined to the previous field; it has no colon and NUL is not a tchar (RFC 9112 §5, RFC 9110 §5.6.2).' },
  { id: 'transducer-21', verdict: 'reject', code: 'HOST_MISSING', status: 400,
    sansHost: { verdict: 'accept', messages: [{ method: 'GET', target: '/', contentLength: 10, body: '1234567890' }] },
    why: `A GET body was dropped while its Content-Length was forwarded; framing does not depend on the method (RFC 9112 §6), so the 10 octets are the GET's content and no second request exists; ${HOST_WHY}.` },
  { id: 'transducer-22', verdict: 'reject', code: 'CONTENT_LENGTH_CONFLICT', status: 400,
    why: 'Two Content-Length lines (0 and 31) were forwarded, the last winning; RFC 9112 §6.3 rule 5: 400 and close.' },
  { id: 'transducer-23', verdict: 'reject', code: 'TE_WITH_CONTENT_LENGTH', status: 400,
    why: 'Content-Length with Transfer-Encoding was forwarded; a server MAY reject it and MUST close after responding (RFC 9112 §6.1, §6.3 rule 3): 400 and close.' },
  { id: 'transducer-24', verdict: 'reject', code: 'CHUNK_SIZE_INVALID', status: 400, messages: [inc('POST', '/')],
    why: 'Whitespace before a chunk-size was accepted; the chunk line starts with HEXDIG (RFC 9112 §7.1; BWS is only allowed around `;` and `=` of extensions).' },
  { id: 'transducer-25', verdict: 'reject', code: 'TE_NOT_CHUNKED_FINAL', status: 400,
    why: 'Two `Transfer-Encoding: chunked` lines were forwarded as one; chunked applied twice is invalid (RFC 9112 §6.1) and the length cannot be trusted (§6.3 rule 4): 400.' },

  { id: 'bonus-3', verdict: 'reject', code: 'METHOD_INVALID', status: 400, messages: [{ method: 'GET', target: '/', body: '' }],
    why: 'A stray NUL after a complete chunked request crashed the server; the request is answered (200), the NUL starts a next request whose method is not a token (RFC 9112 §3.1): 400 and close.' },
  { id: 'bonus-4', verdict: 'accept', messages: [{ method: 'POST', target: '/', body: 'Z' }],
    why: 'The chunked body was echoed before the response; it is one valid chunked request with the content `Z` (RFC 9112 §7.1), answered once.' },
];

const garden = loadJsonl<GardenCase>('http-garden-trophies.jsonl');
const shortId = (c: GardenCase): string => c.id.replace('http-garden/TROPHIES.md#', '');


function checkMessages(t: Test, r: ParseOutcome, want: Msg[], label: string, x: Extra): void {
  t.equal(r.messages.length, want.length, `${label}: exactly ${want.length} message(s) begun — nothing smuggled`, x);
  want.forEach((w, k) => {
    const got = r.messages[k];
    if (!got) return;
    const head = got.head as RequestHead;
    t.equal(head.method, w.method, `${label}[${k}] method`, x);
    t.equal(head.target, w.target, `${label}[${k}] target`, x);
    t.equal(got.complete, w.complete ?? true, `${label}[${k}] complete`, x);
    if (typeof w.body === 'string') t.equal(got.body.toString('latin1'), w.body, `${label}[${k}] body`, x);
    else if (typeof w.body === 'number') t.equal(got.body.length, w.body, `${label}[${k}] body length`, x);
    if (w.contentLength !== undefined) t.equal(head.contentLength, w.contentLength, `${label}[${k}] Content-Length`, x);
    if (w.headers) t.same(head.rawHeaders, w.headers, `${label}[${k}] headers kept byte for byte`, x);
    if (w.trailers) t.same(got.trailers, w.trailers, `${label}[${k}] trailers`, x);
  });
}

/** The parser's answer for `raw`: verdict, code, status, messages, the same at every split point. */
function checkParse(t: Test, raw: Buffer, o: Outcome, opts: ParserOptions, label: string, x: Extra): void {
  const r = parseMessages(raw, opts);
  t.equal(verdictOf(r), o.verdict, `${label}: verdict${r.error ? ` (got ${r.error.code} at ${r.error.offset})` : ''}`, x);
  if (o.verdict === 'reject') {
    t.equal(r.error?.code, o.code, `${label}: error code`, x);
    t.equal(r.error?.status, o.status, `${label}: status`, x);
    t.equal(PARSE_ERRORS[o.code!].status, o.status, `${label}: the table's status is the code's`, x);
  } else {
    t.equal(r.error, null, `${label}: no error`, x);
    t.equal(r.partial, o.verdict === 'incomplete', `${label}: ${o.verdict === 'incomplete' ? 'waiting for more bytes' : 'nothing pending'}`, x);
  }
  checkMessages(t, r, o.messages ?? [], label, x);
  const want = normOutcome(r);
  let diffs = 0;
  for (let k = 1; k < raw.length; k++) if (normOutcome(parseMessages(raw, { ...opts, splitAt: [k] })) !== want) diffs++;
  t.equal(diffs, 0, `${label}: same answer at each of the ${raw.length - 1} split points`, x);
  t.equal(normOutcome(parseMessages(raw, { ...opts, split: 1 })), want, `${label}: same answer byte by byte`, x);
  if (o.then) {
    const done = parseMessages(Buffer.concat([raw, Buffer.from(o.then.bytes, 'latin1')]), opts);
    t.equal(verdictOf(done), 'accept', `${label}: complete once ${JSON.stringify(o.then.bytes)} follows`, x);
    checkMessages(t, done, o.then.messages, `${label} + rest`, x);
  }
}

// What the server's callback saw, for the row being sent.
interface Seen {
  verb: string;
  path: string;
  body: string | null;
  trailers: [string, string][];
}
const seen: Seen[] = [];
const callback = async (req: RequestDict) => {
  const s: Seen = { verb: req.verb, path: req.path, body: null, trailers: [] };
  seen.push(s);
  const body = await req.datastream.read();
  s.body = body.toString('latin1');
  s.trailers = req.datastream.trailers;
  return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: `${req.verb} ${req.path} ${body.length}\n` };
};

function checkSeen(t: Test, want: Msg[], label: string, x: Extra): void {
  t.equal(seen.length, want.length, `${label}: the callback saw exactly ${want.length} request(s) — nothing smuggled`, x);
  want.forEach((w, k) => {
    const s = seen[k];
    if (!s) return;
    t.equal(s.verb, w.method, `${label}: callback[${k}] method`, x);
    t.equal(s.path, w.target, `${label}: callback[${k}] path`, x);
    if ((w.complete ?? true) && typeof w.body === 'string') t.equal(s.body, w.body, `${label}: callback[${k}] read the whole body`, x);
    if ((w.complete ?? true) && w.trailers) t.same(s.trailers, w.trailers, `${label}: callback[${k}] trailers`, x);
  });
}

/** Sends the payload to a real server and checks what comes back and what the callback saw. */
async function checkServer(t: Test, port: number, parts: Buffer[], o: Outcome, label: string, x: Extra): Promise<void> {
  seen.length = 0;
  const c = new Client(port);
  await c.ready;
  for (let k = 0; k < parts.length; k++) {
    if (k > 0) await sleep(20);
    c.write(parts[k]!);
  }
  const msgs = o.messages ?? [];
  const complete = msgs.filter((m) => m.complete ?? true).length;
  try {
    if (o.verdict === 'reject') {
      // Every complete request is answered, then the error (none for data after close), then the close.
      const want = [...Array<number>(complete).fill(200), ...(o.code === 'DATA_AFTER_CLOSE' ? [] : [o.status!])];
      const received = await c.closedByServer(3000);
      t.same(parseReplies(received).map((r) => r.status), want, `${label}: status lines ${want.join(', ')}`, x);
      t.ok(c.closed, `${label}: the server closed the connection`, x);
      checkSeen(t, msgs, label, x);
    } else if (o.verdict === 'accept') {
      const replies = await c.responses(msgs.length, 3000);
      t.same(replies.map((r) => r.status), msgs.map(() => 200), `${label}: ${msgs.length} answer(s), all 200`, x);
      c.end();
      const rest = parseReplies(await c.closedByServer(3000));
      t.equal(rest.length, msgs.length, `${label}: no further answer before the close`, x);
      checkSeen(t, msgs, label, x);
    } else {
      // Incomplete: the server waits (no answer), the callback has the head; the rest completes it.
      const deadline = Date.now() + 1000;
      while (seen.length < msgs.length && Date.now() < deadline) await sleep(5);
      await sleep(50);
      t.equal(c.received.length, 0, `${label}: no answer while the message is incomplete`, x);
      t.notOk(c.closed, `${label}: the connection stays open`, x);
      checkSeen(t, msgs, `${label} (head only)`, x);
      c.write(o.then!.bytes);
      const replies = await c.responses(o.then!.messages.length, 3000);
      t.same(replies.map((r) => r.status), o.then!.messages.map(() => 200), `${label}: answered once complete`, x);
      c.end();
      await c.closedByServer(3000);
      checkSeen(t, o.then!.messages, `${label} + rest`, x);
    }
  } finally {
    c.destroy();
  }
}

if (garden === null) {
  t.test('http-garden trophies', { skip: 'http-garden-trophies.jsonl not found in ../shared/conformance' }, async () => {});
} else {
  const byId = new Map(garden.map((g) => [shortId(g), g]));
  const rows = new Map(TABLE.map((r) => [r.id, r]));

  t.test('the verdict table has one row per payload, no more, no less', async (t) => {
    t.equal(garden.length, 74, '74 payloads in the corpus');
    t.equal(rows.size, TABLE.length, 'no duplicate row ids');
    t.same([...byId.keys()].filter((id) => !rows.has(id)), [], 'every payload has a row');
    t.same(TABLE.map((r) => r.id).filter((id) => !byId.has(id)), [], 'every row has a payload');
    for (const r of TABLE) {
      for (const [o, which] of [[r, 'row'], [r.sansHost, 'sansHost']] as const) {
        if (!o) continue;
        t.equal(o.verdict === 'reject', o.code !== undefined && o.status !== undefined, `${r.id} ${which}: code and status exactly for reject`);
        t.equal(o.verdict === 'incomplete', o.then !== undefined, `${r.id} ${which}: the rest exactly for incomplete`);
      }
      t.equal(r.code === 'HOST_MISSING', r.sansHost !== undefined, `${r.id}: a Host-rule row says what the payload gets without the rule`);
    }
  });

  const rawOf = (id: string): Buffer => Buffer.from(byId.get(id)!.raw_base64, 'base64');
  const partsOf = (id: string): Buffer[] => {
    const g = byId.get(id)!;
    return g.send_parts_base64 ? g.send_parts_base64.map((p) => Buffer.from(p, 'base64')) : [rawOf(id)];
  };

  t.test('parser', async (t) => {
    for (const row of TABLE) {
      if (!byId.has(row.id)) continue;
      const x: Extra = row.todo ? { todo: row.todo } : {};
      t.test(`${row.id}: ${row.verdict}${row.code ? ` ${row.status} ${row.code}` : ''}${row.todo ? ' (todo)' : ''}`, async (t) => {
        const raw = rawOf(row.id);
        t.equal(partsOf(row.id).reduce((n, p) => n + p.length, 0), raw.length, 'the parts make up the payload');
        checkParse(t, raw, row, {}, 'default', x);
        if (row.sansHost) checkParse(t, raw, row.sansHost, { requireHost: false }, 'requireHost: false', x);
      });
    }
  });

  t.test('server over a socket', async (t) => {
    const strict = await serve(t, callback, { onError: () => {} });
    const lenient = await serve(t, callback, { onError: () => {}, requireHost: false });
    for (const row of TABLE) {
      if (!byId.has(row.id)) continue;
      const x: Extra = row.todo ? { todo: row.todo } : {};
      t.test(`${row.id}${row.todo ? ' (todo)' : ''}`, async (t) => {
        await checkServer(t, strict.port, partsOf(row.id), row, 'default', x);
        if (row.sansHost) await checkServer(t, lenient.port, partsOf(row.id), row.sansHost, 'requireHost: false', x);
      });
    }
  });

  // The summary: counts per verdict and status, as the table says they must be.
  const count = (pick: (r: Row) => string | null): string => {
    const m = new Map<string, number>();
    for (const r of TABLE) {
      const k = pick(r);
      if (k !== null) m.set(k, (m.get(k) ?? 0) + 1);
    }
    return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
  };
  t.comment(`http-garden: ${TABLE.length} payloads — ${count((r) => r.verdict)}`);
  t.comment(`  rejected by status: ${count((r) => (r.verdict === 'reject' ? String(r.status) : null))}`);
  t.comment(`  rejected by code: ${count((r) => (r.verdict === 'reject' ? r.code! : null))}`);
  t.comment(`  decided by the Host rule first: ${count((r) => (r.sansHost ? 'yes' : null))}; without it: ${count((r) => (r.sansHost ? `${r.sansHost.verdict}${r.sansHost.code ? ` ${r.sansHost.code}` : ''}` : null))}`);
  t.comment(`  todo (current answer differs from the RFC verdict): ${TABLE.filter((r) => r.todo).map((r) => r.id).join(', ') || 'none'}`);
}
