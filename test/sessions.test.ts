/**
 * repy-http/sessions (issue #13) over real sockets: the mappers, the
 * per-session queue, reaping, never die, close, inject, the static bypass,
 * and the fault cases the issue lists (a function that throws at every step,
 * never calls next(), returns early; a client that disconnects mid-dialogue;
 * reaping while a request is queued; stopCallback with 10,000 live sessions).
 */
import t, { type Test } from 'tap';
import { connect, type Socket } from 'node:net';
import { boundAddress, open, registerCallback, stopCallback, text, type RequestDict, type ServerOptions } from '../src/index.js';
import {
  sessions, SessionExpiredError, isSessionId, newSessionId, pathMapper, peerMapper, isStaticPath, cookieMapper,
  queryMapper, keyMapper, ENDED, type SessionsOptions, type SessionFunction,
} from '../src/sessions/index.js';
import { RepyHttpError } from '../src/errors.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Reply { status: number; body: string; cookies: string[]; headers: Record<string, string> }

/** One GET with the project's client; the Set-Cookie lines from rawheaders. */
async function get(url: string, cookie?: string): Promise<Reply> {
  const res = await open(url, { httpheaders: cookie === undefined ? {} : { Cookie: cookie }, timeout: 10_000 });
  const body = (await res.read()).toString('utf8');
  return {
    status: res.statuscode, body, headers: res.headers,
    cookies: res.rawheaders.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v),
  };
}
const sidOf = (r: Reply): string | undefined => r.cookies.find((c) => c.startsWith('sid='))?.slice(4, 26);

/** Starts an app on 127.0.0.1:0; stops both when the test ends. */
async function serve(t: Test, fn: SessionFunction, options: SessionsOptions = {}, server: ServerOptions = {}) {
  const errors: unknown[] = [];
  const app = sessions(fn, { onError: (e, req) => errors.push({ e, path: req?.path ?? null }), ...options });
  const id = await registerCallback(['127.0.0.1', 0], app.callback, { onError: null, ...server });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await stopCallback(id);
    await app.close();
  });
  const base = `http://127.0.0.1:${boundAddress(id)[1]}`;
  return { app, id, base, errors, stop: async () => { stopped = true; await stopCallback(id); } };
}

/** A counter: each answer says the visit number. */
const counter: SessionFunction = async (session) => {
  let req = await session.next();
  for (let n = 1; ; n++) req = await session.next(text(`visit ${n} ${req.path}\n`));
};

/** Sends raw bytes, collects what comes back until the peer closes or `ms` pass. */
function raw(port: number, bytes: string, ms = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('latin1').on('data', (d: string) => (out += d));
    s.on('error', () => {});
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, ms);
    s.on('close', done);
    s.write(bytes);
  });
}

t.test('ids: 128 random bits, base64url, checked by shape', async (t) => {
  const ids = new Set(Array.from({ length: 1000 }, newSessionId));
  t.equal(ids.size, 1000);
  for (const id of ids) t.ok(isSessionId(id), id);
  for (const bad of ['', 'admin', 'A'.repeat(21), 'A'.repeat(23), `${'A'.repeat(21)}B`, `${'A'.repeat(21)}=`, `é${'A'.repeat(21)}`, 'AAAAAAAAAA+AAAAAAAAAAA', 42, null]) {
    t.notOk(isSessionId(bad), String(bad));
  }
});

t.test('ids with a home: the home, a dot, then the 128 random bits; every other shape refused', async (t) => {
  const id = newSessionId('b2');
  t.match(id, /^b2\.[A-Za-z0-9_-]{22}$/);
  t.ok(isSessionId(id), id);
  const random = id.slice(3);
  t.ok(isSessionId(`${'h'.repeat(32)}.${random}`), 'a 32-character home');
  for (const bad of [`.${random}`, `${'h'.repeat(33)}.${random}`, `b.2.${random}`, `b 2.${random}`, `b2_${random}`, `é.${random}`, `b2.${random}x`, `b2..${random}`]) {
    t.notOk(isSessionId(bad), bad);
  }
  for (const home of ['', 'a.b', 'h'.repeat(33), 'é', 42]) t.throws(() => newSessionId(home as string), TypeError, String(home));
  t.throws(() => sessions(async () => {}, { home: 'a b' }), TypeError);
  const app = sessions(async (s) => {
    await s.next();
    for (;;) await s.next({ statuscode: 200, message: s.id });
  }, { home: 'node-7' });
  const res = await app.callback({ verb: 'GET', path: '/', querystr: null, querydict: null, version: '1.1', headers: {}, rawheaders: [], signal: new AbortController().signal } as unknown as RequestDict);
  t.match(String((res as { message: string }).message), /^node-7\./, 'a new session of this app has its home');
  t.match(String((res as { headers: Record<string, string> }).headers['Set-Cookie']), /^sid=node-7\./, 'and so has its cookie');
  await app.close();
});

t.test('isStaticPath: common asset extensions of the last segment', async (t) => {
  for (const p of ['/a.css', '/x/app.JS', '/favicon.ico', '/img/Logo.PNG', '/f.woff2']) t.ok(isStaticPath(p), p);
  for (const p of ['/', '/guess', '/a.b/c', '/a.', '/x.html', '/cssfile', '/.css/x']) t.notOk(isStaticPath(p), p);
});

t.test('options are checked', async (t) => {
  const f: SessionFunction = async () => {};
  t.throws(() => sessions(null as never), TypeError);
  t.throws(() => sessions(f, null as never), TypeError);
  t.throws(() => sessions(f, { cookie: 'sid', query: 's' }), /one mapper/);
  t.throws(() => sessions(f, { query: 's', pathSession: true }), /pathSession/);
  t.throws(() => sessions(f, { reapAfter: 0 }), { code: 'ERR_VALUE' });
  t.throws(() => sessions(f, { maxQueue: -1 }), { code: 'ERR_VALUE' });
  t.throws(() => sessions(f, { maxSessions: 1.5 }), { code: 'ERR_VALUE' });
  t.throws(() => sessions(f, { isStatic: 'yes' as never }), TypeError);
  t.throws(() => sessions(f, { mapper: {} as never }), TypeError);
  t.throws(() => sessions(f, { cookie: 'bad name' }), TypeError);
  t.throws(() => queryMapper(''), TypeError);
  t.throws(() => keyMapper('x' as never), TypeError);
  t.ok(cookieMapper({ secure: true, domain: 'example.com' }).create({} as RequestDict, newSessionId(), null).setCookie?.includes('Secure'));
  const e = new SessionExpiredError();
  t.ok(e instanceof RepyHttpError);
  t.equal(e.code, 'ERR_SESSION_EXPIRED');
  t.equal(e.name, 'SessionExpiredError');
});

t.test('a function that throws at each step: a generic 500, onError, a new session next time; others unaffected', async (t) => {
  for (let k = 0; k <= 3; k++) {
    const { base, errors } = await serve(t, async (session) => {
      let req = await session.next();
      for (let step = 1; ; step++) {
        if (step === k + 1 && req.querydict?.['boom'] !== undefined) throw new Error(`secret internals at step ${step}`);
        req = await session.next(text(`step ${step}\n`));
      }
    });
    const other = await get(`${base}/`);
    const otherSid = sidOf(other)!;
    let sid: string | undefined;
    for (let step = 1; step <= k; step++) {
      const r = await get(`${base}/`, sid === undefined ? undefined : `sid=${sid}`);
      t.equal(r.body, `step ${step}\n`);
      sid ??= sidOf(r);
    }
    const boom = await get(`${base}/?boom`, sid === undefined ? undefined : `sid=${sid}`);
    t.equal(boom.status, 500, `k=${k}: 500`);
    t.equal(boom.body, 'Internal Server Error\n', `k=${k}: no internals`);
    t.equal(errors.length, 1, `k=${k}: reported once`);
    t.match((errors[0] as { e: Error }).e.message, `step ${k + 1}`);
    t.equal((errors[0] as { path: string }).path, '/', 'with the request in hand');
    const cookie = `sid=${sid ?? sidOf(boom) ?? 'none'}`;
    const again = await get(`${base}/`, cookie);
    t.equal(again.body, 'step 1\n', `k=${k}: the key starts a new session`);
    t.ok(isSessionId(sidOf(again)) && sidOf(again) !== sid, 'with a new cookie');
    t.equal((await get(`${base}/`, `sid=${otherSid}`)).body, 'step 2\n', 'the other session went on');
  }
});

t.test('a function that throws before next(): its first request gets 500, nothing is rerouted forever', async (t) => {
  let runs = 0;
  const { base, errors } = await serve(t, () => {
    runs++;
    throw new Error('at once');
  });
  const r = await get(`${base}/`);
  t.equal(r.status, 500);
  t.equal(runs, 1);
  t.equal(errors.length, 1);
  t.equal((errors[0] as { path: string | null }).path, null, 'no request was in hand');
});

t.test('returning early: the documented default, a returned response, and queued requests go to a new session', async (t) => {
  let runs = 0;
  const { base, app } = await serve(t, async (session) => {
    runs++;
    if (runs === 1) return; // before taking its first request
    const req = await session.next();
    if (req.path === '/bye') return { statuscode: 200, message: 'bye\n' };
    if (req.path === '/slow') {
      await sleep(150); // a second request queues meanwhile
      return undefined;
    }
    return null;
  });
  const first = await get(`${base}/`);
  t.equal(first.status, ENDED.statuscode);
  t.equal(first.body, ENDED.message, 'returned before next(): its first request gets the default');
  t.equal(runs, 1, 'not rerouted: the request had started that session');
  t.equal((await get(`${base}/bye`)).body, 'bye\n', 'a returned response object answers the request in hand');
  t.equal((await get(`${base}/x`)).body, ENDED.message, 'a returned null: the default');

  // Two pipelined requests of one session: the second is queued when the function returns.
  const slow = await get(`${base}/none`);
  t.equal(slow.body, ENDED.message);
  const sid = sidOf(await get(`${base}/`))!;
  t.notOk(app.sessions().some((s) => s.id === sid), 'that one ended too');
  const port = Number(base.split(':')[2]);
  const cookieReq = (p: string) => `GET ${p} HTTP/1.1\r\nHost: x\r\nCookie: sid=${sid}\r\n\r\n`;
  const before = runs;
  const out = await raw(port, cookieReq('/slow') + cookieReq('/bye') + `GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  t.match(out, /^HTTP\/1\.1 200 OK[\s\S]*This session has ended[\s\S]*HTTP\/1\.1 200 OK[\s\S]*Set-Cookie: sid=[\s\S]*bye\n/, 'the queued /bye went to a new session (a new cookie) and got its answer');
  t.ok(runs >= before + 2);
});

t.test('next() misuse rejects with TypeError (and the session ends with a 500, reported)', async (t) => {
  const seen: string[] = [];
  const { base, errors } = await serve(t, async (session) => {
    await t.rejects(session.next(text('no request in hand')), TypeError);
    const req = await session.next();
    await t.rejects(session.next(), TypeError, 'no response for the request in hand');
    const two = session.next(text(`one ${req.path}\n`));
    await t.rejects(session.next(), TypeError, 'a second next() while one waits');
    await two;
    seen.push('done');
    throw new Error('end');
  });
  const r = await get(`${base}/a`);
  t.equal(r.body, 'one /a\n');
  t.equal((await get(`${base}/b`, `sid=${sidOf(r)}`)).status, 500);
  t.same(seen, ['done']);
  t.equal(errors.length, 1);
});

t.test('a function that never calls next(): callbackTimeout answers 503, the request leaves the queue, the session is reaped', async (t) => {
  let finallyRan = 0;
  const { base, app, errors } = await serve(t, async (session) => {
    try {
      await new Promise((resolve) => session.signal.addEventListener('abort', resolve));
    } finally {
      finallyRan++;
    }
  }, { reapAfter: 400, grace: 100 }, { callbackTimeout: 150 });
  const r = await get(`${base}/`);
  t.equal(r.status, 503, 'the server answered for it (callbackTimeout)');
  const list = app.sessions();
  t.equal(list.length, 1);
  t.equal(list[0]!.queued, 0, 'the timed-out request was dropped from the queue');
  for (let i = 0; i < 100 && app.sessions().length > 0; i++) await sleep(20);
  t.same(app.sessions(), [], 'reaped');
  t.equal(finallyRan, 1, 'its signal aborted and its finally ran');
  t.same(errors, [], 'a function that ends on its signal is not an error');
});

t.test('die now: a function that ignores its signal is dropped after the grace; its request in hand gets 503', async (t) => {
  const { base, app } = await serve(t, async (session) => {
    await session.next();
    await new Promise(() => {}); // holds the request, ignores everything
  }, { reapAfter: 100, grace: 100 });
  const start = Date.now();
  const r = await get(`${base}/`);
  t.equal(r.status, 503);
  t.equal(r.headers['Retry-After'], '1');
  t.ok(Date.now() - start >= 150, 'after reapAfter + grace');
  t.same(app.sessions(), []);
});

t.test('reaping while a request is queued: the held request may still be answered, the queued one goes to a new session', async (t) => {
  const order: string[] = [];
  const { base, app, errors } = await serve(t, async (session) => {
    let req = await session.next();
    if (req.path !== '/hold') {
      req = await session.next(text(`fresh ${req.path}\n`));
      return;
    }
    try {
      await new Promise((resolve) => session.signal.addEventListener('abort', resolve));
      order.push(`signal ${(session.signal.reason as SessionExpiredError).code}`);
      t.equal(app.sessions().find((s) => s.id === session.id)?.state, 'dying');
      await session.next(text('held, answered while dying\n'));
    } catch (e) {
      order.push(`next rejected ${(e as SessionExpiredError).code}`);
      throw e;
    } finally {
      order.push('finally');
    }
  }, { reapAfter: 300, grace: 2000 });
  const port = Number(base.split(':')[2]);
  const first = await get(`${base}/`);
  const sid = sidOf(first)!;
  t.equal(first.body, 'fresh /\n');
  // That session is done after one more; start a holding one.
  const hold = await get(`${base}/x`, `sid=${sid}`);
  t.equal(hold.status, 200);
  const holdSid = await new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('latin1').on('data', (d: string) => {
      out += d;
      const m = /sid=([A-Za-z0-9_-]{22})/.exec(out);
      if (out.includes('held, answered while dying') && m !== null) {
        s.destroy();
        resolve(m[1]!);
      }
    });
    s.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  t.ok(isSessionId(holdSid));
  t.same(order, ['signal ERR_SESSION_EXPIRED', 'next rejected ERR_SESSION_EXPIRED', 'finally']);
  t.same(errors, [], 'SessionExpiredError is not reported');
});

t.test('reaping while a request is queued (pipelined behind a held one)', async (t) => {
  const seen: string[] = [];
  const { base } = await serve(t, async (session) => {
    let req = await session.next();
    for (;;) {
      seen.push(`${session.id.slice(0, 4)} ${req.path}`);
      if (req.path === '/hold') {
        await new Promise((resolve) => session.signal.addEventListener('abort', resolve));
        await session.next(text('held\n')).catch(() => {});
        return;
      }
      req = await session.next(text(`got ${req.path}\n`));
    }
  }, { reapAfter: 200, grace: 1000 });
  const port = Number(base.split(':')[2]);
  const sid = sidOf(await get(`${base}/start`))!; // session 1 answered /start, waits
  const c = `Cookie: sid=${sid}\r\n`;
  const out = await raw(port, `GET /hold HTTP/1.1\r\nHost: x\r\n${c}\r\nGET /queued HTTP/1.1\r\nHost: x\r\n${c}Connection: close\r\n\r\n`);
  t.match(out, /held\n[\s\S]*HTTP\/1\.1 200 OK[\s\S]*Set-Cookie: sid=[\s\S]*got \/queued\n/, 'the queued request was answered by a new session, with a new cookie');
  t.equal(seen.filter((s) => s.endsWith('/queued')).length, 1, 'seen once');
});

t.test('a client that disconnects mid-dialogue: in hand, the session sees the abort; queued, it is dropped; the dialogue goes on', async (t) => {
  const seen: string[] = [];
  let release: () => void = () => {};
  const { base } = await serve(t, async (session) => {
    let req = await session.next();
    for (let step = 1; ; step++) {
      seen.push(req.path);
      if (req.path === '/slow') {
        await new Promise<void>((resolve) => {
          release = resolve;
          req.signal.addEventListener('abort', () => resolve());
        });
        seen.push(`aborted=${req.signal.aborted}`);
      }
      req = await session.next(text(`step ${step} ${req.path}\n`));
    }
  });
  const port = Number(base.split(':')[2]);
  const sid = sidOf(await get(`${base}/a`))!;
  const c = `Cookie: sid=${sid}\r\n`;
  const s: Socket = connect(port, '127.0.0.1');
  s.on('error', () => {});
  s.write(`GET /slow HTTP/1.1\r\nHost: x\r\n${c}\r\nGET /queued HTTP/1.1\r\nHost: x\r\n${c}\r\n`);
  for (let i = 0; i < 100 && !seen.includes('/slow'); i++) await sleep(10);
  await sleep(50);
  s.destroy();
  for (let i = 0; i < 100 && !seen.includes('aborted=true'); i++) await sleep(10);
  t.ok(seen.includes('aborted=true'), 'the session saw req.signal abort');
  release();
  const next = await get(`${base}/b`, `sid=${sid}`);
  t.equal(next.body, 'step 3 /b\n', 'the dialogue goes on at the right step');
  t.notOk(seen.includes('/queued'), 'the queued request of the gone client never reached the session');
});

t.test('one session at a time, in arrival order; other sessions are not held up; 429 past maxQueue', async (t) => {
  const log: string[] = [];
  const { base } = await serve(t, async (session) => {
    let req = await session.next();
    for (;;) {
      log.push(`start ${req.path}`);
      if (req.path.startsWith('/slow')) await sleep(300);
      log.push(`end ${req.path}`);
      req = await session.next(text(`${req.path}\n`));
    }
  }, { maxQueue: 2 });
  const port = Number(base.split(':')[2]);
  const sid = sidOf(await get(`${base}/first`))!;
  const c = `Cookie: sid=${sid}\r\n`;
  const reqs = ['/slow1', '/2', '/3', '/4'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${c}\r\n`).join('');
  const pending = raw(port, reqs, 2000);
  await sleep(30);
  const t0 = Date.now();
  const other = await get(`${base}/other`);
  t.ok(Date.now() - t0 < 250 || log.indexOf('start /other') < log.indexOf('end /slow1'), 'another session was served while /slow1 ran');
  t.equal(other.body, '/other\n');
  const out = await pending;
  t.match(out, /\/slow1\n[\s\S]*\/2\n[\s\S]*\/3\n[\s\S]*HTTP\/1\.1 429 Too Many Requests[\s\S]*Retry-After: 1/, 'in order; the fourth (2 queued behind one in hand... and one more) gets 429');
  const mine = log.filter((l) => !l.includes('other') && !l.includes('first'));
  t.same(mine, ['start /slow1', 'end /slow1', 'start /2', 'end /2', 'start /3', 'end /3'], 'never two at once');
});

t.test('maxSessions: 503 past it, and room again after one ends', async (t) => {
  const { base, app } = await serve(t, async (session) => {
    const req = await session.next();
    if (req.path === '/end') return text('ended\n');
    await session.next(text('one\n'));
  }, { maxSessions: 2 });
  await get(`${base}/`);
  await get(`${base}/`);
  const full = await get(`${base}/`);
  t.equal(full.status, 503);
  t.equal(full.headers['Retry-After'], '5');
  t.equal(app.sessions().length, 2);
  const sid = app.sessions()[0]!.id;
  t.equal((await get(`${base}/end`, `sid=${sid}`)).status, 200, 'a known session still gets in');
  for (let i = 0; i < 50 && app.sessions().length === 2; i++) await sleep(5);
  t.equal((await get(`${base}/end`)).body, 'ended\n');
});

t.test('static requests bypass sessions', async (t) => {
  let runs = 0;
  const { base, app } = await serve(t, async (session) => {
    runs++;
    await counter(session);
  }, { staticCallback: (req) => text(`asset ${req.path}\n`) });
  t.equal((await get(`${base}/app.css`)).body, 'asset /app.css\n');
  t.equal(runs, 0);
  t.equal((await get(`${base}/page`)).body, 'visit 1 /page\n');
  const { base: b2 } = await serve(t, counter, { isStatic: (req) => req.path.startsWith('/assets/') });
  const nf = await get(`${b2}/assets/x`);
  t.equal(nf.status, 404, 'default static callback: 404');
  t.same(nf.cookies, []);
  t.equal((await get(`${b2}/x.css`)).body, 'visit 1 /x.css\n', 'a custom isStatic replaces the default');
  t.equal(app.sessions().length, 1);
});

t.test('app.sessions() lists, app.inject() runs code between steps', async (t) => {
  let counterValue = 0;
  const { base, app } = await serve(t, async (session) => {
    let req = await session.next();
    for (;;) {
      counterValue++;
      req = await session.next(text(`n=${counterValue} ${req.path}\n`));
    }
  });
  const sid = sidOf(await get(`${base}/`))!;
  const [info] = app.sessions();
  t.equal(info!.id, sid);
  t.equal(info!.state, 'live');
  t.equal(info!.queued, 0);
  t.equal(info!.inHand, false);
  t.ok(info!.age >= 0 && info!.idle >= 0);
  const seen = await app.inject(sid, (s) => ({ id: s.id, inHand: s.request !== null, n: counterValue }));
  t.same(seen, { id: sid, inHand: false, n: 1 });
  t.equal(await app.inject(sid, async () => 'async ok'), 'async ok');
  await t.rejects(app.inject(sid, () => { throw new Error('job'); }), /job/);
  await t.rejects(app.inject('AAAAAAAAAAAAAAAAAAAAAA', () => 1), { code: 'ERR_UNKNOWN_ID' });
  await t.rejects(app.inject(sid, 'x' as never), TypeError);
  t.equal((await get(`${base}/z`, `sid=${sid}`)).body, 'n=2 /z\n', 'the session goes on after injections');
});

t.test('query, path, peer and key mappers', async (t) => {
  const { base: q, app: qa } = await serve(t, async (session) => {
    await session.next();
    for (let n = 1; ; n++) await session.next(text(`${n} ${session.id}\n`));
  }, { query: 's' });
  const r1 = await get(`${q}/`);
  t.same(r1.cookies, [], 'no cookie');
  const id = r1.body.split(' ')[1]!.trim();
  t.equal((await get(`${q}/?s=${id}`)).body, `2 ${id}\n`);
  t.equal((await get(`${q}/?s=AAAAAAAAAAAAAAAAAAAAAA`)).body.startsWith('1 '), true, 'unknown id: a new session');
  t.equal(qa.sessions().length, 2);

  const { base: p } = await serve(t, async (session) => {
    let req = await session.next();
    for (let n = 1; ; n++) req = await session.next(text(`${n} ${session.id} ${req.path}\n`));
  }, { mapper: pathMapper() });
  const pid = (await get(`${p}/start`)).body.split(' ')[1]!;
  t.equal((await get(`${p}/${pid}/next/step`)).body, `2 ${pid} /next/step\n`, 'the id segment is stripped');
  t.equal((await get(`${p}/${pid}`)).body, `3 ${pid} /\n`);
  const stale = (await get(`${p}/AAAAAAAAAAAAAAAAAAAAAA/x`)).body.split(' ');
  t.equal(stale[0], '1');
  t.not(stale[1], 'AAAAAAAAAAAAAAAAAAAAAA');

  const { base: pe } = await serve(t, counter, { mapper: peerMapper() });
  t.equal((await get(`${pe}/`)).body, 'visit 1 /\n');
  t.equal((await get(`${pe}/`)).body, 'visit 2 /\n', 'same address, same session, no cookie');

  const { base: k, errors } = await serve(t, counter, {
    key: (req) => (req.path === '/throw' ? (() => { throw new Error('key failed'); })() : req.headers['X-User'] ?? null),
  });
  const as = (user: string) => open(`${k}/`, { httpheaders: { 'X-User': user } }).then(async (r) => (await r.read()).toString());
  t.equal(await as('ann'), 'visit 1 /\n');
  t.equal(await as('bob'), 'visit 1 /\n');
  t.equal(await as('ann'), 'visit 2 /\n');
  t.equal((await get(`${k}/`)).status, 400, 'no key: 400');
  t.equal((await get(`${k}/throw`)).status, 500, 'a throwing key function: 500');
  t.equal(errors.length, 1);
});

t.test('pathSession: one session per browser and path, one cookie', async (t) => {
  const { base, app } = await serve(t, counter, { pathSession: true, reapAfter: 200, grace: 50 });
  const a = await get(`${base}/form`);
  const sid = sidOf(a)!;
  t.equal(a.body, 'visit 1 /form\n');
  const push = await get(`${base}/push`, `sid=${sid}`);
  t.equal(push.body, 'visit 1 /push\n', 'another path: another session');
  t.same(push.cookies, [], 'of the same browser: no new cookie');
  t.equal((await get(`${base}/form`, `sid=${sid}`)).body, 'visit 2 /form\n');
  t.equal((await get(`${base}/push`, `sid=${sid}`)).body, 'visit 2 /push\n');
  t.equal(app.sessions().length, 2);
  const forged = await get(`${base}/form`, 'sid=AAAAAAAAAAAAAAAAAAAAAA');
  t.ok(sidOf(forged) !== undefined && sidOf(forged) !== 'AAAAAAAAAAAAAAAAAAAAAA', 'an unknown browser gets a new cookie');
  for (let i = 0; i < 100 && app.sessions().length > 0; i++) await sleep(20);
  const after = await get(`${base}/form`, `sid=${sid}`);
  t.ok(sidOf(after) !== undefined && sidOf(after) !== sid, 'once all its sessions are reaped, the browser id is stale');
});

t.test('Set-Cookie is added to the headers the session gives', async (t) => {
  const { base } = await serve(t, async (session) => {
    await session.next();
    await session.next({ statuscode: 200, headers: { 'set-cookie': 'theme=dark', 'Content-Type': 'text/plain' }, message: 'x' });
  });
  const r = await get(`${base}/`);
  t.equal(r.cookies.length, 2);
  t.equal(r.cookies[0], 'theme=dark');
  t.ok(r.cookies[1]!.startsWith('sid='));
  const { base: b2 } = await serve(t, async (session) => {
    await session.next();
    await session.next({ statuscode: 200, headers: { 'Set-Cookie': ['a=1', 'b=2'] }, message: 'x' });
  });
  t.equal((await get(`${b2}/`)).cookies.length, 3);
});

t.test('the signal option and close(): every session ends, later requests get 503', async (t) => {
  const ac = new AbortController();
  let finals = 0;
  const { base, app } = await serve(t, async (session) => {
    try {
      let req = await session.next();
      for (;;) req = await session.next(text(`${req.path}\n`));
    } finally {
      finals++;
    }
  }, { signal: ac.signal });
  await get(`${base}/a`);
  await get(`${base}/b`);
  ac.abort();
  await app.close();
  t.equal(finals, 2);
  t.same(app.sessions(), []);
  const r = await get(`${base}/c`);
  t.equal(r.status, 503);
  const pre = new AbortController();
  pre.abort();
  const closed = sessions(counter, { signal: pre.signal });
  t.equal((closed.callback({ path: '/' } as RequestDict) as { statuscode: number }).statuscode, 503, 'born closed');
});

t.test('stopCallback with 10,000 live sessions: resolves promptly, every finally block runs', async (t) => {
  const N = 10_000;
  let finals = 0;
  let bye = '';
  const { base, app, stop } = await serve(t, async (session) => {
    try {
      const req = await session.next();
      if (req.path === '/poll') {
        await new Promise((resolve) => session.signal.addEventListener('abort', resolve));
        await session.next(text('bye\n'));
      }
      await session.next(text('hi\n'));
    } finally {
      finals++;
    }
  }, { maxSessions: N + 10, grace: 5000 }, { stopTimeout: 20_000 });
  const port = Number(base.split(':')[2]);
  // Four connections, each with N/4 pipelined requests without a cookie: N sessions.
  const one = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
  const count = async (): Promise<number> => {
    const out = await raw(port, one.repeat(N / 4 - 1) + 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 60_000);
    return out.split('HTTP/1.1 200 OK').length - 1;
  };
  const answered = (await Promise.all([count(), count(), count(), count()])).reduce((a, b) => a + b, 0);
  t.equal(answered, N);
  t.equal(app.sessions().length, N, `${N} live sessions`);
  const poll = new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setEncoding('latin1').on('data', (d: string) => (bye += d));
    s.on('close', () => resolve(bye));
    s.write('GET /poll HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  for (let i = 0; i < 100 && app.sessions().length === N; i++) await sleep(10);
  const start = performance.now();
  await stop();
  const ms = performance.now() - start;
  t.match(await poll, /bye\n$/, 'the in-flight request was answered by its session, then the connection closed');
  t.match(bye, /Connection: close/);
  // No app.close() here: the stop reached the sessions through the request's signal (closeOnStop).
  for (let i = 0; i < 200 && finals < N + 1; i++) await sleep(10);
  t.equal(finals, N + 1, 'every finally block ran');
  t.same(app.sessions(), []);
  t.ok(ms < 20_000, `stopCallback resolved before its stopTimeout (${ms.toFixed(0)} ms): nothing was destroyed`);
  t.comment(`stopCallback with ${N} live sessions: ${ms.toFixed(0)} ms`);
});

t.test('a promise given to next() is awaited, and still gets the new cookie', async (t) => {
  const { base } = await serve(t, async (session) => {
    await session.next();
    await session.next(new Promise((resolve) => setTimeout(() => resolve(text('later\n')), 20)));
  });
  const r = await get(`${base}/`);
  t.equal(r.body, 'later\n');
  t.ok(isSessionId(sidOf(r)));
});

t.test('close() with an unbounded grace waits for the functions; static requests are still served after it', async (t) => {
  let release: () => void = () => {};
  const { base, app } = await serve(t, async (session) => {
    await session.next();
    try {
      await session.next(text('one\n'));
    } finally {
      await new Promise<void>((resolve) => (release = resolve)); // a slow clean-up
    }
  }, { grace: Infinity, staticCallback: () => text('asset\n') });
  await get(`${base}/`);
  let closed = false;
  const closing = app.close().then(() => (closed = true));
  await sleep(50);
  t.equal(closed, false, 'no timer fired at once for an Infinity grace');
  t.equal(app.sessions()[0]?.state, 'dying');
  t.equal((await get(`${base}/a.css`)).body, 'asset\n', 'the static bypass still answers');
  t.equal((await get(`${base}/`)).status, 503, 'a session request does not');
  release();
  await closing;
  t.same(app.sessions(), []);
});

t.test('close() drops what has not settled after the grace; an onError that throws changes nothing', async (t) => {
  const { base, app } = await serve(t, async (session) => {
    const req = await session.next();
    if (req.path === '/boom') throw new Error('boom');
    await new Promise(() => {}); // holds its request, ignores its signal
  }, { grace: 100, onError: () => { throw new Error('bad hook'); } });
  t.equal((await get(`${base}/boom`)).status, 500, 'reported through a throwing hook, still a 500');
  const held = get(`${base}/hold`);
  for (let i = 0; i < 100 && app.sessions().length === 0; i++) await sleep(5);
  const start = Date.now();
  await app.close();
  t.ok(Date.now() - start >= 90, 'close waited for the grace');
  const r = await held;
  t.equal(r.status, 503, 'the held request got 503 when its session was dropped');
  t.same(app.sessions(), []);
});

t.test('reaped before taking its first request: that request gets 503, it is not routed again', async (t) => {
  let runs = 0;
  const { base } = await serve(t, async (session) => {
    runs++;
    await new Promise((resolve) => session.signal.addEventListener('abort', resolve));
  }, { reapAfter: 100, grace: 100 });
  const r = await get(`${base}/`);
  t.equal(r.status, 503);
  t.equal(r.headers['Retry-After'], '1');
  t.equal(runs, 1);
});
