/**
 * repy-http/redis's job store against a real redis-server on its own
 * loopback port (issue #14): the `JobStore` contract, then two server
 * processes sharing one Redis — a run started on A is watched by SSE from
 * B, resumed there with `Last-Event-ID` (no event twice, none missing), and
 * canceled by a DELETE sent to B, which aborts it where it runs (on A).
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, redisJobStore, type RedisLike } from '../src/redis/index.js';
import type { JobEvent } from '../src/jobs/index.js';
import { events } from '../src/sse/index.js';
import { redisSkip, startRedis, startRedisApp } from './helpers/redis-server.js';
import { sleep } from './helpers/peers-common.js';


t.test('the JobStore contract on a real Redis', { skip: redisSkip }, async (t) => {
  const server = await startRedis(t);
  const client = await connectRedis(server.url, { onError: () => {} });
  t.teardown(() => client.close());
  const store = redisJobStore(client, { prefix: 'c:', maxRuns: 3 });
  t.teardown(() => store.close());

  t.same(await store.create('r1', { a: 1 }), { id: 1, state: 'queued', value: { a: 1 } }, 'create: the queued event');
  await t.rejects(store.create('r1', null), /exists/, 'an id cannot be created twice');
  const seen: JobEvent[] = [];
  const unsubscribe = await store.subscribe('r1', (e) => seen.push(e));
  for (let i = 1; i <= 5; i++) t.equal((await store.append('r1', 'running', { i }, 4))?.id, i + 1, `append ${i}: the next id`);
  const kept = (await store.read('r1', 0))!;
  t.same(kept.map((e) => e.id), [1, 4, 5, 6], 'maxEvents 4: the oldest running events went, the queued one stayed');
  t.same((await store.read('r1', 4))!.map((e) => e.id), [5, 6], 'read since 4 is exclusive');
  t.same(await store.read('r1', 6), [], 'nothing after the last');
  t.same((await store.append('r1', 'success', { ok: true }, 4))?.id, 7, 'the terminal event');
  t.same((await store.read('r1', 0))!.map((e) => e.state), ['queued', 'running', 'running', 'success'], 'the terminal event is kept, trimming a running one');
  t.equal(await store.append('r1', 'running', {}, 4), null, 'nothing after a terminal event');
  t.equal(await store.cancel('r1', {}), 'finished', 'cancel of a finished run');
  await sleep(50);
  t.same(seen.map((e) => e.id), [2, 3, 4, 5, 6, 7], 'the subscriber saw every event, in order, once');
  unsubscribe();
  unsubscribe();

  t.equal(await store.read('nope', 0), null, 'an unknown run reads null');
  t.equal(await store.append('nope', 'running', {}, 10), null);
  t.equal(await store.cancel('nope', {}), null, 'cancel of an unknown run');

  await store.create('r2', null);
  const canceled = await store.cancel('r2', { reason: 'x' });
  t.same(canceled, { id: 2, state: 'canceled', value: { reason: 'x' } }, 'cancel appends the terminal event');
  t.equal(await store.append('r2', 'success', 1, 10), null, 'a late result after a cancel is refused');

  t.ok(await store.create('r3', null), 'a third run');
  t.equal(await store.create('r4', null), null, 'maxRuns 3: full');
  await store.expire('r1', 50);
  await sleep(150);
  t.equal(await store.read('r1', 0), null, 'expired: forgotten');
  t.ok(await store.create('r4', null), 'and its place is free again');
  await store.expire('nope', 10);

  const keys = (await client.sendCommand(['KEYS', '*'])) as string[];
  t.ok(keys.length > 0 && keys.every((k) => k.startsWith('c:')), `every key has the prefix: ${keys.join(' ')}`);
  t.throws(() => redisJobStore({} as RedisLike), TypeError);
  t.throws(() => redisJobStore(client, { maxRuns: 0 }), TypeError);
  await t.rejects(store.append('r3', 'bogus' as 'running', 1, 10), TypeError);
});

t.test('a subscriber that never connected: a clear error, and close() is safe', { skip: redisSkip }, async (t) => {
  const store = redisJobStore({ sendCommand: async () => null });
  await t.rejects(store.subscribe('x', () => {}), TypeError, 'no duplicate(): subscribe says so');
  await store.close();
});


async function start(port: number, args: unknown): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/runs/`, {
    method: 'POST', body: JSON.stringify(args), headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 201) throw new Error(`POST: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

t.test('two server processes sharing one Redis: a run on A, watched, resumed and canceled from B', { skip: redisSkip, timeout: 60_000 }, async (t) => {
  const server = await startRedis(t);
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-redis-jobs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const effects = join(dir, 'effects.log');
  writeFileSync(effects, '');
  const [A, B] = await Promise.all([startRedisApp(t, server.url, effects, 'A'), startRedisApp(t, server.url, effects, 'B')]);

  t.test('SSE from B, cut and resumed with Last-Event-ID at every point: every event once', async (t) => {
    const id = await start(A.port, { steps: 6, delay: 40 });
    const url = `http://127.0.0.1:${B.port}/runs/${id}`;
    const got: string[] = [];
    let last: string | undefined;
    // Read one event per connection: each reconnect resumes after the last id seen.
    for (let round = 0; round < 20; round++) {
      const it = events(url, { lastEventId: last, maxReconnects: 0, headers: { Accept: 'text/event-stream' } });
      const step = await it.next();
      await it.return?.();
      if (step.done === true) break;
      got.push(`${step.value.id} ${step.value.event}`);
      last = step.value.id;
      if (step.value.event === 'success') break;
    }
    const ids = got.map((g) => Number(g.split(' ')[0]));
    t.same(ids, [1, 2, 3, 4, 5, 6, 7, 8], `ids 1..8 once each, over ${got.length} connections to B: ${got.join(', ')}`);
    t.equal(got.at(-1), '8 success');
    const all = (await (await fetch(`${url}?wait=0`)).json()) as Array<{ state: string; value: { by?: string; ranBy?: string } }>;
    t.ok(all.slice(1, -1).every((e) => e.value.by === 'A') && all.at(-1)!.value.ranBy === 'A', 'A ran it; B served every read');
  });

  t.test('a long poll on B wakes on an event appended by A', async (t) => {
    const id = await start(A.port, { steps: 1, delay: 1000 });
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${B.port}/runs/${id}?wait=10`, { headers: { 'Last-Event-ID': '1' } });
    const body = (await res.json()) as Array<{ id: number; state: string }>;
    t.equal(body[0]?.id, 2, 'the event after 1');
    t.ok(Date.now() - started >= 400, `it waited for it (${Date.now() - started} ms; the event comes 1 s after the start)`);
  });

  t.test('DELETE sent to B cancels the run where it runs (A)', async (t) => {
    const id = await start(A.port, { steps: 1000, delay: 20 });
    await sleep(150);
    const del = await fetch(`http://127.0.0.1:${B.port}/runs/${id}`, { method: 'DELETE' });
    t.equal(del.status, 202, 'B accepts the cancel');
    let final: Array<{ state: string }> = [];
    for (let i = 0; i < 50; i++) {
      final = (await (await fetch(`http://127.0.0.1:${A.port}/runs/${id}?wait=0`)).json()) as Array<{ state: string }>;
      if (final.at(-1)?.state === 'canceled') break;
      await sleep(50);
    }
    t.equal(final.at(-1)?.state, 'canceled', 'the run ends canceled, seen from A');
    const before = final.length;
    await sleep(200);
    const after = (await (await fetch(`http://127.0.0.1:${A.port}/runs/${id}?wait=0`)).json()) as unknown[];
    t.equal(after.length, before, 'A stopped reporting progress: its signal was aborted through Redis');
    t.equal((await fetch(`http://127.0.0.1:${A.port}/runs/${id}`, { method: 'DELETE' })).status, 409, 'a second DELETE, to A: 409');
  });

  t.test('Redis restarted: clear errors, then recovery', async (t) => {
    await server.stop();
    const res = await fetch(`http://127.0.0.1:${A.port}/runs/`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    t.equal(res.status, 503, `Redis down: POST gets 503 (${await res.text()})`);
    await server.restart();
    let id: string | null = null;
    for (let i = 0; i < 50 && id === null; i++) {
      await sleep(100);
      id = await start(B.port, { steps: 1, delay: 1 }).catch(() => null);
    }
    t.ok(id, 'after the restart runs start again');
    // A reconnects on its own schedule (backoff up to 2 s): until then its reads are 503s, then the run is there.
    let seen: unknown = null;
    for (let i = 0; i < 50 && !Array.isArray(seen); i++) {
      const res = await fetch(`http://127.0.0.1:${A.port}/runs/${id}?wait=5&last-event-id=1`);
      if (res.status === 200) seen = await res.json();
      else {
        t.equal(res.status, 503, 'while A has not reconnected yet: 503, not a hang or a 500');
        await res.text();
        await sleep(100);
      }
    }
    t.ok(Array.isArray(seen) && seen.length > 0, 'and, once the other process has reconnected too, visible from it');
  });
});
