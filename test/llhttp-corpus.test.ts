// The llhttp request corpus (../shared/conformance/llhttp-requests.jsonl,
// read by path, never copied): every strict plain-HTTP case must agree with
// llhttp's verdict and parsed fields, whole and at every split point, except
// the deliberate differences listed below with the RFC section behind each.
// The lenient cases must be rejected (their Node 20 strict verdict).
import t from 'tap';
import { fieldDiffs, lenientCases, loadJsonl, runCase, strictCases, verdictOf, type LlhttpCase, type Verdict } from './helpers/corpus.js';
import type { ParseOutcome } from '../src/parser/inspect.js';
import type { ParseErrorCode } from '../src/errors.js';

const all = loadJsonl<LlhttpCase>('llhttp-requests.jsonl');

/**
 * Deliberate differences, by case id (the part after llhttp/test/request/).
 * `ours` is what this parser answers instead of llhttp's verdict.
 */
const DIFFERENCES: Record<string, { ours: Verdict; code?: ParseErrorCode; why: string }> = {
  'invalid.md:66': { ours: 'accept', why: 'RFC 9110 §9.1: a method is any token; ANNOUNCE (an RTSP method) is a valid extension method on HTTP' },
  'invalid.md:356': { ours: 'accept', why: 'RFC 9110 §9.1: MKCOLA is a token, so a valid extension method (llhttp only knows a fixed list)' },
  'method.md:135': { ours: 'reject', code: 'TARGET_INVALID', why: 'RFC 9112 §3.2.4: the asterisk-form is only for OPTIONS; M-SEARCH * is SSDP over UDP, not HTTP' },
  'transfer-encoding.md:751': { ours: 'reject', code: 'TE_UNSUPPORTED', why: 'RFC 9112 §6.1: a server that does not implement a transfer coding (deflate) answers 501' },
  'transfer-encoding.md:793': { ours: 'reject', code: 'TE_UNSUPPORTED', why: 'RFC 9112 §6.1: deflate (on its own Transfer-Encoding line) is not implemented → 501' },
};
/** A class of difference: HTTP/1.1 without Host is refused (RFC 9112 §3.2); the fields are still compared with `requireHost: false`. */
const HOST_RULE = 'RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host';

const shortId = (c: LlhttpCase): string => c.id.replace('llhttp/test/request/', '');

/** Our outcome for a case, with the Host rule applied and recorded. */
function outcome(c: LlhttpCase, split?: number[]): { r: ParseOutcome; hostRule: boolean } {
  const opts = split ? { splitAt: split } : {};
  const r = runCase(c, opts);
  if (r.error?.code === 'HOST_MISSING') return { r: runCase(c, { ...opts, requireHost: false }), hostRule: true };
  return { r, hostRule: false };
}

/** Agreement with llhttp (or the listed difference) for one outcome; returns the problems. */
function judge(c: LlhttpCase, r: ParseOutcome): string[] {
  const diff = DIFFERENCES[shortId(c)];
  const v = verdictOf(r);
  if (c.harness?.finish && c.at_eof) {
    // llhttp_finish() cases: closing after these bytes is clean ('safe') or an error ('unsafe').
    const eofError = r.error?.code === 'UNEXPECTED_EOF';
    return eofError === (c.at_eof === 'unsafe') ? [] : [`at EOF: ours ${eofError ? 'error' : 'clean'}, llhttp ${c.at_eof}`];
  }
  if (diff) {
    const problems: string[] = [];
    if (v !== diff.ours) problems.push(`listed difference: expected ours=${diff.ours}, got ${v}`);
    if (diff.code && r.error?.code !== diff.code) problems.push(`listed difference: expected ${diff.code}, got ${r.error?.code}`);
    return problems;
  }
  const problems = v === c.expect ? [] : [`verdict ours=${v}${r.error ? ` (${r.error.code}@${r.error.offset})` : ''} llhttp=${c.expect}`];
  return problems.concat(fieldDiffs(c, r));
}

if (all === null) {
  t.test('llhttp corpus', { skip: 'llhttp-requests.jsonl not found in ../shared/conformance' }, async () => {});
} else {
  const strict = strictCases(all);
  let wholeAgree = 0;
  let splitAgree = 0;
  let splitRuns = 0;
  let hostCases = 0;

  t.test('strict cases agree with llhttp (or are listed differences)', async (t) => {
    t.equal(strict.length, 117, 'the 117 strict plain-HTTP cases the corpus README counts');
    for (const c of strict) {
      const { r, hostRule } = outcome(c);
      if (hostRule) hostCases++;
      const problems = judge(c, r);
      if (problems.length === 0) wholeAgree++;
      t.same(problems, [], `${shortId(c)} ${c.name}${hostRule ? ' [Host rule]' : ''}${DIFFERENCES[shortId(c)] ? ' [listed difference]' : ''}`);
    }
  });

  t.test('strict cases give the same answer at every split point', async (t) => {
    for (const c of strict) {
      const raw = Buffer.from(c.raw_base64, 'base64');
      const whole = JSON.stringify(summary(outcome(c).r));
      let same = 0;
      for (let k = 1; k < raw.length; k++) {
        splitRuns++;
        if (JSON.stringify(summary(outcome(c, [k]).r)) === whole) {
          same++;
          splitAgree++;
        }
      }
      t.equal(same, Math.max(0, raw.length - 1), `${shortId(c)}: ${raw.length - 1} split points`);
    }
  });

  t.test('lenient cases are rejected (their Node 20 strict verdict)', async (t) => {
    const lenient = lenientCases(all);
    t.ok(lenient.length > 0, 'some lenient cases');
    for (const c of lenient) {
      const v = verdictOf(runCase(c));
      t.equal(v, c.node20_strict?.verdict ?? 'reject', `${shortId(c)} ${c.name}`);
    }
  });

  t.test('every listed difference is in the corpus', async (t) => {
    const ids = new Set(strict.map(shortId));
    for (const id of Object.keys(DIFFERENCES)) t.ok(ids.has(id), `${id}: ${DIFFERENCES[id]!.why}`);
  });

  t.teardown(() => {
    // The figures the closing note quotes.
    t.comment(`llhttp corpus: ${wholeAgree}/${strict.length} strict cases agree whole (${Object.keys(DIFFERENCES).length} listed differences, ${hostCases} under the Host rule: ${HOST_RULE}); ${splitAgree}/${splitRuns} split runs agree with the whole parse`);
  });
}

function summary(r: ParseOutcome): unknown {
  return {
    e: r.error ? [r.error.code, r.error.offset] : null,
    m: r.messages.map((m) => [m.head, m.body.toString('latin1'), m.trailers, m.complete]),
    u: r.upgraded,
    c: r.consumed,
  };
}
