// Differential test: the fuzz generator's inputs (valid and mutated) through
// this parser and through Node's own llhttp (../shared/conformance/
// llhttp-oracle.mjs, read by path, never copied; strict, lenient 0). Every
// disagreement — verdict (accept / reject / incomplete) or, when both accept,
// the first message's method, target, version, fields and body — must fall
// into one of the classes below, each naming who is right and the RFC
// section. An unclassified disagreement fails the test with its bytes.
//
// Run twice: with the default strict options, and with `requireHost: false`
// (so the Host rule does not hide what lies behind it). DIFF_SEED and
// DIFF_COUNT change the inputs (default: seed 0x0d1ff, 20 000 inputs);
// DIFF_VERBOSE=1 prints one example per class.
// docs/conformance.md lists the classes with their counts.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { METHODS } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseMessages, type ParseOutcome } from '../src/parser/inspect.js';
import type { ParserOptions, RequestHead } from '../src/parser/parser.js';
import { CONFORMANCE_DIR } from './helpers/corpus.js';
import { generate, jsString, type FuzzInput } from './helpers/fuzz-gen.js';

const ORACLE = resolve(CONFORMANCE_DIR, 'llhttp-oracle.mjs');
const SEED = Number(process.env['DIFF_SEED'] ?? 0x0d1ff);
const COUNT = Number(process.env['DIFF_COUNT'] ?? 20_000);
const VERBOSE = process.env['DIFF_VERBOSE'] !== undefined;

type Verdict = 'accept' | 'reject' | 'incomplete';

interface OracleMessage {
  complete: boolean;
  method: string | null;
  url: string;
  version: string | null;
  headers: [string, string][];
  trailers: [string, string][];
  body_base64: string;
  upgrade: boolean;
}
interface OracleResult {
  ok: boolean;
  error: { code: string; reason: string; offset: number } | null;
  upgrade: { offset: number } | null;
  consumed: number;
  messages: OracleMessage[];
}
type OracleParse = (bytes: Buffer, opts: { lenient?: number; chunk?: number; finish?: boolean }) => OracleResult;

/** One disagreement with everything a class needs to recognise it. */
interface Case {
  input: FuzzInput;
  text: string;
  ours: ParseOutcome;
  ov: Verdict;
  /** Our error code, or null. */
  code: string | null;
  ll: OracleResult;
  lv: Verdict;
  /** llhttp's error code, or null. */
  lcode: string | null;
  /** Where each of our messages starts (heads, and the byte after each complete message). */
  starts: number[];
  /** For a field mismatch of two accepts: which fields differ. */
  fields: string[];
}

/** Who the RFC sides with for a class. */
type Right = 'ours' | 'llhttp' | 'both';

interface DisagreementClass {
  id: string;
  title: string;
  right: Right;
  rfc: string;
  match: (c: Case) => boolean;
}

// ------------------------------------------------------------ text helpers

const llhttpMethods = new Set(METHODS);
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The line (with its terminator) that contains byte `pos`. */
function lineAt(text: string, pos: number): string {
  const s = pos <= 0 ? 0 : text.lastIndexOf('\n', pos - 1) + 1;
  const e = text.indexOf('\n', pos);
  return text.slice(s, e === -1 ? text.length : e + 1);
}

/** Start of the message around `pos`: the last message start at or before it. */
function messageStart(c: Case, pos: number): number {
  let start = 0;
  for (const s of c.starts) if (s <= pos && s > start) start = s;
  return start;
}

/** The method token of the message around `pos` (leading empty lines dropped). */
function methodAt(c: Case, pos: number): string {
  const rest = c.text.slice(messageStart(c, pos)).replace(/^(\r\n)+/, '');
  const sp = rest.indexOf(' ');
  return sp === -1 ? rest : rest.slice(0, sp);
}

/** The head (request line to the empty line, or to the end) of the message around `pos`, leading empty lines dropped. */
function headAt(c: Case, pos: number): string {
  let s = messageStart(c, pos);
  while (c.text.startsWith('\r\n', s)) s += 2;
  const e = c.text.indexOf('\r\n\r\n', s);
  return c.text.slice(s, e === -1 ? c.text.length : e + 2);
}

function requestLine(head: string): string {
  const e = head.indexOf('\n');
  return e === -1 ? head : head.slice(0, e + 1);
}

/** Raw values (untrimmed, as on the wire) of the field lines named `name` in `head`. */
function rawValues(head: string, name: string): string[] {
  const out: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name) out.push(line.slice(colon + 1));
  }
  return out;
}

/** Where llhttp stopped (error offset), or -1. */
const lAt = (c: Case): number => c.ll.error?.offset ?? -1;
/** Where we stopped (error offset), or -1. */
const oAt = (c: Case): number => c.ours.error?.offset ?? -1;

/** True when every member is the same decimal value ("5", "05", " 5\t"): RFC 9110 §8.6's "same decimal value". */
const sameDecimal = (members: string[]): boolean => members.length > 0 && members.every((m) => /^[0-9]+$/.test(m.trim())) && new Set(members.map((m) => BigInt(m.trim()).toString())).size === 1;
const isUpgradeHead = (head: string): boolean => /^CONNECT /.test(head) || (rawValues(head, 'upgrade').length > 0 && rawValues(head, 'connection').some((v) => /(^|,)\s*upgrade\s*(,|$)/i.test(v.trim())));
const hasHtabOws = (v: string): boolean => /^[ \t]*\t|\t[ \t]*$/.test(v);
const trailingHtab = (v: string): boolean => /\t[ \t]*$/.test(v) || /[ \t]\t/.test(v.replace(/^[ \t]+/, ''));

// ------------------------------------------------------------- the classes

/**
 * Every known class of disagreement. Order matters: the first match names
 * the case. `right`: whom RFC 9110/9112 side with ('both' = a MAY, a SHOULD
 * or a configurable limit, where either answer conforms).
 */
const CLASSES: DisagreementClass[] = [
  // ---- the Host rule and other field checks llhttp does not make
  {
    id: 'host-missing', right: 'ours', rfc: 'RFC 9112 §3.2',
    title: 'HTTP/1.1 request without Host: we answer 400 (MUST), llhttp does not check',
    match: (c) => c.code === 'HOST_MISSING',
  },
  {
    id: 'host-duplicate', right: 'ours', rfc: 'RFC 9112 §3.2',
    title: 'more than one Host field line: we answer 400 (MUST), llhttp does not check',
    match: (c) => c.code === 'HOST_DUPLICATE',
  },
  {
    id: 'host-invalid', right: 'ours', rfc: 'RFC 9112 §3.2, RFC 9110 §7.2',
    title: 'Host value that is not uri-host [":" port]: we answer 400 (MUST), llhttp does not check',
    match: (c) => c.code === 'HOST_INVALID',
  },
  // ---- methods, targets, versions
  {
    id: 'http-uri-no-host', right: 'ours', rfc: 'RFC 9110 §4.2.1, RFC 9112 §3.2.2',
    title: 'absolute-form http(s) URI without a usable host (empty, or an unclosed IP-literal "http://[::1"): we answer 400 (MUST reject), llhttp accepts any URL characters',
    // The only TARGET_INVALID an http(s): target can get is the missing host.
    match: (c) => c.code === 'TARGET_INVALID' && /^[!-~]+ https?:/i.test(c.text.slice(messageStart(c, c.ours.error!.offset)).replace(/^(\r\n)+/, '')),
  },
  {
    id: 'extension-method', right: 'ours', rfc: 'RFC 9110 §9.1',
    title: "method is a token but not in llhttp's fixed list (extension or lower-case method)",
    match: (c) => {
      if (c.lcode !== 'HPE_INVALID_METHOD' || c.ov === 'reject') return false;
      const method = methodAt(c, lAt(c));
      return TOKEN_RE.test(method) && !llhttpMethods.has(method);
    },
  },
  {
    id: 'extension-method-prefix', right: 'ours', rfc: 'RFC 9110 §9.1',
    title: "truncated extension method: llhttp rejects a prefix that matches none of its methods, we wait for the rest",
    match: (c) => c.lcode === 'HPE_INVALID_METHOD' && c.ov === 'incomplete' && TOKEN_RE.test(methodAt(c, lAt(c))),
  },
  {
    id: 'http-1x-minor', right: 'ours', rfc: 'RFC 9110 §2.5',
    title: 'HTTP/1.x with x > 1: we process it as HTTP/1.1 (SHOULD), llhttp rejects the version',
    match: (c) => c.lcode === 'HPE_INVALID_VERSION' && c.ov !== 'reject' && / HTTP\/1\.[2-9]\r?\n?$/.test(lineAt(c.text, lAt(c)).replace(/\r?\n$/, '')),
  },
  {
    id: 'version-major', right: 'ours', rfc: 'RFC 9110 §2.5, §15.6.6',
    title: 'request line with HTTP/2.0 or HTTP/0.9 spelled out (not the h2 preface): we answer 505 (major version not supported), llhttp parses an HTTP/1-style message',
    match: (c) => c.code === 'VERSION_NOT_SUPPORTED' && / HTTP\/[02-9]\.[0-9]\r?$/.test(lineAt(c.text, oAt(c)).replace(/\n$/, '')),
  },
  {
    id: 'pri-method', right: 'both', rfc: 'RFC 9113 §3.4, §11.6',
    title: 'PRI request that is not the HTTP/2 preface: we parse it as an extension method, llhttp expects "PRI * HTTP/2.0" (refuses the version, or waits for the preface)',
    match: (c) => c.ov !== 'reject' && (c.lcode === 'HPE_INVALID_VERSION' ? methodAt(c, Math.max(0, lAt(c) - 1)) === 'PRI' : c.lv === 'incomplete' && c.ours.messages.some((m) => (m.head as RequestHead).method === 'PRI')),
  },
  {
    id: 'h2-preface', right: 'both', rfc: 'RFC 9113 §3.4, RFC 9110 §15.6.6',
    title: 'HTTP/2 preface "PRI * HTTP/2.0": we answer 505 at the request line, llhttp waits for the whole preface (then pauses for h2)',
    match: (c) => c.code === 'HTTP2_PREFACE' && c.lv !== 'reject',
  },
  {
    id: 'asterisk-form', right: 'ours', rfc: 'RFC 9112 §3.2.4',
    title: 'asterisk-form with a method other than OPTIONS: we answer 400, llhttp accepts',
    match: (c) => c.code === 'TARGET_INVALID' && / \* /.test(requestLine(headAt(c, oAt(c)))) && !/^OPTIONS /.test(requestLine(headAt(c, oAt(c)))),
  },
  {
    id: 'connect-target', right: 'ours', rfc: 'RFC 9112 §3.2.3',
    title: 'CONNECT without an authority-form target (host:port): we answer 400, llhttp accepts',
    match: (c) => c.code === 'TARGET_INVALID' && /^CONNECT /.test(requestLine(headAt(c, oAt(c)))),
  },
  {
    id: 'absolute-uri-grammar', right: 'ours', rfc: 'RFC 9112 §3.2.2, RFC 3986 §3, §3.1',
    title: 'absolute-form that is an absolute-URI by RFC 3986 but not the scheme://authority shape llhttp parses ("host:80", "x:1", "h4tp://h/"): we accept it, llhttp refuses the URL',
    match: (c) => {
      if (c.lcode !== 'HPE_INVALID_URL' || c.ov === 'reject') return false;
      const target = requestLine(headAt(c, lAt(c))).split(' ')[1] ?? '';
      const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/.exec(target);
      if (m === null || /^https?$/i.test(m[1]!)) return false;
      return !/^[A-Za-z]+$/.test(m[1]!) || !m[2]!.startsWith('//');
    },
  },
  {
    id: 'http-uri-empty-host', right: 'llhttp', rfc: 'RFC 9110 §4.2.1',
    title: 'absolute-form "http:" / "https:/x" without an authority: llhttp rejects, we accept (an http(s) URI with an empty host MUST be rejected as invalid)',
    match: (c) => c.lcode === 'HPE_INVALID_URL' && c.ov !== 'reject' && /^https?:(?!\/\/[^/?#])/i.test(requestLine(headAt(c, lAt(c))).split(' ')[1] ?? ''),
  },
  {
    id: 'authority-chars', right: 'llhttp', rfc: 'RFC 9112 §3.2.2, RFC 3986 §3.2 (deliberate leniency, src/constants.ts TARGET)',
    title: 'character outside RFC 3986 in the authority of an absolute-form target ("#", "<", "}"): we accept it (the TARGET table admits every VCHAR on purpose), llhttp refuses it',
    match: (c) => {
      if (c.lcode !== 'HPE_INVALID_URL' || c.ov === 'reject') return false;
      const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?]*)/.exec(requestLine(headAt(c, lAt(c))).split(' ')[1] ?? '');
      return m !== null && /[^A-Za-z0-9\-._~%!$&'()*+,;=:@[\]]/.test(m[1]!);
    },
  },
  {
    id: 'request-line-spaces', right: 'both', rfc: 'RFC 9112 §3',
    title: 'more than one SP between request-line parts: we answer 400 (the grammar says one SP), llhttp skips the extra spaces (a MAY)',
    match: (c) => (c.code === 'REQUEST_LINE_INVALID' || c.code === 'VERSION_INVALID' || c.code === 'TARGET_INVALID') && / {2}/.test(requestLine(headAt(c, oAt(c)))),
  },
  // ---- HTTP/0.9
  {
    id: 'http09', right: 'ours', rfc: 'RFC 1945 §4.1',
    title: 'HTTP/0.9 simple request ("GET /path" CRLF, no header section): we answer it and close, llhttp waits for header lines after a version-less request line',
    match: (c) => {
      if (c.code === 'HTTP09_INVALID') return true;
      if (c.code === 'DATA_AFTER_CLOSE' && c.ours.messages.at(-1)?.head.version === '0.9') return true;
      return c.ov === 'accept' && c.ours.messages.some((m) => m.head.version === '0.9');
    },
  },
  // ---- line endings
  {
    id: 'bare-lf', right: 'both', rfc: 'RFC 9112 §2.2',
    title: 'bare LF as a line end where llhttp (strict) tolerates it (an empty line before a request, the end of a version-less request line): a recipient MAY accept it, we refuse unless allowBareLF',
    match: (c) => c.code === 'BARE_LF',
  },
  {
    id: 'bare-cr-leading', right: 'ours', rfc: 'RFC 9112 §2.2',
    title: 'bare CR before a request line: we answer 400 (a bare CR MUST be treated as invalid or replaced by SP), llhttp skips it',
    match: (c) => c.code === 'BARE_CR' && (lineAt(c.text, oAt(c)).startsWith('\r') || c.text.slice(messageStart(c, oAt(c)), oAt(c) + 1).replace(/^(\r\n)+/, '').startsWith('\r')),
  },
  // ---- Content-Length
  {
    id: 'cl-list-same', right: 'both', rfc: 'RFC 9110 §8.6',
    title: 'Content-Length as a list of identical values ("5, 5"): we accept it (a recipient MAY), llhttp rejects',
    match: (c) => c.lcode === 'HPE_INVALID_CONTENT_LENGTH' && c.ov !== 'reject' && rawValues(headAt(c, lAt(c)), 'content-length').some((v) => v.includes(',') && sameDecimal(v.split(','))),
  },
  {
    id: 'cl-htab-ows', right: 'ours', rfc: 'RFC 9110 §5.5, §5.6.3',
    title: 'HTAB in the OWS around a Content-Length value: we strip it, llhttp 9.3.1 rejects (fixed in llhttp 9.4, content-length.md:317)',
    match: (c) => c.lcode === 'HPE_INVALID_CONTENT_LENGTH' && c.ov !== 'reject' && rawValues(headAt(c, lAt(c)), 'content-length').some(hasHtabOws),
  },
  {
    id: 'cl-repeated-same', right: 'both', rfc: 'RFC 9110 §8.6',
    title: 'Content-Length repeated with the same decimal value ("5" and "005"): we accept it (a recipient MAY), llhttp rejects the duplicate',
    match: (c) => {
      if (c.lcode !== 'HPE_UNEXPECTED_CONTENT_LENGTH' || c.ov === 'reject') return false;
      const v = rawValues(headAt(c, lAt(c)), 'content-length').flatMap((x) => x.split(','));
      return v.length > 1 && sameDecimal(v);
    },
  },
  // ---- Transfer-Encoding
  {
    id: 'te-htab-ows', right: 'ours', rfc: 'RFC 9110 §5.5, RFC 9112 §6.1',
    title: 'HTAB in the OWS after "chunked": llhttp 9.3.1 does not see that chunked coding (rejects the request, takes no body on an Upgrade request, or misses that chunked is applied twice), we strip the OWS',
    match: (c) => {
      if (c.ov === 'reject' && c.code !== 'TE_NOT_CHUNKED_FINAL') return false;
      const at = c.lcode !== null ? lAt(c) : (c.ll.upgrade?.offset ?? c.ll.consumed);
      const te = rawValues(headAt(c, Math.max(0, at - 1)), 'transfer-encoding');
      const tab = te.some((v) => trailingHtab(v) && /chunked/i.test(v));
      if (c.code === 'TE_NOT_CHUNKED_FINAL') return c.lv !== 'reject' && rawValues(headAt(c, oAt(c) - 1), 'transfer-encoding').some((v) => trailingHtab(v) && /chunked/i.test(v));
      if (c.lcode === 'HPE_INVALID_TRANSFER_ENCODING') return tab;
      return tab && (c.fields.includes('body') || (c.ov === 'incomplete' && c.lv === 'accept'));
    },
  },
  {
    id: 'te-on-upgrade', right: 'ours', rfc: 'RFC 9112 §6.1, §6.3',
    title: 'invalid or unsupported Transfer-Encoding on a CONNECT / Upgrade request: we answer 400/501, llhttp hands the connection over without looking at the framing',
    match: (c) => (c.code === 'TE_UNSUPPORTED' || c.code === 'TE_INVALID' || c.code === 'TE_NOT_CHUNKED_FINAL' || c.code === 'TE_WITH_CONTENT_LENGTH') && isUpgradeHead(headAt(c, oAt(c))),
  },
  {
    id: 'te-unsupported', right: 'ours', rfc: 'RFC 9112 §6.1',
    title: 'a transfer coding this server does not implement (gzip, deflate) before a final chunked: we answer 501; llhttp decodes the chunked framing',
    match: (c) => c.code === 'TE_UNSUPPORTED',
  },
  {
    id: 'te-empty-member', right: 'ours', rfc: 'RFC 9110 §5.6.1.2',
    title: 'Transfer-Encoding list with an empty member ("chunked,"): we ignore it (a recipient MUST ignore empty list elements), llhttp takes the empty last member for the final coding and rejects',
    match: (c) => c.lcode === 'HPE_INVALID_TRANSFER_ENCODING' && c.ov !== 'reject' && rawValues(headAt(c, Math.max(0, lAt(c) - 1)), 'transfer-encoding').some((v) => v.split(',').some((m) => m.trim() === '')),
  },
  {
    id: 'te-chunked-parameter', right: 'both', rfc: 'RFC 9112 §6.1, §7',
    title: 'chunked with a transfer-parameter ("chunked;q=1") next to a plain chunked: we answer 400 (chunked applied twice, or with a parameter it does not define), llhttp ignores the parameterised one',
    match: (c) => (c.code === 'TE_INVALID' || c.code === 'TE_NOT_CHUNKED_FINAL') && c.lv !== 'reject' && rawValues(headAt(c, Math.max(0, oAt(c) - 1)), 'transfer-encoding').some((v) => /chunked[ \t]*;/i.test(v)),
  },
  {
    id: 'te-not-token', right: 'ours', rfc: 'RFC 9112 §6.1',
    title: 'Transfer-Encoding member that is not a token (\'"chunked"\', "chu nked"): we answer 400 at the field line, llhttp only judges the value once it frames a body',
    match: (c) => c.code === 'TE_INVALID' && rawValues(headAt(c, oAt(c)), 'transfer-encoding').some((v) => v.split(',').some((m) => !TOKEN_RE.test(m.trim().split(';')[0]!.trim()))),
  },
  {
    id: 'te-in-http10', right: 'ours', rfc: 'RFC 9112 §6.1',
    title: 'Transfer-Encoding in an HTTP/1.0 request: we answer 400 (the framing MUST be treated as faulty), llhttp decodes it',
    match: (c) => c.code === 'TE_IN_HTTP10',
  },
  // ---- chunked coding
  {
    id: 'chunk-ext-name', right: 'ours', rfc: 'RFC 9112 §7.1.1',
    title: 'chunk extension without a name (";=x", ";"): we answer 400 (chunk-ext-name = token), llhttp accepts',
    match: (c) => c.code === 'CHUNK_EXTENSION_INVALID' && /;(=|\r|;|$)/.test(lineAt(c.text, oAt(c))),
  },
  {
    id: 'chunk-ext-bws', right: 'ours', rfc: 'RFC 9112 §7.1.1',
    title: 'BWS around ";" and "=" in a chunk line ("5 ;a", "a =b", "a= b"): we accept it (chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )), llhttp rejects (on an Upgrade request Node reports that as a switch mid-body)',
    match: (c) => {
      if (c.ov === 'reject') return false;
      // Where llhttp stopped: its error, or (Node hides body errors of an upgrading request) its "upgrade" mid-body.
      const at = c.lcode === 'HPE_STRICT' || c.lcode === 'HPE_INVALID_CHUNK_SIZE' ? lAt(c) : c.lcode === null && c.ll.upgrade !== null ? c.ll.upgrade.offset : -1;
      if (at < 0) return false;
      const line = lineAt(c.text, at);
      // The input may stop inside the line (we wait, llhttp has refused the whitespace already).
      if (c.ours.partial && at >= c.text.length - line.length && /^[0-9A-Fa-f]+[ \t]+$/.test(line)) return true;
      return /^[0-9A-Fa-f]+(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:"[^"]*"|[^;\r\n]*))?)+\r?\n?$/.test(line) && /[ \t][;=]|[;=][ \t]/.test(line);
    },
  },
  {
    id: 'upgrade-body', right: 'ours', rfc: 'RFC 9112 §6.3',
    title: 'Upgrade request with a malformed (or, to llhttp 9.3.1, unseen) body: we parse the declared body before switching and reject it; Node reports llhttp\'s body error on an upgrading request as a switch at the end of the head',
    match: (c) => c.lv !== 'reject' && c.ll.upgrade !== null && (c.ov !== 'accept' || c.fields.includes('body')) && isUpgradeHead(headAt(c, c.ll.upgrade.offset - 1)),
  },
  // ---- timing: the same rejection, llhttp at an earlier byte
  {
    id: 'early-reject', right: 'both', rfc: '—',
    title: 'llhttp rejects a byte at once that we judge at the end of its line or head (the input stops before): completed with CRLF CRLF, we reject too',
    match: (c) => {
      if (c.ov === 'reject' || c.lv !== 'reject' || !c.ours.partial || lAt(c) < messageStart(c, c.input.bytes.length)) return false;
      const e = parseMessages(Buffer.concat([c.input.bytes, Buffer.from('\r\n\r\n')])).error;
      return e !== null && !/^(CHUNK_|BODY_|UNEXPECTED_EOF|DATA_AFTER_CLOSE)/.test(e.code);
    },
  },
  // ---- limits (docs/limits.md): llhttp as the oracle runs it has none
  {
    id: 'limit-request-line', right: 'both', rfc: 'RFC 9112 §3 (414)',
    title: 'request line over maxRequestLineSize (8 KiB): we answer 414',
    match: (c) => c.code === 'URI_TOO_LONG',
  },
  {
    id: 'limit-header-section', right: 'both', rfc: 'RFC 6585 §5 (431)',
    title: 'header section over maxHeaderSize (16 KiB) or maxHeaderCount (100): we answer 431',
    match: (c) => c.code === 'HEADERS_TOO_LARGE' || c.code === 'TOO_MANY_HEADERS',
  },
  {
    id: 'limit-body', right: 'both', rfc: 'RFC 9110 §15.5.14 (413)',
    title: 'Content-Length or chunk size over maxBodySize (64 MiB), or a chunk size over 2^53/16: we answer 413/400 at once, llhttp waits for the bytes',
    match: (c) => (c.code === 'BODY_TOO_LARGE' || c.code === 'CHUNK_SIZE_TOO_LARGE') && !/^CONNECT /.test(requestLine(headAt(c, oAt(c)))),
  },
  {
    id: 'limit-cl-digits', right: 'both', rfc: 'RFC 9110 §8.6',
    title: 'Content-Length of more than 15 digits: we refuse it as invalid (no exact integer beyond 2^53), llhttp accepts up to 2^64-1',
    match: (c) => c.code === 'CONTENT_LENGTH_INVALID' && rawValues(headAt(c, oAt(c)), 'content-length').some((v) => /^[ \t]*[0-9]{16,}[ \t]*$/.test(v)),
  },
  {
    id: 'connect-content-length', right: 'llhttp', rfc: 'RFC 9110 §9.3.6',
    title: 'CONNECT with a huge Content-Length: we answer 413 although a CONNECT request has no content, llhttp ignores the field',
    match: (c) => c.code === 'BODY_TOO_LARGE' && /^CONNECT /.test(requestLine(headAt(c, oAt(c)))),
  },
  // ---- connection management
  {
    id: 'connection-htab', right: 'ours', rfc: 'RFC 9110 §5.5, RFC 9112 §9.3',
    title: 'Connection value with HTAB in its OWS ("keep-alive\\t", "Upgrade\\t"): llhttp 9.3.1 misses the option (fixed in llhttp 9.4, connection.md:342), so it refuses the next request as data after close, parses the upgraded bytes as HTTP, or parses a request after "close" that we refuse',
    match: (c) => {
      const llMissed = c.ov !== 'reject' && (c.lcode === 'HPE_CLOSED_CONNECTION' || (c.ours.upgraded && c.ll.upgrade === null));
      const weClosed = c.code === 'DATA_AFTER_CLOSE' && c.lv !== 'reject';
      if (!llMissed && !weClosed) return false;
      const upTo = weClosed ? oAt(c) : Math.max(lAt(c), c.ll.consumed);
      return c.ours.messages.some((m) => {
        const h = m.head as RequestHead;
        return h.offset < upTo && rawValues(headAt(c, h.offset), 'connection').some((v) => /\t/.test(v));
      });
    },
  },
];

// ------------------------------------------------------------------- run

function verdictOf(r: ParseOutcome): Verdict {
  if (r.error) return 'reject';
  return r.messages.some((m) => m.complete) ? 'accept' : 'incomplete';
}

function oracleVerdict(r: OracleResult): Verdict {
  if (r.error) return 'reject';
  return r.messages.some((m) => m.complete) ? 'accept' : 'incomplete';
}

function fieldDiffs(ours: ParseOutcome, ll: OracleResult): string[] {
  const m = ours.messages[0]!;
  const w = ll.messages[0]!;
  const h = m.head as RequestHead;
  const d: string[] = [];
  if (h.method !== w.method) d.push('method');
  if (h.target !== w.url) d.push('url');
  if (h.version !== w.version) d.push('version');
  if (JSON.stringify(h.rawHeaders) !== JSON.stringify(w.headers)) d.push('headers');
  if (m.body.toString('base64') !== w.body_base64) d.push('body');
  return d;
}

/** Our parse with message boundaries (heads and ends) recorded. */
function ourParse(bytes: Buffer, options: ParserOptions): { r: ParseOutcome; starts: number[] } {
  const starts: number[] = [];
  const r = parseMessages(bytes, {
    ...options,
    onEvent: (ev) => {
      if (ev.type === 'head') starts.push((ev['head'] as RequestHead).offset);
      else if (ev.type === 'end') starts.push(ev.offset);
    },
  });
  return { r, starts };
}

interface Tally {
  runs: number;
  agree: number;
  validRuns: number;
  validAgree: number;
  perClass: Map<string, { n: number; valid: number; example: string }>;
  unclassified: string[];
  validRejected: string[];
}

function compare(inputs: FuzzInput[], oracle: OracleResult[], options: ParserOptions): Tally {
  const tally: Tally = { runs: 0, agree: 0, validRuns: 0, validAgree: 0, perClass: new Map(), unclassified: [], validRejected: [] };
  inputs.forEach((input, k) => {
    const ll = oracle[k]!;
    const { r, starts } = ourParse(input.bytes, options);
    const ov = verdictOf(r);
    const lv = oracleVerdict(ll);
    tally.runs++;
    if (input.valid) tally.validRuns++;
    if (input.valid && ov !== 'accept') tally.validRejected.push(`[index ${input.index}, ${input.kind}] ${ov} ${r.error?.code ?? ''}`);
    const fields = ov === 'accept' && lv === 'accept' ? fieldDiffs(r, ll) : [];
    if (ov === lv && fields.length === 0) {
      tally.agree++;
      if (input.valid) tally.validAgree++;
      return;
    }
    const c: Case = { input, text: input.bytes.toString('latin1'), ours: r, ov, code: r.error?.code ?? null, ll, lv, lcode: ll.error?.code ?? null, starts, fields };
    const cls = CLASSES.find((x) => x.match(c));
    const what = `ours ${ov}${r.error ? ` ${r.error.code}@${r.error.offset}` : ''} / llhttp ${lv}${ll.error ? ` ${ll.error.code}@${ll.error.offset}` : ''}${fields.length ? ` fields ${fields.join(',')}` : ''}`;
    if (cls === undefined) {
      tally.unclassified.push(`[index ${input.index}, ${input.kind}] ${what}\n    ${jsString(input.bytes.subarray(0, 600))}`);
      return;
    }
    const e = tally.perClass.get(cls.id) ?? { n: 0, valid: 0, example: `${what}: ${jsString(input.bytes.subarray(0, 160))}` };
    e.n++;
    if (input.valid) e.valid++;
    tally.perClass.set(cls.id, e);
  });
  return tally;
}

function report(t: Test, label: string, tally: Tally): void {
  const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(2)}%`;
  t.comment(`differential (${label}): ${tally.agree}/${tally.runs} agree (${pct(tally.agree, tally.runs)}); valid inputs ${tally.validAgree}/${tally.validRuns} (${pct(tally.validAgree, tally.validRuns)}); mutated ${tally.agree - tally.validAgree}/${tally.runs - tally.validRuns} (${pct(tally.agree - tally.validAgree, tally.runs - tally.validRuns)})`);
  for (const cls of CLASSES) {
    const e = tally.perClass.get(cls.id);
    if (e === undefined) continue;
    t.comment(`  ${String(e.n).padStart(5)} (${String(e.valid).padStart(4)} valid) ${cls.id} [right: ${cls.right}; ${cls.rfc}] ${cls.title}`);
    if (VERBOSE) t.comment(`          e.g. ${e.example}`);
  }
  if (tally.unclassified.length > 0) t.comment(`  ${tally.unclassified.length} UNCLASSIFIED`);
}

if (!existsSync(ORACLE)) {
  t.test('differential against llhttp', { skip: `llhttp-oracle.mjs not found in ${CONFORMANCE_DIR}` }, async () => {});
} else {
  t.test('differential against llhttp', async (t) => {
    const { parse } = (await import(pathToFileURL(ORACLE).href)) as { parse: OracleParse };
    const started = Date.now();
    const inputs = [...generate(SEED, COUNT)];
    const oracle = inputs.map((input) => parse(input.bytes, { lenient: 0 }));
    const ids = new Set<string>();
    for (const cls of CLASSES) {
      t.notOk(ids.has(cls.id), `class id ${cls.id} is unique`);
      ids.add(cls.id);
    }

    for (const [label, options] of [['strict defaults', {}], ['requireHost: false', { requireHost: false }]] as const) {
      t.test(label, async (t) => {
        const tally = compare(inputs, oracle, options);
        report(t, label, tally);
        t.same(tally.unclassified.slice(0, 20), [], `every disagreement is classified (${tally.unclassified.length} are not)`);
        t.ok(tally.agree / tally.runs > 0.5, 'most inputs agree');
        if ('requireHost' in options) t.notOk(tally.perClass.has('host-missing'), 'no Host rule with requireHost: false');
        else if (COUNT >= 5000) t.ok(tally.perClass.has('host-missing'), 'the Host rule shows up with strict defaults');
        // A VALID input is one this parser must accept (test/fuzz.test.ts checks it too): on valid inputs only llhttp may be the stricter one.
        t.same(tally.validRejected, [], 'no valid input is rejected or left incomplete by this parser');
      });
    }
    t.teardown(() => t.comment(`differential: ${COUNT} inputs (seed ${SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s`));
  });
}
