// repy-http/jobs (issue #11): the longrun protocol over real sockets with
// the project's client: POST and its refusals, SSE and JSON reads, resume
// from every id, the long poll, DELETE, a throwing run, the bounds
// (maxJobs, maxEvents, ttl) and stopping. curl and Python are in
// jobs-peers.test.ts, the client runJob in jobs-client.test.ts.
import t from 'tap';
import { connect } from 'node:net';
import { open, stopCallback } from '../src/index.js';
import { jobResource, memoryStore, RUN_FAILED, type JobContext, type JobStore } from '../src/jobs/index.js';
import { gate, getJson, parseSse, post, serve, sseAll, until } from './helpers/jobs-common.js';

const ID = /^[A-Za-z0-9_-]{22}$/;

/** A run that reports `n` progress events then returns its args. */
const counting = (n: number) => async (args: unknown, job: JobContext) => {
  for (let i = 1; i <= n; i++) await job.progress({ step: i });
  return { echo: args };
};

t.test('POST: 201 with Location and an unguessable id; 303 for an event-stream client', async (t) => {
  const s = await serve(t, { run: counting(0) });
  const a = await post(s.base, { x: 1 });
  t.equal(a.status, 201);
  t.match(a.body.id, ID, '22 base64url characters: 128 random bits');
  t.equal(a.location, `/runs/${a.body.id}`);
  t.equal(a.headers['Cache-Control'], 'no-store');
  const b = await post(s.base, { x: 2 }, { Accept: 'text/event-stream' });
  t.equal(b.status, 303);
  t.equal(b.location, `/runs/${b.body.id}`);
  t.not(a.body.id, b.body.id);
  // POST to the collection without its trailing slash works too.
  t.equal((await post(s.base.slice(0, -1), null)).status, 201);
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) ids.add((await post(s.base, i)).body.id);
  t.equal(ids.size, 20);
});

t.test('every refusal has its status', async (t) => {
  const s = await serve(t, { run: counting(0), bodyLimit: 100 });
  const raw = async (path: string, opts: Parameters<typeof open>[1]) => {
    const res = await open(`http://127.0.0.1:${s.port}${path}`, { followRedirects: false, ...opts });
    const text = (await res.read()).toString();
    return { status: res.statuscode, headers: res.headers, text };
  };
  t.equal((await raw('/runs/', { postdata: '{}', httpheaders: { 'Content-Type': 'text/plain' } })).status, 415, 'not JSON');
  t.equal((await raw('/runs/', { postdata: '{}' })).status, 415, 'no Content-Type (form-encoded default is not JSON)');
  t.equal((await raw('/runs/', { postdata: '{}', httpheaders: { 'Content-Type': 'Application/JSON; charset=utf-8' } })).status, 201, 'media type case and parameters');
  const bad = await raw('/runs/', { postdata: '{nope', httpheaders: { 'Content-Type': 'application/json' } });
  t.equal(bad.status, 400);
  t.equal(JSON.parse(bad.text).error, 'bad_json');
  t.equal((await raw('/runs/', { postdata: '', httpheaders: { 'Content-Type': 'application/json' } })).status, 400, 'empty is not JSON');
  const big = await raw('/runs/', { postdata: JSON.stringify('x'.repeat(200)), httpheaders: { 'Content-Type': 'application/json' } });
  t.equal(big.status, 413);
  const getAll = await raw('/runs/', {});
  t.equal(getAll.status, 405);
  t.equal(getAll.headers['Allow'], 'POST');
  const id = (await post(s.base, 1)).body.id as string;
  const put = await raw(`/runs/${id}`, { method: 'PUT', postdata: '{}' });
  t.equal(put.status, 405);
  t.equal(put.headers['Allow'], 'GET, HEAD, DELETE');
  t.equal((await raw('/runs/AAAAAAAAAAAAAAAAAAAAAA', {})).status, 404, 'unknown id');
  t.equal((await raw('/runs/short', {})).status, 404, 'not an id');
  t.equal((await raw(`/runs/${id}/x`, {})).status, 404, 'below an id');
  t.equal((await raw('/elsewhere', {})).status, 404, 'outside the prefix');
  t.equal((await raw(`/runs/${id}`, { httpheaders: { 'Last-Event-ID': 'abc' } })).status, 400, 'Last-Event-ID not an id');
  t.equal((await raw(`/runs/${id}?last-event-id=-1`, {})).status, 400);
  t.equal((await raw(`/runs/${id}?wait=soon`, {})).status, 400, 'wait not a number');
  t.equal((await raw(`/runs/${id}?wait=-1`, {})).status, 400);
  t.equal((await raw(`/runs/${id}?wait`, {})).status, 400);
  t.equal((await raw('/runs/AAAAAAAAAAAAAAAAAAAAAA', { method: 'DELETE' })).status, 404);
  t.equal((await raw('/runs/AAAAAAAAAAAAAAAAAAAAAA', { method: 'HEAD' })).status, 404);
  t.equal((await raw('/runs/AAAAAAAAAAAAAAAAAAAAAA', { httpheaders: { Accept: 'text/event-stream' } })).status, 404, 'SSE of an unknown run');
});

t.test('options are checked', async (t) => {
  t.throws(() => jobResource(null as never), TypeError);
  t.throws(() => jobResource({} as never), TypeError);
  t.throws(() => jobResource({ run: () => 1, prefix: 'runs/' }), TypeError);
  t.throws(() => jobResource({ run: () => 1, prefix: '/runs' }), TypeError);
  t.throws(() => jobResource({ run: () => 1, maxEvents: 2 }), TypeError);
  t.throws(() => jobResource({ run: () => 1, maxJobs: 0 }), TypeError);
  t.throws(() => jobResource({ run: () => 1, ttl: -1 }), TypeError);
  t.throws(() => jobResource({ run: () => 1, ttl: 1.5 }), TypeError);
  t.throws(() => jobResource({ run: () => 1, onError: 'x' as never }), TypeError);
  t.throws(() => jobResource({ run: () => 1, bodyLimit: Infinity }), TypeError);
  t.throws(() => jobResource({ run: () => 1, heartbeat: Infinity }), TypeError);
  t.doesNotThrow(() => jobResource({ run: () => 1, ttl: Infinity, maxJobs: Infinity, maxEvents: Infinity }));
  t.throws(() => memoryStore({ maxRuns: 0 }), TypeError);
});

t.test('SSE: the whole run, ids 1..n, then the stream ends', async (t) => {
  const s = await serve(t, { run: counting(3) });
  const { body } = await post(s.base, { a: 'é' });
  const r = await sseAll(s.base + body.id);
  t.equal(r.status, 200);
  t.equal(r.headers['Content-Type'], 'text/event-stream');
  t.same(r.events, [
    { id: '1', event: 'queued', data: 'null' },
    { id: '2', event: 'running', data: '{"step":1}' },
    { id: '3', event: 'running', data: '{"step":2}' },
    { id: '4', event: 'running', data: '{"step":3}' },
    { id: '5', event: 'success', data: '{"echo":{"a":"é"}}' },
  ]);
  t.equal(s.jobs.watchers, 0, 'the stream is forgotten once it ended');
});

t.test('resume from every id, SSE and JSON: exclusive, no duplicate, no gap', async (t) => {
  const s = await serve(t, { run: counting(6) });
  const { body } = await post(s.base, null);
  const url = s.base + body.id;
  const all = (await sseAll(url)).events;
  t.equal(all.length, 8);
  for (let k = 0; k <= 8; k++) {
    const sse = (await sseAll(url, k === 0 ? {} : { 'Last-Event-ID': String(k) })).events;
    t.same(sse.map((e) => Number(e.id)), Array.from({ length: 8 - k }, (_, i) => k + i + 1), `SSE after ${k}`);
    const viaQuery = (await sseAll(`${url}?lastEventId=${k}`)).events;
    t.same(viaQuery, sse, `SSE ?lastEventId=${k}`);
    const js = (await getJson(`${url}?last-event-id=${k}&wait=0`)).body as Array<{ id: number }>;
    t.same(js.map((e) => e.id), Array.from({ length: 8 - k }, (_, i) => k + i + 1), `JSON after ${k}`);
    const hdr = (await getJson(`${url}?wait=0`, { 'Last-Event-Id': String(k) })).body as Array<{ id: number }>;
    t.same(hdr, js, `JSON with the header, after ${k}`);
  }
});

t.test('a live stream joined mid-run and resumed mid-run misses nothing', async (t) => {
  const steps = Array.from({ length: 6 }, () => gate());
  const s = await serve(t, {
    run: async (_a, job) => {
      for (let i = 0; i < steps.length; i++) {
        await steps[i]!.promise;
        await job.progress(i);
      }
      return 'done';
    },
  });
  const url = s.base + (await post(s.base, null)).body.id;
  steps[0]!.open();
  steps[1]!.open();
  t.ok(await until(async () => ((await getJson(`${url}?wait=0`)).body as unknown[]).length === 3));
  // Join live, resuming after event 2: the backlog (3) then live events.
  const res = await open(url, { httpheaders: { Accept: 'text/event-stream', 'Last-Event-ID': '2' } });
  let text = '';
  const reading = (async () => {
    for await (const chunk of res) text += chunk.toString();
  })();
  for (let i = 2; i < steps.length; i++) {
    steps[i]!.open();
    await new Promise((r) => setTimeout(r, 20));
  }
  await reading;
  t.same(parseSse(text).map((e) => Number(e.id)), [3, 4, 5, 6, 7, 8]);
  t.equal(parseSse(text).at(-1)!.event, 'success');
});

t.test('the long poll waits for the next event and wakes on it', async (t) => {
  const step = gate();
  const s = await serve(t, { run: async (_a, job) => { await step.promise; await job.progress('moved'); return 1; } }, { callbackTimeout: 500 });
  const url = s.base + (await post(s.base, null)).body.id;
  let openedAt = 0;
  const started = Date.now();
  const waiting = getJson(`${url}?wait=30`, { 'Last-Event-ID': '1' }).then((r) => ({ ...r, at: Date.now() }));
  t.ok(await until(() => s.jobs.watchers === 1), 'the GET is waiting');
  await new Promise((r) => setTimeout(r, 800)); // longer than the server's callbackTimeout
  openedAt = Date.now();
  step.open();
  const r = await waiting;
  t.equal(r.status, 200, 'not cut by callbackTimeout (500 ms)');
  t.ok(r.at >= openedAt, 'answered after the event, not before');
  t.same(r.body.map((e: { id: number; state: string }) => [e.id, e.state]), [[2, 'running']]);
  t.ok(r.at - started >= 800);
  t.equal(s.jobs.watchers, 0);
});

t.test('a long poll with nothing new answers [] after ?wait= seconds; a finished run at once', async (t) => {
  const never = gate();
  const s = await serve(t, { run: () => never.promise });
  const url = s.base + (await post(s.base, null)).body.id;
  const start = Date.now();
  const r = await getJson(`${url}?wait=0.3`, { 'Last-Event-ID': '1' });
  t.same(r.body, []);
  t.ok(Date.now() - start >= 290, 'it waited');
  never.open();
  await until(async () => ((await getJson(`${url}?wait=0`)).body as unknown[]).length === 2);
  const t0 = Date.now();
  const done = await getJson(`${url}?wait=60`, { 'Last-Event-ID': '2' });
  t.same(done.body, [], 'after the terminal event nothing will come: no wait');
  t.ok(Date.now() - t0 < 30_000);
});

t.test('a client that leaves ends its long poll (no watcher left)', async (t) => {
  const never = gate();
  const s = await serve(t, { run: () => never.promise });
  const id = (await post(s.base, null)).body.id;
  const sock = connect(s.port, '127.0.0.1');
  sock.on('error', () => {});
  sock.write(`GET /runs/${id}?wait=60 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n`);
  t.ok(await until(() => s.jobs.watchers === 1), 'waiting');
  sock.destroy();
  t.ok(await until(() => s.jobs.watchers === 0), 'the wait ended with the connection');
  never.open();
});

t.test('HEAD: 200 with the length a GET would have, or 404', async (t) => {
  const s = await serve(t, { run: counting(1) });
  const url = s.base + (await post(s.base, null)).body.id;
  await sseAll(url);
  const head = await open(url, { method: 'HEAD' });
  t.equal(head.statuscode, 200);
  const get = await getJson(`${url}?wait=0`);
  t.equal(Number(head.headers['Content-Length']), Buffer.byteLength(JSON.stringify(get.body)));
  t.equal((await head.read()).length, 0);
});

t.test('DELETE: 202, the signal aborts, canceled ends the run; 409 after; a late result is dropped', async (t) => {
  const late = gate<string>();
  let aborted: unknown = null;
  const s = await serve(t, {
    run: async (_a, job) => {
      job.signal.addEventListener('abort', () => (aborted = job.signal.reason));
      await job.progress('working');
      const v = await late.promise; // ignores its signal
      t.equal(await job.progress('too late'), false, 'progress after the cancel is dropped');
      return v;
    },
  });
  const url = s.base + (await post(s.base, null)).body.id;
  await until(async () => ((await getJson(`${url}?wait=0`)).body as unknown[]).length === 2);
  const watching = sseAll(url);
  const del = await open(url, { method: 'DELETE' });
  t.equal(del.statuscode, 202);
  t.same(JSON.parse((await del.read()).toString()), { id: url.slice(-22), state: 'canceled' });
  t.match(aborted, { name: 'AbortError' });
  const w = await watching;
  t.same(w.events.map((e) => e.event), ['queued', 'running', 'canceled'], 'the watcher sees canceled and its stream ends');
  t.equal((await open(url, { method: 'DELETE' })).statuscode, 409, 'twice');
  t.equal(s.jobs.running, 1, 'the run has not returned yet');
  late.open('a result nobody wants');
  t.ok(await until(() => s.jobs.running === 0));
  await new Promise((r) => setTimeout(r, 20));
  const after = (await getJson(`${url}?wait=0`)).body as Array<{ state: string; value: unknown }>;
  t.same(after.map((e) => e.state), ['queued', 'running', 'canceled'], 'no success after canceled');
  t.same(after[2]!.value, { reason: 'canceled by DELETE' });
  t.same(s.errors, [], 'nothing reported');
  // A cooperative run that throws on abort: canceled too, and not reported.
  const s2 = await serve(t, { run: (_a, job) => new Promise((_r, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason))) });
  const url2 = s2.base + (await post(s2.base, null)).body.id;
  t.equal((await open(url2, { method: 'DELETE' })).statuscode, 202);
  t.ok(await until(() => s2.jobs.running === 0));
  t.same(((await getJson(`${url2}?wait=0`)).body as Array<{ state: string }>).map((e) => e.state), ['queued', 'canceled']);
  t.same(s2.errors, []);
});

t.test('a run that throws: an error event with a generic message; the details go to onError', async (t) => {
  const s = await serve(t, {
    run: async (args) => {
      if (args === 'sync') throw new Error('secret-sync');
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('secret-async');
    },
  });
  for (const how of ['sync', 'async']) {
    const url = s.base + (await post(s.base, how)).body.id;
    const r = await sseAll(url);
    t.same(r.events.map((e) => e.event), ['queued', 'error']);
    t.same(JSON.parse(r.events[1]!.data!), RUN_FAILED);
    t.notMatch(JSON.stringify(r.events), /secret/);
  }
  t.equal(s.errors.length, 2);
  t.match(s.errors.map((e) => (e.err as Error).message).sort(), ['secret-async', 'secret-sync']);
  t.match(s.errors[0]!.job, ID);
  // A result JSON cannot encode is an error too, and the server keeps serving.
  const s2 = await serve(t, { run: () => 10n });
  const r2 = await sseAll(s2.base + (await post(s2.base, null)).body.id);
  t.equal(r2.events.at(-1)!.event, 'error');
  t.equal(s2.errors.length, 1);
  // progress() with a value JSON cannot encode throws in the run.
  const s3 = await serve(t, { run: async (_a, job) => { await job.progress(() => 1); } });
  const r3 = await sseAll(s3.base + (await post(s3.base, null)).body.id);
  t.equal(r3.events.at(-1)!.event, 'error');
  t.match(s3.errors[0]!.err, TypeError);
});

t.test('the default onError writes to stderr; a throwing onError is ignored', async (t) => {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
  t.teardown(() => void (console.error = orig));
  const s = await serve(t, { run: () => { throw new Error('to stderr'); }, onError: undefined });
  await sseAll(s.base + (await post(s.base, null)).body.id);
  t.match(lines.join('\n'), /repy-http\/jobs: run .*to stderr/);
  const s2 = await serve(t, { run: () => { throw new Error('x'); }, onError: () => { throw new Error('bad hook'); } });
  const r = await sseAll(s2.base + (await post(s2.base, null)).body.id);
  t.equal(r.events.at(-1)!.event, 'error');
  const s3 = await serve(t, { run: () => { throw new Error('x'); }, onError: null });
  t.equal((await sseAll(s3.base + (await post(s3.base, null)).body.id)).events.at(-1)!.event, 'error');
});

t.test('maxJobs: one run too many is 503 with Retry-After, and a slot frees when a run ends', async (t) => {
  const gates = [gate(), gate(), gate()];
  let n = 0;
  const s = await serve(t, { maxJobs: 2, run: () => gates[n++]!.promise });
  t.equal((await post(s.base, 1)).status, 201);
  t.equal((await post(s.base, 2)).status, 201);
  const third = await post(s.base, 3);
  t.equal(third.status, 503);
  t.equal(third.headers['Retry-After'], '1');
  t.equal(third.body.error, 'busy');
  t.equal(s.jobs.running, 2);
  gates[0]!.open();
  t.ok(await until(() => s.jobs.running === 1));
  t.equal((await post(s.base, 4)).status, 201);
  gates[1]!.open();
  gates[2]!.open();
});

t.test('maxEvents: the oldest running events are dropped and a resume from before the window is told', async (t) => {
  const s = await serve(t, { maxEvents: 5, run: counting(20) });
  const url = s.base + (await post(s.base, null)).body.id;
  const r = await sseAll(url);
  // 22 events (queued, 20 running, success); kept: 1, 19, 20, 21, 22.
  t.same(r.events.map((e) => [e.id, e.event]), [['1', 'queued'], ['18', 'dropped'], ['19', 'running'], ['20', 'running'], ['21', 'running'], ['22', 'success']]);
  t.same(JSON.parse(r.events[1]!.data!), { from: 2, to: 18 });
  // From inside the gap: the notice covers the rest of it only.
  const mid = await sseAll(url, { 'Last-Event-ID': '10' });
  t.same(mid.events.map((e) => e.id), ['18', '19', '20', '21', '22']);
  t.same(JSON.parse(mid.events[0]!.data!), { from: 11, to: 18 });
  // Resuming from the notice's id does not report the gap again.
  t.same((await sseAll(url, { 'Last-Event-ID': '18' })).events.map((e) => e.id), ['19', '20', '21', '22']);
  const js = (await getJson(`${url}?wait=0&last-event-id=1`)).body;
  t.same(js[0], { id: 18, state: 'dropped', value: { from: 2, to: 18 } });
  t.equal(js.length, 5);
});

t.test('ttl: a finished run is forgotten after ttl, a running one is not', async (t) => {
  const never = gate();
  const s = await serve(t, { ttl: 100, run: async (a) => (a === 'wait' ? never.promise : 'quick') });
  const postedAt = Date.now(); // the run ends after this, so it may not be reaped before postedAt + ttl
  const quick = s.base + (await post(s.base, 'quick')).body.id;
  const slow = s.base + (await post(s.base, 'wait')).body.id;
  t.equal((await sseAll(quick)).events.at(-1)!.event, 'success');
  let lastSeen = 0;
  t.ok(await until(async () => {
    const gone = (await getJson(`${quick}?wait=0`)).status === 404;
    if (!gone) lastSeen = Date.now();
    return gone;
  }, 5000), 'reaped');
  t.ok(lastSeen - postedAt >= 0, 'it was still there after it finished');
  t.ok(Date.now() - postedAt >= 100, 'not before ttl');
  t.equal((await getJson(`${slow}?wait=0`)).status, 200, 'a running run is kept');
  t.equal((await open(slow, { method: 'DELETE' })).statuscode, 202);
  t.ok(await until(async () => (await getJson(`${slow}?wait=0`)).status === 404), 'a canceled run is reaped too');
  never.open();
});

t.test('memoryStore: maxRuns full is 503; append after the end is refused; subscribers come and go', async (t) => {
  const store = memoryStore({ maxRuns: 2 });
  t.teardown(() => store.close());
  const s = await serve(t, { store, run: counting(0), ttl: 60_000 });
  t.equal((await post(s.base, 1)).status, 201);
  t.equal((await post(s.base, 2)).status, 201);
  const full = await post(s.base, 3);
  t.equal(full.status, 503);
  t.equal(full.body.error, 'full');
  t.equal(store.size, 2);
  t.equal(s.jobs.running, 0, 'a refused run leaves no slot taken');
  const seen: number[] = [];
  const off = await store.subscribe('x', (e) => seen.push(e.id));
  const off2 = await store.subscribe('x', () => { throw new Error('ignored'); });
  await store.close(); // no timer needed for what follows
  const other = memoryStore();
  t.equal(await other.append('nope', 'running', 1, 10), null);
  t.equal(await other.read('nope', 0), null);
  t.equal(await other.cancel('nope', null), null);
  await other.expire('nope', 1);
  t.same(await other.create('y', null), { id: 1, state: 'queued', value: null });
  await t.rejects(other.create('y', null));
  off();
  off2();
  off();
  t.same(seen, []);
  await other.close();
});

t.test('stop(): runs canceled, watchers get the canceled event, new POSTs 503', async (t) => {
  let signal: AbortSignal | null = null;
  const s = await serve(t, { run: (_a, job) => { signal = job.signal; return new Promise(() => {}); } });
  const url = s.base + (await post(s.base, null)).body.id;
  const watching = sseAll(url);
  const polling = getJson(`${url}?wait=30`, { 'Last-Event-ID': '1' });
  t.ok(await until(() => s.jobs.watchers === 2));
  await s.jobs.stop();
  t.equal(signal!.aborted, true);
  t.same((await watching).events.map((e) => e.event), ['queued', 'canceled']);
  t.same((await polling).body.map((e: { state: string }) => e.state), ['canceled']);
  t.equal(s.jobs.stopped, true);
  t.equal(s.jobs.running, 1, 'the run ignores its signal: still counted until it returns');
  const refused = await post(s.base, null);
  t.equal(refused.status, 503);
  t.equal(refused.headers['Retry-After'], '5');
  await s.jobs.stop(); // idempotent
});

t.test('stopCallback: the resource sees ERR_SERVER_STOPPING, cancels its runs and ends its streams', async (t) => {
  let reason: unknown = null;
  const s = await serve(t, {
    run: (_a, job) => new Promise((resolve) => job.signal.addEventListener('abort', () => { reason = job.signal.reason; resolve('late'); })),
  });
  const url = s.base + (await post(s.base, null)).body.id;
  const res = await open(url, { httpheaders: { Accept: 'text/event-stream' } });
  let text = '';
  const reading = (async () => {
    for await (const c of res) text += c.toString();
  })();
  t.ok(await until(() => s.jobs.watchers === 1));
  s.stopped = true; // the teardown must not stop it twice
  await stopCallback(s.id);
  await reading;
  t.match(reason, { name: 'AbortError' });
  t.equal(s.jobs.stopped, true);
  t.equal(s.jobs.watchers, 0);
  t.ok(await until(() => s.jobs.running === 0));
  // The resource's listener runs before the stream's own: the canceled event is handed to the socket before the stream ends.
  t.same(parseSse(text).map((e) => e.event), ['queued', 'canceled']);
  await s.jobs.stop();
});

t.test('heartbeat: a quiet stream gets comment lines', async (t) => {
  const never = gate();
  const s = await serve(t, { heartbeat: 50, run: () => never.promise });
  const url = s.base + (await post(s.base, null)).body.id;
  const res = await open(url, { httpheaders: { Accept: 'text/event-stream' } });
  let text = '';
  const reading = (async () => {
    for await (const c of res) text += c.toString();
  })();
  t.ok(await until(() => text.split(': heartbeat').length >= 3), 'two heartbeats');
  t.same(parseSse(text).map((e) => e.event), ['queued'], 'comments are not events');
  t.equal((await open(url, { method: 'DELETE' })).statuscode, 202);
  await reading;
  t.same(parseSse(text).map((e) => e.event), ['queued', 'canceled']);
  never.open();
});

t.test('stop() while a POST is in flight: the run never starts', async (t) => {
  // A store whose create waits: stop() lands between create and start.
  const inner = memoryStore();
  const creating = gate();
  const proceed = gate();
  const store: JobStore = { ...inner, async create(job, v) { creating.open(); await proceed.promise; return inner.create(job, v); } };
  let ran = false;
  const s = await serve(t, { store, run: () => { ran = true; } });
  const p = post(s.base, 1);
  await creating.promise;
  await s.jobs.stop();
  proceed.open();
  const r = await p;
  t.equal(r.status, 503);
  t.equal(r.body.error, 'stopping');
  t.equal(inner.size, 1, 'created, then canceled');
  t.equal(ran, false);
  t.equal(s.jobs.running, 0);

  // Stopped while the body is arriving.
  const s2 = await serve(t, { run: () => { ran = true; } });
  const sock = connect(s2.port, '127.0.0.1');
  let answer = '';
  sock.setEncoding('latin1').on('data', (d: string) => (answer += d));
  sock.write('POST /runs/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  await s2.jobs.stop();
  sock.end('null');
  t.ok(await until(() => answer.includes('\r\n\r\n')));
  t.match(answer, /^HTTP\/1\.1 503 /);
  t.equal(ran, false);
  sock.destroy();
});

t.test('a failing store: 503 with Retry-After for the request, the store\'s error to onError', async (t) => {
  const inner = memoryStore();
  let failing = false;
  const down = async (): Promise<never> => { throw new Error('store down'); };
  const store: JobStore = {
    ...inner,
    read: (job, since) => (failing ? down() : inner.read(job, since)),
    cancel: (job, v) => (failing ? down() : inner.cancel(job, v)),
    expire: (job, ms) => (failing ? down() : inner.expire(job, ms)),
  };
  const never = gate();
  const s = await serve(t, { store, run: async (a) => (a === 'hang' ? never.promise : 'quick') });
  const hung = s.base + (await post(s.base, 'hang')).body.id;
  failing = true;
  for (const [what, r] of [
    ['SSE', await open(hung, { httpheaders: { Accept: 'text/event-stream' } })],
    ['JSON', await open(`${hung}?wait=0`)],
    ['DELETE', await open(hung, { method: 'DELETE' })],
  ] as const) {
    t.same([r.statuscode, r.headers['Retry-After']], [503, '1'], `${what}: 503, retry later`);
  }
  await s.jobs.stop(); // its cancel fails: reported, and the run is aborted anyway
  t.equal(s.errors.length, 4, 'three requests and the stop reported');
  t.ok(s.errors.every((e) => (e.err as Error).message === 'store down'), "each report is the store's own error");
  never.open();
  await inner.close();
});

t.test('a watcher that stops reading is cut off; the run goes on', async (t) => {
  const serverErrors: unknown[] = [];
  const big = 'x'.repeat(10 * 1024);
  const go = gate();
  let enough = false;
  let sent = 0;
  const s = await serve(t, {
    maxEvents: 50,
    run: async (_a, job) => {
      await go.promise;
      // Up to 100 MB, more than any socket buffers hold, until the test has seen the cut.
      for (; sent < 10_000 && !enough; sent++) {
        await job.progress(big);
        if (sent % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      return 'done';
    },
  }, { onError: (e) => serverErrors.push(e), writeTimeout: 500 });
  const { body: created } = await post(s.base, null);
  // A client that sends the request and never reads: the socket's buffers fill, then the stream's queue.
  const sock = connect(s.port, '127.0.0.1');
  sock.on('error', () => {});
  sock.pause();
  sock.write(`GET /runs/${created.id} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
  t.ok(await until(() => s.jobs.watchers === 1), 'watching');
  go.open();
  t.ok(await until(() => s.jobs.watchers === 0, 20_000), 'the stalled stream stopped following the run');
  enough = true;
  t.ok(sent < 2000, `cut after ${sent} events of 10 KiB: the socket's buffers plus maxQueue, not all of them`);
  // The connection itself lingers until the server's writeTimeout cuts it.
  t.ok(await until(() => serverErrors.length > 0, 10_000), 'the server reported it');
  t.ok(await until(() => s.jobs.running === 0), 'the run went on to its end');
  t.equal(((await getJson(`${s.base}${created.id}?wait=0`)).body as Array<{ state: string }>).at(-1)!.state, 'success');
  sock.destroy();
});

t.test('ttl: Infinity keeps finished runs; a long ttl never fires early', async (t) => {
  const store = memoryStore();
  t.teardown(() => store.close());
  const s = await serve(t, { store, ttl: Infinity, run: () => 'x' });
  const url = s.base + (await post(s.base, null)).body.id;
  t.equal((await sseAll(url)).events.at(-1)!.event, 'success');
  await store.create('long', null);
  await store.expire('long', 30 * 24 * 3600 * 1000); // past Node's longest timer: no overflow warning, no early reap
  await new Promise((r) => setTimeout(r, 50));
  t.equal((await getJson(`${url}?wait=0`)).status, 200);
  t.not(await store.read('long', 0), null);
});
