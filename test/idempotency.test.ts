// repy-http/idempotency (issue #12): the Idempotency-Key field on the server,
// over real sockets: store and replay byte for byte, 409/422/400, release on
// failure, streamed bodies, TTL, the memory store's bounds (heap measured
// over 10,000 keys), 100 concurrent requests with one key, the file store's
// journal (reopen, torn record, corruption, compaction), and curl as a peer.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { open } from '../src/client/client.js';
import { json } from '../src/server/helpers.js';
import type { RequestDict } from '../src/server/request.js';
import type { ResponseDict } from '../src/server/response.js';
import type { Callback } from '../src/server/server.js';
import {
  fileStore, idempotencyKey, idempotent, memoryStore, Journal, JournalCorruptError, parseKeyField, serializeKey, StoreFullError,
  type IdempotencyOptions, type IdempotencyStore,
} from '../src/idempotency/index.js';
import { Client, exchange, serve, sleep } from './helpers/wire.js';

const dir = mkdtempSync(join(tmpdir(), 'repy-idem-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Got { status: number; headers: Record<string, string>; body: string }

/** POSTs with the client of src/client; `key` null: no Idempotency-Key. */
async function post(port: number, path: string, key: string | null, body = 'x', extra: Record<string, string> = {}): Promise<Got> {
  const res = await open(`http://127.0.0.1:${port}${path}`, {
    method: 'POST', postdata: body, timeout: 10_000,
    httpheaders: { ...(key === null ? {} : { 'Idempotency-Key': serializeKey(key) }), ...extra },
  });
  const b = await res.read();
  res.close();
  return { status: res.statuscode, headers: res.headers, body: b.toString('utf8') };
}

/** A server whose callback counts its runs and answers 201 with the content echoed. */
async function counting(t: Test, options: IdempotencyOptions = {}, inner?: Callback): Promise<{ port: number; runs: () => number }> {
  let runs = 0;
  const cb: Callback = inner ?? (async (req) => {
    runs++;
    const content = (await req.datastream.read()).toString();
    return { statuscode: 201, statusmsg: 'Made', headers: { 'Content-Type': 'text/plain', 'X-Run': runs, 'Set-Cookie': ['a=1', 'b=2'] }, message: `made ${content} #${runs}` };
  });
  const { port } = await serve(t, idempotent(async (req) => {
    if (inner !== undefined) runs++;
    return cb(req);
  }, { onError: null, ...options }));
  return { port, runs: () => runs };
}

t.test('first request runs and is stored; a retry is replayed byte for byte without running the callback', async (t) => {
  const { port, runs } = await counting(t);
  const req = (key: string): string => `POST /orders HTTP/1.1\r\nHost: a\r\nIdempotency-Key: ${key}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`;
  const first = await exchange(port, req('"k-1"'));
  const again = await exchange(port, req('"k-1"'));
  const bare = await exchange(port, req('k-1')); // the bare form names the same key
  t.equal(runs(), 1);
  t.match(first, /^HTTP\/1\.1 201 Made\r\n/);
  t.match(first, /\r\n\r\nmade abc #1$/);
  const strip = (s: string): string => s.replace(/Date: [^\r]*\r\n/, '').replace('Idempotent-Replayed: true\r\n', '');
  t.equal(strip(again), strip(first), 'same status line, fields (Set-Cookie twice included) and content');
  t.match(again, /Idempotent-Replayed: true\r\n/);
  t.notMatch(first, /Idempotent-Replayed/);
  t.equal(strip(bare), strip(first));
});

t.test('same key with other content or another query: 422; another path or scope: a new key', async (t) => {
  let who = 'ann';
  const { port, runs } = await counting(t, { scope: () => who });
  t.equal((await post(port, '/a', 'k', 'one')).status, 201);
  const other = await post(port, '/a', 'k', 'two');
  t.equal(other.status, 422);
  t.equal(other.headers['Content-Type'], 'application/problem+json');
  t.equal((await post(port, '/a?x=1', 'k', 'one')).status, 422);
  t.equal((await post(port, '/b', 'k', 'one')).status, 201, 'keys are scoped by path');
  who = 'bob';
  t.equal((await post(port, '/a', 'k', 'one')).body, 'made one #3', 'and by the scope');
  t.equal(runs(), 3);
});

t.test('a request with the key still running: 409 with Retry-After; then the replay', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { port } = await counting(t, {}, async () => {
    await gate;
    return { statuscode: 201, message: 'done' };
  });
  const first = post(port, '/slow', 'k');
  await sleep(50);
  const second = await post(port, '/slow', 'k');
  t.equal(second.status, 409);
  t.equal(second.headers['Retry-After'], '1');
  release();
  t.equal((await first).status, 201);
  const third = await post(port, '/slow', 'k');
  t.same([third.status, third.body, third.headers['Idempotent-Replayed']], [201, 'done', 'true']);
});

t.test('invalid keys are 400; required: no key is 400; other methods pass through', async (t) => {
  const { port, runs } = await counting(t, { required: true });
  const raw = async (fields: string, verb = 'POST'): Promise<string> =>
    (await exchange(port, `${verb} /p HTTP/1.1\r\nHost: a\r\n${fields}Content-Length: 1\r\nConnection: close\r\n\r\nx`)).split('\r\n')[0]!;
  t.equal(await raw('Idempotency-Key: ""\r\n'), 'HTTP/1.1 400 Bad Request', 'empty');
  t.equal(await raw(`Idempotency-Key: "${'a'.repeat(256)}"\r\n`), 'HTTP/1.1 400 Bad Request', '256 characters');
  t.equal(await raw(`Idempotency-Key: ${'a'.repeat(256)}\r\n`), 'HTTP/1.1 400 Bad Request', '256 characters, bare');
  t.equal(await raw('Idempotency-Key: "open\r\n'), 'HTTP/1.1 400 Bad Request', 'unclosed');
  t.equal(await raw('Idempotency-Key: "a"b\r\n'), 'HTTP/1.1 400 Bad Request', 'trailing text');
  t.equal(await raw('Idempotency-Key: "a\\x"\r\n'), 'HTTP/1.1 400 Bad Request', 'bad escape');
  t.equal(await raw('Idempotency-Key: a b\r\n'), 'HTTP/1.1 400 Bad Request', 'bare with a space');
  t.equal(await raw('Idempotency-Key: "a"\r\nIdempotency-Key: "b"\r\n'), 'HTTP/1.1 400 Bad Request', 'two fields');
  t.equal(await raw(''), 'HTTP/1.1 400 Bad Request', 'required and missing');
  t.equal(runs(), 0);
  t.equal(await raw('Idempotency-Key: "a\\"b"\r\n'), 'HTTP/1.1 201 Made', 'an escaped quote');
  t.equal(await raw(`Idempotency-Key: "${'a'.repeat(255)}"\r\n`), 'HTTP/1.1 201 Made', '255 characters');
  t.equal(await raw('', 'PUT'), 'HTTP/1.1 201 Made', 'PUT is not in methods: passes through');
  t.equal(await raw('', 'PUT'), 'HTTP/1.1 201 Made');
  t.equal(runs(), 4);
  const notRequired = await counting(t);
  t.equal((await post(notRequired.port, '/p', null)).status, 201);
  t.equal((await post(notRequired.port, '/p', null)).status, 201);
  t.equal(notRequired.runs(), 2, 'without a key every request runs');
});

t.test('parseKeyField and serializeKey', async (t) => {
  t.same(parseKeyField('"a\\\\b"'), { key: 'a\\b' });
  t.same(parseKeyField('urn:x/1'), { key: 'urn:x/1' });
  t.match(parseKeyField('"é"'), { error: /visible ASCII/ });
  t.match(parseKeyField(''), { error: /empty/ });
  t.match(parseKeyField(`"${'a'.repeat(300)}"`), { error: /longer than 255/ });
  t.same(parseKeyField(serializeKey('q"\\ z')), { key: 'q"\\ z' });
});

t.test('a throwing callback or a 5xx releases the key: the retry runs again', async (t) => {
  let n = 0;
  const seen: unknown[] = [];
  const { port } = await serve(t, idempotent(async () => {
    n++;
    if (n === 1) throw new Error('db down');
    if (n === 2) return { statuscode: 503, message: 'busy' };
    if (n === 3) return { statuscode: 429 };
    return { statuscode: 201, message: `ok ${n}` };
  }), { onError: (e) => seen.push((e as Error).message) });
  t.equal((await post(port, '/r', 'k')).status, 500);
  t.same(seen, ['db down'], 'the server reported it');
  t.equal((await post(port, '/r', 'k')).status, 503);
  t.equal((await post(port, '/r', 'k')).status, 429);
  t.same((await post(port, '/r', 'k')).body, 'ok 4');
  t.same((await post(port, '/r', 'k')).body, 'ok 4', 'stored at last');
  t.equal(n, 4);
});

t.test('idempotencyKey(req): the key on the wrapped request, parsed on any other', async (t) => {
  const keys: (string | null)[] = [];
  const { port } = await serve(t, idempotent(async (req) => {
    keys.push(idempotencyKey(req));
    t.equal((await req.datastream.read()).toString(), 'body', 'the content is still readable');
    return { statuscode: 200 };
  }, { methods: ['POST'] }));
  await post(port, '/', 'the-key', 'body');
  t.same(keys, ['the-key']);
  const req = { rawheaders: [['idempotency-key', '"x"']] } as unknown as RequestDict;
  t.equal(idempotencyKey(req), 'x');
  t.equal(idempotencyKey({ rawheaders: [['Idempotency-Key', '"']] } as unknown as RequestDict), null);
  t.equal(idempotencyKey({ rawheaders: [] } as unknown as RequestDict), null);
});

t.test('streamed responses: stored when under maxStoredBody, streamed on and not stored past it', async (t) => {
  let n = 0;
  const { port } = await serve(t, idempotent(async (req) => {
    n++;
    const size = Number(req.querydict?.size);
    const piece = 'x'.repeat(1000);
    if (req.querydict?.kind === 'file') {
      let left = size;
      return { statuscode: 200, message: { read: () => { const k = Math.min(1000, left); left -= k; return piece.slice(0, k); } } };
    }
    if (req.querydict?.kind === 'array') return { statuscode: 200, message: [piece.slice(0, size)] };
    return { statuscode: 200, message: (async function* () { for (let i = 0; i < size / 1000; i++) yield Buffer.from(piece); })() };
  }, { maxStoredBody: 10_000 }));
  const small1 = await post(port, '/s?size=5000', 'a');
  const small2 = await post(port, '/s?size=5000', 'a');
  t.same([small1.body.length, small2.body.length, small2.headers['Idempotent-Replayed'], n], [5000, 5000, 'true', 1]);
  const big1 = await post(port, '/s?size=30000', 'b');
  const big2 = await post(port, '/s?size=30000', 'b');
  t.same([big1.body.length, big2.body.length, big2.headers['Idempotent-Replayed'], n], [30000, 30000, undefined, 3], 'too big: sent whole, run again');
  const f1 = await post(port, '/s?size=2500&kind=file', 'c');
  const f2 = await post(port, '/s?size=2500&kind=file', 'c');
  t.same([f1.body.length, f2.body, n], [2500, f1.body, 4]);
  const bigFile = await post(port, '/s?size=25000&kind=file', 'd');
  t.same([bigFile.body.length, n], [25000, 5]);
  const arr = await post(port, '/s?size=700&kind=array', 'e');
  const arr2 = await post(port, '/s?size=700&kind=array', 'e');
  t.same([arr.body.length, arr2.headers['Idempotent-Replayed'], n], [700, 'true', 6]);
});

t.test('a response that is not a valid dictionary is the server\'s 500, and the key is released', async (t) => {
  let n = 0;
  const { port } = await serve(t, idempotent(async () => (++n === 1 ? (42 as unknown as ResponseDict) : { statuscode: 200, message: 'ok' })), { onError: null });
  t.equal((await post(port, '/', 'k')).status, 500);
  t.equal((await post(port, '/', 'k')).body, 'ok');
});

t.test('TTL: after ttl the key is new again', async (t) => {
  const { port, runs } = await counting(t, { ttl: 150 });
  await post(port, '/t', 'k');
  t.equal((await post(port, '/t', 'k')).headers['Idempotent-Replayed'], 'true');
  await sleep(250);
  const after = await post(port, '/t', 'k');
  t.equal(after.headers['Idempotent-Replayed'], undefined);
  t.equal(runs(), 2);
});

t.test('a failing store is a 503 with Retry-After, reported to onError; the server keeps serving', async (t) => {
  const broken: IdempotencyStore = {
    begin: async () => { throw new Error('redis down'); },
    complete: async () => true, release: async () => true, get: async () => null, close: async () => {},
  };
  const errs: string[] = [];
  const { port } = await serve(t, idempotent(() => ({ statuscode: 200 }), { store: broken, onError: (e) => errs.push((e as Error).message) }));
  const r = await post(port, '/', 'k');
  t.same([r.status, r.headers['Retry-After'], errs], [503, '1', ['redis down']]);
  // complete failing: the answer is still sent, the failure reported
  const m = memoryStore();
  const failing = Object.assign(Object.create(m) as IdempotencyStore, { complete: async () => { throw new Error('disk full'); } });
  const s2 = await serve(t, idempotent(() => ({ statuscode: 201, message: 'ok' }), { store: failing, onError: (e) => errs.push((e as Error).message) }));
  t.equal((await post(s2.port, '/', 'k')).status, 201);
  t.same(errs, ['redis down', 'disk full']);
  t.equal(m.inFlight, 0, 'the lock was released');
});

t.test('bad options are TypeError / ValueError at once', async (t) => {
  const cb: Callback = () => ({ statuscode: 200 });
  t.throws(() => idempotent('x' as never), TypeError);
  t.throws(() => idempotent(cb, { ttl: -1 }), { code: 'ERR_VALUE' });
  t.throws(() => idempotent(cb, { ttl: 'x' as never }), TypeError);
  t.throws(() => idempotent(cb, { nope: 1 } as never), { code: 'ERR_VALUE' });
  t.throws(() => idempotent(cb, { store: {} as never }), TypeError);
  t.throws(() => idempotent(cb, { methods: 'POST' as never }), TypeError);
  t.throws(() => idempotent(cb, { scope: 1 as never }), TypeError);
  t.throws(() => idempotent(cb, { onError: 1 as never }), TypeError);
  t.throws(() => idempotent(cb, { required: 1 as never }), TypeError);
  t.throws(() => idempotent(cb, null as never), TypeError);
  t.throws(() => memoryStore({ max: 0 }), { code: 'ERR_VALUE' });
  t.throws(() => memoryStore({ max: 'a' as never }), TypeError);
  t.throws(() => memoryStore({ other: 1 } as never), { code: 'ERR_VALUE' });
  t.throws(() => memoryStore(null as never), TypeError);
  t.throws(() => fileStore(''), TypeError);
  t.throws(() => fileStore(join(dir, 'x'), { compactBytes: -1 }), { code: 'ERR_VALUE' });
});

t.test('100 concurrent requests with one key: one effect, the others 409 or the replay', async (t) => {
  for (const kind of ['memory', 'file'] as const) {
    let effects = 0;
    const store = kind === 'memory' ? memoryStore() : fileStore(join(dir, 'concurrent.journal'));
    const { port } = await serve(t, idempotent(async () => {
      effects++;
      await sleep(30);
      return { statuscode: 201, message: 'one' };
    }, { store }));
    const all = await Promise.all(Array.from({ length: 100 }, () => post(port, '/c', 'same')));
    const fresh = all.filter((r) => r.status === 201 && r.headers['Idempotent-Replayed'] === undefined).length;
    const replays = all.filter((r) => r.status === 201 && r.headers['Idempotent-Replayed'] === 'true').length;
    const conflicts = all.filter((r) => r.status === 409).length;
    t.equal(effects, 1, `${kind}: one effect`);
    t.same([fresh, replays + conflicts], [1, 99], `${kind}: ${replays} replays, ${conflicts} conflicts`);
    await store.close();
  }
});

t.test('memoryStore: LRU order, count and byte bounds, and a full lock table', async (t) => {
  const s = memoryStore({ max: 3, maxBytes: 10_000 });
  const resp = (n: number) => ({ statuscode: 200, statusmsg: null, headers: { A: ['1', '2'] }, body: Buffer.alloc(n) });
  for (const k of ['a', 'b', 'c']) {
    const r = await s.begin(k, 'f', 1000);
    if (r.state === 'acquired') await s.complete(k, r.token, 'f', resp(10), 60_000);
  }
  t.equal((await s.begin('a', 'f', 1000)).state, 'done', 'a used: now the most recent');
  const d = await s.begin('d', 'f', 1000);
  t.equal(d.state, 'acquired');
  if (d.state === 'acquired') {
    t.equal(await s.complete('d', 'wrong-token', 'f', resp(1), 1000), false);
    t.equal(await s.complete('d', d.token, 'f', resp(10), 60_000), true);
  }
  t.equal(await s.get('b'), null, 'b, the least recently used, was evicted');
  t.match(await s.get('a'), { state: 'done' });
  t.equal(s.size, 3);
  const big = await s.begin('big', 'f', 1000);
  if (big.state === 'acquired') await s.complete('big', big.token, 'f', resp(9600), 60_000);
  t.ok(s.bytes <= 10_000, `bytes ${s.bytes} within maxBytes`);
  t.equal(s.size, 1, 'the large record pushed the others out');
  // locks: never evicted; a full table refuses
  const locks = memoryStore({ max: 2 });
  await locks.begin('x', 'f', 50);
  t.match(await locks.get('x'), { state: 'in-flight' });
  await locks.begin('y', 'f', 50_000);
  await t.rejects(locks.begin('z', 'f', 1000), StoreFullError);
  await sleep(80);
  t.equal((await locks.begin('z', 'f', 1000)).state, 'acquired', 'an expired lease frees its slot');
  t.equal(await locks.release('y', 'nope'), false);
});

t.test('10,000 distinct keys: memoryStore({ max: 1000 }) stays bounded (heap measured), TTL expiry frees it', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const store = memoryStore({ max: 1000 });
  const body = 'r'.repeat(2048);
  let effects = 0;
  const { port } = await serve(t, idempotent(() => {
    effects++;
    return { statuscode: 201, message: body };
  }, { store, ttl: 1500 }), { maxPipelined: 64 });
  const N = 10_000;
  const CONNS = 4;
  gc();
  const before = process.memoryUsage().heapUsed;
  const one = (i: number): string => `POST /k HTTP/1.1\r\nHost: a\r\nIdempotency-Key: "key-${String(i).padStart(6, '0')}"\r\nContent-Length: 1\r\n\r\nx`;
  await Promise.all(Array.from({ length: CONNS }, async (_, c) => {
    const per = N / CONNS;
    // Responses have no CRLF in their content: each head's end (CRLF CRLF) counts one; the last one is whole once its 2048 bytes followed.
    let heads = 0;
    let sinceHead = 0;
    let tail = '';
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        let i = 0;
        const pump = (): void => {
          while (i < per) {
            if (!s.write(one(c * per + i++))) return void s.once('drain', pump);
          }
        };
        pump();
      });
      s.on('data', (d: Buffer) => {
        const text = tail + d.toString('latin1');
        let at = text.indexOf('\r\n\r\n');
        let last = -1;
        while (at !== -1) {
          heads++;
          last = at + 4;
          at = text.indexOf('\r\n\r\n', last);
        }
        sinceHead = last === -1 ? sinceHead + d.length : text.length - last;
        tail = text.slice(-3);
        if (heads === per && sinceHead >= 2048) s.end();
      });
      s.on('error', reject);
      s.on('close', () => (heads === per ? resolve() : reject(new Error(`${heads} responses of ${per}`))));
    });
  }));
  gc();
  const after = process.memoryUsage().heapUsed;
  const growth = after - before;
  t.equal(effects, N, 'every key ran once');
  t.equal(store.size, 1000, 'the store holds max records');
  t.ok(store.bytes < 4 * 1024 * 1024, `store bytes ${store.bytes}`);
  // 10,000 × 2 KiB unbounded would hold >= 20 MiB; bounded: ~1000 × 2.3 KiB.
  t.ok(growth < 8 * 1024 * 1024, `heap growth after 10,000 keys: ${(growth / 1048576).toFixed(1)} MiB`);
  t.comment(`heap growth after ${N} keys with max 1000: ${(growth / 1048576).toFixed(2)} MiB (${store.bytes} bytes accounted)`);
  await sleep(1600);
  // Each call sweeps a few expired records from the old end; lookups drop expired ones.
  for (let i = 0; i < 100; i++) await store.begin(`fresh-${i}`, 'f', 1000);
  t.same([store.size, store.bytes], [0, 0], 'expired records swept by later calls, without a timer');
  t.equal(await store.get('["","POST","/k","key-009999"]'), null, 'an expired record is gone');
});

t.test('fileStore: responses survive a reopen; expired ones do not; a torn last record is dropped', async (t) => {
  const path = join(dir, 'reopen.journal');
  const opts = { store: fileStore(path), onError: null };
  let n = 0;
  const cb: Callback = () => json({ n: ++n }, 201);
  const a = await serve(t, idempotent(cb, opts));
  await post(a.port, '/f', 'k1');
  await post(a.port, '/f', 'k2');
  await opts.store.close();
  const short = fileStore(path);
  t.same(await short.opened, { records: 2, droppedBytes: 0 });
  const b = await serve(t, idempotent(cb, { store: short, ttl: 100 }));
  const r = await post(b.port, '/f', 'k1');
  t.same([r.body, r.headers['Idempotent-Replayed']], ['{"n":1}', 'true'], 'replayed after reopening');
  await post(b.port, '/f', 'k3'); // stored with ttl 100 ms
  await short.close();
  // a torn last record: half of a line, as a crash mid-write (or power loss) leaves it
  const whole = statSync(path).size;
  appendFileSync(path, '{"k":"torn","f":"x","e":9');
  await sleep(150);
  const again = fileStore(path);
  t.same(await again.opened, { records: 2, droppedBytes: 25 }, 'k3 expired, the torn record dropped');
  t.equal(statSync(path).size, whole, 'the file was cut back to its last whole record');
  await again.close();
  // a bad checksum on the last line is a torn record too
  const text = readFileSync(path, 'latin1').replace(/\t[0-9a-f]+\n$/, '\t0\n');
  writeFileSync(path, text, 'latin1');
  const lastLine = text.slice(text.lastIndexOf('\n', text.length - 2) + 1);
  const bad = fileStore(path);
  t.same(await bad.opened, { records: 2, droppedBytes: lastLine.length });
  await bad.close();
});

t.test('fileStore: a bad record before good ones is corruption: the store refuses to open', async (t) => {
  const path = join(dir, 'corrupt.journal');
  const { journal } = await Journal.open(path);
  await journal.append({ a: 1 });
  await journal.append({ a: 2 });
  await t.rejects(journal.append(1n as never), TypeError);
  await journal.close();
  await t.rejects(journal.append({ a: 3 }), { code: 'ERR_JOURNAL_CLOSED' });
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace('{"a":1}', '{"a":7}'));
  const s = fileStore(path);
  await t.rejects(s.opened, JournalCorruptError);
  await t.rejects(s.begin('k', 'f', 10), { code: 'ERR_JOURNAL_CORRUPT', offset: 0 });
  const errs: unknown[] = [];
  const { port } = await serve(t, idempotent(() => ({ statuscode: 200 }), { store: s, onError: (e) => errs.push(e) }));
  t.equal((await post(port, '/', 'k')).status, 503);
  t.type(errs[0], JournalCorruptError);
  await s.close();
});

t.test('fileStore: the journal is compacted when it is mostly dead records', async (t) => {
  const path = join(dir, 'compact.journal');
  const store = fileStore(path, { max: 5, compactBytes: 4096 });
  const { port } = await serve(t, idempotent(() => ({ statuscode: 201, message: 'z'.repeat(500) }), { store }));
  let peak = 0;
  for (let i = 0; i < 60; i++) {
    await post(port, '/c', `key-${i}`);
    peak = Math.max(peak, store.journalBytes);
  }
  await sleep(50);
  t.ok(peak < 16_000, `the journal stayed small: peak ${peak} bytes for 60 records of ~800`);
  await store.close();
  const re = fileStore(path, { max: 5 });
  const { records } = await re.opened;
  t.equal(records, 5, 'max 5 live records after reopening');
  t.match(await re.get('["","POST","/c","key-59"]'), { state: 'done' });
  await re.compact();
  t.ok(statSync(path).size < 5000, 'an explicit compaction keeps the live ones only');
  await re.close();
});

t.test('fileStore: compactions during concurrent completes lose no record that is live', async (t) => {
  const path = join(dir, 'compact-race.journal');
  const store = fileStore(path, { max: 20, compactBytes: 2000 });
  const resp = { statuscode: 201, statusmsg: null, headers: {}, body: Buffer.alloc(300, 1) };
  // 15 at a time (max also bounds the locks), each batch's appends racing an explicit compaction and the automatic ones
  for (let b = 0; b < 20; b++) {
    const locks = await Promise.all(Array.from({ length: 15 }, (_, j) => store.begin(`k${b * 15 + j}`, 'f', 10_000)));
    await Promise.all([
      ...locks.map((r, j) => (r.state === 'acquired' ? store.complete(`k${b * 15 + j}`, r.token, 'f', resp, 60_000) : null)),
      store.compact(),
    ]);
  }
  const live: string[] = [];
  for (let i = 0; i < 300; i++) if ((await store.get(`k${i}`)) !== null) live.push(`k${i}`);
  t.equal(live.length, 20);
  await store.close();
  const re = fileStore(path, { max: 10_000 });
  await re.opened;
  const missing: string[] = [];
  for (const k of live) if ((await re.get(k)) === null) missing.push(k);
  t.same(missing, [], 'every record live before the restart is there after it');
  await re.close();
});

t.test('curl as a peer: the replay carries Idempotent-Replayed', async (t) => {
  const { port } = await counting(t);
  const run = (): Promise<string> => new Promise((resolve) => {
    execFile('curl', ['-s', '-i', '--max-time', '10', '-H', 'Idempotency-Key: "curl-1"', '--data', 'hi', `http://127.0.0.1:${port}/x`], (_e, out) => resolve(out));
  });
  const first = await run();
  const second = await run();
  t.match(first, /^HTTP\/1\.1 201 Made/);
  t.match(second, /Idempotent-Replayed: true/);
  t.match(second, /made hi #1$/);
});

t.test('two pipelined requests with one key: the second is a 409 (their callbacks run concurrently)', async (t) => {
  const { port } = await counting(t);
  const c = new Client(port);
  await c.ready;
  c.write('POST /p HTTP/1.1\r\nHost: a\r\nIdempotency-Key: "p"\r\nContent-Length: 1\r\n\r\nx' + 'POST /p HTTP/1.1\r\nHost: a\r\nIdempotency-Key: "p"\r\nContent-Length: 1\r\n\r\nx');
  const replies = await c.responses(2);
  c.destroy();
  // Pipelined requests run concurrently: the second finds the first in flight.
  t.same(replies.map((r) => [r.status, r.headers['idempotent-replayed']]), [[201, undefined], [409, undefined]]);
});

t.test('memoryStore: a full store costs the same per request whatever its size (eviction is O(1))', async (t) => {
  // Evicting from the front of a Map made each request walk the deleted
  // slots left by earlier evictions: a cost that grew with the store's size.
  // The guard: the same number of requests, all past full, in a store 8×
  // larger must cost about the same per request (the old code: 3.4×; now about 1.2×).
  const response = { statuscode: 201, statusmsg: null, headers: {}, body: Buffer.from('{}') };
  async function timePerRequest(max: number): Promise<number> {
    const s = memoryStore({ max });
    for (let i = 0; i < max; i++) {
      const b = await s.begin(`fill${i}`, 'f', 60_000);
      await s.complete(`fill${i}`, (b as { token: string }).token, 'f', response, 3_600_000);
    }
    const n = 160_000; // several times the larger store: every V8 rehash cycle is in the count
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const b = await s.begin(`k${i}`, 'f', 60_000);
      await s.complete(`k${i}`, (b as { token: string }).token, 'f', response, 3_600_000);
    }
    const ns = Number(process.hrtime.bigint() - start) / n;
    t.equal(s.size, max, `max ${max}: still full, nothing more`);
    return ns;
  }
  await timePerRequest(2_000); // warm-up
  const small = await timePerRequest(10_000);
  const large = await timePerRequest(80_000);
  t.ok(large / small < 2.5, `per request: ${small.toFixed(0)} ns at max 10 000, ${large.toFixed(0)} ns at max 80 000 (ratio ${(large / small).toFixed(2)})`);
});
