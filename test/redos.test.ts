/**
 * Every regular expression of src/ is linear (issue #8), and stays so:
 * - the audit: each expression found in src/ is in AUDITED (with why it is
 *   linear, as docs/security.md lists it) and the lint of
 *   test/helpers/regex-lint.ts finds no super-linear shape in it; a new
 *   expression fails here until it is audited;
 * - growth: each is run on its worst input at size N and 8N; the time ratio
 *   stays near 8 (linear), far from 64 (quadratic);
 * - end to end: the attacks of issue #8 through the parsers.
 * The checks are shown to fail on the expression that issue #8 found.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { findRegexes, lintRegex } from './helpers/regex-lint.js';
import { RequestParser, ResponseParser } from '../src/parser/parser.js';
import { BUILT_PATTERNS } from '../src/parser/patterns.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Per-call time of `f` in ms: calls repeated to ≥ 4 ms, best of `trials`. */
function timeOf(f: () => unknown, trials = 5): number {
  let best = Infinity;
  for (let k = 0; k < trials; k++) {
    let reps = 0;
    const t0 = performance.now();
    let el = 0;
    do {
      f();
      reps++;
      el = performance.now() - t0;
    } while (el < 4);
    best = Math.min(best, el / reps);
  }
  return best;
}

/** time(8N) / time(N), measured twice when the first looks super-linear (a busy machine). */
function growth(run: (n: number) => unknown, n: number): number {
  for (let k = 0; k < 3; k++) run(8 * n); // warm-up: compile before timing
  const once = (): number => timeOf(() => run(8 * n)) / timeOf(() => run(n));
  const r = once();
  return r < LINEAR_BOUND ? r : Math.min(r, once());
}
/** Linear gives ~8, quadratic ~64: a bound between them, generous for noise. */
const LINEAR_BOUND = 24;

/** Runs `re` on `s` as the source uses it: sticky from 0, global to the end, else a search. */
function exec(re: RegExp, s: string): unknown {
  re.lastIndex = 0;
  if (re.global) return s.replace(re, '');
  return re.exec(s);
}

interface Audit {
  /** Why no input makes it super-linear. */
  why: string;
  /** Its worst inputs, at scale n (each a string of O(n) characters). */
  worst: ((n: number) => string)[];
}

const TOKEN_RE = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
/** The TOKEN table as src/parser/patterns.ts builds it into a class. */
const TCHAR = '[\\x21\\x23-\\x27\\x2a\\x2b\\x2d\\x2e0-9A-Z\\x5e-z\\x7c\\x7e]';
/** The FIELD_VALUE (and REASON) table as a class. */
const VCHAR = '[\\x09\\x20-\\x7e\\x80-\\xff]';
const sp = (n: number): string => ' '.repeat(n);

/**
 * Every expression of src/, keyed `/source/flags`. docs/security.md
 * ("Regular expressions") mirrors this table.
 */
const AUDITED: Record<string, Audit> = {
  [`/${TCHAR}+ [\\x21-\\x7e]+ HTTP\\/[0-9]\\.[0-9]\\r\\n/y`]: {
    why: 'sticky (one start); the method class excludes SP, the target class excludes SP: each run is followed by a character it cannot match',
    worst: [(n) => `GET /${'a'.repeat(n)}\x00`, (n) => `${'G'.repeat(n)}\x00`, (n) => `GET /${'a'.repeat(n)} HTTP/1.1\r\x00`],
  },
  [`/HTTP\\/([0-9])\\.([0-9]) ([0-9]{3})(?: (${VCHAR}*))?\\r\\n/y`]: {
    why: 'sticky; one quantified class (the reason), followed by CR which it excludes',
    worst: [(n) => `HTTP/1.1 200 ${sp(n)}\x00`, (n) => `HTTP/1.1 200 ${'\t '.repeat(n)}\r\x00`],
  },
  [`/(?:${TCHAR}+:${VCHAR}*\\r\\n)*\\r\\n/y`]: {
    why: 'sticky; the name class excludes ":", the value class (OWS included, trimmed afterwards) excludes CR, and each repeat starts with a name character and ends with CRLF, which neither class takes from its neighbour: a failed match gives back each character once',
    worst: [
      (n) => `X-A:${sp(n)}\x00`, (n) => `X-A:${'\t'.repeat(n)}\n`, (n) => `X-A: x${sp(n)}y\r\x00`, (n) => `${'a'.repeat(n)}\x00`,
      (n) => `${'X-A: a\r\n'.repeat(n)}\x00`, (n) => `${'a:\r\n'.repeat(n)}a`, (n) => `${'X-A: a \r\n'.repeat(n)}\r\x00`,
    ],
  },
  '/[^\\x09\\x20-\\x7e\\x80-\\xff]/': {
    why: 'one class, no quantifier: one test per position',
    worst: [(n) => sp(n), (n) => `${'\t'.repeat(n)}\x00`],
  },
  '/^[0-9]{1,15}$/': {
    why: 'anchored, bounded repetition (at most 15 steps)',
    worst: [(n) => '1'.repeat(n), (n) => `${'1'.repeat(n)}x`],
  },
  '/;$/': {
    why: 'two literals, no quantifier: one step per position',
    worst: [(n) => ';'.repeat(n) + 'x', (n) => ';'.repeat(n)],
  },
  '/^[0-9]{1,5}$/': {
    why: 'anchored, bounded repetition (at most 5 steps)',
    worst: [(n) => '9'.repeat(n)],
  },
  '/^([A-Za-z][A-Za-z0-9+.-]*):/': {
    why: 'anchored; one quantified class, followed by ":" which it excludes',
    worst: [(n) => `h${'a'.repeat(n)}`, (n) => `h${'+.-'.repeat(n)}/`],
  },
  '/^https?$/i': {
    why: 'anchored literals, one optional character',
    worst: [(n) => `http${'s'.repeat(n)}`],
  },
  '/[/?#]/': {
    why: 'one class, no quantifier',
    worst: [(n) => 'a'.repeat(n)],
  },
  '/^\\[[0-9A-Fa-f:.]+\\](:[0-9]*)?$/': {
    why: 'anchored; the address class excludes "]", the port class is after ":" which it excludes',
    worst: [(n) => `[${':'.repeat(n)}`, (n) => `[::1]:${'1'.repeat(n)}x`],
  },
  '/^\\[v[0-9A-Fa-f]+\\.[^\\]]+\\](:[0-9]*)?$/': {
    why: 'anchored; hex run then ".", which it excludes; then a run of non-"]" then "]"; then the port as above',
    worst: [(n) => `[v${'1'.repeat(n)}`, (n) => `[v1.${'.'.repeat(n)}`, (n) => `[v1.a]:${'1'.repeat(n)}x`],
  },
  '/\\\\(x[0-9a-fA-F]{2}|r|n|t|0|\\\\)/g': {
    why: 'a literal backslash then fixed-length alternatives: constant work per position',
    worst: [(n) => '\\'.repeat(n), (n) => '\\x'.repeat(n)],
  },
  '/[^\\x00-\\x7f]/': {
    why: 'one class, no quantifier',
    worst: [(n) => 'a'.repeat(n)],
  },
  "/^[0-9A-Za-z\\-._~%!$&'()*+,;=]*(?::[0-9]*)?$/": {
    why: 'anchored; the name class excludes ":", with which the port begins; then the end',
    worst: [(n) => `${'a'.repeat(n)}/`, (n) => `a:${'1'.repeat(n)}:`, (n) => `${'1'.repeat(n)}:1a`],
  },
  "/^[A-Za-z0-9\\-._~%!$&'()*+,;=]+$/": {
    why: 'anchored; one quantified class, then the end',
    worst: [(n) => `${'a'.repeat(n)}/`],
  },
  '/ /g': { why: 'one literal', worst: [(n) => sp(n)] },
  '/\\+/g': { why: 'one literal', worst: [(n) => '+'.repeat(n)] },
  '/^[A-Za-z][A-Za-z0-9+.-]*$/': {
    why: 'anchored; one quantified class, then the end',
    worst: [(n) => `a${'+'.repeat(n)}:`],
  },
};

/**
 * The literals of src/, and the expressions src/parser/patterns.ts builds
 * from the byte tables (its `new RegExp` calls are the one place allowed:
 * the built expressions themselves are listed by BUILT_PATTERNS, so they
 * are audited, linted and growth-tested like literals).
 */
const PATTERNS_FILE = fileURLToPath(new URL('../src/parser/patterns.ts', import.meta.url));
const found = [
  ...findRegexes(SRC).filter((r) => !(r.file === PATTERNS_FILE && r.source === '')),
  ...BUILT_PATTERNS.map((re) => ({ file: PATTERNS_FILE, line: 0, source: re.source, flags: re.flags, text: `/${re.source}/${re.flags}` })),
];

t.test('every expression in src/ is audited, and every audited one is still there', async (t) => {
  t.ok(found.length >= 10, `found ${found.length} expressions`);
  for (const r of found) {
    t.ok(r.source !== '', `${r.file}:${r.line}: no RegExp built at run time (write a literal, so that it is audited): ${r.text}`);
    t.ok(AUDITED[r.text] !== undefined, `${r.file}:${r.line}: ${r.text} is audited in test/redos.test.ts and docs/security.md`);
  }
  const texts = new Set(found.map((r) => r.text));
  for (const text of Object.keys(AUDITED)) t.ok(texts.has(text), `${text} is still used in src/ (else drop it from the audit)`);
});

t.test('the lint finds no super-linear shape in src/', async (t) => {
  for (const r of found) {
    if (r.source === '') continue;
    t.same(lintRegex(r.source, r.flags), [], `${r.file}:${r.line} ${r.text}`);
  }
});

t.test('the lint flags the known bad shapes', async (t) => {
  // The field-line expression issue #8 found, and the classic ones.
  const bad: [string, string, string][] = [
    [`(${TOKEN_RE}+):[\\t ]*([\\t\\x20-\\x7e\\x80-\\xff]*?)[\\t ]*\\r\\n`, 'y', 'adjacent'],
    ['(a+)+$', '', 'nested'],
    ['(a|ab)*c', '', 'nested'],
    ['\\s+$', '', 'unanchored'],
    ['^\\d+\\d*x', '', 'adjacent'],
    ['^a*(?:b?)a*$', '', 'adjacent'],
    ['^[A-Z]*[a-z]*$', 'i', 'adjacent'],
    // Repeats that are not delimited: the last character can also be matched inside.
    ['^(?:[a-z]+;?)*$', '', 'nested'],
    ['^(?:[a-z;]+;)*$', '', 'nested'],
    ['^(?:a+;|b+;)*$', '', 'nested'],
    ['^(?:a+;)+;*$', '', 'adjacent'],
    // What may begin the group (":" is optional) is what the class before it takes.
    ['^[a-z0-9]*(?::?[0-9]*)?$', '', 'adjacent'],
    ['^[a-z]*(?:x|:)?[a-z]*$', '', 'adjacent'],
  ];
  for (const [source, flags, kind] of bad) {
    t.ok(lintRegex(source, flags).some((f) => f.kind === kind), `/${source}/${flags}: ${kind}`);
  }
  const good: [string, string][] = [
    ['^[0-9]+\\.[0-9]+$', ''], ['[a-z]+', 'y'], ['^(?:ab)+$', ''], ['^[A-Z]*[0-9]*$', ''],
    // Delimited repeats: each ends with a character nothing else in it matches.
    ['(?:[a-z]+:[^\\n]*\\n)*\\n', 'y'], ['^(?:[a-z]+;)*$', ''],
    // The group begins with ":", which the class before it cannot take.
    ['^[a-z0-9]*(?::[0-9]*)?$', ''],
  ];
  for (const [source, flags] of good) t.same(lintRegex(source, flags), [], `/${source}/${flags}: linear`);
});

t.test('each expression grows linearly on its worst inputs', async (t) => {
  for (const r of found) {
    const audit = AUDITED[r.text];
    if (audit === undefined) continue;
    const re = new RegExp(r.source, r.flags);
    for (const worst of audit.worst) {
      const ratio = growth((n) => exec(re, worst(n)), 2000);
      t.ok(ratio < LINEAR_BOUND, `${r.text} on ${JSON.stringify(worst(3))}…: time(8N)/time(N) = ${ratio.toFixed(1)}`);
    }
  }
});

t.test('the growth check catches the expression of issue #8', async (t) => {
  const old = new RegExp(`(${TOKEN_RE}+):[\\t ]*([\\t\\x20-\\x7e\\x80-\\xff]*?)[\\t ]*\\r\\n`, 'y');
  const ratio = growth((n) => exec(old, `X-A:${sp(n)}\x00`), 60);
  t.ok(ratio > LINEAR_BOUND, `old field-line expression: time(8N)/time(N) = ${ratio.toFixed(1)}`);
});

t.test('the attacks of issue #8 through the parsers are linear', async (t) => {
  const parseRequest = (bytes: Buffer, pieces = 1): string => {
    const p = new RequestParser({ maxHeaderSize: 1 << 20 });
    const step = Math.ceil(bytes.length / pieces);
    let last = 'partial';
    for (let k = 0; k < bytes.length; k += step) {
      p.push(bytes.subarray(k, k + step));
      for (let ev = p.next(); ev.type !== 'partial'; ev = p.next()) {
        last = ev.type === 'error' ? ev.error.code : ev.type;
        if (ev.type === 'error') return last;
      }
    }
    return last;
  };
  const parseResponse = (bytes: Buffer): string => {
    const p = new ResponseParser({ maxHeaderSize: 1 << 20 });
    p.push(bytes);
    const ev = p.next();
    return ev.type === 'error' ? ev.error.code : ev.type;
  };
  const cases: [string, (n: number) => string, (b: Buffer) => string, string][] = [
    ['spaces then NUL', (n) => `GET / HTTP/1.1\r\nHost: x\r\nX-A:${sp(n)}\x00\r\n\r\n`, (b) => parseRequest(b), 'HEADER_VALUE_INVALID'],
    ['spaces then bare LF', (n) => `GET / HTTP/1.1\r\nHost: x\r\nX-A:${sp(n)}\n\r\n`, (b) => parseRequest(b), 'BARE_LF'],
    ['x, spaces, y (valid)', (n) => `GET / HTTP/1.1\r\nHost: x\r\nX-A: x${sp(n)}y\r\n\r\n`, (b) => parseRequest(b), 'end'],
    ['tabs then NUL, 7 pieces', (n) => `GET / HTTP/1.1\r\nHost: x\r\nX-A:${'\t'.repeat(n)}\x00\r\n\r\n`, (b) => parseRequest(b, 7), 'HEADER_VALUE_INVALID'],
    ['response: spaces then NUL', (n) => `HTTP/1.1 200 OK\r\nX-A:${sp(n)}\x00\r\n\r\n`, parseResponse, 'HEADER_VALUE_INVALID'],
    ['response reason: spaces then NUL', (n) => `HTTP/1.1 200 ${sp(n)}\x00\r\n\r\n`, parseResponse, 'STATUS_LINE_INVALID'],
  ];
  for (const [name, make, parse, want] of cases) {
    const small = Buffer.from(make(2000), 'latin1');
    t.equal(parse(small), want, `${name}: ${want}`);
    const ratio = growth((n) => parse(Buffer.from(make(n), 'latin1')), 2000);
    t.ok(ratio < LINEAR_BOUND, `${name}: time(8N)/time(N) = ${ratio.toFixed(1)}`);
  }
});
