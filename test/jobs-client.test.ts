// runJob (issue #11): the client of the job protocol against a real
// jobResource over real sockets: progress and the result, a failed run, a
// canceled run, a refused POST, an abort that sends DELETE (or not), a
// stream that breaks mid-run and is resumed without a duplicate or a gap.
import t, { type Test } from 'tap';
import { connect, createServer, type Socket } from 'node:net';
import { HttpConnectionError, RepyHttpError, open, stopCallback } from '../src/index.js';
import { JobCanceledError, JobError, runJob, type JobProgress } from '../src/jobs/index.js';
import { gate, getJson, post, serve, until } from './helpers/jobs-common.js';

t.test('progress in order, then the success value', async (t) => {
  const s = await serve(t, { run: async (args, job) => { for (let i = 1; i <= 3; i++) await job.progress({ i }); return { got: args }; } });
  const seen: JobProgress[] = [];
  let created: { id: string; url: string } | null = null;
  const v = await runJob(s.base, { a: [1, 'é'] }, { onProgress: (p) => seen.push(p), onCreated: (c) => (created = c) });
  t.same(v, { got: { a: [1, 'é'] } });
  t.same(seen, [
    { id: 1, state: 'queued', value: null },
    { id: 2, state: 'running', value: { i: 1 } },
    { id: 3, state: 'running', value: { i: 2 } },
    { id: 4, state: 'running', value: { i: 3 } },
  ]);
  t.match(created, { id: /^[A-Za-z0-9_-]{22}$/, url: `${s.base}${created!.id}` });
  t.same(await runJob(s.base, null), { got: null }, 'without options');
});

t.test('a failed run rejects with JobError ERR_JOB_FAILED, without the server-side details', async (t) => {
  const s = await serve(t, { run: () => { throw new Error('db password wrong'); } });
  const err = await runJob(s.base, 1).catch((e: unknown) => e);
  t.ok(err instanceof JobError);
  t.ok(err instanceof RepyHttpError);
  t.match(err, { code: 'ERR_JOB_FAILED', value: { message: 'the run failed' }, status: 0 });
  t.notMatch((err as Error).message, /password/);
});

t.test('a run canceled by someone else rejects with JobCanceledError', async (t) => {
  const s = await serve(t, { run: (_a, job) => new Promise((_r, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason))) });
  let url = '';
  const p = runJob(s.base, null, { onCreated: (c) => (url = c.url) }).catch((e: unknown) => e);
  t.ok(await until(() => url !== '' && s.jobs.watchers === 1));
  t.equal(await fetchDelete(url), 202);
  const err = await p;
  t.ok(err instanceof JobCanceledError);
  t.match(err, { code: 'ERR_JOB_CANCELED', value: { reason: 'canceled by DELETE' }, url });
});

async function fetchDelete(url: string): Promise<number> {
  const r = await open(url, { method: 'DELETE' });
  r.close();
  return r.statuscode;
}

t.test('a refused POST: JobError ERR_JOB_REFUSED with the status and the body', async (t) => {
  const never = gate();
  const s = await serve(t, { maxJobs: 1, run: () => never.promise });
  await post(s.base, 1);
  const err = await runJob(s.base, 2).catch((e: unknown) => e);
  t.match(err, { name: 'JobError', code: 'ERR_JOB_REFUSED', status: 503, value: { error: 'busy' } });
  const err2 = await runJob(s.base.replace('/runs/', '/nowhere/'), 2).catch((e: unknown) => e);
  t.match(err2, { code: 'ERR_JOB_REFUSED', status: 404 });
  never.open();
  await t.rejects(runJob(s.base, undefined), TypeError, 'args JSON cannot encode');
  await t.rejects(runJob(s.base, 1, { bogus: 1 } as never), TypeError);
  await t.rejects(runJob(1 as never, 1), TypeError);
  await t.rejects(runJob(s.base, 1, { onProgress: 1 as never }), TypeError);
  await t.rejects(runJob(s.base, 1, { onCreated: 1 as never }), TypeError);
  await t.rejects(runJob(s.base, 1, null as never), TypeError);
});

t.test('abort: rejects with the reason and DELETEs the run; cancelOnAbort: false leaves it running', async (t) => {
  let aborted = 0;
  const s = await serve(t, { run: (_a, job) => new Promise((resolve) => job.signal.addEventListener('abort', () => { aborted++; resolve('x'); })) });
  const ac = new AbortController();
  let url = '';
  const p = runJob(s.base, null, { signal: ac.signal, onCreated: (c) => (url = c.url) });
  t.ok(await until(() => s.jobs.watchers === 1));
  ac.abort(new Error('user gave up'));
  await t.rejects(p, { message: 'user gave up' });
  t.equal(aborted, 1, 'the server-side run was canceled');
  t.same(((await getJson(`${url}?wait=0`)).body as Array<{ state: string }>).map((e) => e.state), ['queued', 'canceled']);

  const ac2 = new AbortController();
  let url2 = '';
  const p2 = runJob(s.base, null, { signal: ac2.signal, cancelOnAbort: false, onCreated: (c) => (url2 = c.url) });
  t.ok(await until(() => s.jobs.watchers === 1));
  ac2.abort();
  await t.rejects(p2, { name: 'AbortError' });
  t.equal(s.jobs.running, 1, 'still running');
  t.equal(await fetchDelete(url2), 202);
  // Already aborted: nothing is sent.
  await t.rejects(runJob(s.base, null, { signal: AbortSignal.abort(new Error('before')) }), { message: 'before' });
});

t.test('onProgress that throws rejects runJob and cancels the run', async (t) => {
  const s = await serve(t, { run: async (_a, job) => { await job.progress(1); return new Promise(() => {}); } });
  let url = '';
  const err = await runJob(s.base, null, {
    onCreated: (c) => (url = c.url),
    onProgress: (p) => { if (p.state === 'running') throw new Error('from onProgress'); },
  }).catch((e: unknown) => e);
  t.match(err, { message: 'from onProgress' });
  t.equal(((await getJson(`${url}?wait=0`)).body as Array<{ state: string }>).at(-1)!.state, 'canceled');
});

/**
 * A TCP proxy in front of the server that can cut every connection: the
 * client's stream breaks mid-run and events() reconnects with Last-Event-ID.
 */
async function cuttingProxy(t: Test, port: number): Promise<{ port: number; cut: () => void; close: () => Promise<void>; connections: () => number }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((down) => {
    count++;
    const up = connect(port, '127.0.0.1');
    sockets.add(down);
    down.pipe(up).pipe(down);
    const end = (): void => { down.destroy(); up.destroy(); sockets.delete(down); };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= new Promise<void>((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); }));
  t.teardown(close);
  return { port: (server.address() as { port: number }).port, cut: () => { for (const s of sockets) s.destroy(); }, close, connections: () => count };
}

t.test('a stream cut mid-run is resumed: every event once, in order', async (t) => {
  const steps = Array.from({ length: 6 }, () => gate());
  const s = await serve(t, { run: async (_a, job) => { for (const g of steps) { await g.promise; await job.progress('p'); } return 'ok'; } });
  const proxy = await cuttingProxy(t, s.port);
  const seen: number[] = [];
  const p = runJob(`http://127.0.0.1:${proxy.port}/runs/`, null, { retry: 50, onProgress: (e) => seen.push(e.id) });
  for (let i = 0; i < steps.length; i++) {
    t.ok(await until(() => seen.length === i + 1), `event ${i + 1} seen`);
    if (i % 2 === 0) proxy.cut(); // break the stream between events
    steps[i]!.open();
  }
  t.equal(await p, 'ok');
  t.same(seen, [1, 2, 3, 4, 5, 6, 7], 'no duplicate, no gap');
  t.ok(proxy.connections() >= 5, `reconnected (${proxy.connections()} connections)`);
});

t.test('stopCallback while runJob waits: the run is canceled and runJob hears it', async (t) => {
  const s = await serve(t, { run: () => new Promise(() => {}) });
  let created = false;
  const p = runJob(s.base, null, { retry: 20, maxReconnects: 2, onCreated: () => (created = true) }).catch((e: unknown) => e);
  t.ok(await until(() => created && s.jobs.watchers === 1));
  s.stopped = true;
  await stopCallback(s.id);
  t.match(await p, { name: 'JobCanceledError', value: { reason: 'the server is stopping' } });
  t.equal(s.jobs.stopped, true, 'the resource saw the server stop');
});

t.test('a server that cannot be reached any more: runJob gives up after maxReconnects', async (t) => {
  const s = await serve(t, { run: () => new Promise(() => {}) });
  const proxy = await cuttingProxy(t, s.port);
  let created = false;
  const p = runJob(`http://127.0.0.1:${proxy.port}/runs/`, null, { retry: 20, maxReconnects: 2, onCreated: () => (created = true) }).catch((e: unknown) => e);
  t.ok(await until(() => created && s.jobs.watchers === 1));
  await proxy.close();
  const err = await p;
  t.ok(err instanceof HttpConnectionError, String(err));
  t.equal(s.jobs.running, 1, 'the DELETE could not reach the server either');
});
