// repy-http/certified (issue #12): certifiedRequest's retries over real
// sockets (one key for every attempt, what is retried and what is not,
// Retry-After, attempts/maxTime/signal, requestSent), a lost answer recovered
// by the server's replay through a proxy that cuts the first answer, and
// resumable / checkResumable in process (the crash tests with real killed
// processes are in certified-crash.test.ts).
import t, { type Test } from 'tap';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Callback } from '../src/server/server.js';
import { idempotent, idempotencyKey, JournalCorruptError } from '../src/idempotency/index.js';
import {
  certifiedRequest, checkResumable, resumable, retryAfterMs, CertifiedRequestError, NotResumableError, ReplayDivergenceError, type ResumableContext,
} from '../src/certified/index.js';
import { serve, sleep } from './helpers/wire.js';

const dir = mkdtempSync(join(tmpdir(), 'repy-certified-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A server answering from a script of statuses; records the keys it saw. */
async function scripted(t: Test, script: (number | [number, Record<string, string>])[]): Promise<{ url: string; keys: (string | null)[] }> {
  const keys: (string | null)[] = [];
  const { port } = await serve(t, (req) => {
    keys.push(idempotencyKey(req));
    const s = script[Math.min(keys.length - 1, script.length - 1)]!;
    const [status, headers] = Array.isArray(s) ? s : [s, {}];
    return { statuscode: status, headers, message: `status ${status}` };
  });
  return { url: `http://127.0.0.1:${port}/x`, keys };
}

t.test('retries 503, 409, 429 and 408 with one key, honouring Retry-After; returns the final answer', async (t) => {
  const { url, keys } = await scripted(t, [[503, { 'Retry-After': '0' }], 409, 429, 408, 201]);
  const r = await certifiedRequest(url, { postdata: 'p', key: 'fixed-key', baseDelay: 5, attempts: 5 });
  t.same([r.statuscode, r.body, r.attempts, r.key, r.replayed], [201, 'status 201', 5, 'fixed-key', false]);
  t.same(keys, Array(5).fill('fixed-key'), 'every attempt carried the same key');
});

t.test('a random UUID key by default; other 4xx and 3xx are final, not retried', async (t) => {
  for (const status of [400, 404, 422, 301]) {
    const { url, keys } = await scripted(t, [status]);
    const r = await certifiedRequest(url, { baseDelay: 1 });
    t.same([r.statuscode, r.attempts, keys.length], [status, 1, 1], `${status}`);
    t.match(r.key, /^[0-9a-f-]{36}$/);
  }
});

t.test('giving up says how many attempts and whether the request may have arrived', async (t) => {
  const { url } = await scripted(t, [500]);
  const e1 = await certifiedRequest(url, { attempts: 3, baseDelay: 1 }).catch((e: unknown) => e);
  t.match(e1, { name: 'CertifiedRequestError', code: 'ERR_ATTEMPTS_EXHAUSTED', attempts: 3, requestSent: true, lastStatus: 500 });
  t.type(e1, CertifiedRequestError);
  // a closed port: nothing was ever sent
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const port = (free.address() as { port: number }).port;
  await new Promise((r) => free.close(r));
  const e2 = await certifiedRequest(`http://127.0.0.1:${port}/`, { attempts: 2, baseDelay: 1 }).catch((e: unknown) => e);
  t.match(e2, { code: 'ERR_ATTEMPTS_EXHAUSTED', attempts: 2, requestSent: false, lastStatus: null, message: /never reached the server/ });
  t.match((e2 as Error).cause, { code: 'ECONNREFUSED' });
  // a server that reads the request and hangs up: it may have acted
  const rude = await rawServer(t, (s) => s.once('data', () => s.destroy()));
  const e3 = await certifiedRequest(`http://127.0.0.1:${rude}/`, { attempts: 2, baseDelay: 1 }).catch((e: unknown) => e);
  t.match(e3, { code: 'ERR_ATTEMPTS_EXHAUSTED', requestSent: true, message: /may have reached the server/ });
});

t.test('maxTime bounds attempts and delays; a Retry-After beyond it ends at once', async (t) => {
  const { url, keys } = await scripted(t, [[503, { 'Retry-After': '30' }]]);
  const start = Date.now();
  const e = await certifiedRequest(url, { maxTime: 2000 }).catch((err: unknown) => err);
  t.match(e, { code: 'ERR_MAX_TIME', attempts: 1, lastStatus: 503 });
  t.ok(Date.now() - start < 1500, 'did not wait 30 s');
  t.equal(keys.length, 1);
  const hang = await rawServer(t, () => {});
  const e2 = await certifiedRequest(`http://127.0.0.1:${hang}/`, { maxTime: 300, attempts: 10 }).catch((err: unknown) => err);
  t.match(e2, { code: 'ERR_MAX_TIME' });
});

t.test('signal: aborts during the backoff and during an attempt', async (t) => {
  const { url } = await scripted(t, [[503, { 'Retry-After': '1' }]]);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('user gave up')), 100);
  const e = await certifiedRequest(url, { signal: ac.signal }).catch((err: unknown) => err);
  t.match(e, { code: 'ERR_ABORTED', attempts: 1 });
  t.match((e as Error).cause, { message: 'user gave up' });
  const hang = await rawServer(t, () => {});
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 100);
  t.match(await certifiedRequest(`http://127.0.0.1:${hang}/`, { signal: ac2.signal }).catch((err: unknown) => err), { code: 'ERR_ABORTED', requestSent: true });
  t.match(await certifiedRequest(url, { signal: AbortSignal.abort() }).catch((err: unknown) => err), { code: 'ERR_ABORTED', attempts: 0 });
});

t.test('bad arguments are TypeError / ValueError before anything is sent', async (t) => {
  await t.rejects(certifiedRequest('http://127.0.0.1:1/', { key: '' }), { code: 'ERR_VALUE' });
  await t.rejects(certifiedRequest('http://127.0.0.1:1/', { key: 'é' }), { code: 'ERR_VALUE' });
  await t.rejects(certifiedRequest('http://127.0.0.1:1/', { key: 5 as never }), TypeError);
  await t.rejects(certifiedRequest('http://127.0.0.1:1/', { attempts: 0 }), { code: 'ERR_VALUE' });
  await t.rejects(certifiedRequest('http://127.0.0.1:1/', { maxTime: 'x' as never }), TypeError);
  await t.rejects(certifiedRequest('http://127.0.0.1:1/', { nope: 1 } as never), { code: 'ERR_VALUE' });
  await t.rejects(certifiedRequest('http://127.0.0.1:1/', null as never), TypeError);
  await t.rejects(certifiedRequest('ftp://x/', {}), { name: 'ValueError', code: 'ERR_UNSUPPORTED_SCHEME' });
});

t.test('retryAfterMs: seconds and HTTP-dates', async (t) => {
  t.equal(retryAfterMs('3'), 3000);
  t.equal(retryAfterMs(undefined), null);
  t.equal(retryAfterMs('soon'), null);
  t.equal(retryAfterMs(new Date(Date.now() + 5000).toUTCString(), Date.now()) !== null, true);
  t.equal(retryAfterMs('Thu, 01 Jan 1970 00:00:00 GMT'), 0);
});

/** A raw TCP server; `onSocket` decides what it does. Returns its port. */
async function rawServer(t: Test, onSocket: (s: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => srv.close(() => r(undefined)));
  });
  return (srv.address() as { port: number }).port;
}

t.test('a lost answer: the effect happened once, the retry gets the stored answer (replayed)', async (t) => {
  let effects = 0;
  const cb: Callback = async (req) => ({ statuscode: 201, message: `transfer ${++effects} of ${(await req.datastream.read()).toString()}` });
  const { port } = await serve(t, idempotent(cb));
  // A proxy that forwards the request and drops the first answer (the network failed after the server acted).
  let conns = 0;
  const proxy = await rawServer(t, (client) => {
    const first = ++conns === 1;
    const upstream = connect(port, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => (first ? client.destroy() : client.write(d)));
    upstream.on('end', () => client.end());
  });
  const r = await certifiedRequest(`http://127.0.0.1:${proxy}/t`, { postdata: '10 EUR', baseDelay: 5 });
  t.same([r.statuscode, r.body, r.replayed, r.attempts, effects], [201, 'transfer 1 of 10 EUR', true, 2, 1]);
});

t.test('resumable: steps recorded, the result returned on later calls without running', async (t) => {
  const { port } = await serve(t, idempotent(async (req) => ({ statuscode: 201, message: `got ${(await req.datastream.read()).toString()}` })));
  const path = join(dir, 'flow.journal');
  let runs = 0;
  const flow = async (ctx: ResumableContext): Promise<unknown> => {
    runs++;
    const a = await ctx.persist(() => ({ when: new Date(0), n: Math.random(), gone: undefined }));
    const r = await ctx.request(`http://127.0.0.1:${port}/a`, { postdata: String(a.n) });
    const nothing = await ctx.persist(() => undefined);
    return { a, body: r.body, nothing, step: ctx.step };
  };
  const first = await resumable(path, flow) as { a: { when: string; n: number }; body: string; step: number };
  t.equal(first.a.when, '1970-01-01T00:00:00.000Z', 'values are their JSON round-trip, on the first run too');
  t.equal(first.body, `got ${first.a.n}`);
  t.equal(first.step, 3);
  t.same(await resumable(path, flow), first);
  t.equal(runs, 1, 'a finished journal returns its result without running fn');
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l.slice(0, l.lastIndexOf('\t'))) as { t: string });
  t.same(lines.map((l) => l.t), ['value', 'key', 'response', 'value', 'result']);
});

t.test('resumable: a replay that asks for another step is a ReplayDivergenceError', async (t) => {
  const { port } = await serve(t, () => ({ statuscode: 200, message: 'ok' }));
  const url = `http://127.0.0.1:${port}/`;
  const path = join(dir, 'diverge.journal');
  await resumable(path, async (ctx) => {
    await ctx.persist(() => 1);
    await ctx.request(url, { postdata: 'a' });
    throw new Error('crash before the end');
  }).catch(() => {});
  await t.rejects(resumable(path, async (ctx) => {
    await ctx.request(url, { postdata: 'a' });
  }), { name: 'ReplayDivergenceError', code: 'ERR_REPLAY_DIVERGENCE', step: 0, expected: 'a persisted value' });
  await t.rejects(resumable(path, async (ctx) => {
    await ctx.persist(() => 1);
    await ctx.persist(() => 2);
  }), ReplayDivergenceError);
  await t.rejects(resumable(path, async (ctx) => {
    await ctx.persist(() => 1);
    await ctx.request(url, { postdata: 'b' });
  }), { code: 'ERR_REPLAY_DIVERGENCE', step: 1, expected: /with other content/ });
  t.equal(await resumable(path, async (ctx) => {
    await ctx.persist(() => 1);
    return (await ctx.request(url, { postdata: 'a' })).body;
  }), 'ok', 'the same code resumes');
  await t.rejects(resumable(path, 1 as never), TypeError);
  await t.rejects(resumable('', async () => 1), TypeError);
  await t.rejects(resumable(join(dir, 'p.journal'), async (ctx) => ctx.persist(5 as never)), TypeError);
  await t.rejects(resumable(join(dir, 'q.journal'), async (ctx) => ctx.request(5 as never)), TypeError);
});

t.test('resumable: a torn last record is dropped; a bad record before good ones is refused', async (t) => {
  const path = join(dir, 'torn.journal');
  let calls = 0;
  const flow = async (ctx: ResumableContext): Promise<number[]> => [
    await ctx.persist(() => ++calls), await ctx.persist(() => ++calls * 10),
  ];
  await resumable(path, async (ctx) => {
    await ctx.persist(() => ++calls);
    throw new Error('stop');
  }).catch(() => {});
  const size = statSync(path).size;
  appendFileSync(path, '{"t":"value","i":1,"v":99');
  t.same(await resumable(path, flow), [1, 20], 'the torn value was dropped and taken again');
  t.ok(statSync(path).size > size);
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace('"v":1', '"v":7'));
  await t.rejects(resumable(path, flow), JournalCorruptError);
});

t.test('checkResumable: passes a resumable flow, names what is wrong in the others', async (t) => {
  const { port } = await serve(t, idempotent(async (req) => ({ statuscode: 201, message: `echo ${(await req.datastream.read()).toString()}` })));
  const url = `http://127.0.0.1:${port}/`;
  const good = await checkResumable(async (ctx) => {
    const n = await ctx.persist(() => Math.random());
    const [a, b] = await Promise.all([ctx.request(url, { postdata: `a${n}` }), ctx.request(url, { postdata: `b${n}` })]);
    return [a.body, b.body];
  });
  t.equal(good.steps, 3);
  t.match(good.result, [/^echo a0\./, /^echo b0\./]);
  // Math.random() outside persist: a different result on the replay
  const e1 = await checkResumable(async (ctx) => {
    const r = await ctx.request(url, { postdata: 'x' });
    return `${r.body} ${Math.random()}`;
  }).catch((e: unknown) => e);
  t.match(e1, { name: 'NotResumableError', code: 'ERR_NOT_RESUMABLE', step: null, message: /different result/ });
  // a path chosen by state outside the journal: the replay needs a request the journal does not hold
  let firstRun = true;
  const e2 = await checkResumable(async (ctx) => {
    await ctx.persist(() => 1);
    if (!firstRun) await ctx.request(url, { postdata: 'extra' });
    firstRun = false;
    return 'done';
  }).catch((e: unknown) => e);
  t.match(e2, { code: 'ERR_NOT_RESUMABLE', step: 1, message: /does not hold/ });
  t.type(e2, NotResumableError);
  // fewer steps on the replay
  let calls = 0;
  const e3 = await checkResumable(async (ctx) => {
    if (calls++ === 0) await ctx.persist(() => 1);
    return 'x';
  }).catch((e: unknown) => e);
  t.match(e3, { code: 'ERR_NOT_RESUMABLE', message: /used 0 of the 1 recorded steps/ });
  // a persisted value the first run did not take
  let once = true;
  const e4 = await checkResumable(async (ctx) => {
    if (!once) await ctx.persist(() => 2);
    once = false;
  }).catch((e: unknown) => e);
  t.match(e4, { code: 'ERR_NOT_RESUMABLE', step: 0, message: /persisted value/ });
  await t.rejects(checkResumable(1 as never), TypeError);
  await sleep(1);
});

t.test('the errors of both add-ons extend RepyHttpError with stable codes and names', async (t) => {
  const { RepyHttpError } = await import('../src/errors.js');
  const { StoreFullError, JournalClosedError } = await import('../src/idempotency/index.js');
  const cases: [Error & { code: string }, string, string][] = [
    [new CertifiedRequestError('ERR_MAX_TIME', 'http://x/', 'k', 2, false, null), 'CertifiedRequestError', 'ERR_MAX_TIME'],
    [new ReplayDivergenceError('j', 1, 'a', 'b'), 'ReplayDivergenceError', 'ERR_REPLAY_DIVERGENCE'],
    [new NotResumableError(null, 'x'), 'NotResumableError', 'ERR_NOT_RESUMABLE'],
    [new JournalCorruptError('j', 5, 'bad'), 'JournalCorruptError', 'ERR_JOURNAL_CORRUPT'],
    [new JournalClosedError('j'), 'JournalClosedError', 'ERR_JOURNAL_CLOSED'],
    [new StoreFullError(3), 'StoreFullError', 'ERR_STORE_FULL'],
  ];
  for (const [err, name, code] of cases) {
    t.ok(err instanceof RepyHttpError, `${name} instanceof RepyHttpError`);
    t.same([err.name, err.code], [name, code]);
  }
  t.match(new CertifiedRequestError('ERR_ATTEMPTS_EXHAUSTED', 'http://x/', 'k', 1, true, 503).message, /after 1 attempt, last status 503; the request may have reached/);
});
