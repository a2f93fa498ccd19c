// The llhttp response corpus (../shared/conformance/llhttp-responses.jsonl,
// read by path, never copied): every strict case must agree with llhttp's
// verdict, parsed fields and end-of-stream meaning (`at_eof`), whole and at
// every split point, except the deliberate differences listed below with
// the RFC section behind each. The lenient cases must be rejected (their
// Node 20 strict verdict).
import t from 'tap';
import { loadJsonl, messageDiffs, verdictOf, type LlhttpCase, type Verdict } from './helpers/corpus.js';
import { parseMessages, type ParseOutcome } from '../src/parser/inspect.js';
import type { ResponseHead } from '../src/parser/parser.js';
import type { ParseErrorCode } from '../src/errors.js';

interface ResponseMessage {
  complete: boolean;
  headers_complete: boolean;
  status: number | null;
  reason: string | null;
  version: string | null;
  headers: [string, string][];
  trailers?: [string, string][];
  body_base64: string;
  close_delimited?: boolean;
}
type ResponseCase = Omit<LlhttpCase, 'messages' | 'at_eof'> & {
  messages: ResponseMessage[];
  at_eof?: 'safe' | 'completes' | 'unsafe';
  request_method?: 'HEAD';
};

const all = loadJsonl<ResponseCase>('llhttp-responses.jsonl');

/**
 * Deliberate differences, by case id (the part after llhttp/test/response/).
 * `ours` is what this parser answers instead of llhttp's verdict.
 */
const DIFFERENCES: Record<string, { ours: Verdict; code?: ParseErrorCode; why: string }> = {
  'sample.md:40': { ours: 'reject', code: 'STATUS_LINE_INVALID', why: 'RFC 9112 §2.3: HTTP-name is "HTTP", case-sensitive; RTSP/1.1 is another protocol' },
  'sample.md:60': { ours: 'reject', code: 'STATUS_LINE_INVALID', why: 'RFC 9112 §2.3: HTTP-name is "HTTP"; ICE/1.1 (Icecast) is another protocol' },
  'sample.md:645': { ours: 'reject', code: 'VERSION_NOT_SUPPORTED', why: 'RFC 9112 §2.3: a status line says HTTP/1.x; HTTP/0.9 had no status line (RFC 1945 §6), so "HTTP/0.9 200 OK" is not a response this client can frame' },
};

const shortId = (c: ResponseCase): string => c.id.replace('llhttp/test/response/', '');

const STRICT_DROP: string[] = [];
const strictCases = (cs: ResponseCase[]): ResponseCase[] => cs.filter((c) => c.mode === 'strict' && !c.tags.some((x) => STRICT_DROP.includes(x)));

/**
 * Our outcome for a case. `finish` cases are run without EOF here (the
 * bytes before llhttp_finish()), and with it by eofDiffs. The HEAD case
 * (`content-length.md:123`): llhttp's harness skips the body of every
 * message, i.e. every response answers a HEAD request, so the parser is
 * told so before each.
 */
function run(c: ResponseCase, opts: { splitAt?: number[]; eof?: boolean } = {}): ParseOutcome {
  const raw = Buffer.from(c.raw_base64, 'base64');
  const o = { kind: 'response' as const, eof: opts.eof ?? false, ...(opts.splitAt ? { splitAt: opts.splitAt } : {}) };
  if (c.request_method !== 'HEAD') return parseMessages(raw, o);
  // Responses to pipelined HEAD requests: one parse per response, each told it answers HEAD.
  const out: ParseOutcome = { messages: [], error: null, consumed: 0, upgraded: false, partial: false };
  let from = 0;
  while (from < raw.length) {
    const cuts = (opts.splitAt ?? []).map((k) => k - from).filter((k) => k > 0);
    const r = parseMessages(raw.subarray(from), { ...o, head: true, splitAt: cuts });
    const first = r.messages[0];
    // What follows the first response is parsed again, told it answers HEAD too.
    if (first === undefined || !first.complete) {
      out.messages.push(...r.messages);
      out.error = r.error;
      out.partial = r.partial;
      out.consumed = from + r.consumed;
      break;
    }
    out.messages.push(first);
    from += first.head.offset + first.head.headSize;
    out.consumed = from;
  }
  return out;
}

/** Field-by-field differences between our responses and llhttp's. */
function fieldDiffs(c: ResponseCase, r: ParseOutcome): string[] {
  return messageDiffs<ResponseMessage, ResponseHead>(c, r, (w, head, k) => [
    ...(w.status !== head.status ? [`[${k}].status ${head.status} vs ${w.status}`] : []),
    ...(w.reason !== head.reason ? [`[${k}].reason ${JSON.stringify(head.reason)} vs ${JSON.stringify(w.reason)}`] : []),
    ...(!!w.close_delimited !== head.closeDelimited ? [`[${k}].closeDelimited ${head.closeDelimited} vs ${!!w.close_delimited}`] : []),
  ]);
}

/**
 * What closing the connection after the bytes means (`at_eof`): `safe` a
 * clean end, `completes` the close-delimited last message completes with
 * llhttp's body, `unsafe` a truncated response (UNEXPECTED_EOF).
 */
function eofDiffs(c: ResponseCase): string[] {
  if (c.at_eof === undefined) return [];
  const r = run(c, { eof: true });
  if (c.at_eof === 'unsafe') return r.error?.code === 'UNEXPECTED_EOF' ? [] : [`at EOF: ours ${r.error?.code ?? 'clean'}, llhttp unsafe`];
  if (r.error) return [`at EOF: ours ${r.error.code}@${r.error.offset}, llhttp ${c.at_eof}`];
  const last = r.messages.at(-1);
  if (c.at_eof === 'safe') return last === undefined || last.complete ? [] : ['at EOF: ours leaves the last message incomplete, llhttp safe'];
  const want = Buffer.from(c.messages.at(-1)!.body_base64, 'base64');
  if (last === undefined || !last.complete) return ['at EOF: ours does not complete the close-delimited message'];
  return want.equals(last.body) ? [] : [`at EOF: body ${JSON.stringify(last.body.toString('latin1'))} vs ${JSON.stringify(want.toString('latin1'))}`];
}

/** Agreement with llhttp (or the listed difference) for one case; returns the problems. */
function judge(c: ResponseCase): string[] {
  const r = run(c);
  const v = verdictOf(r);
  const diff = DIFFERENCES[shortId(c)];
  if (diff) {
    const problems: string[] = [];
    if (v !== diff.ours) problems.push(`listed difference: expected ours=${diff.ours}, got ${v}`);
    if (diff.code && r.error?.code !== diff.code) problems.push(`listed difference: expected ${diff.code}, got ${r.error?.code}`);
    return problems;
  }
  const problems = v === c.expect ? [] : [`verdict ours=${v}${r.error ? ` (${r.error.code}@${r.error.offset})` : ''} llhttp=${c.expect}`];
  return problems.concat(fieldDiffs(c, r), eofDiffs(c));
}

function summary(r: ParseOutcome): unknown {
  return {
    e: r.error ? [r.error.code, r.error.offset] : null,
    m: r.messages.map((m) => [m.head, m.body.toString('latin1'), m.trailers, m.complete]),
    u: r.upgraded,
    c: r.consumed,
  };
}

if (all === null) {
  t.test('llhttp response corpus', { skip: 'llhttp-responses.jsonl not found in ../shared/conformance' }, async () => {});
} else {
  const strict = strictCases(all);
  let agree = 0;
  let splitAgree = 0;
  let splitRuns = 0;

  t.test('strict cases agree with llhttp (or are listed differences)', async (t) => {
    t.equal(strict.length, 77, 'the 77 strict cases the corpus README counts');
    for (const c of strict) {
      const problems = judge(c);
      if (problems.length === 0) agree++;
      t.same(problems, [], `${shortId(c)} ${c.name}${DIFFERENCES[shortId(c)] ? ' [listed difference]' : ''}`);
    }
  });

  t.test('strict cases give the same answer at every split point', async (t) => {
    for (const c of strict) {
      const raw = Buffer.from(c.raw_base64, 'base64');
      const whole = JSON.stringify(summary(run(c)));
      let same = 0;
      for (let k = 1; k < raw.length; k++) {
        splitRuns++;
        if (JSON.stringify(summary(run(c, { splitAt: [k] }))) === whole) {
          same++;
          splitAgree++;
        }
      }
      t.equal(same, Math.max(0, raw.length - 1), `${shortId(c)}: ${raw.length - 1} split points`);
    }
  });

  t.test('lenient cases are rejected (their Node 20 strict verdict)', async (t) => {
    const lenient = all.filter((c) => c.mode !== 'strict');
    t.equal(lenient.length, 8, 'the 8 lenient cases');
    for (const c of lenient) t.equal(verdictOf(run(c)), c.node20_strict?.verdict ?? 'reject', `${shortId(c)} ${c.name}`);
  });

  t.test('CR CR does not end a status line (llhttp#865)', async (t) => {
    const c = strict.find((x) => shortId(x) === 'invalid.md:176');
    t.ok(c, 'invalid.md:176 is in the corpus');
    if (c) t.equal(run(c).error?.code, 'BARE_CR', 'HTTP/1.1 200 OK\\r\\rContent-Length: 4… is refused');
  });

  t.test('every listed difference is in the corpus', async (t) => {
    const ids = new Set(strict.map(shortId));
    for (const id of Object.keys(DIFFERENCES)) t.ok(ids.has(id), `${id}: ${DIFFERENCES[id]!.why}`);
  });

  t.teardown(() => {
    t.comment(`llhttp response corpus: ${agree}/${strict.length} strict cases agree (${Object.keys(DIFFERENCES).length} listed differences); ${splitAgree}/${splitRuns} split runs agree with the whole parse`);
  });
}
