/**
 * repy-http/cluster with this test process as the primary (module mode,
 * signals off): the handle (workers, restart, stop), a worker that cannot
 * start, crashed workers replaced with exponential backoff that resets after
 * a healthy run, and bad options. Real worker processes, loopback only. The
 * signal-driven behaviour under load is in cluster-signals.test.ts.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { serveCluster, ClusterError, restartDelay, BACKOFF_DEFAULTS, type ClusterEvent, type ClusterHandle } from '../src/cluster/index.js';
import { loadCallback, moduleUrl } from '../src/cluster/load-callback.js';
import { readWorkerConfig, CONFIG_ENV } from '../src/cluster/protocol.js';
import { serve } from '../src/cli.js';

const APP = resolve(import.meta.dirname, 'helpers', 'cluster-app.mjs');
// Workers inherit the environment: no type-checking in them, nothing of theirs on tap's stdout.
process.env['TS_NODE_TRANSPILE_ONLY'] = '1';
process.env['CLUSTER_APP_QUIET'] = '1';

/** One request on a fresh connection; resolves with the answering pid. */
function pidAt(port: number): Promise<number> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => done(Number(body)));
    });
    req.on('error', fail);
    req.end();
  });
}

/** Raw bytes in, everything the server sends until it closes, out. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((done, fail) => {
    let got = '';
    const s = connect({ host: '127.0.0.1', port }, () => s.write(bytes));
    s.setEncoding('latin1').on('data', (d: string) => (got += d)).on('close', () => done(got)).on('error', fail);
  });
}

async function pidsSeen(port: number, n: number): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add(await pidAt(port));
  return seen;
}

const waitFor = async (pred: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('two workers on one port, a rolling restart, a stop', { timeout: 120_000 }, async (t) => {
  const events: ClusterEvent[] = [];
  const errors: ClusterError[] = [];
  const h = (await serveCluster({
    workers: 2, address: ['127.0.0.1', 0], module: APP, signals: false,
    serverOptions: { requireHost: false },
    onEvent: (e) => events.push(e), onError: (e) => errors.push(e),
  })) as ClusterHandle;
  t.equal(h.role, 'primary');
  await t.rejects(serveCluster({ workers: 1, address: ['127.0.0.1', 0], module: APP, signals: false }), { code: 'ERR_CLUSTER_OPTION' }, 'one cluster per process at a time');
  t.match(await rawExchange(h.address[1], 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /, 'serverOptions reach the workers (requireHost: false: no Host, still 200)');
  t.ok(h.address[1] > 0, `port 0 became ${h.address[1]}`);
  const first = h.workers();
  t.equal(first.length, 2, 'two workers listening');
  const seen = await pidsSeen(h.address[1], 12);
  t.same([...seen].sort(), [...first].sort(), 'both answered (distinct pids)');
  t.same(events.filter((e) => e.type === 'ready').map((e) => (e as { address: unknown }).address), [h.address, h.address], 'both on the same address');

  await h.restart();
  const second = h.workers();
  t.equal(second.length, 2, 'two workers after the roll');
  t.notOk(second.some((p) => first.includes(p)), 'both replaced');
  t.same([...(await pidsSeen(h.address[1], 12))].sort(), [...second].sort(), 'the new ones answer');
  // One at a time: each new worker was ready before the old one of its slot was asked to go.
  const order = events.filter((e) => e.type === 'ready' || (e.type === 'exit' && first.includes(e.pid))).map((e) => e.type);
  t.same(order, ['ready', 'ready', 'ready', 'exit', 'ready', 'exit'], 'start, then per slot: new ready, old exits');
  t.notOk(events.some((e) => e.type === 'exit' && !e.planned), 'no unplanned exit');

  await h.stop();
  t.same(h.workers(), [], 'no worker after stop');
  await h.stopped;
  await t.rejects(h.restart(), { code: 'ERR_CLUSTER_STOPPED' });
  await t.rejects(pidAt(h.address[1]), { code: 'ECONNREFUSED' }, 'the port is closed');
  t.same(errors, [], 'no error reported');
});

t.test('a worker that cannot start: serveCluster rejects, nothing is left running', { timeout: 60_000 }, async (t) => {
  process.env['CLUSTER_APP_FAIL'] = '1';
  t.teardown(() => delete process.env['CLUSTER_APP_FAIL']);
  const events: ClusterEvent[] = [];
  const err = await serveCluster({ workers: 2, address: ['127.0.0.1', 0], module: APP, signals: false, onEvent: (e) => events.push(e), onError: () => {} })
    .then(() => null, (e: unknown) => e as ClusterError);
  t.ok(err instanceof ClusterError, 'a ClusterError');
  t.equal(err?.code, 'ERR_CLUSTER_START');
  t.equal(err?.exitCode, 1, 'the worker exited 1');
  const forks = events.filter((e) => e.type === 'fork').length;
  t.equal(events.filter((e) => e.type === 'exit').length, forks, 'every forked worker exited');
  t.notOk(events.some((e) => e.type === 'restart'), 'no restart loop at start');
});

t.test('crashed workers are replaced with exponential backoff, reset after a healthy run', { timeout: 180_000 }, async (t) => {
  const events: ClusterEvent[] = [];
  const errors: ClusterError[] = [];
  const h = (await serveCluster({
    workers: 1, address: ['127.0.0.1', 0], module: APP, signals: false,
    backoff: { initialDelay: 40, maxDelay: 160, resetAfter: 3000 },
    onEvent: (e) => events.push(e), onError: (e) => errors.push(e),
  })) as ClusterHandle;
  t.teardown(() => h.stop());
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [pid] = h.workers();
    process.kill(pid!, 'SIGKILL');
    await waitFor(() => h.workers().length === 1 && h.workers()[0] !== pid, 60_000, 'the replacement');
    const r = events.filter((e) => e.type === 'restart').pop() as { delay: number };
    delays.push(r.delay);
  }
  t.same(delays, [40, 80, 160, 160], 'doubling from initialDelay, bounded by maxDelay');
  t.equal(errors.length, 4, 'each crash reported');
  t.equal(errors[0]!.code, 'ERR_WORKER_EXIT');
  t.equal(errors[0]!.signal, 'SIGKILL');
  t.equal(errors[0]!.restartIn, 40);
  const survivor = h.workers()[0]!;
  t.equal(await pidAt(h.address[1]), survivor, 'the replacement serves the same port');
  await new Promise((r) => setTimeout(r, 3200)); // a healthy run: longer than resetAfter
  process.kill(survivor, 'SIGKILL');
  await waitFor(() => h.workers().length === 1 && h.workers()[0] !== survivor, 60_000, 'the replacement');
  t.equal((events.filter((e) => e.type === 'restart').pop() as { delay: number }).delay, 40, 'the count was reset');
});

t.test('the hard deadline: a worker still busy after stopTimeout is killed', { timeout: 60_000 }, async (t) => {
  const events: ClusterEvent[] = [];
  const errors: ClusterError[] = [];
  const h = (await serveCluster({
    workers: 1, address: ['127.0.0.1', 0], module: APP, signals: false, stopTimeout: 300,
    onEvent: (e) => events.push(e), onError: (e) => errors.push(e),
  })) as ClusterHandle;
  const slow = new Promise<string>((done) => {
    const req = request({ host: '127.0.0.1', port: h.address[1], path: '/slow?ms=5000', agent: false }, (res) => {
      res.resume().on('end', () => done(`answered ${res.statusCode}`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    req.end();
  });
  await new Promise((r) => setTimeout(r, 300));
  const start = Date.now();
  await h.stop();
  t.ok(Date.now() - start < 4000, `stop() resolved at the deadline, not after the 5 s request (${Date.now() - start} ms)`);
  t.equal(errors.length, 1);
  t.match(errors[0]!.message, 'did not stop within 300 ms: killed');
  t.equal(errors[0]!.signal, 'SIGKILL');
  t.match(events.find((e) => e.type === 'exit'), { signal: 'SIGKILL', planned: true });
  t.equal(await slow, 'ECONNRESET', 'the request cut by the kill sees its connection reset');
});

t.test('restartDelay', async (t) => {
  t.same([1, 2, 3, 4, 8, 1000].map((n) => restartDelay(n, BACKOFF_DEFAULTS)), [100, 200, 400, 800, 10_000, 10_000]);
  t.equal(restartDelay(0, BACKOFF_DEFAULTS), 100, 'the first delay at least');
});

t.test('loading the module', async (t) => {
  const viaDefault = await loadCallback(moduleUrl(APP));
  t.equal(typeof viaDefault.callback, 'function', 'the default export');
  const named = await loadCallback('data:text/javascript,export const callback = () => ({ statuscode: 204 }); export const options = { maxPipelined: 4 };');
  t.same(await named.callback({} as never), { statuscode: 204 }, 'the callback export');
  t.same(named.options, { maxPipelined: 4 }, 'the options export');
  await t.rejects(loadCallback('data:text/javascript,export const x = 1;'), { code: 'ERR_CLUSTER_MODULE' });
  t.equal(moduleUrl(new URL('file:///a/b.mjs')), 'file:///a/b.mjs');
  t.equal(moduleUrl('file:///a/c.mjs'), 'file:///a/c.mjs');
  t.ok(moduleUrl('rel.mjs').startsWith('file:///'), 'a path becomes an absolute file URL');
});

t.test('the worker configuration', async (t) => {
  t.equal(readWorkerConfig({}), null);
  t.equal(readWorkerConfig({ [CONFIG_ENV]: 'not json' }), null);
  t.equal(readWorkerConfig({ [CONFIG_ENV]: '{"address":[1,2],"slot":0}' }), null);
  t.same(readWorkerConfig({ [CONFIG_ENV]: '{"address":["h",2],"slot":0}' }), { address: ['h', 2], slot: 0 });
});

t.test('bad options', { timeout: 60_000 }, async (t) => {
  const base = { address: ['127.0.0.1', 0] as [string, number], module: APP, signals: false };
  const cases: [string, unknown][] = [
    ['not an object', null],
    ['no address', { module: APP }],
    ['port out of range', { ...base, address: ['127.0.0.1', 70000] }],
    ['empty host', { ...base, address: ['', 0] }],
    ['both module and setup', { ...base, setup: () => 1 }],
    ['neither', { address: base.address }],
    ['setup not a function', { address: base.address, setup: 1 }],
    ['module not a string', { address: base.address, module: 1 }],
    ['workers 0', { ...base, workers: 0 }],
    ['workers 1.5', { ...base, workers: 1.5 }],
    ['backoff not an object', { ...base, backoff: 1 }],
    ['negative delay', { ...base, backoff: { initialDelay: -1 } }],
    ['stopTimeout a string', { ...base, stopTimeout: '1' }],
    ['serverOptions with a function', { ...base, serverOptions: { onError: () => {} } }],
    ['serverOptions not an object', { ...base, serverOptions: 1 }],
    ['onEvent not a function', { ...base, onEvent: 1 }],
  ];
  for (const [what, opts] of cases) {
    await t.rejects(serveCluster(opts as never), { code: 'ERR_CLUSTER_OPTION' }, what);
  }
  // An address that is not local: the system's error, and the process may start a cluster afterwards.
  await t.rejects(serveCluster({ ...base, address: ['192.0.2.1', 0] }), { code: 'EADDRNOTAVAIL' }, 'an address not on this machine');
  const after = (await serveCluster({ ...base, workers: 1 })) as ClusterHandle;
  t.equal(after.workers().length, 1, 'a failed start leaves the process free to start a cluster');
  await after.stop();
});

t.test('repy-http serve --workers: a bad count is a usage error', async (t) => {
  for (const n of ['0', '-1', '1.5', 'x']) {
    const lines: string[] = [];
    t.equal(await serve([APP, '--workers', n], (l) => lines.push(l)), 2, `--workers ${n}`);
    t.same(lines, ['--workers needs a positive integer']);
  }
});

t.test('worker-main run by hand says what it is for and exits 2', async (t) => {
  const main = resolve(import.meta.dirname, '..', 'src', 'cluster', 'worker-main.ts');
  const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
    execFile(process.execPath, ['--import', '@tapjs/typescript/import', main], { cwd: resolve(import.meta.dirname, '..'), timeout: 60_000 },
      (err, _stdout, stderr) => done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr }));
  });
  t.equal(r.code, 2);
  t.match(r.stderr, 'runs only as a worker forked by serveCluster');
});
