/**
 * The fuzz properties, shared by test/fuzz.test.ts (bounded CI run) and
 * test/helpers/fuzz-cli.ts (`npm run fuzz -- --count N`):
 *
 * 1. `parseMessages` never throws; a rejection is an `HttpParseError` with a
 *    known code and that code's status.
 * 2. It returns, with `0 <= consumed <= input length`.
 * 3. Driving `RequestParser` directly with random chunking: `offset` never
 *    goes backwards, stays within the pushed bytes, and the number of events
 *    is bounded by the input (no event loop that makes no progress).
 * 4. The outcome is the same whole, split at one random point, and fed in
 *    random pieces (normalised: messages, error code + offset, consumed,
 *    upgraded, partial), with and without EOF.
 * 5. Every VALID input parses without error to the expected number of
 *    complete messages.
 */
import { HttpParseError, PARSE_ERRORS } from '../../src/errors.js';
import { parseMessages, type ParseOutcome } from '../../src/parser/inspect.js';
import { RequestParser, type ParserOptions } from '../../src/parser/parser.js';
import { Rng, jsString, mixSeed, type FuzzInput } from './fuzz-gen.js';

/** Kinds of property failure (the CLI's summary counts them). */
export type ProblemKind = 'crash' | 'bad-error' | 'consumed' | 'offset' | 'runaway' | 'split-mismatch' | 'valid-rejected';

export interface Problem {
  kind: ProblemKind;
  detail: string;
  input: FuzzInput;
  /** split-mismatch only: the error codes (or null) of the whole parse and of the split one. */
  codes?: [string | null, string | null];
}

/** A parser bug the fuzzer found, excused (reported as a todo) until src/ is fixed. */
export interface KnownBug {
  id: string;
  /** What is wrong, the minimal input and the RFC section. */
  why: string;
  /** True for the problems this bug explains (narrowly: other symptoms still fail). */
  match: (p: Problem) => boolean;
}



/**
 * The known parser bugs. Each keeps its failing property in the fuzz test as
 * a `todo` subtest, so the rest of the run still guards everything else.
 */
export const KNOWN_BUGS: readonly KnownBug[] = [
  // none open: upgrade-in-1.0 (RFC 9110 §7.8) was fixed; its inputs are now plain valid cases.
];

/** The known bug that explains a problem, or null. */
export function knownBugOf(p: Problem): string | null {
  return KNOWN_BUGS.find((b) => b.match(p))?.id ?? null;
}

/** A split-independent summary of an outcome. */
export function normalize(r: ParseOutcome): string {
  return JSON.stringify({
    e: r.error ? [r.error.code, r.error.offset] : null,
    m: r.messages.map((m) => [m.head, m.body.toString('latin1'), m.trailers, m.complete]),
    u: r.upgraded,
    c: r.consumed,
    p: r.partial,
  });
}

function describe(r: ParseOutcome): string {
  return r.error ? `${r.error.code}@${r.error.offset}` : `${r.messages.filter((m) => m.complete).length} complete${r.partial ? ', partial' : ''}${r.upgraded ? ', upgraded' : ''}, consumed ${r.consumed}`;
}

/** Random cut points in (0, n): 1-byte feeding now and then, else 1-8 random pieces. */
function randomCuts(r: Rng, n: number): number[] {
  if (n <= 1) return [];
  if (r.chance(0.05) && n <= 4096) return Array.from({ length: n - 1 }, (_, k) => k + 1);
  const cuts = new Set<number>();
  const pieces = r.range(1, 8);
  for (let k = 0; k < pieces; k++) cuts.add(r.range(1, n - 1));
  return [...cuts].sort((a, b) => a - b);
}

/** Checks that a thrown-or-returned error is a proper HttpParseError. */
function errorProblem(r: ParseOutcome): string | null {
  const e = r.error;
  if (e === null) return null;
  if (!(e instanceof HttpParseError)) return `error is not an HttpParseError: ${String(e)}`;
  const known = PARSE_ERRORS[e.code];
  if (known === undefined) return `unknown error code ${String(e.code)}`;
  if (known.status !== e.status) return `${e.code} has status ${e.status}, table says ${known.status}`;
  if (!Number.isInteger(e.offset) || e.offset < 0) return `${e.code} has offset ${e.offset}`;
  return null;
}

/** Runs `parseMessages` and turns a throw into a problem. */
function run(bytes: Buffer, opts: Parameters<typeof parseMessages>[1]): ParseOutcome | Error {
  try {
    return parseMessages(bytes, opts);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Drives RequestParser by hand with the given cuts, checking offsets and
 * progress; returns a problem description or null.
 */
function drive(bytes: Buffer, cuts: number[], eof: boolean, options: ParserOptions): string | null {
  const p = new RequestParser(options);
  let last = 0;
  let events = 0;
  // Each event makes progress (a head, some bytes, an end) except the final error: bounded by the input.
  const budget = 4 * bytes.length + 16;
  let from = 0;
  const step = (): string | null => {
    for (;;) {
      const ev = p.next();
      if (p.offset < last) return `offset went back from ${last} to ${p.offset} after ${ev.type}`;
      if (p.offset > from) return `offset ${p.offset} past the ${from} bytes pushed`;
      last = p.offset;
      if (ev.type === 'partial') return null;
      if (++events > budget) return `more than ${budget} events for ${bytes.length} bytes (no progress?)`;
      if (ev.type === 'error') {
        const again = p.next();
        if (again.type !== 'error' || again.error !== ev.error) return `after an error next() answered ${again.type}`;
        return 'stop';
      }
      if (ev.type === 'data' && ev.data.length === 0) return 'empty data event';
    }
  };
  try {
    for (const cut of [...cuts, bytes.length]) {
      if (cut > from) p.push(bytes.subarray(from, cut));
      from = cut;
      const r = step();
      if (r === 'stop') return null;
      if (r !== null) return r;
      if (p.upgraded) return null;
    }
    if (eof) {
      p.finish();
      const r = step();
      if (r !== null && r !== 'stop') return r;
    }
  } catch (err) {
    return `RequestParser threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  }
  return null;
}

/** Options of {@link checkInput}. */
export interface CheckOptions {
  /** Parser options for every run (default: strict defaults, varied per input: see {@link parserVariant}). */
  parser?: ParserOptions;
}

/**
 * The parser options an input is checked with: mostly the strict defaults;
 * sometimes the bare-LF leniency, or tiny limits so that every budget check
 * (request line, header section, header count, body, chunk line, chunk
 * extensions) is crossed at some split point. Returns `limited: true` when a
 * valid input may legitimately be refused (413/414/431).
 */
export function parserVariant(r: Rng): { options: ParserOptions; limited: boolean; label: string } {
  const v = r.weighted([[70, 'default'], [12, 'bare-lf'], [18, 'tiny-limits']] as const);
  if (v === 'default') return { options: {}, limited: false, label: v };
  if (v === 'bare-lf') return { options: { allowBareLF: true }, limited: false, label: v };
  return {
    options: {
      maxRequestLineSize: r.range(1, 80),
      maxHeaderSize: r.range(0, 300),
      maxHeaderCount: r.range(0, 8),
      maxBodySize: r.range(0, 200),
      maxChunkLineSize: r.range(1, 24),
      maxChunkExtensionsSize: r.range(0, 24),
      allowBareLF: r.chance(0.3),
      requireHost: r.chance(0.7),
    },
    limited: true,
    label: v,
  };
}

/**
 * Checks every property on one input. Deterministic: the split points and
 * the EOF choice derive from the input's seed and index.
 */
export function checkInput(input: FuzzInput, options: CheckOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const add = (kind: ProblemKind, detail: string, codes?: [string | null, string | null]): void => void problems.push({ kind, detail, input, ...(codes ? { codes } : {}) });
  const r = new Rng(mixSeed(input.seed ^ 0x5eed, input.index));
  const eof = r.chance(0.3);
  const variant = options.parser !== undefined ? { options: options.parser, limited: true, label: 'given' } : parserVariant(r);
  const parserOptions = variant.options;
  const base = { ...parserOptions, eof };
  const bytes = input.bytes;

  const whole = run(bytes, base);
  if (whole instanceof Error) {
    add('crash', `parseMessages threw ${whole.name}: ${whole.message}`);
    return problems;
  }
  const bad = errorProblem(whole);
  if (bad !== null) add('bad-error', bad);
  if (whole.consumed < 0 || whole.consumed > bytes.length) add('consumed', `consumed ${whole.consumed} of ${bytes.length}`);

  const wantNorm = normalize(whole);
  const one = bytes.length > 1 ? [r.range(1, bytes.length - 1)] : [];
  const many = randomCuts(r, bytes.length);
  for (const [label, cuts] of [['split', one], ['chunks', many]] as const) {
    const got = run(bytes, { ...base, splitAt: cuts });
    if (got instanceof Error) {
      add('crash', `parseMessages (${label} at ${cuts.join(',')}) threw ${got.name}: ${got.message}`);
      continue;
    }
    if (normalize(got) !== wantNorm) add('split-mismatch', `${label} at [${cuts.join(',')}]${eof ? ' +eof' : ''} (${variant.label} ${JSON.stringify(parserOptions)}): ${describe(got)} vs whole ${describe(whole)}`, [whole.error?.code ?? null, got.error?.code ?? null]);
  }

  const driven = drive(bytes, r.chance(0.5) ? many : one, eof, parserOptions);
  if (driven !== null) add(driven.includes('threw') ? 'crash' : driven.startsWith('offset') ? 'offset' : 'runaway', driven);

  if (input.valid && !variant.limited) {
    const complete = whole.messages.filter((m) => m.complete).length;
    // With EOF, a valid sequence still parses (it is complete); without, too.
    if (whole.error !== null || complete !== input.messages || whole.upgraded !== input.upgrade) {
      add('valid-rejected', `${describe(whole)}; expected ${input.messages} complete${input.upgrade ? ', upgraded' : ''}${eof ? ' (with EOF)' : ''}`);
    }
  }
  return problems;
}

/** One line for a report: kind, reproduction, bytes. */
export function formatProblem(p: Problem, maxBytes = 300): string {
  const b = p.input.bytes;
  const shown = b.length > maxBytes ? `${jsString(b.subarray(0, maxBytes))} + ${b.length - maxBytes} more bytes` : jsString(b);
  return `${p.kind} [seed ${p.input.seed} index ${p.input.index}, ${p.input.kind}]: ${p.detail}\n    input: ${shown}`;
}
