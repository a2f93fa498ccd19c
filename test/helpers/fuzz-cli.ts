/**
 * Long fuzzing from the command line, with the same generator and the same
 * properties as test/fuzz.test.ts:
 *
 *   npm run fuzz -- --count 1000000            # a fresh random seed (printed)
 *   npm run fuzz -- --count 200000 --seed 42   # reproducible
 *   npm run fuzz -- --seed 42 --start 417 --count 1 --show 1   # replay one input
 *   npm run fuzz -- --seed 42 --start 417 --count 0 --attacks 1   # replay one attack input
 *
 * Options: --count N (default 100000), --seed S (default: random),
 * --start I (first index, default 0), --attacks A (attack inputs of issue
 * #8 from the same seed and start index, each also timed at N and 8N, the
 * tiny-chunks ones also measured for memory; default count / 1000),
 * --show K (print the first K problems in full, default 10), --print
 * (print every input's bytes and kind), --quiet (no progress lines).
 * Prints a summary (inputs, crashes, split mismatches, the other property
 * failures, the attack ratios, time) and exits 1 when a property failed
 * (known, listed parser bugs are counted apart and do not fail the run).
 */
import { generate, generateAttacks, jsString, type FuzzInput } from './fuzz-gen.js';
import { checkInput, checkLinear, checkMemory, formatProblem, knownBugOf, PROBLEM_KINDS, SUPERLINEAR_BOUND, type Problem, type ProblemKind } from './fuzz-props.js';

function usage(message?: string): never {
  if (message) console.error(`fuzz: ${message}`);
  console.error('usage: npm run fuzz -- [--count N] [--seed S] [--start I] [--attacks A] [--show K] [--print] [--quiet]');
  process.exit(2);
}

function parseArgs(argv: string[]): { count: number; seed: number; start: number; attacks: number; show: number; print: boolean; quiet: boolean } {
  const out = { count: 100_000, seed: Math.floor(Math.random() * 0x7fffffff), start: 0, attacks: -1, show: 10, print: false, quiet: false };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    const num = (): number => {
      const v = Number(argv[++k]);
      if (!Number.isInteger(v) || v < 0) usage(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--count' || a === '-n') out.count = num();
    else if (a === '--seed' || a === '-s') out.seed = num();
    else if (a === '--start') out.start = num();
    else if (a === '--attacks') out.attacks = num();
    else if (a === '--show') out.show = num();
    else if (a === '--print') out.print = true;
    else if (a === '--quiet' || a === '-q') out.quiet = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (out.attacks === -1) out.attacks = Math.floor(out.count / 1000);
  return out;
}

const opts = parseArgs(process.argv.slice(2));
const counts = new Map<ProblemKind, number>(PROBLEM_KINDS.map((k) => [k, 0]));
const known = new Map<string, number>();
const shown: Problem[] = [];
let inputs = 0;
let valid = 0;
let bytes = 0;
const started = performance.now();
let lastProgress = started;

function report(problems: Problem[]): void {
  for (const p of problems) {
    const bug = knownBugOf(p);
    if (bug !== null) {
      known.set(bug, (known.get(bug) ?? 0) + 1);
      continue;
    }
    counts.set(p.kind, counts.get(p.kind)! + 1);
    if (shown.length < opts.show) {
      shown.push(p);
      console.log(formatProblem(p, 2000));
    }
  }
}

function take(input: FuzzInput, label: string): void {
  inputs++;
  bytes += input.bytes.length;
  if (input.valid) valid++;
  if (opts.print) console.log(`[${label}${input.index}] ${input.kind}${input.valid ? ` (${input.messages} message${input.messages === 1 ? '' : 's'})` : ''}: ${jsString(input.bytes)}`);
  report(checkInput(input));
}

function progress(): void {
  const now = performance.now();
  if (!opts.quiet && now - lastProgress > 10_000) {
    lastProgress = now;
    const failed = [...counts.values()].reduce((a, b) => a + b, 0);
    console.error(`  ${inputs} inputs, ${failed} property failures, ${((now - started) / 1000).toFixed(0)} s`);
  }
}

const span = (n: number): string => (n === 0 ? 'none' : `${opts.start}..${opts.start + n - 1}`);
console.log(`fuzz: seed ${opts.seed}, inputs ${span(opts.count)}, attack inputs ${span(opts.attacks)}`);
for (const input of generate(opts.seed, opts.count, opts.start)) {
  take(input, '');
  progress();
}
// The attack shapes of issue #8: the same properties, then CPU linearity, and memory for tiny chunks.
const ratios = new Map<string, number[]>();
const perByte: number[] = [];
for (const input of generateAttacks(opts.seed, opts.attacks, opts.start)) {
  take(input, 'attack ');
  const lin = checkLinear(input);
  report(lin.problems);
  ratios.set(input.shape, [...(ratios.get(input.shape) ?? []), lin.result.ratio]);
  if (input.shape === 'tiny-chunks') {
    const mem = checkMemory(input);
    report(mem.problems);
    perByte.push(mem.result.perByte);
  }
  progress();
}
const seconds = (performance.now() - started) / 1000;
const failed = [...counts.values()].reduce((a, b) => a + b, 0);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log('');
console.log(`seed             ${opts.seed} (indices ${span(opts.count)}; attacks ${span(opts.attacks)})`);
console.log(`inputs           ${inputs} (${valid} valid, ${inputs - valid} mutated or invalid attacks, ${(bytes / 1e6).toFixed(1)} MB)`);
console.log(`crashes          ${counts.get('crash')} (throws), ${counts.get('bad-error')} untyped or inconsistent errors`);
console.log(`split mismatches ${counts.get('split-mismatch')}`);
console.log(`other failures   consumed ${counts.get('consumed')}, offset ${counts.get('offset')}, runaway ${counts.get('runaway')}, valid-rejected ${counts.get('valid-rejected')}`);
console.log(`attacks          superlinear ${counts.get('superlinear')}, memory ${counts.get('memory')} (${opts.attacks} inputs)`);
if (ratios.size > 0) console.log(`time(8N)/time(N) median / worst per shape (bound ${SUPERLINEAR_BOUND}): ${[...ratios].map(([k, r]) => `${k} ${median(r).toFixed(1)}/${Math.max(...r).toFixed(1)}`).join(', ')}`);
if (perByte.length > 0) console.log(`memory           ${median(perByte).toFixed(1)} / ${Math.max(...perByte).toFixed(1)} bytes retained per buffered content byte (median / worst of ${perByte.length} uploads)`);
console.log(`known bugs       ${[...known].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
console.log(`time             ${seconds.toFixed(1)} s (${Math.round(inputs / Math.max(seconds, 1e-3))} inputs/s)`);
if (failed > 0) console.log(`replay one: npm run fuzz -- --seed ${opts.seed} --start <index> --count 1 --attacks 0 --show 1 (an attack input: --count 0 --attacks 1)`);
process.exitCode = failed > 0 ? 1 : 0;
