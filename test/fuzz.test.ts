// Bounded fuzzing (the CI run): ~100 000 generated requests — valid ones and
// mutations of them — through the parser, checking the properties of
// test/helpers/fuzz-props.ts on every input: no throw, only typed
// HttpParseErrors, consumed within the input, offsets that never go back,
// the same answer whole / split once / fed in random pieces, and every
// valid input parsed to its expected number of messages. Then the attack
// shapes of issue #8 (long SP/HTAB/";"/"%"/"," runs, 1-byte chunks) with
// the same properties plus CPU linearity and memory per content byte, and
// a small server fuzz over real sockets. Longer runs: `npm run fuzz -- --count N`.
//
// FUZZ_SEED=<n> adds a second run with that seed; FUZZ_COUNT=<n> changes the
// number of inputs per seed, FUZZ_ATTACKS=<n> the number of attack inputs.
import t from 'tap';
import { parseMessages } from '../src/parser/inspect.js';
import type { RequestDict } from '../src/server/request.js';
import { ATTACK_SHAPES, attackAt, generate, generateAttacks, inputAt, jsString, type FuzzInput } from './helpers/fuzz-gen.js';
import {
  checkInput, checkLinear, checkMemory, formatProblem, getGc, KNOWN_BUGS, knownBugOf, LINEAR_BASES, MEMORY_ALLOWANCE, MEMORY_FACTOR, PROBLEM_KINDS, SUPERLINEAR_BOUND,
  type MemoryResult, type Problem, type ProblemKind,
} from './helpers/fuzz-props.js';
import { Client, parseReplies, serve } from './helpers/wire.js';

const FIXED_SEED = 0x5eed1;
const COUNT = Number(process.env['FUZZ_COUNT'] ?? 100_000);
/** Attack inputs per seed through the usual properties (cheap: 40 of each shape). */
const ATTACK_COUNT = Number(process.env['FUZZ_ATTACKS'] ?? 40 * ATTACK_SHAPES.length);
/** Of those, the first ones are also timed at N and 8N: every shape twice (about 2 s). */
const LINEAR_COUNT = Math.min(ATTACK_COUNT, 2 * ATTACK_SHAPES.length);
/** The kinds checkInput reports (the other two come from checkLinear and checkMemory). */
const USUAL_KINDS = PROBLEM_KINDS.filter((k) => k !== 'superlinear' && k !== 'memory');
const extraSeed = process.env['FUZZ_SEED'];
if (extraSeed !== undefined && !/^[0-9]+$/.test(extraSeed)) throw new Error(`FUZZ_SEED must be a non-negative integer, got ${JSON.stringify(extraSeed)}`);
const seeds = [FIXED_SEED, ...(extraSeed !== undefined ? [Number(extraSeed)] : [])];

interface Summary {
  inputs: number;
  valid: number;
  bytes: number;
  problems: Problem[];
  known: Map<string, Problem[]>;
  byKind: Map<ProblemKind, number>;
  ms: number;
}

function newSummary(): Summary {
  return { inputs: 0, valid: 0, bytes: 0, problems: [], known: new Map(), byKind: new Map(), ms: 0 };
}

function record(s: Summary, problems: Problem[]): void {
  for (const p of problems) {
    // A known bug only excuses its own symptom (KNOWN_BUGS match narrowly).
    const bug = knownBugOf(p);
    if (bug !== null) {
      const list = s.known.get(bug) ?? [];
      list.push(p);
      s.known.set(bug, list);
      continue;
    }
    s.problems.push(p);
    s.byKind.set(p.kind, (s.byKind.get(p.kind) ?? 0) + 1);
  }
}

function count(s: Summary, input: FuzzInput): void {
  s.inputs++;
  s.bytes += input.bytes.length;
  if (input.valid) s.valid++;
}

function runSeed(seed: number, n: number): Summary {
  const s = newSummary();
  const started = performance.now();
  for (const input of generate(seed, n)) {
    count(s, input);
    record(s, checkInput(input));
  }
  s.ms = performance.now() - started;
  return s;
}

for (const seed of seeds) {
  t.test(`parser properties, seed ${seed}`, async (t) => {
    const s = runSeed(seed, COUNT);
    const kinds = USUAL_KINDS;
    t.comment(`fuzz seed ${seed}: ${s.inputs} inputs (${s.valid} valid, ${s.inputs - s.valid} mutated, ${(s.bytes / 1e6).toFixed(1)} MB) in ${(s.ms / 1000).toFixed(1)} s; ` +
      kinds.map((k) => `${k} ${s.byKind.get(k) ?? 0}`).join(', ') +
      `; known bugs: ${[...s.known].map(([k, v]) => `${k} ${v.length}`).join(', ') || 'none'}`);
    t.equal(s.inputs, COUNT, 'every input generated');
    if (COUNT >= 1000) t.ok(s.valid > COUNT * 0.3 && s.valid < COUNT * 0.5, `about 40% valid inputs (${s.valid})`);
    for (const kind of kinds) {
      const list = s.problems.filter((p) => p.kind === kind);
      t.same(list.slice(0, 5).map((p) => formatProblem(p)), [], `${kind}: none (${list.length})`);
    }
    // Each known parser bug keeps its property, as a todo until src/ is fixed.
    for (const bug of KNOWN_BUGS) {
      const list = s.known.get(bug.id) ?? [];
      t.test(`known parser bug ${bug.id}: no input shows it`, { todo: `parser bug: ${bug.why}` }, async (t) => {
        t.same(list.slice(0, 3).map((p) => formatProblem(p)), [], `${list.length} inputs show ${bug.id}`);
      });
    }
  });
}

t.test('the generator is deterministic and index-addressable', async (t) => {
  const a = [...generate(7, 50)];
  const b = [...generate(7, 50)];
  t.same(a.map((x) => x.bytes.toString('base64')), b.map((x) => x.bytes.toString('base64')), 'same seed, same bytes');
  t.equal(inputAt(7, 33).bytes.toString('base64'), a[33]!.bytes.toString('base64'), 'inputAt(seed, i) is the i-th input');
  t.not(inputAt(8, 33).bytes.toString('base64'), a[33]!.bytes.toString('base64'), 'another seed, other bytes');
});

t.test('attack shapes: deterministic, every shape in any run of indices, the same shape at every scale', async (t) => {
  const a = [...generateAttacks(7, 2 * ATTACK_SHAPES.length)];
  t.same(a.map((x) => x.bytes.toString('base64')), [...generateAttacks(7, a.length)].map((x) => x.bytes.toString('base64')), 'same seed, same bytes');
  t.equal(attackAt(7, 12).bytes.toString('base64'), a[12]!.bytes.toString('base64'), 'attackAt(seed, i) is the i-th attack');
  t.same(new Set(a.slice(3, 3 + ATTACK_SHAPES.length).map((x) => x.shape)), new Set(ATTACK_SHAPES), 'any ATTACK_SHAPES.length consecutive indices hold every shape');
  const wrong: string[] = [];
  for (const x of a) {
    const big = attackAt(7, x.index, 8);
    const small = attackAt(7, x.index, 0.25);
    if (big.kind !== x.kind || small.kind !== x.kind) wrong.push(`${x.kind}: ${small.kind} at scale 1/4, ${big.kind} at scale 8`);
    if (Math.abs(big.size - 8 * x.size) > 8 || Math.abs(small.size - x.size / 4) > 1) wrong.push(`${x.kind}: sizes ${small.size}, ${x.size}, ${big.size}`);
    if (!(big.bytes.length > x.bytes.length && x.bytes.length > small.bytes.length)) wrong.push(`${x.kind}: not longer at a larger scale`);
    if (x.shape === 'tiny-chunks' ? x.content < x.size || x.content > 3 * x.size : x.size < 200 || x.size > 3000) wrong.push(`${x.kind}: size ${x.size}, content ${x.content}`);
  }
  t.same(wrong, [], 'scale 1/4, 1 and 8: the same kind, sizes that scale, runs of 200-3000 bytes, 1-3 bytes a chunk');
});

for (const seed of seeds) {
  // CPU and memory first: when a regression makes a shape slow, the usual properties over all
  // attack inputs get slow too, and these name the problem before any timeout.
  t.test(`attack shapes (issue #8), seed ${seed}: CPU linearity and memory per content byte`, async (t) => {
    const s = newSummary();
    const ratios = new Map<string, number[]>();
    const started = performance.now();
    for (const input of generateAttacks(seed, LINEAR_COUNT)) {
      const { problems, result } = checkLinear(input);
      record(s, problems);
      ratios.set(input.shape, [...(ratios.get(input.shape) ?? []), result.ratio]);
    }
    const linearMs = performance.now() - started;
    // The first tiny-chunks upload, with a reader waiting for the whole content and with one that never reads.
    const tiny = attackAt(seed, ATTACK_SHAPES.indexOf('tiny-chunks'));
    const memory: MemoryResult[] = [];
    for (const mode of ['read-all', 'no-read'] as const) {
      const { problems, result } = checkMemory(tiny, { mode });
      record(s, problems);
      memory.push(result);
    }
    t.comment(`time(8N)/time(N), N = ${LINEAR_BASES.join(' then ')} (bound ${SUPERLINEAR_BOUND}), worst per shape over ${LINEAR_COUNT} inputs in ${(linearMs / 1000).toFixed(1)} s: ` +
      [...ratios].map(([shape, r]) => `${shape} ${Math.max(...r).toFixed(1)}`).join(', '));
    t.comment(`memory (${getGc() ? 'after gc' : 'no gc'}), ${tiny.kind}: ` + memory.map((m) =>
      `${m.mode} ${(m.retained / 1024).toFixed(0)} KiB for ${(m.buffered / 1024).toFixed(0)} KiB buffered (${m.perByte.toFixed(1)} B per byte; limit ${MEMORY_FACTOR} + ${MEMORY_ALLOWANCE / 2 ** 20} MiB)`).join(', '));
    for (const kind of ['superlinear', 'memory'] as const) {
      const list = s.problems.filter((p) => p.kind === kind);
      t.same(list.slice(0, 5).map((p) => formatProblem(p, 200)), [], `${kind}: none (${list.length})`);
    }
  });

  t.test(`attack shapes (issue #8), seed ${seed}: the usual properties`, async (t) => {
    const s = newSummary();
    const started = performance.now();
    for (const input of generateAttacks(seed, ATTACK_COUNT)) {
      count(s, input);
      record(s, checkInput(input));
    }
    s.ms = performance.now() - started;
    t.comment(`attacks seed ${seed}: ${s.inputs} inputs (${s.valid} valid, ${(s.bytes / 1e6).toFixed(1)} MB) in ${(s.ms / 1000).toFixed(1)} s; ` +
      USUAL_KINDS.map((k) => `${k} ${s.byKind.get(k) ?? 0}`).join(', '));
    t.equal(s.inputs, ATTACK_COUNT, 'every attack input generated');
    for (const kind of USUAL_KINDS) {
      const list = s.problems.filter((p) => p.kind === kind);
      t.same(list.slice(0, 5).map((p) => formatProblem(p, 200)), [], `${kind}: none (${list.length})`);
    }
  });
}

// ----------------------------------------------------------- server fuzz

const SERVER_SEED = 0x5e7;
const SERVER_INPUTS = 300;
const PARALLEL = 6;
const CLOSE_WITHIN = 4000;

/** What a single fuzz connection saw. */
interface Exchange {
  input: FuzzInput;
  received: Buffer;
  closed: boolean;
  ms: number;
}

async function exchangeOnce(port: number, input: FuzzInput, halfClose: boolean, within: number): Promise<Exchange> {
  const started = Date.now();
  const c = new Client(port);
  try {
    await c.ready;
    c.write(input.bytes);
    if (halfClose) c.end();
    await c.closedByServer(within).catch(() => {});
    return { input, received: c.received, closed: c.closed, ms: Date.now() - started };
  } catch {
    return { input, received: c.received, closed: true, ms: Date.now() - started };
  } finally {
    c.destroy();
  }
}

async function pool<T, R>(items: T[], n: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await run(items[k]!);
    }
  }));
  return out;
}

const answer = async (req: RequestDict) => {
  const body = await req.datastream.read();
  return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: `${req.verb} ${body.length}\n` };
};

t.test('server fuzz over real sockets', async (t) => {
  const errors: unknown[] = [];
  const { port } = await serve(t, answer, { onError: (e) => void errors.push(e) });
  const inputs = [...generate(SERVER_SEED, SERVER_INPUTS)];
  const started = Date.now();
  const results = await pool(inputs, PARALLEL, (input) => exchangeOnce(port, input, true, CLOSE_WITHIN));
  const elapsed = Date.now() - started;

  const hung: string[] = [];
  const badStart: string[] = [];
  const statusMismatch: string[] = [];
  let answered = 0;
  let silent = 0;
  let agreeing = 0;
  for (const r of results) {
    const text = r.received.toString('latin1');
    const parsed = parseMessages(r.input.bytes, { eof: true });
    const first = parsed.messages[0]?.head;
    const where = `[seed ${SERVER_SEED} index ${r.input.index}, ${r.input.kind}] ${jsString(r.input.bytes.subarray(0, 200))}`;
    if (!r.closed) hung.push(`${where}: not closed within ${CLOSE_WITHIN} ms; received ${JSON.stringify(text.slice(0, 80))}`);
    if (text.length === 0) {
      silent++;
      continue;
    }
    answered++;
    // HTTP/0.9 gets the bare body; an HTTP/1.0 request an HTTP/1.0 status line (src/response.ts); else HTTP/1.1.
    const ok = first?.version === '0.9' || text.startsWith('HTTP/1.1 ') || (first?.version === '1.0' && text.startsWith('HTTP/1.0 '));
    if (!ok) badStart.push(`${where}: response starts ${JSON.stringify(text.slice(0, 40))}`);
    // A request the parser rejects before any complete message is answered with that error's status.
    if (parsed.error !== null && parsed.messages.every((m) => !m.complete) && first?.version !== '0.9') {
      const status = parseReplies(r.received)[0]?.status;
      if (status === parsed.error.status) agreeing++;
      else statusMismatch.push(`${where}: parser ${parsed.error.code} (${parsed.error.status}), server answered ${status ?? JSON.stringify(text.slice(0, 40))}`);
    }
  }
  t.comment(`server fuzz: ${results.length} connections (${PARALLEL} at a time) in ${(elapsed / 1000).toFixed(1)} s; ${answered} answered, ${silent} closed without an answer, ${hung.length} hung; ${agreeing} parse errors answered with the parser's status; ${errors.length} onError reports; slowest ${Math.max(...results.map((r) => r.ms))} ms`);
  t.same(hung.slice(0, 5), [], 'every connection is closed by the server within a few seconds');
  t.same(badStart.slice(0, 5), [], 'every answer starts with a status line (or is an HTTP/0.9 body)');
  t.same(statusMismatch.slice(0, 5), [], 'a rejected request is answered with the status of the parser\'s error');

  const after = new Client(port);
  await after.ready;
  after.write('GET /still-there HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n');
  const replies = await after.responses(1, 3000);
  t.equal(replies[0]?.status, 200, 'the server still answers a valid request');
  t.equal(replies[0]?.body, 'GET 0\n');
});

t.test('valid pipelined requests, then a half-close: every request is answered', async (t) => {
  const { port } = await serve(t, async (req: RequestDict) => {
    await req.datastream.read();
    await new Promise((r) => setTimeout(r, 20));
    return { statuscode: 200, message: 'late\n' };
  });
  const inputs = [...generate(SERVER_SEED + 1, 400)].filter((x) => x.valid && !x.upgrade && !x.kind.includes('0.9') && !x.bytes.includes('HEAD ')).slice(0, 20);
  const results = await pool(inputs, PARALLEL, (input) => exchangeOnce(port, input, true, CLOSE_WITHIN));
  const short = results.filter((r) => parseReplies(r.received).length !== r.input.messages);
  t.same(short.slice(0, 3).map((r) => `[index ${r.input.index}] ${parseReplies(r.received).length}/${r.input.messages} answered: ${jsString(r.input.bytes.subarray(0, 120))}`), [], `${short.length}/${results.length} connections lost responses`);
});
