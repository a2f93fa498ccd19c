// The client side of issue #12's proof, with real processes: a resumable
// transfer (test/helpers/crash-client.ts: two persisted values, a debit, a
// credit that depends on the debit's answer) is killed with SIGKILL at every
// failure point in turn, then run again until it finishes. The server (this
// process: idempotent + memoryStore) counts its effects in a file and keeps
// balances per scenario. Asserted for every point: each logical request took
// effect exactly once, and the final result equals that of a run without
// crashes (its random values aside, which must be the ones the effects saw).
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json } from '../src/server/helpers.js';
import { idempotent, idempotencyKey } from '../src/idempotency/index.js';
import { transpileForChildren } from './helpers/transpile.js';
import { serve, sleep } from './helpers/wire.js';

const started = performance.now();
t.teardown(() => t.comment(`certified-crash.test.ts: ${((performance.now() - started) / 1000).toFixed(1)} s in all`));
const children = transpileForChildren(['test/helpers/crash-client.ts']);
t.teardown(children.remove);
const dir = mkdtempSync(join(tmpdir(), 'repy-crash-client-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const effectsFile = join(dir, 'effects.log');
writeFileSync(effectsFile, '');

interface Effect { scenario: string; op: string; ref: string; key: string | null }

// The bank: balances per scenario, every effect appended to the effects file.
const balances = new Map<string, Record<string, number>>();
const { port } = await serve(t, idempotent(async (req) => {
  const [, scenario, op] = req.path.split('/');
  const body = JSON.parse((await req.datastream.read()).toString()) as { account: string; amount: number; ref: string };
  if (scenario!.startsWith('slow')) await sleep(400); // the in-flight scenario: the rerun arrives while this runs
  const accounts = balances.get(scenario!) ?? { A: 100, B: 0 };
  balances.set(scenario!, accounts);
  accounts[body.account] = accounts[body.account]! + (op === 'debit' ? -body.amount : body.amount);
  const effect: Effect = { scenario: scenario!, op: op!, ref: body.ref, key: idempotencyKey(req) };
  appendFileSync(effectsFile, JSON.stringify(effect) + '\n');
  return json({ balance: accounts[body.account], ref: body.ref }, 201);
}));

interface Run { code: number | null; signal: string | null; points: string[]; result: Record<string, unknown> | null; stderr: string }

/** Runs the client child once; `crashAt`: the point where it kills itself. */
function runClient(scenario: string, crashAt?: string, delay?: number): Promise<Run> {
  const env: Record<string, string> = { JOURNAL: join(dir, `${scenario}.journal`), BASE: `http://127.0.0.1:${port}/${scenario}` };
  if (crashAt !== undefined) env['CRASH_AT'] = crashAt;
  if (delay !== undefined) env['CRASH_DELAY'] = String(delay);
  const args = ['-u', 'NODE_OPTIONS', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, children.js('test/helpers/crash-client.ts')];
  return new Promise((resolve) => {
    const child = execFile('env', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const lines = stdout.split('\n');
      const res = lines.find((l) => l.startsWith('result '));
      resolve({
        code: child.exitCode, signal: child.signalCode, stderr: err === null ? '' : stderr,
        points: lines.filter((l) => l.startsWith('point ')).map((l) => l.slice(6)),
        result: res === undefined ? null : JSON.parse(res.slice(7)) as Record<string, unknown>,
      });
    });
  });
}

/** Runs again until the flow finishes (each run resumes from the journal). */
async function finish(scenario: string): Promise<{ runs: number; last: Run }> {
  for (let runs = 1; runs <= 3; runs++) {
    const r = await runClient(scenario);
    if (r.code === 0 && r.result !== null) return { runs, last: r };
  }
  throw new Error(`${scenario} did not finish in 3 runs`);
}

const effectsOf = (scenario: string): Effect[] =>
  readFileSync(effectsFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Effect).filter((e) => e.scenario === scenario);

/** The result with its random values replaced by placeholders, after checking the answers carry the persisted ref. */
function normalized(t: Test, result: Record<string, unknown>): unknown {
  const ref = result['ref'] as string;
  t.match(ref, /^[0-9a-f-]{36}$/);
  t.match(result['note'], /^started at \d+ by \d+$/);
  const text = JSON.stringify(result).split(ref).join('<ref>').replace(/started at \d+ by \d+/, '<note>');
  return JSON.parse(text) as unknown;
}

// ----------------------------------------------------------- the reference

const clean = await runClient('clean');
const cleanResult = normalized(t, clean.result!);
const POINTS = clean.points;

t.test('a run without crashes passes every failure point and gives the reference result', async (t) => {
  t.equal(clean.code, 0, clean.stderr);
  t.same(cleanResult, {
    ref: '<ref>', note: '<note>', debit: { balance: 90, ref: '<ref>' }, credit: { balance: 10, ref: '<ref>' }, statuses: [201, 201],
  });
  t.same(POINTS, [
    'persist:0:before-append', 'persist:0:after-append', 'persist:1:before-append', 'persist:1:after-append',
    'request:2:before-append-key', 'request:2:after-append-key', 'request:2:answer-unread', 'request:2:before-append-response', 'request:2:after-append-response',
    'request:3:before-append-key', 'request:3:after-append-key', 'request:3:answer-unread', 'request:3:before-append-response', 'request:3:after-append-response',
    'result:before-append', 'result:after-append',
  ]);
  t.same(effectsOf('clean').map((e) => [e.op, e.ref]), [['debit', clean.result!['ref']], ['credit', clean.result!['ref']]]);
  // a finished journal: the result again, nothing sent, nothing run
  const again = await runClient('clean');
  t.same([again.result, again.points], [clean.result, []]);
  t.equal(effectsOf('clean').length, 2);
});

// ------------------------------------------------------ every failure point

const tally: string[] = [];
t.test('killed at every failure point, then run until it finishes: every effect exactly once, the same result', async (t) => {
  t.equal(POINTS.length, 16);
  // Two scenarios at a time: each has its own journal and its own accounts on the shared server.
  const queue = POINTS.map((p, i) => ({ point: p, scenario: `crash${i}` }));
  const work = async (): Promise<void> => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      const { point, scenario } = job;
      const crashed = await runClient(scenario, point);
      t.equal(crashed.signal, 'SIGKILL', `${point}: the child killed itself`);
      t.equal(crashed.points.at(-1), point, `${point}: at that point`);
      const { runs, last } = await finish(scenario);
      t.same(normalized(t, last.result!), cleanResult, `${point}: the result of a run without crashes`);
      const effects = effectsOf(scenario);
      const ops = effects.map((e) => e.op).sort();
      t.same(ops, ['credit', 'debit'], `${point}: one debit and one credit`);
      t.ok(effects.every((e) => e.ref === last.result!['ref']), `${point}: the effects used the persisted ref`);
      t.equal(new Set(effects.map((e) => e.key)).size, 2, `${point}: two keys, one per logical request`);
      tally.push(`${point}: ${effects.length} effects, ${runs} rerun(s)`);
    }
  };
  await Promise.all([work(), work()]);
  t.comment(`client crash points tried: ${tally.length}; effects per logical request: all exactly 1`);
});

t.test('killed while its request is in flight: the rerun gets 409, then the replay; one effect', async (t) => {
  // The bank takes 400 ms for "slow" scenarios; the child dies 100 ms after sending.
  const crashed = await runClient('slow1', 'request:2:after-append-key', 100);
  t.equal(crashed.signal, 'SIGKILL');
  const { last } = await finish('slow1');
  t.same(normalized(t, last.result!), cleanResult);
  t.same(effectsOf('slow1').map((e) => e.op).sort(), ['credit', 'debit']);
});

t.test('the count can fail: a rerun without the journal repeats the debit under a new key', async (t) => {
  const crashed = await runClient('nojournal', 'request:2:answer-unread');
  t.equal(crashed.signal, 'SIGKILL');
  rmSync(join(dir, 'nojournal.journal'));
  const { last } = await finish('nojournal');
  const debits = effectsOf('nojournal').filter((e) => e.op === 'debit');
  t.equal(debits.length, 2, 'two debits: the money moved twice');
  t.notSame(normalized(t, last.result!), cleanResult, 'and the result shows it (balance 80)');
});

t.test('examples/transfer.mjs: the demo kills its client repeatedly and still moves the money once', async (t) => {
  // Next to the transpiled src/ (no dist/ there), so no build is needed.
  mkdirSync(join(children.dir, 'examples'), { recursive: true });
  copyFileSync(new URL('../examples/transfer.mjs', import.meta.url), join(children.dir, 'examples', 'transfer.mjs'));
  const out = await new Promise<string>((resolve, reject) => {
    execFile('env', ['-u', 'NODE_OPTIONS', `TRANSFER_DATA=${join(dir, 'example')}`, process.execPath, join(children.dir, 'examples', 'transfer.mjs')], { timeout: 60_000 },
      (err, stdout, stderr) => (err ? reject(Object.assign(err, { stdout, stderr })) : resolve(stdout)));
  });
  t.match(out, /^finished after \d+ kill\(s\): \{"transfer":/m);
  t.match(out, /^ledger: A -10, B \+10; A = 90, B = 10$/m);
  const kills = Number(/finished after (\d+) kill/.exec(out)?.[1]);
  t.ok(kills >= 1, `${kills} runs were killed`);
});
