/**
 * repy-http/redis's idempotency store against a real redis-server on its
 * own loopback port (issue #14): the store's contract, then two server
 * processes sharing one Redis — a retry sent to the other process is
 * replayed, 100 concurrent same-key POSTs spread over both give one effect,
 * and a Redis restart gives clear 503s, then recovery.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, redisIdempotencyStore, RedisStoreError, type RedisLike } from '../src/redis/index.js';
import type { StoredResponse } from '../src/idempotency/index.js';
import { redisSkip, startRedis, startRedisApp } from './helpers/redis-server.js';
import { sleep } from './helpers/peers-common.js';

const response: StoredResponse = { statuscode: 201, statusmsg: null, headers: { 'Content-Type': 'application/json', 'Set-Cookie': ['a=1', 'b=2'] }, body: Buffer.from([0, 255, 10, 13, 0x7b]) };

t.test('the store contract on a real Redis', { skip: redisSkip }, async (t) => {
  const server = await startRedis(t);
  const client = await connectRedis(server.url, { onError: () => {} });
  t.teardown(() => client.close());
  const store = redisIdempotencyStore(client, { prefix: 'contract:' });

  const a = await store.begin('k1', 'fp1', 60_000);
  t.equal(a.state, 'acquired', 'a free key is acquired');
  const b = await store.begin('k1', 'fp2', 60_000);
  t.same(b, { state: 'in-flight', fingerprint: 'fp1' }, 'a second begin sees the lock and its fingerprint');
  t.equal(await store.complete('k1', 'not-the-token', 'fp1', response, 60_000), false, 'complete with another token changes nothing');
  t.equal(await store.release('k1', 'not-the-token'), false, 'release with another token changes nothing');
  const token = (a as { token: string }).token;
  t.equal(await store.complete('k1', token, 'fp1', response, 60_000), true, 'complete with the token');
  const c = await store.begin('k1', 'fp1', 60_000);
  t.equal(c.state, 'done');
  const stored = (c as { response: StoredResponse }).response;
  t.same({ ...stored, body: [...stored.body] }, { ...response, body: [...response.body] }, 'the response comes back exactly, binary content included');
  const rec = await store.get('k1');
  t.ok(rec !== null && rec.state === 'done' && rec.expiresAt > Date.now() + 50_000 && rec.expiresAt <= Date.now() + 60_000, 'get: done, with its expiry');
  t.equal(await store.complete('k1', token, 'fp1', response, 60_000), false, 'complete twice: the second is refused');

  const d = await store.begin('k2', 'fp', 60_000);
  t.equal(await store.release('k2', (d as { token: string }).token), true, 'release with the token');
  t.equal(await store.get('k2'), null, 'released: absent');

  const e = await store.begin('k3', 'fp', 100);
  await sleep(200);
  const f = await store.begin('k3', 'fp', 60_000);
  t.equal(f.state, 'acquired', 'a lock whose lease ran out is free again');
  t.equal(await store.complete('k3', (e as { token: string }).token, 'fp', response, 60_000), false, 'and the late holder cannot complete it');

  const g = await store.begin('k4', 'fp', 60_000);
  await store.complete('k4', (g as { token: string }).token, 'fp', response, 100);
  await sleep(200);
  t.equal(await store.get('k4'), null, 'a stored response expires after its ttl');
  t.equal((await store.begin('k4', 'fp', 60_000)).state, 'acquired', 'and the key is new again');

  t.equal((await store.begin('contract-other', 'fp', 60_000)).state, 'acquired');
  const keys = (await client.sendCommand(['KEYS', '*'])) as string[];
  t.ok(keys.every((k) => k.startsWith('contract:')), 'every key has the prefix');
  t.throws(() => redisIdempotencyStore({} as RedisLike), TypeError);
  await t.rejects(store.begin('k5', 'fp', 0), TypeError, 'a lease of 0 is refused');
});

t.test('a Redis that does not answer: ERR_REDIS_TIMEOUT within commandTimeout, not a hang', { skip: redisSkip }, async (t) => {
  const server = await startRedis(t);
  const client = await connectRedis(server.url, { onError: () => {} });
  t.teardown(() => client.close());
  const store = redisIdempotencyStore(client, { commandTimeout: 300 });
  server.child.kill('SIGSTOP'); // alive, connected, silent
  t.teardown(() => server.child.kill('SIGCONT'));
  const started = Date.now();
  await t.rejects(store.begin('k', 'fp', 1000), { code: 'ERR_REDIS_TIMEOUT' });
  t.ok(Date.now() - started < 3000, 'settled promptly');
  server.child.kill('SIGCONT');
});


async function post(port: number, key: string, body: string, work = 0): Promise<{ status: number; replayed: boolean; json: { by?: string; body?: string }; retryAfter: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/pay?work=${work}`, {
    method: 'POST', body, headers: { 'Idempotency-Key': `"${key}"`, 'Content-Type': 'text/plain' }, signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json = {};
  try {
    json = JSON.parse(text) as object;
  } catch {
    // a problem document or plain text
  }
  return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', json, retryAfter: res.headers.get('retry-after') };
}

t.test('two server processes sharing one Redis', { skip: redisSkip, timeout: 60_000 }, async (t) => {
  const server = await startRedis(t);
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-redis-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const effects = join(dir, 'effects.log');
  writeFileSync(effects, '');
  const [A, B] = await Promise.all([startRedisApp(t, server.url, effects, 'A'), startRedisApp(t, server.url, effects, 'B')]);
  const count = (key: string): number => readFileSync(effects, 'utf8').split('\n').filter((l) => l.startsWith(key + ' ')).length;

  t.test('answered by A, its retry sent to B is replayed', async (t) => {
    const first = await post(A.port, 'retry-1', 'pay 10');
    t.same([first.status, first.replayed, first.json.by], [201, false, 'A']);
    const retry = await post(B.port, 'retry-1', 'pay 10');
    t.same([retry.status, retry.replayed, retry.json.by], [201, true, 'A'], "B replays A's answer without running its callback");
    t.equal(count('"retry-1"'), 1, 'one effect');
    const other = await post(B.port, 'retry-1', 'pay 20');
    t.equal(other.status, 422, 'the same key with other content: 422, from either process');
  });

  t.test('100 concurrent same-key POSTs over A and B: one effect', async (t) => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => post(i % 2 === 0 ? A.port : B.port, 'storm', 'pay 5', 300)));
    const statuses = new Map<string, number>();
    for (const r of results) statuses.set(`${r.status}${r.replayed ? ' replayed' : ''}`, (statuses.get(`${r.status}${r.replayed ? ' replayed' : ''}`) ?? 0) + 1);
    t.equal(count('"storm"'), 1, `exactly one effect; answers: ${JSON.stringify([...statuses])}`);
    t.equal(results.filter((r) => r.status === 201 && !r.replayed).length, 1, 'one original answer');
    t.ok(results.every((r) => (r.status === 201) || (r.status === 409 && r.retryAfter !== null)), 'every other one is a 409 with Retry-After or the replay');
    const after = await post(B.port, 'storm', 'pay 5', 300); // the same request: the query is part of the fingerprint
    t.same([after.status, after.replayed], [201, true], 'once done, a retry anywhere is the replay');
  });

  t.test('Redis restarted: clear 503s while it is down, then recovery', async (t) => {
    await server.stop();
    const down = await post(A.port, 'during-outage', 'pay 1');
    t.equal(down.status, 503, 'Redis down: 503');
    t.equal(down.retryAfter, '1', 'with Retry-After');
    t.equal(count('"during-outage"'), 0, 'and the callback did not run');
    await server.restart();
    let recovered = null;
    for (let i = 0; i < 50 && recovered?.status !== 201; i++) {
      await sleep(100);
      recovered = await post(B.port, 'after-outage', 'pay 2');
    }
    t.equal(recovered?.status, 201, 'after the restart the processes reconnect and serve');
    // A reconnects on its own schedule (backoff up to 2 s): 503s until then.
    let again = await post(A.port, 'after-outage', 'pay 2');
    for (let i = 0; i < 50 && again.status === 503; i++) {
      await sleep(100);
      again = await post(A.port, 'after-outage', 'pay 2');
    }
    t.same([again.status, again.replayed], [201, true], 'and share keys again');
    t.match(A.stderr(), /store error: ERR_REDIS/, 'the outage was reported');
  });
});

t.test('connectRedis: a clear error when Redis cannot be reached', { skip: redisSkip }, async (t) => {
  const err = await connectRedis('redis://127.0.0.1:1', { onError: () => {} }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof RedisStoreError && (err as RedisStoreError).code === 'ERR_REDIS', `rejected: ${String(err)}`);
  t.ok(new RedisStoreError('ERR_REDIS', 'x').code === 'ERR_REDIS');
});
