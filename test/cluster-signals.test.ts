/**
 * `repy-http serve MODULE --workers 2` as a real primary process, under
 * load, on loopback (issue #14's proof):
 * - both workers serve one port (distinct pids in the answers);
 * - a worker killed with SIGKILL mid-load is replaced, and the only requests
 *   lost are those in flight on its own connections (counted);
 * - SIGTERM under load: every request a worker took is answered (the
 *   workers' own counts equal the client's), then the primary exits 0;
 * - SIGHUP under wrk: a rolling restart with no connect, read, write or
 *   timeout error.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { findBinary, killGroup, run, sleep } from './helpers/peers-common.js';
import { startLoad } from './helpers/cluster-load.js';

const root = resolve(import.meta.dirname, '..');
const cli = resolve(root, 'src', 'cli.ts');
const app = resolve(import.meta.dirname, 'helpers', 'cluster-app.mjs');
const wrk = findBinary(['wrk']);

interface Primary {
  pid: number;
  port: number;
  workers: number[];
  out: () => string;
  err: () => string;
  /** `{"served":N,"pid":P}` lines printed by exiting processes. */
  served: () => Map<number, number>;
  exited: Promise<number | null>;
  waitFor: (text: string, ms: number) => Promise<void>;
}

/** Starts the CLI as a cluster primary in its own process group; killed with its workers when the test ends. */
async function startPrimary(t: Test, workers = 2): Promise<Primary> {
  // tap's NODE_OPTIONS stay: they load TypeScript and collect the coverage of the primary and its workers.
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', cli, 'serve', app, '--port', '0', '--workers', String(workers), '--no-log'],
    { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let gone = false;
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => {
    gone = true;
    done(code);
  }));
  t.teardown(async () => {
    killGroup(child, 'SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    killGroup(child, 'SIGKILL');
  });
  const waitFor = async (text: string, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!out.includes(text)) {
      if (Date.now() > end || gone) throw new Error(`no "${text}" (${gone ? 'the primary exited' : `after ${ms} ms`}); stdout:\n${out}\nstderr:\n${err}`);
      await sleep(25);
    }
  };
  await waitFor(' workers (pids ', 120_000);
  const line = out.split('\n').find((l) => l.startsWith('serving '))!;
  const port = Number(line.slice(line.indexOf('127.0.0.1:') + 10, line.indexOf('/ with')));
  const workerPids = line.slice(line.indexOf('(pids ') + 6, line.lastIndexOf(')')).split(' ').map(Number);
  const served = (): Map<number, number> => {
    const m = new Map<number, number>();
    for (const l of out.split('\n')) {
      if (!l.startsWith('{"served"')) continue;
      const { served: n, pid } = JSON.parse(l) as { served: number; pid: number };
      if (pid !== child.pid) m.set(pid, n); // the primary imported the module too (to check it): not a worker
    }
    return m;
  };
  return { pid: child.pid!, port, workers: workerPids, out: () => out, err: () => err, served, exited, waitFor };
}

/** One request on a new connection: the pid that answered. */
function pidOnFreshConnection(port: number): Promise<number> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => done(Number(body)));
    });
    req.setTimeout(3000, () => req.destroy(new Error('no answer in 3 s')));
    req.on('error', fail);
    req.end();
  });
}

const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

t.test('two workers serve one port; a worker killed mid-load is replaced, losing only its own in-flight requests', { timeout: 180_000 }, async (t) => {
  const p = await startPrimary(t);
  t.equal(p.workers.length, 2);
  const load = startLoad(p.port, { connections: 16 });
  const end = Date.now() + 30_000;
  while (!(p.workers.every((w) => (load.byPid.get(w) ?? 0) > 50)) && Date.now() < end) await sleep(50);
  t.same([...load.byPid.keys()].sort(), [...p.workers].sort(), `both workers answered: ${JSON.stringify([...load.byPid])}`);
  const [victim, survivor] = p.workers as [number, number];
  const onVictim = load.openOn(victim);
  const onSurvivor = load.openOn(survivor);
  const failedBefore = load.failed.length;
  process.kill(victim, 'SIGKILL');
  const killedAt = Date.now();
  // The replacement answers from a third pid. The load's kept-alive connections stay where
  // they are (on the survivor), so fresh connections look for it: the primary deals them out in turn.
  const until = Date.now() + 90_000;
  let replacement = 0;
  const probesUnanswered: { sentAt: number; error: string }[] = [];
  while (replacement === 0 && Date.now() < until) {
    const sentAt = Date.now() - killedAt;
    const pid = await pidOnFreshConnection(p.port).catch((e: Error) => {
      probesUnanswered.push({ sentAt, error: e.message });
      return 0;
    });
    if (pid !== 0 && !p.workers.includes(pid)) replacement = pid;
    else await sleep(50);
  }
  t.ok(replacement > 0, `a replacement worker (${replacement}) answers`);
  await sleep(300);
  await load.stop();
  const lost = load.failed.slice(failedBefore);
  const lostOnVictim = lost.filter((f) => f.lastPid === victim).length;
  // A connection the load opened again after the kill and that was never answered at all
  // (lastPid 0) is the node:cluster gap described below, met by the load instead of a probe.
  const neverAnswered = lost.filter((f) => f.lastPid === 0);
  const lostElsewhere = lost.filter((f) => f.lastPid !== victim && f.lastPid !== 0);
  t.equal(failedBefore, 0, 'nothing lost before the kill');
  t.ok(lostOnVictim <= onVictim, `lost on the killed worker's connections: ${lostOnVictim}, at most one per connection it had (${onVictim})`);
  t.same(lostElsewhere, [], `nothing lost on the other worker's ${onSurvivor} connections, nor on new ones`);
  t.match(p.err(), `worker ${victim} exited (signal SIGKILL); restarting it in 100 ms`, 'the crash is reported on stderr');
  // node:cluster's round-robin may deal a new connection to the dead worker in the moment before
  // the primary sees it die (its IPC channel's EOF): that one connection is neither answered nor
  // closed, the client's timeout ends it (docs/cluster.md). Only a probe sent in that moment may be lost.
  const late = probesUnanswered.filter((x) => x.sentAt > 1000);
  t.same(late, [], `no probe sent later than 1 s after the kill is lost (lost: ${JSON.stringify(probesUnanswered)})`);
  t.ok(probesUnanswered.length + neverAnswered.length <= 1, `at most the one connection dealt to the dead worker (probes: ${probesUnanswered.length}, the load's new connections: ${neverAnswered.length})`);
  t.comment(`SIGKILL mid-load: ${load.answered()} answers, killed worker had ${onVictim} of 16 connections, ${lostOnVictim} requests lost (all on them), ${load.refused()} connections refused; fresh connections opened right after the kill and never answered: ${probesUnanswered.length} (${probesUnanswered.map((x) => `sent ${x.sentAt} ms after`).join(', ')})`);
  process.kill(p.pid, 'SIGTERM');
  t.equal(await p.exited, 0, 'the primary exits 0 after SIGTERM');
});

t.test('SIGTERM under load: every request a worker took is answered, then the primary exits 0', { timeout: 180_000 }, async (t) => {
  const p = await startPrimary(t);
  const fast = startLoad(p.port, { connections: 12 });
  const slow = startLoad(p.port, { connections: 4, path: '/slow?ms=400' });
  const end = Date.now() + 30_000;
  while ((slow.answered() < 4 || fast.answered() < 200) && Date.now() < end) await sleep(50);
  await sleep(150); // the slow requests are in flight again
  const slowBefore = slow.answered();
  process.kill(p.pid, 'SIGTERM');
  const code = await p.exited;
  await Promise.all([fast.stop(), slow.stop()]);
  t.equal(code, 0, 'the primary exited 0');
  const served = p.served();
  t.same([...served.keys()].sort(), [...p.workers].sort(), 'both workers reported their count on exit');
  const answered = fast.answered() + slow.answered();
  t.equal(sum(served), answered, `the workers answered ${sum(served)} requests and the clients received ${answered}: none lost`);
  t.ok(slow.answered() > slowBefore, `the slow requests in flight at SIGTERM were answered (${slow.answered() - slowBefore})`);
  const lostOnKeptAlive = [...fast.failed, ...slow.failed].filter((f) => f.lastPid !== 0);
  t.same(lostOnKeptAlive, [], 'no request lost on a kept-alive connection (each got Connection: close first)');
  const unaccepted = fast.failed.length + slow.failed.length;
  t.comment(`SIGTERM under load: ${answered} answered; after the stop, ${unaccepted} new connections closed unanswered by the primary and ${fast.refused() + slow.refused()} refused`);
});

t.test('Ctrl-C (SIGINT to the whole process group): a graceful stop, the request in flight answered, no worker taken for crashed', { timeout: 180_000 }, async (t) => {
  const p = await startPrimary(t);
  const inFlight = new Promise<string>((done, fail) => {
    const req = request({ host: '127.0.0.1', port: p.port, path: '/slow?ms=600', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => done(`${res.statusCode} ${res.headers['connection']} ${body.trim()}`));
    });
    req.on('error', fail);
    req.end();
  });
  await sleep(200);
  process.kill(-p.pid, 'SIGINT'); // what a terminal does on Ctrl-C
  const answer = await inFlight;
  t.match(answer, /^200 close \d+$/, `the slow request was answered, with Connection: close (${answer})`);
  t.equal(await p.exited, 0, 'the primary exited 0');
  t.notMatch(p.err(), 'exited (', 'no worker exit was reported as a crash');
  t.same([...p.served().keys()].sort(), [...p.workers].sort(), 'both workers exited through their graceful stop');
});

t.test('SIGHUP under wrk: a rolling restart without a single socket error', { timeout: 240_000, skip: wrk === null ? 'wrk is not installed (apt-get install wrk)' : false }, async (t) => {
  const p = await startPrimary(t);
  const wrkRun = run(wrk!, ['-t1', '-c20', '-d200s', '--timeout', '5s', `http://127.0.0.1:${p.port}/`], { timeoutMs: 230_000 });
  await sleep(1000);
  process.kill(p.pid, 'SIGHUP');
  await p.waitFor('restarted: workers ', 180_000);
  await sleep(1000);
  const line = p.out().split('\n').find((l) => l.startsWith('restarted: workers '))!;
  const after = line.slice(19).split(' ').map(Number);
  // wrk stops on SIGINT and prints its summary (run() started it as a process group leader).
  const wrkPid = Number((await run('pgrep', ['-n', '-f', `127.0.0.1:${p.port}/`], { timeoutMs: 5000 })).stdout.trim());
  process.kill(wrkPid, 'SIGINT');
  const r = await wrkRun;
  t.equal(r.code, 0, `wrk exited 0 ${r.stderr}`);
  const m = /(\d+) requests in/.exec(r.stdout);
  t.ok(m !== null, `wrk printed a summary:\n${r.stdout}`);
  const socketErrors = /Socket errors:.*/.exec(r.stdout)?.[0] ?? 'Socket errors: connect 0, read 0, write 0, timeout 0';
  t.equal(socketErrors, 'Socket errors: connect 0, read 0, write 0, timeout 0', 'wrk: no connect, read, write or timeout error');
  t.notMatch(r.stdout, /Non-2xx/, 'wrk: every answer a 200');
  t.equal(after.length, 2, 'two workers after the roll');
  t.notOk(after.some((pid) => p.workers.includes(pid)), `both replaced: ${p.workers.join(' ')} → ${after.join(' ')}`);
  process.kill(p.pid, 'SIGTERM');
  t.equal(await p.exited, 0);
  const served = p.served();
  t.ok(sum(served) >= Number(m![1]), `the 4 workers answered ${sum(served)} ≥ the ${m![1]} wrk completed`);
  t.equal(served.size, 4, 'the old and the new workers all reported');
  t.comment(`SIGHUP under wrk -c20: ${m![1]} requests, ${socketErrors}; workers ${p.workers.join(' ')} → ${after.join(' ')}`);
});
