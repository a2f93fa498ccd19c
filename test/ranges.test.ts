// messageRanges (src/parser/ranges.ts): what each byte of a message is, for
// the inspector page. The ranges must cover every byte exactly once, agree
// with what the parser made of the message (each field name and value is
// the parser's rawHeaders entry, the chunk data is the decoded body), not
// change with how the bytes were split, and point at the rejected byte.
import t from 'tap';
import { messageRanges, RANGE_RULES, type RangesOutcome } from '../src/parser/ranges.js';
import { parseMessages } from '../src/parser/inspect.js';
import { loadJsonl, strictCases, type LlhttpCase } from './helpers/corpus.js';

const L = (s: string): Buffer => Buffer.from(s, 'latin1');
const text = (b: Buffer, r: { start: number; end: number }): string => b.subarray(r.start, r.end).toString('latin1');
const kinds = (b: Buffer, o: RangesOutcome): string[] => o.ranges.map((r) => `${r.kind}:${text(b, r)}`);

/** The invariant: ranges in order, contiguous, non-empty, covering [0, length). */
function covers(b: Uint8Array, o: RangesOutcome): string | null {
  let at = 0;
  for (const r of o.ranges) {
    if (r.start !== at) return `gap or overlap at ${at} (next range starts at ${r.start}, ${r.kind})`;
    if (r.end <= r.start) return `empty range at ${r.start} (${r.kind})`;
    at = r.end;
  }
  return at === b.length ? null : `ranges end at ${at} of ${b.length}`;
}

/** The field names and values the ranges show agree with the parser's rawHeaders and trailers. */
function agrees(b: Buffer, o: RangesOutcome): string | null {
  const r = parseMessages(b);
  for (const [i, m] of r.messages.entries()) {
    const mine = o.ranges.filter((x) => x.message === i);
    const names = mine.filter((x) => x.kind === 'field-name').map((x) => text(b, x));
    const values = mine.filter((x) => x.kind === 'field-value').map((x) => text(b, x));
    const want = m.head.rawHeaders;
    if (names.length !== want.length) return `message ${i}: ${names.length} field names, parser has ${want.length}`;
    for (const [k, [n, v]] of want.entries()) {
      if (names[k] !== n) return `message ${i} field ${k}: name ${JSON.stringify(names[k])} vs ${JSON.stringify(n)}`;
      if ((values[k] ?? '') !== v) return `message ${i} field ${k}: value ${JSON.stringify(values[k])} vs ${JSON.stringify(v)}`;
    }
    if (m.complete) {
      const data = mine.filter((x) => x.kind === 'chunk-data' || x.kind === 'content').map((x) => text(b, x)).join('');
      if (data !== m.body.toString('latin1')) return `message ${i}: content ${JSON.stringify(data)} vs body ${JSON.stringify(m.body.toString('latin1'))}`;
      const tn = mine.filter((x) => x.kind === 'trailer-name').map((x) => text(b, x));
      if (tn.join('\n') !== m.trailers.map(([n]) => n).join('\n')) return `message ${i}: trailers ${tn} vs ${m.trailers.map(([n]) => n)}`;
    }
  }
  return null;
}

t.test('a simple GET, byte by byte', async (t) => {
  const b = L('GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept:\t*/* \r\n\r\n');
  const o = messageRanges(b);
  t.same(kinds(b, o), [
    'method:GET', 'sp: ', 'target:/a?b=1', 'sp: ', 'version:HTTP/1.1', 'crlf:\r\n',
    'field-name:Host', 'colon::', 'ows: ', 'field-value:x', 'crlf:\r\n',
    'field-name:Accept', 'colon::', 'ows:\t', 'field-value:*/*', 'ows: ', 'crlf:\r\n',
    'head-end:\r\n',
  ]);
  t.same(o.messages, [{ start: 0, end: b.length, complete: true }]);
  t.equal(o.error, null);
  t.equal(o.ranges[6]!.label, 'field 1 name');
  for (const r of o.ranges) t.ok(RANGE_RULES[r.kind].rule.length > 0 && RANGE_RULES[r.kind].section.startsWith('RFC'), `${r.kind} has a rule`);
});

t.test('chunked upload with an extension and a trailer, then a pipelined request', async (t) => {
  const b = L('\r\nPOST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1a;x=y\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: v\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabcGET /x');
  const o = messageRanges(b);
  t.equal(covers(b, o), null);
  t.equal(agrees(b, o), null);
  const k = kinds(b, o);
  t.equal(k[0], 'ignored-line:\r\n', 'the empty line before the request-line is ignored (RFC 9112 §2.2)');
  t.ok(k.includes('chunk-size:1a') && k.includes('chunk-ext:;x=y') && k.includes('chunk-data:abcdefghijklmnopqrstuvwxyz') && k.includes('last-chunk:0'));
  t.ok(k.includes('trailer-name:T') && k.includes('trailer-value:v'));
  t.ok(k.includes('content:abc'));
  t.equal(k.at(-1), 'incomplete:GET /x', 'the third request has not fully arrived');
  t.same(o.messages.map((m) => m.complete), [true, true, false]);
  t.same([...new Set(o.ranges.map((r) => r.message))], [0, 1, 2]);
  t.match(o.ranges.find((r) => r.kind === 'chunk-size')!.label, 'chunk 1 size (0x1a = 26)');
});

t.test('a rejected request: the offending byte, then nothing parsed', async (t) => {
  const b = L('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  const o = messageRanges(b);
  t.equal(covers(b, o), null);
  t.equal(o.error?.code, 'TE_WITH_CONTENT_LENGTH');
  t.equal(o.error?.status, 400);
  t.match(o.error?.rule, /RFC 9112 §6\.1/, 'the rule it enforces');
  const err = o.ranges.find((r) => r.kind === 'error')!;
  t.equal(err.start, o.error!.offset);
  t.equal(err.end, err.start + 1);
  t.equal(o.ranges.at(-1)!.kind, 'unparsed');

  const bad = L('GET / HTTP/1.1\r\nBad Name: a\r\n\r\n');
  const o2 = messageRanges(bad);
  t.same(kinds(bad, o2).slice(-3), ['field-name:Bad', 'error: ', 'unparsed:Name: a\r\n\r\n']);
  t.equal(o2.error?.code, 'HEADER_NAME_INVALID');
});

t.test('a rejection at the end of the input (EOF) has no error byte but keeps the error', async (t) => {
  const b = L('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab');
  const o = messageRanges(b, { eof: true });
  t.equal(covers(b, o), null);
  t.equal(o.error?.code, 'UNEXPECTED_EOF');
  t.equal(o.ranges.at(-1)!.kind, 'content');
});

t.test('responses: status and reason phrase', async (t) => {
  const b = L('HTTP/1.1 200 OK then\r\nContent-Length: 2\r\n\r\nhi');
  const o = messageRanges(b, { kind: 'response' });
  t.same(kinds(b, o).slice(0, 6), ['version:HTTP/1.1', 'sp: ', 'status:200', 'sp: ', 'reason:OK then', 'crlf:\r\n']);
  t.equal(covers(b, o), null);
});

t.test('HTTP/0.9, bare LF leniency, upgrade', async (t) => {
  const b09 = L('GET /\r\n');
  t.same(kinds(b09, messageRanges(b09)), ['method:GET', 'sp: ', 'target:/', 'crlf:\r\n']);
  const lf = L('GET / HTTP/1.1\nHost: a\n\n');
  const olf = messageRanges(lf, { allowBareLF: true });
  t.same(kinds(lf, olf).filter((k) => k.startsWith('crlf') || k.startsWith('head-end')), ['crlf:\n', 'crlf:\n', 'head-end:\n']);
  const up = L('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n\x16\x03\x01');
  const oup = messageRanges(up);
  t.equal(covers(up, oup), null);
  t.equal(oup.ranges.at(-1)!.kind, 'other-protocol');
});

t.test('a cut-short head and a chunk line cut short are split as far as they go', async (t) => {
  for (const s of ['GET /abc HTTP/1.1\r\nHo', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab']) {
    const b = L(s);
    const o = messageRanges(b);
    t.equal(covers(b, o), null, JSON.stringify(s));
    t.equal(o.messages.at(-1)?.complete, false);
  }
});

t.test('the ranges do not depend on how the bytes were split', async (t) => {
  const b = L('POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const whole = messageRanges(b);
  for (const split of [1, 2, 3, 7, 13]) t.same(messageRanges(b, { split }), whole, `split ${split}`);
});

const corpus = loadJsonl<LlhttpCase>('llhttp-requests.jsonl');
t.test('every llhttp corpus case: ranges cover the bytes and agree with the parser', { skip: corpus === null ? 'llhttp-requests.jsonl not found in ../shared/conformance' : false }, async (t) => {
  const problems: string[] = [];
  let n = 0;
  for (const c of strictCases(corpus!)) {
    const b = Buffer.from(c.raw_base64, 'base64');
    const o = messageRanges(b, { requireHost: false });
    const p = covers(b, o) ?? (o.error === null ? agreesLenient(b, o) : null);
    if (p !== null) problems.push(`${c.id}: ${p}`);
    if (o.error !== null && o.error.offset < b.length && !o.ranges.some((r) => r.kind === 'error' && r.start === o.error!.offset)) problems.push(`${c.id}: no error range`);
    n++;
  }
  t.same(problems, [], `${n} cases`);
  t.ok(n > 100, `${n} cases checked`);
});

/** `agrees` with the Host rule off, as the corpus test runs the cases. */
function agreesLenient(b: Buffer, o: RangesOutcome): string | null {
  const r = parseMessages(b, { requireHost: false });
  return r.error === null ? agrees2(b, o, r) : null;
}
function agrees2(b: Buffer, o: RangesOutcome, r: ReturnType<typeof parseMessages>): string | null {
  for (const [i, m] of r.messages.entries()) {
    const mine = o.ranges.filter((x) => x.message === i);
    const names = mine.filter((x) => x.kind === 'field-name').map((x) => text(b, x));
    if (names.join('\n') !== m.head.rawHeaders.map(([n]) => n).join('\n')) return `message ${i}: names ${names} vs ${m.head.rawHeaders.map(([n]) => n)}`;
    if (m.complete) {
      const data = mine.filter((x) => x.kind === 'chunk-data' || x.kind === 'content').map((x) => text(b, x)).join('');
      if (data !== m.body.toString('latin1')) return `message ${i}: content differs`;
    }
  }
  return null;
}
