// The composition seam (issue #9): a wrapped request keeps signal, setTimeout
// and datastream, whether wrapped with withRequest or a plain spread; compose
// and route over real sockets.
import t from 'tap';
import { compose, getString, route, withRequest, type Callback, type Middleware, type RequestDict } from '../src/index.js';
import { Client, parseReplies, serve, sleep, type Reply } from './helpers/wire.js';

const H = 'Host: t\r\n';

/** One request on its own connection (Connection: close); the parsed reply. */
async function ask(port: number, target: string, method = 'GET', extra = ''): Promise<Reply> {
  const c = new Client(port);
  await c.ready;
  c.write(`${method} ${target} HTTP/1.1\r\n${H}Connection: close\r\n${extra}\r\n`);
  const replies = parseReplies(await c.closedByServer(5000));
  t.equal(replies.length, 1, `one reply to ${method} ${target}`);
  return replies[0]!;
}

/** The hidden control object of a request (an own symbol property), for looking at laziness. */
function control(req: object): { controller: AbortController | null } {
  const syms = Object.getOwnPropertySymbols(req);
  if (syms.length !== 1) throw new Error(`expected one symbol, got ${syms.length}`);
  return (req as Record<symbol, { controller: AbortController | null }>)[syms[0]!]!;
}

const WRAPS: Record<string, (req: RequestDict, path: string) => RequestDict> = {
  withRequest: (req, path) => withRequest(req, { path }),
  spread: (req, path) => ({ ...req, path }),
};

for (const [how, wrap] of Object.entries(WRAPS)) {
  t.test(`${how}: the wrapped request keeps signal, setTimeout and datastream`, async (t) => {
    t.test('signal aborts when the client goes away', async (t) => {
      let seenPath = '';
      let sameSignal = false;
      let aborted!: () => void;
      const abortedP = new Promise<void>((r) => (aborted = r));
      let called!: () => void;
      const calledP = new Promise<void>((r) => (called = r));
      const inner: Callback = (req) => new Promise((resolve) => {
        seenPath = req.path;
        req.signal.addEventListener('abort', () => {
          aborted();
          resolve({ statuscode: 200 });
        });
        called();
      });
      const { port } = await serve(t, (req) => {
        const wrapped = wrap(req, '/x');
        const p = inner(wrapped);
        sameSignal = wrapped.signal === req.signal;
        return p;
      });
      const c = new Client(port);
      await c.ready;
      c.write(`GET /orig HTTP/1.1\r\n${H}\r\n`);
      await calledP;
      c.destroy();
      await Promise.race([abortedP, sleep(3000).then(() => { throw new Error('signal never fired'); })]);
      t.equal(seenPath, '/x');
      t.ok(sameSignal, 'the wrapped signal is the request\'s');
    });

    t.test('setTimeout(0) lifts callbackTimeout', async (t) => {
      const { port } = await serve(t, (req) => {
        const wrapped = wrap(req, '/slow');
        wrapped.setTimeout(0);
        return sleep(400).then(() => ({ statuscode: 200, message: wrapped.path }));
      }, { callbackTimeout: 100 });
      const r = await ask(port, '/orig');
      t.equal(r.status, 200, 'not cut at 100 ms');
      t.equal(r.body, '/slow');
    });

    t.test('setTimeout(ms) shortens callbackTimeout', async (t) => {
      const { port } = await serve(t, (req) => {
        wrap(req, '/hang').setTimeout(100);
        return new Promise(() => {});
      }, { callbackTimeout: 60_000, onError: () => {} });
      const start = Date.now();
      const r = await ask(port, '/orig');
      t.equal(r.status, 503);
      t.ok(Date.now() - start < 3000, `cut after ${Date.now() - start} ms`);
    });

    t.test('datastream reads the body', async (t) => {
      const { port } = await serve(t, async (req) => {
        const wrapped = wrap(req, '/upload');
        const body = await wrapped.datastream.read();
        return { statuscode: 200, message: `${wrapped.path} ${body.toString()}` };
      });
      const r = await ask(port, '/orig', 'POST', 'Content-Length: 5\r\n\r\nhello');
      t.equal(r.body, '/upload hello');
    });
  });
}

t.test('withRequest keeps signal lazy; a spread makes it at once', async (t) => {
  const seen: Record<string, boolean> = {};
  const { port } = await serve(t, (req) => {
    const copy = withRequest(req, { path: '/x' });
    seen.copyLazy = control(req).controller === null;
    seen.copyIsAccessor = typeof Object.getOwnPropertyDescriptor(copy, 'signal')?.get === 'function';
    seen.originalUnchanged = req.path === '/orig';
    const spread = { ...req };
    seen.spreadEager = control(req).controller !== null;
    seen.spreadHoldsSignal = Object.getOwnPropertyDescriptor(spread, 'signal')?.value === req.signal;
    return { statuscode: 204 };
  });
  await ask(port, '/orig');
  t.same(seen, { copyLazy: true, copyIsAccessor: true, originalUnchanged: true, spreadEager: true, spreadHoldsSignal: true });
});

t.test('the request\'s own keys: the data, then signal and setTimeout', async (t) => {
  let keys: string[] = [];
  let lazy = false;
  const { port } = await serve(t, (req) => {
    keys = Object.keys(req);
    lazy = control(req).controller === null;
    return { statuscode: 204 };
  });
  await ask(port, '/');
  t.same(keys, ['verb', 'path', 'querystr', 'querydict', 'version', 'headers', 'rawheaders', 'datastream', 'httpdid', 'remoteipstr', 'remoteportnum', 'signal', 'setTimeout']);
  t.ok(lazy, 'no AbortController for a callback that does not read signal');
});

t.test('withRequest: added fields, replaced signal, frozen originals, bad arguments', async (t) => {
  const ac = new AbortController();
  let out: Record<string, unknown> = {};
  const { port } = await serve(t, (req) => {
    const a = withRequest(req, { user: 'ann', signal: ac.signal });
    const b = withRequest(Object.freeze(withRequest(a, {})), { path: '/frozen' });
    const proto = JSON.parse('{"__proto__": {"polluted": true}}') as Partial<RequestDict>;
    const c = withRequest(req, proto);
    const cc = withRequest(c as unknown as RequestDict, { path: '/again' }); // copying a copy whose own `__proto__` is a plain key
    out = {
      user: a.user, signal: a.signal === ac.signal, path: b.path, bUser: b.user,
      protoKept: Object.getPrototypeOf(c) === Object.getPrototypeOf(req),
      polluted: (c as unknown as { polluted?: unknown }).polluted,
      protoKeptTwice: Object.getPrototypeOf(cc) === Object.getPrototypeOf(req) && (cc as unknown as { polluted?: unknown }).polluted === undefined,
    };
    a.setTimeout(1000); // still this request's
    const hidden = withRequest(req, Object.defineProperty({}, 'hidden', { value: 1, enumerable: false }));
    out.hiddenSkipped = !Object.prototype.hasOwnProperty.call(hidden, 'hidden');
    const detached = req.setTimeout;
    try {
      detached(1);
    } catch (e) {
      out.detached = e instanceof TypeError && /request dictionary/.test(e.message);
    }
    return { statuscode: 204 };
  });
  await ask(port, '/');
  t.same(out, { user: 'ann', signal: true, path: '/frozen', bUser: 'ann', protoKept: true, polluted: undefined, protoKeptTwice: true, hiddenSkipped: true, detached: true });
  t.throws(() => withRequest(null as unknown as RequestDict, {}), TypeError);
  t.throws(() => withRequest({} as RequestDict, null as unknown as object), TypeError);
});

t.test('compose: first middleware outermost, over a real socket', async (t) => {
  const trail: string[] = [];
  const mark = (name: string): Middleware => (next) => async (req) => {
    trail.push(`${name}>`);
    const res = await next(withRequest(req, { path: `${req.path}/${name}` }));
    trail.push(`<${name}`);
    return { ...res, headers: { ...res.headers, [`X-${name}`]: String(trail.length) } };
  };
  const { port } = await serve(t, compose(mark('a'), mark('b'), mark('c'))((req) => {
    trail.push('cb');
    return { statuscode: 200, message: req.path };
  }));
  t.equal(await getString(`http://127.0.0.1:${port}/p`), '/p/a/b/c');
  t.same(trail, ['a>', 'b>', 'c>', 'cb', '<c', '<b', '<a']);
  const r = await ask(port, '/q');
  t.same([r.headers['x-c'], r.headers['x-b'], r.headers['x-a']], ['12', '13', '14']);
});

t.test('compose: a middleware that throws → 500, and the server keeps serving', async (t) => {
  const errors: unknown[] = [];
  const boom: Middleware = (next) => (req) => {
    if (req.path === '/sync') throw new Error('sync boom');
    if (req.path === '/async') return Promise.reject(new Error('async boom'));
    return next(req);
  };
  const { port } = await serve(t, compose(boom)(() => ({ statuscode: 200, message: 'ok' })), { onError: (e) => errors.push(e) });
  t.equal((await ask(port, '/sync')).status, 500);
  t.equal((await ask(port, '/async')).status, 500);
  const fine = await ask(port, '/fine');
  t.same([fine.status, fine.body], [200, 'ok']);
  t.same(errors.map((e) => (e as Error).message), ['sync boom', 'async boom']);
  // On one keep-alive connection too: the 500 does not close it.
  const c = new Client(port);
  await c.ready;
  c.write(`GET /sync HTTP/1.1\r\n${H}\r\nGET /fine HTTP/1.1\r\n${H}\r\n`);
  const two = await c.responses(2);
  t.same(two.map((r) => r.status), [500, 200]);
  c.destroy();
});

t.test('compose: identity and type errors', async (t) => {
  const cb: Callback = () => ({ statuscode: 204 });
  t.equal(compose()(cb), cb);
  t.throws(() => compose('x' as unknown as Middleware), TypeError);
  t.throws(() => compose((() => 1) as unknown as Middleware)(cb), TypeError);
  t.throws(() => compose()(null as unknown as Callback), TypeError);
});

t.test('route: longest prefix on segment boundaries, strip, fallback', async (t) => {
  const echo = (name: string): Callback => (req) => ({ statuscode: 200, message: `${name} ${req.path} ${req.querystr ?? '-'}` });
  const { port } = await serve(t, route({
    '/jobs/': echo('jobs'),
    '/jobs/special/': echo('special'),
    '/api': { callback: echo('api'), strip: true },
    '/mnt/': { callback: echo('mnt'), strip: true },
    '/plain': { callback: echo('plain') },
  }));
  const cases: [string, string, number?][] = [
    ['/jobs/1', 'jobs /jobs/1 -'],
    ['/jobs/', 'jobs /jobs/ -'],
    ['/jobs/1?x=2', 'jobs /jobs/1 x=2'],
    ['/jobs/special/7', 'special /jobs/special/7 -'],
    ['/jobs/specialx', 'jobs /jobs/specialx -'],
    ['/api', 'api / -'],
    ['/api/', 'api / -'],
    ['/api/v1/x?y', 'api /v1/x y'],
    ['/mnt/a/b', 'mnt /a/b -'],
    ['/mnt/', 'mnt / -'],
    ['/plain/z', 'plain /plain/z -'],
    ['http://t/jobs/9', 'jobs http://t/jobs/9 -'],
    ['http://t/api/v2', 'api /v2 -'],
  ];
  for (const [target, body] of cases) {
    const r = await ask(port, target);
    t.same([r.status, r.body], [200, body], target);
  }
  for (const target of ['/jobs', '/apix', '/jobsx/1', '/', '/mnt', 'http://t']) {
    const r = await ask(port, target);
    t.same([r.status, r.body], [404, 'Not Found\n'], `${target} → fallback`);
  }
  t.equal((await ask(port, '*', 'OPTIONS')).status, 404, 'OPTIONS * → fallback');
});

t.test('route: a custom fallback, "/" as catch-all, a mounted router, inside compose', async (t) => {
  const tag: Middleware = (next) => async (req) => ({ ...(await next(req)), headers: { 'X-Tag': 'yes' } });
  const { port } = await serve(t, compose(tag)(route({
    '/': (req) => ({ statuscode: 200, message: `root ${req.path}` }),
    '/a/': { callback: route({ '/b/': (req) => ({ statuscode: 200, message: `ab ${req.path}` }) }, () => ({ statuscode: 410 })), strip: true },
  }, (req) => ({ statuscode: 418, message: `fallback ${req.path}` }))));
  const r1 = await ask(port, '/anything');
  t.same([r1.status, r1.body, r1.headers['x-tag']], [200, 'root /anything', 'yes']);
  const r2 = await ask(port, '/a/b/c');
  t.same([r2.status, r2.body], [200, 'ab /b/c'], 'mounted: the inner router routes on the path below /a');
  t.equal((await ask(port, '/a/x')).status, 410);
  t.equal((await ask(port, '*', 'OPTIONS')).status, 418);
});

t.test('route: bad tables', async (t) => {
  const cb: Callback = () => ({ statuscode: 204 });
  t.throws(() => route({ jobs: cb }), TypeError, 'prefix without /');
  t.throws(() => route({ '/x': 'nope' as unknown as Callback }), TypeError);
  t.throws(() => route({ '/x': { strip: true } as unknown as Callback }), TypeError);
  t.throws(() => route(null as unknown as Record<string, Callback>), TypeError);
  t.throws(() => route({}, 'x' as unknown as Callback), TypeError);
});
