// The server side of issue #12's proof, with real processes: a bank behind
// idempotent + fileStore (test/helpers/crash-server.ts) is killed with
// SIGKILL at every server failure point, restarted on the same journal, and
// the client (this process) sends the same request again with the same key.
// The bank's ledger counts the effects. Asserted, point by point and for two
// callbacks ('naive': trusts the idempotency store alone; 'commit': commits
// the key with its effect and looks it up first), the table of
// docs/exactly-once.md: which points give exactly-once by the store alone,
// and which need the callback to commit the key with its effect.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certifiedRequest, CertifiedRequestError } from '../src/certified/index.js';
import { transpileForChildren } from './helpers/transpile.js';

const started = performance.now();
t.teardown(() => t.comment(`idempotency-crash.test.ts: ${((performance.now() - started) / 1000).toFixed(1)} s in all`));
const children = transpileForChildren(['test/helpers/crash-server.ts']);
t.teardown(children.remove);
const dir = mkdtempSync(join(tmpdir(), 'repy-crash-server-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Server { child: ChildProcess; url: string; exited: Promise<string | null> }

/** Starts the bank on port 0 with its journal and ledger in `at`; resolves once it listens. */
function startServer(at: string, pattern: string, crashAt?: string): Promise<Server> {
  const env = [`JOURNAL=${join(at, 'keys.journal')}`, `LEDGER=${join(at, 'ledger.log')}`, `PATTERN=${pattern}`, ...(crashAt === undefined ? [] : [`CRASH_AT=${crashAt}`])];
  const child = spawn('env', ['-u', 'NODE_OPTIONS', ...env, process.execPath, children.js('test/helpers/crash-server.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)\n/.exec(out);
      if (m !== null) resolve({ child, url: `http://127.0.0.1:${m[1]}/transfer`, exited });
    });
    void exited.then(() => reject(new Error(`the server exited before listening: ${stderr}`)));
  });
}

const POSTDATA = JSON.stringify({ account: 'A', amount: 10, ref: 'r-1' });
const ledgerOf = (at: string): unknown[] => readFileSync(join(at, 'ledger.log'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);

/** Cuts the journal's last record in half: what a power loss during its write leaves (the response had not left: it waits for the sync). */
function tearLastRecord(path: string): void {
  const text = readFileSync(path, 'latin1');
  const start = text.lastIndexOf('\n', text.length - 2) + 1;
  truncateSync(path, start + Math.floor((text.length - start) / 2));
}

interface Outcome { effects: number; status: number; body: string; replayed: boolean; firstFailed: boolean; killedBy: string | null }

/** One scenario: crash at `point` on the first request, restart, retry with the same key. */
async function scenario(name: string, point: string, pattern: 'naive' | 'commit'): Promise<Outcome> {
  const at = join(dir, name);
  mkdirSync(at);
  writeFileSync(join(at, 'ledger.log'), '');
  const crashAt = point === 'torn-record' ? 'after-complete' : point === 'after-response' || point === 'none' ? undefined : point;
  const key = `key-${name}`;
  const a = await startServer(at, pattern, crashAt);
  let firstFailed = false;
  try {
    await certifiedRequest(a.url, { key, postdata: POSTDATA, attempts: 1 });
  } catch (e) {
    if (!(e instanceof CertifiedRequestError) || !e.requestSent) throw e;
    firstFailed = true;
  }
  if (crashAt === undefined) a.child.kill('SIGKILL'); // after the response left
  const killedBy = await a.exited;
  if (point === 'torn-record') tearLastRecord(join(at, 'keys.journal'));
  const b = await startServer(at, pattern);
  try {
    const r = await certifiedRequest(b.url, { key, postdata: POSTDATA, baseDelay: 5 });
    return { effects: ledgerOf(at).length, status: r.statuscode, body: r.body, replayed: r.replayed, firstFailed, killedBy };
  } finally {
    b.child.kill('SIGKILL');
    await b.exited;
  }
}

const baseline = await scenario('baseline', 'none', 'naive');
const BODY = '{"balance":90,"ref":"r-1"}';

t.test('without a crash: one effect, the answer, replayed after a restart', async (t) => {
  t.same(baseline, { effects: 1, status: 201, body: BODY, replayed: true, firstFailed: false, killedBy: 'SIGKILL' });
});

// point → [effects with the naive callback, with the commit pattern], and whether the retry is the store's replay
const TABLE: [point: string, naive: number, commit: number, replayedByStore: boolean][] = [
  ['callback-start', 1, 1, false],
  ['after-effect', 2, 1, false],
  ['after-complete', 1, 1, true],
  ['torn-record', 2, 1, false],
  ['after-response', 1, 1, true],
];

t.test('the server killed at every failure point: the table of docs/exactly-once.md', async (t) => {
  const jobs = TABLE.flatMap(([point, naive, commit, replayed]) => [
    { point, pattern: 'naive' as const, effects: naive, replayed },
    { point, pattern: 'commit' as const, effects: commit, replayed },
  ]);
  const rows: string[] = [];
  const work = async (): Promise<void> => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      const o = await scenario(`${job.point}-${job.pattern}`, job.point, job.pattern);
      const label = `${job.point} (${job.pattern})`;
      t.equal(o.killedBy, 'SIGKILL', `${label}: the server was killed`);
      t.equal(o.firstFailed, job.point !== 'after-response', `${label}: the first attempt ${job.point === 'after-response' ? 'got its answer' : 'failed'}`);
      t.equal(o.effects, job.effects, `${label}: ${job.effects} effect(s)`);
      t.equal(o.status, 201);
      if (job.effects === 1) t.equal(o.body, BODY, `${label}: the answer of a run without crashes`);
      else t.equal(o.body, '{"balance":80,"ref":"r-1"}', `${label}: the money moved twice`);
      t.equal(o.replayed, job.replayed, `${label}: ${job.replayed ? 'replayed from the journal' : 'answered by the callback'}`);
      rows.push(`${label}: ${o.effects}`);
    }
  };
  await Promise.all([work(), work()]);
  t.comment(`server crash points tried: ${TABLE.length} × 2 callbacks; effects: ${rows.join(', ')}`);
});
