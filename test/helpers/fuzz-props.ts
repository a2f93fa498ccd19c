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
 *
 * For the attack shapes of issue #8 ({@link attackAt}), two more:
 *
 * 6. CPU linearity ({@link checkLinear}): the same shape at size N and 8N
 *    parses in time(8N)/time(N) <= {@link SUPERLINEAR_BOUND} (linear is ~8,
 *    quadratic ~64): a ratio of the fastest parses, measured again while above.
 * 7. Memory per content byte ({@link checkMemory}): a 1-byte-chunk upload
 *    fed through the server's content path (RequestParser into a
 *    DataStream whose reader waits for the end) holds at most
 *    {@link MEMORY_FACTOR} bytes of heap and ArrayBuffers per content byte
 *    it buffers, plus {@link MEMORY_ALLOWANCE}.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HttpParseError, PARSE_ERRORS } from '../../src/errors.js';
import { parseMessages, type ParseOutcome } from '../../src/parser/inspect.js';
import { RequestParser, type ParserOptions } from '../../src/parser/parser.js';
import { DataStream } from '../../src/server/request.js';
import { Rng, attackAt, jsString, mixSeed, type AttackInput, type FuzzInput } from './fuzz-gen.js';

/** Kinds of property failure (the CLI's summary counts them). */
export type ProblemKind = 'crash' | 'bad-error' | 'consumed' | 'offset' | 'runaway' | 'split-mismatch' | 'valid-rejected' | 'superlinear' | 'memory';

/** Every {@link ProblemKind}, in report order. */
export const PROBLEM_KINDS: readonly ProblemKind[] = ['crash', 'bad-error', 'consumed', 'offset', 'runaway', 'split-mismatch', 'valid-rejected', 'superlinear', 'memory'];

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

// ------------------------------------------------- attack shapes (issue #8)

/**
 * time(8N) / time(N) above this is reported as `superlinear`. Linear is ~8
 * (less when the fixed cost of a parse weighs in), quadratic ~64, cubic
 * ~512: 24 leaves room for noise and still catches a quadratic term.
 */
export const SUPERLINEAR_BOUND = 24;
/**
 * The N of the linearity check, in run bytes (chunks for `tiny-chunks`):
 * 128 first — at 8N = 1024 the cubic field-line expression of issue #8
 * already took over a second, at 2048 ten — then 2048, where the fixed
 * cost of a parse no longer hides a milder quadratic term (8N = 16384
 * still fits the whole-head path's 32 KiB window).
 */
export const LINEAR_BASES: readonly number[] = [128, 2048];
/**
 * A timed sample lasts at least this long (ms of CPU time): the parse is
 * repeated until it does. Short, so that many fit in a few milliseconds
 * and the minimum of them is the cost without the noise (process.cpuUsage()
 * resolves microseconds).
 */
const LINEAR_SAMPLE_MS = 0.25;
/** Pairs of samples (N, 8N) an attempt takes. */
const LINEAR_SAMPLES = 7;
/** Each size is parsed this long (ms) before the first sample, for the compiler. */
const LINEAR_WARMUP_MS = 2;
/**
 * Limits out of the way for the timing: the 8N input must be scanned, not
 * refused at a budget (which would hide how the scan grows).
 */
const LINEAR_PARSER: ParserOptions = {
  maxRequestLineSize: 1 << 30,
  maxHeaderSize: 1 << 30,
  maxChunkLineSize: 1 << 30,
  maxChunkExtensionsSize: 1 << 30,
  maxBodySize: 1 << 30,
};

/** One N of {@link checkLinear}. */
export interface LinearStage {
  n: number;
  /** ms8N / msN. */
  ratio: number;
  attempts: number;
  /** Parses of the 8N input per sample (the N input: 8x as many). */
  reps: number;
  /** Time of one parse (ms): the fastest sample of all attempts. */
  msN: number;
  ms8N: number;
  bytesN: number;
  bytes8N: number;
}

/** What {@link checkLinear} measured. */
export interface LinearityResult {
  /** The largest stage ratio. */
  ratio: number;
  /** How the inputs were fed: whole, or in 64-byte pieces (the incremental scanner). */
  mode: 'whole' | 'pieces';
  stages: LinearStage[];
}

/** Options of {@link checkLinear}. */
export interface LinearOptions {
  bound?: number;
  /** The Ns (default {@link LINEAR_BASES}); the next is measured only when the previous passed. */
  bases?: readonly number[];
  /** Measurements before a ratio above the bound is reported (default 5). */
  attempts?: number;
  /** Feeding mode (default: picked from the input's seed and index). */
  mode?: 'whole' | 'pieces';
}

/**
 * Parses `bytes` fed in pieces ending at `cuts` (plus the end), as
 * parseMessages does, but without keeping anything: parseMessages copies
 * every `data` event into a Buffer of its own and concatenates them at the
 * end, work of the harness (and garbage for the collector) that would be
 * timed with the parser's.
 */
function parseLean(bytes: Buffer, cuts: readonly number[], options: ParserOptions): number {
  const p = new RequestParser(options);
  let events = 0;
  let from = 0;
  for (let k = 0; k <= cuts.length; k++) {
    const cut = k < cuts.length ? cuts[k]! : bytes.length;
    if (cut > from) p.push(bytes.subarray(from, cut));
    from = cut;
    for (;;) {
      const ev = p.next();
      if (ev.type === 'partial') break;
      events++;
      if (ev.type === 'error') return events;
    }
    if (p.upgraded) break;
  }
  return events;
}

let sink = 0;

/**
 * CPU time (ms) of `reps` parses: the process's user + system time, which
 * does not run while the process waits for a CPU — on a machine with more
 * runnable processes than cores, wall time grows with the wait, and more
 * for a long parse than for a short one (a parse longer than the
 * scheduler's time slice is always cut).
 */
function timeParses(bytes: Buffer, cuts: readonly number[], reps: number): number {
  const t0 = process.cpuUsage();
  for (let k = 0; k < reps; k++) sink += parseLean(bytes, cuts, LINEAR_PARSER);
  return cpuMs(process.cpuUsage(t0));
}

/** Cut points every `step` bytes. */
function everyCut(n: number, step: number): number[] {
  const cuts: number[] = [];
  for (let k = step; k < n; k += step) cuts.push(k);
  return cuts;
}

/** Blocks this thread for `ms` (the machine's other work, and V8's compiler threads, run meanwhile). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Parses until `ms` of CPU time have passed (at least once). */
function warmUp(bytes: Buffer, cuts: readonly number[], ms: number): void {
  const t0 = process.cpuUsage();
  do parseLean(bytes, cuts, LINEAR_PARSER);
  while (cpuMs(process.cpuUsage(t0)) < ms);
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

/** time(8N) / time(N) for one N: see {@link checkLinear}. */
function linearStage(input: AttackInput, n: number, mode: 'whole' | 'pieces', bound: number, attempts: number): LinearStage {
  const small = attackAt(input.seed, input.index, n / input.unit);
  const big = attackAt(input.seed, input.index, (8 * n) / input.unit);
  const oSmall = mode === 'pieces' ? everyCut(small.bytes.length, 64) : [];
  const oBig = mode === 'pieces' ? everyCut(big.bytes.length, 64) : [];
  // The first parses run unoptimised code: both sizes until the compiler has seen them.
  warmUp(small.bytes, oSmall, LINEAR_WARMUP_MS);
  warmUp(big.bytes, oBig, LINEAR_WARMUP_MS);
  // Per-parse minima over every sample of every attempt: noise only ever adds time, so the
  // fastest 8N parse seen is the best estimate, and one quiet sample is enough to clear a false alarm.
  let minN = Infinity;
  let min8N = Infinity;
  let reps = 1;
  // Calibration: its runs are 8N samples too (a cubic 8N parse takes a second: no run is wasted).
  for (;;) {
    const t = timeParses(big.bytes, oBig, reps);
    min8N = Math.min(min8N, t / reps);
    if (t >= LINEAR_SAMPLE_MS || reps >= 1 << 20) break;
    reps *= 2;
  }
  let done = 0;
  const ratio = (): number => min8N / Math.max(minN, 1e-12);
  for (let attempt = 0; attempt < attempts; attempt++) {
    done++;
    // A retry waits a little (50, 100, 200... ms), so that a burst of load has passed.
    if (attempt > 0) sleepSync(25 * 2 ** attempt);
    // Samples of the same length (8x as many parses of the N input), interleaved: the load of the machine hits both alike.
    for (let sample = 0; sample < LINEAR_SAMPLES; sample++) {
      minN = Math.min(minN, timeParses(small.bytes, oSmall, 8 * reps) / (8 * reps));
      if (sample > 0 || attempt > 0) min8N = Math.min(min8N, timeParses(big.bytes, oBig, reps) / reps);
      // Far above the bound after two 8N samples: more would only cost time (seconds, for a cubic parse).
      if (sample >= 1 && ratio() > 8 * bound) break;
    }
    if (ratio() <= bound) break;
  }
  return { n, ratio: ratio(), attempts: done, reps, msN: minN, ms8N: min8N, bytesN: small.bytes.length, bytes8N: big.bytes.length };
}

/**
 * Property 6: the attack shape at N and at 8N, timed in short samples of
 * the same length (>= 0.25 ms: `reps` parses of the 8N input, 8 x `reps`
 * of the N one), interleaved, seven of each. Only a ratio, never an
 * absolute time, so a slow machine is no failure. The ratio is of the
 * fastest parse of each size over all samples; while it is above the
 * bound, seven more pairs are taken after a pause (up to `attempts`
 * times), and it is reported only when it is still above: on a loaded
 * machine many samples are slowed (the process waits for a CPU), but one
 * quiet 8N sample clears a false alarm, and a superlinear parse has none.
 * Parser limits are raised so that both inputs are scanned to their end.
 */
export function checkLinear(input: AttackInput, options: LinearOptions = {}): { problems: Problem[]; result: LinearityResult } {
  const bound = options.bound ?? SUPERLINEAR_BOUND;
  const attempts = options.attempts ?? 5;
  const r = new Rng(mixSeed(input.seed ^ 0x11ea7, input.index));
  const mode = options.mode ?? (r.chance(0.7) ? 'whole' : 'pieces');
  const stages: LinearStage[] = [];
  const problems: Problem[] = [];
  for (const n of options.bases ?? LINEAR_BASES) {
    const st = linearStage(input, n, mode, bound, attempts);
    stages.push(st);
    if (st.ratio > bound) {
      problems.push({
        kind: 'superlinear',
        detail: `time(8N)/time(N) = ${st.ratio.toFixed(1)} > ${bound} (${input.shape}, N = ${n}: ${st.bytesN} vs ${st.bytes8N} bytes, fed ${mode}; ${st.msN.toFixed(3)} vs ${st.ms8N.toFixed(3)} ms a parse; ${st.attempts} attempt${st.attempts === 1 ? '' : 's'})`,
        input,
      });
      break;
    }
  }
  return { problems, result: { ratio: Math.max(...stages.map((st) => st.ratio)), mode, stages } };
}

/** Retained memory above this many bytes per buffered content byte (plus the allowance) is reported as `memory`. */
export const MEMORY_FACTOR = 4;
/** Fixed allowance of {@link checkMemory}: the parser's current socket read, a slab, the objects themselves, noise. */
export const MEMORY_ALLOWANCE = 1 << 20;
/** Content bytes of the upload {@link checkMemory} feeds (x4 when no gc() is at hand). */
export const MEMORY_CONTENT = 256 * 1024;
/** The server's default highWaterMark (src/options.ts). */
const SERVER_HIGH_WATER = 64 * 1024;
/** The size of a simulated socket read. */
const SOCKET_READ = 64 * 1024;

let gcFn: (() => void) | null | undefined;

/**
 * A full garbage collection: `global.gc` when node runs with `--expose-gc`,
 * else the same function obtained at run time (V8 flag, then a fresh
 * context), else null.
 */
export function getGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: unknown }).gc;
  if (typeof g === 'function') return (gcFn = g as () => void);
  try {
    setFlagsFromString('--expose-gc');
    const f: unknown = runInNewContext('gc');
    gcFn = typeof f === 'function' ? (f as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** What {@link checkMemory} measured. */
export interface MemoryResult {
  /** `read-all`: the reader waits in `read()` for the whole content; `no-read`: it never reads, the feeder stops at `full`. */
  mode: 'read-all' | 'no-read';
  /** Content bytes in the upload, and those the queue holds at the measurement. */
  content: number;
  buffered: number;
  chunks: number;
  wireBytes: number;
  /** Growth of heapUsed + arrayBuffers with the queue alive, after a full gc, and its two parts. */
  retained: number;
  heap: number;
  arrayBuffers: number;
  /** retained / buffered. */
  perByte: number;
  gc: boolean;
  /** The parse error that stopped the feed early, if any. */
  error: string | null;
}

/** Options of {@link checkMemory}. */
export interface MemoryOptions {
  mode?: 'read-all' | 'no-read';
  /** Content bytes of the upload (default {@link MEMORY_CONTENT}). */
  content?: number;
  factor?: number;
  allowance?: number;
}

/**
 * Feeds `bytes` the way src/connection.ts does: simulated socket reads of
 * 64 KiB (each its own ArrayBuffer, as a socket's are) pushed into a
 * RequestParser, `data` events into the request's DataStream, stopping
 * when the stream is `full` (the connection pauses the socket there) or
 * before the `end` event (so the queue still holds the content).
 */
function feedContent(bytes: Buffer, parser: RequestParser, stream: DataStream): string | null {
  let from = 0;
  for (;;) {
    if (stream.full) return null;
    const ev = parser.next();
    if (ev.type === 'partial') {
      if (from >= bytes.length) return null;
      const n = Math.min(SOCKET_READ, bytes.length - from);
      const read = Buffer.allocUnsafeSlow(n);
      bytes.copy(read, 0, from, from + n);
      from += n;
      parser.push(read);
    } else if (ev.type === 'data') stream.push(ev.data);
    else if (ev.type === 'error') return ev.error.code;
    else if (ev.type === 'end') return null;
  }
}

/**
 * Property 7, for `tiny-chunks` inputs: the same shape scaled to about
 * `content` bytes of content, fed through the server's content path with a
 * reader that does not read until the end. Measured: heapUsed +
 * arrayBuffers after a full gc, with the parser and the stream alive,
 * minus the same before them; reported when above `factor` x the buffered
 * content bytes + `allowance`. (Before the fix of issue #8, each 1-byte
 * chunk was a Buffer view of ~100 bytes of heap pinning its whole socket
 * read.) Without gc() the upload is 4x larger and the young generation is
 * added to the allowance.
 */
export function checkMemory(input: AttackInput, options: MemoryOptions = {}): { problems: Problem[]; result: MemoryResult } {
  if (input.shape !== 'tiny-chunks') throw new Error(`checkMemory: a tiny-chunks input, not ${input.shape}`);
  const gc = getGc();
  const r = new Rng(mixSeed(input.seed ^ 0x3e3, input.index));
  const mode = options.mode ?? (r.chance(0.5) ? 'read-all' : 'no-read');
  const factor = options.factor ?? MEMORY_FACTOR;
  let allowance = options.allowance ?? MEMORY_ALLOWANCE;
  const want = (options.content ?? MEMORY_CONTENT) * (gc ? 1 : 4);
  // Without gc(), garbage of the young generation may be counted: allow for it.
  if (!gc) allowance += 2 * getHeapSpaceStatistics().reduce((n, s) => n + (s.space_name === 'new_space' ? s.space_size : 0), 0);
  // Chunks for `want` content bytes (their mean size is the input's).
  const scale = (want / (input.content / input.size)) / input.unit;
  const upload = attackAt(input.seed, input.index, scale);
  const parserOptions: ParserOptions = { maxChunkExtensionsSize: 1 << 30 };
  const run = (bytes: Buffer, measure: boolean): { stream: DataStream; parser: RequestParser; error: string | null; before: NodeJS.MemoryUsage | null; after: NodeJS.MemoryUsage | null } => {
    let before: NodeJS.MemoryUsage | null = null;
    if (measure) {
      gc?.();
      gc?.();
      before = process.memoryUsage();
    }
    const parser = new RequestParser(parserOptions);
    const stream = new DataStream(SERVER_HIGH_WATER, () => {});
    // A reader that waits for the whole content: read() with no length.
    if (mode === 'read-all') stream.read().catch(() => {});
    const error = feedContent(bytes, parser, stream);
    let after: NodeJS.MemoryUsage | null = null;
    if (measure) {
      gc?.();
      gc?.();
      after = process.memoryUsage();
    }
    return { stream, parser, error, before, after };
  };
  // Once small, so that compiling the code is not counted.
  run(input.bytes, false).stream.discard();
  const m = run(upload.bytes, true);
  const heap = m.after!.heapUsed - m.before!.heapUsed;
  const arrayBuffers = m.after!.arrayBuffers - m.before!.arrayBuffers;
  const retained = heap + arrayBuffers;
  const buffered = m.stream.received - m.stream.bytesRead;
  // Keeps the parser alive up to here (it holds the current socket read), then lets go.
  m.stream.discard();
  void m.parser.offset;
  const result: MemoryResult = {
    mode, content: upload.content, buffered, chunks: upload.size, wireBytes: upload.bytes.length,
    retained, heap, arrayBuffers, perByte: retained / Math.max(buffered, 1), gc: gc !== null, error: m.error,
  };
  const problems: Problem[] = [];
  const limit = factor * buffered + allowance;
  if (retained > limit) {
    problems.push({
      kind: 'memory',
      detail: `${(retained / 2 ** 20).toFixed(1)} MiB retained (heap ${(heap / 2 ** 20).toFixed(1)} MiB, ArrayBuffers ${(arrayBuffers / 2 ** 20).toFixed(1)} MiB) for ${buffered} buffered content bytes (${mode}, an upload of ${upload.size} chunks): ${result.perByte.toFixed(1)} B per byte, limit ${factor} B per byte + ${(allowance / 2 ** 20).toFixed(1)} MiB`,
      input,
    });
  }
  if (m.error !== null || (mode === 'read-all' && buffered !== upload.content)) {
    problems.push({ kind: 'memory', detail: `the content path did not take the upload: ${m.error ?? `${buffered} of ${upload.content} content bytes buffered`}`, input });
  }
  return { problems, result };
}
