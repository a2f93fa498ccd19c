/**
 * The sessions registry never grows without bound and gives its memory
 * back (issue #13): 100,000 sessions are created over real sockets (each a
 * request without a cookie), held, reaped, and heapUsed after a full GC
 * must come back within 10 % of where it started. Runs in a child process
 * with --expose-gc (tap's NODE_OPTIONS dropped: its loaders hold memory of
 * their own), TypeScript loaded explicitly.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const script = resolve(import.meta.dirname, 'helpers', 'sessions-memory-child.ts');

interface Figures { count: number; created: number; live: number; createMs: number; baseline: number; peak: number; after: number; finals: number; rss: number }

t.test('100,000 sessions created and reaped: heap back within 10 % of the start', { timeout: 170_000 }, async (t) => {
  const out = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((done) => {
    execFile('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--expose-gc', '--import', '@tapjs/typescript/import', script, '100000', '15000'],
      { cwd: root, timeout: 160_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => done({ err, stdout, stderr }));
  });
  t.equal(out.err, null, out.stderr);
  const f = JSON.parse(out.stdout.trim().split('\n').pop()!) as Figures;
  const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
  t.equal(f.created, 100_000, 'every request answered by a new session');
  t.equal(f.finals, 104_000, 'every session function (4,000 of the warm-up too) ran its finally block when reaped');
  t.ok(f.live > 50_000, `${f.live} sessions were live at once`);
  t.ok(f.peak - f.baseline > f.live * 200, `the live sessions really held memory: ${mb(f.peak - f.baseline)} for ${f.live}`);
  const ratio = f.after / f.baseline;
  t.ok(ratio <= 1.1, `heapUsed after reaping ${mb(f.after)} vs ${mb(f.baseline)} at the start (${(ratio * 100).toFixed(1)} %)`);
  t.comment(`sessions memory: baseline ${mb(f.baseline)}, ${f.live} live ${mb(f.peak)} (${((f.peak - f.baseline) / f.live).toFixed(0)} B each), after reaping ${mb(f.after)} (${(ratio * 100).toFixed(1)} %); created in ${(f.createMs / 1000).toFixed(1)} s; rss ${mb(f.rss)}`);
});
