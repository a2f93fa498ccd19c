/**
 * registerCallback in node:cluster workers (issue #14): by default a worker
 * shares the port through the primary (`exclusive: false`), so two workers
 * on one port both serve; `exclusive: true` keeps the old behaviour (only the
 * first worker binds). Either way a second registration on the same address
 * in one process fails with EADDRINUSE, as the repy API promises. Real
 * processes: a plain node:cluster program, loopback only.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { registerCallback } from '../src/index.js';

const root = resolve(import.meta.dirname, '..');
const script = resolve(import.meta.dirname, 'helpers', 'cluster-registration-child.ts');

interface Report { pid: number; first: string; second: string | null }
interface Outcome { port: number; reports: Report[]; pids: number[]; workerPids: number[] }

function runChild(mode: string): Promise<Outcome> {
  return new Promise((done, fail) => {
    execFile('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--import', '@tapjs/typescript/import', script, mode],
      { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err !== null) return fail(new Error(`${err.message}\n${stderr}`));
        done(JSON.parse(stdout.trim().split('\n').pop()!) as Outcome);
      });
  });
}

t.test('in cluster workers, by default: both share the port and both serve', async (t) => {
  const r = await runChild('default');
  t.equal(r.reports.length, 2);
  for (const w of r.reports) {
    t.equal(w.first, `listening:${r.port}`, `worker ${w.pid} listens on the shared port`);
    t.equal(w.second, 'EADDRINUSE', `worker ${w.pid}: a second registration on the same address in one process still fails`);
  }
  t.notOk(r.pids.includes(-1), 'every request answered');
  t.same([...new Set(r.pids)].sort(), [...r.workerPids].sort(), `both workers answered (${r.pids.filter((p) => p === r.workerPids[0]).length} / ${r.pids.filter((p) => p === r.workerPids[1]).length})`);
});

t.test('in cluster workers, exclusive: true: only the first binds, as before', async (t) => {
  const r = await runChild('true');
  const firsts = r.reports.map((w) => w.first).sort();
  t.same(firsts, ['EADDRINUSE', `listening:${r.port}`], 'one worker listens, the other gets EADDRINUSE');
  const listener = r.reports.find((w) => w.first.startsWith('listening'))!;
  t.equal(listener.second, 'EADDRINUSE', 'a second registration in the listening worker fails too');
  t.same([...new Set(r.pids)], [listener.pid], 'only that worker answers');
});

t.test('the option is checked', async (t) => {
  await t.rejects(registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200 }), { exclusive: 'yes' as never }), TypeError);
});
