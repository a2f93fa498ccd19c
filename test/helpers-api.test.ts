// The helpers of issue #10 ("What users reach for"): header, json, text,
// redirect and cookies/setCookie as tables over dictionaries; body.text and
// body.json (limits, bad UTF-8, bad JSON) and cookies over real sockets.
import t from 'tap';
import {
  BODY_LIMIT, BodyError, RepyHttpError, body, bodyErrors, compose, cookies, header, json, redirect, setCookie, text,
  type Callback, type RequestDict,
} from '../src/index.js';
import { Client, parseReplies, serve, type Reply } from './helpers/wire.js';

/** A request dictionary with just rawheaders (what header and cookies read). */
const req = (...raw: [string, string][]): Pick<RequestDict, 'rawheaders'> => ({ rawheaders: raw });

t.test('header: any case, combined as req.headers would, undefined when absent', async (t) => {
  const r = req(['content-TYPE', 'application/json'], ['Accept', 'a'], ['accept', 'b'], ['Cookie', 'x=1'], ['COOKIE', 'y=2'], ['X-Empty', '']);
  const rows: [string, string | undefined][] = [
    ['Content-Type', 'application/json'],
    ['content-type', 'application/json'],
    ['CONTENT-TYPE', 'application/json'],
    ['accept', 'a, b'],
    ['cookie', 'x=1; y=2'],
    ['x-empty', ''],
    ['X-Missing', undefined],
    ['Content-Typ', undefined],
  ];
  for (const [name, want] of rows) t.equal(header(r, name), want, name);
  t.throws(() => header({} as never, 'a'), TypeError);
  t.throws(() => header(r, 1 as never), TypeError);
});

t.test('json / text: status, Content-Type, message; what JSON cannot encode', async (t) => {
  t.same(json({ a: [1, 'é'] }), { statuscode: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' }, message: '{"a":[1,"é"]}' });
  t.same(json(null, 201), { statuscode: 201, headers: { 'Content-Type': 'application/json; charset=utf-8' }, message: 'null' });
  t.equal(json('s').message, '"s"');
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  for (const [what, v] of [['undefined', undefined], ['a function', () => 1], ['a symbol', Symbol('s')], ['a BigInt', 1n], ['a cycle', cyc]] as const) {
    t.throws(() => json(v), TypeError, what);
  }
  t.throws(() => json({}, 99), RangeError);
  t.throws(() => json({}, 200.5), RangeError);
  t.same(text('hi\n'), { statuscode: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, message: 'hi\n' });
  t.equal(text('', 404).statuscode, 404);
  t.throws(() => text(1 as never), TypeError);
  t.throws(() => text('x', 600), RangeError);
});

t.test('redirect: statuses, Location checked and encoded, a short body', async (t) => {
  const r = redirect('/login?next=%2Fhome');
  t.equal(r.statuscode, 302);
  t.equal(r.headers.Location, '/login?next=%2Fhome', 'existing escapes kept');
  t.match(r.message, /^Redirecting to \/login/);
  for (const s of [301, 302, 303, 307, 308]) t.equal(redirect('/', s).statuscode, s);
  for (const s of [300, 304, 200, 399, 302.5]) t.throws(() => redirect('/', s), RangeError, String(s));
  const rows: [string, string][] = [
    ['/café', '/caf%C3%A9'],
    ['https://例え.jp/パス?q=ü', 'https://%E4%BE%8B%E3%81%88.jp/%E3%83%91%E3%82%B9?q=%C3%BC'],
    ['/a b', '/a%20b'],
    ['/😀', '/%F0%9F%98%80'],
    ['http://x/%zz', 'http://x/%zz'],
  ];
  for (const [loc, want] of rows) t.equal(redirect(loc).headers.Location, want, loc);
  for (const bad of ['/x\r\nSet-Cookie: a=b', '/x\n', '/x\0', '/x\x7f', '/x\t', '']) t.throws(() => redirect(bad), TypeError, JSON.stringify(bad));
  t.throws(() => redirect('/\ud800'), TypeError, 'lone surrogate');
});

t.test('cookies: RFC 6265 §5.4 pairs, first wins, null prototype, values as sent', async (t) => {
  const rows: [[string, string][], Record<string, string>][] = [
    [[['Cookie', 'a=1; b=2']], { a: '1', b: '2' }],
    [[['cookie', 'a=1;b=2'], ['COOKIE', 'c=3; a=9']], { a: '1', b: '2', c: '3' }],
    [[['Cookie', ' a = 1 ;\tb=x=y ; flag; =nameless; c=']], { a: '1', b: 'x=y', c: '' }],
    [[['Cookie', 'q="quoted"; p=%41%20']], { q: '"quoted"', p: '%41%20' }],
    [[['Cookie', '__proto__=1; constructor=2']], Object.fromEntries([['__proto__', '1'], ['constructor', '2']]) as Record<string, string>],
    [[['Accept', 'a=1']], {}],
    [[], {}],
  ];
  for (const [raw, want] of rows) {
    const got = cookies(req(...raw));
    t.equal(Object.getPrototypeOf(got), null, 'null prototype');
    t.same(Object.entries(got), Object.entries(want), JSON.stringify(raw));
  }
  t.throws(() => cookies({} as never), TypeError);
});

t.test('setCookie: token names, cookie-octet values, attributes', async (t) => {
  t.equal(setCookie('sid', 'abc123'), 'sid=abc123');
  t.equal(setCookie('e', ''), 'e=');
  t.equal(setCookie('q', '"v"'), 'q="v"');
  t.equal(
    setCookie('sid', 'abc', { maxAge: 3600, expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)), domain: 'example.com', path: '/', secure: true, httpOnly: true, sameSite: 'None' }),
    'sid=abc; Max-Age=3600; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Domain=example.com; Path=/; Secure; HttpOnly; SameSite=None',
  );
  t.equal(setCookie('a', 'b', { maxAge: 0, sameSite: 'Lax', secure: false, httpOnly: false }), 'a=b; Max-Age=0; SameSite=Lax');
  for (const name of ['', 'a b', 'a=b', 'a;b', 'é', 'a\r\n', '(x)']) t.throws(() => setCookie(name, 'v'), TypeError, `name ${JSON.stringify(name)}`);
  for (const value of ['a b', 'a;b', 'a,b', 'a\\b', 'a"b', '"', 'é', 'a\r\nX: y']) t.throws(() => setCookie('n', value), TypeError, `value ${JSON.stringify(value)}`);
  const badAttrs: object[] = [
    { maxAge: -1 }, { maxAge: 1.5 }, { expires: new Date(NaN) }, { expires: 'tomorrow' }, { path: '/a;b' }, { path: '/\n' },
    { domain: '' }, { sameSite: 'lax' }, { sameSite: 'None' }, { sameSite: 'None', secure: false },
  ];
  for (const a of badAttrs) t.throws(() => setCookie('n', 'v', a as never), TypeError, JSON.stringify(a));
});

t.test('BodyError: a RepyHttpError with a stable code, a status and a response', async (t) => {
  for (const [code, status] of [['ERR_BODY_TOO_LARGE', 413], ['ERR_BAD_UTF8', 400], ['ERR_BAD_JSON', 400]] as const) {
    const e = new BodyError(code, 'why');
    t.ok(e instanceof RepyHttpError);
    t.equal(e.name, 'BodyError');
    t.equal(e.code, code);
    t.equal(e.status, status);
    t.same(e.response, { statuscode: status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, message: 'why\n' });
  }
  t.equal(BODY_LIMIT, 1024 * 1024);
});

// ---------------------------------------------------------------- over sockets

/** Sends one request (Connection: close) and returns the parsed reply. */
async function ask(port: number, head: string, content: Buffer | string = ''): Promise<Reply> {
  const c = new Client(port);
  await c.ready;
  c.write(head);
  c.write(typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  const replies = parseReplies(await c.closedByServer(5000));
  t.equal(replies.length, 1, 'one reply');
  return replies[0]!;
}

const post = (len: number, type = 'application/json'): string =>
  `POST /p HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${len}\r\n\r\n`;

t.test('body.json / body.text over a socket', async (t) => {
  const seen: { code?: string; received?: number }[] = [];
  const cb: Callback = async (req) => {
    const limit = req.querydict?.limit != null ? Number(req.querydict.limit) : undefined;
    try {
      if (req.path === '/text') return text(`[${await body.text(req, { limit })}]`);
      return json({ got: await body.json(req, { limit }) });
    } catch (e) {
      seen.push({ code: (e as BodyError).code, received: req.datastream.received });
      throw e;
    }
  };
  const { port } = await serve(t, compose(bodyErrors)(cb));

  t.test('a normal JSON post', async (t) => {
    const payload = JSON.stringify({ a: 1, s: 'héllo' });
    const r = await ask(port, post(Buffer.byteLength(payload)), payload);
    t.equal(r.status, 200);
    t.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    t.same(JSON.parse(Buffer.from(r.body, 'latin1').toString('utf8')), { got: { a: 1, s: 'héllo' } });
  });

  t.test('chunked, exactly at the limit: accepted', async (t) => {
    const r = await ask(port, 'POST /text?limit=5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n', '2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n');
    t.equal(r.status, 200);
    t.equal(r.body, '[abcde]');
  });

  t.test('bad JSON: 400', async (t) => {
    const r = await ask(port, post(5), '{"a":');
    t.equal(r.status, 400);
    t.match(r.body, /not JSON/);
    t.equal(seen.at(-1)?.code, 'ERR_BAD_JSON');
    const empty = await ask(port, post(0));
    t.equal(empty.status, 400, 'an empty content is not JSON');
  });

  t.test('bad UTF-8: 400, for text and for JSON', async (t) => {
    for (const path of ['/text', '/json']) {
      const bad = Buffer.from([0x22, 0xc3, 0x28, 0x22]); // "\xC3(" — a broken two-byte sequence
      const r = await ask(port, post(bad.length).replace('/p', path), bad);
      t.equal(r.status, 400, path);
      t.match(r.body, /UTF-8/);
      t.equal(seen.at(-1)?.code, 'ERR_BAD_UTF8');
    }
  });

  t.test('Content-Length over the limit: 413 before reading anything', async (t) => {
    const c = new Client(port);
    await c.ready;
    c.write(post(10 * 1024 * 1024).replace('/p', '/p?limit=1000')); // the head only: the callback must not wait for content
    const [r] = await c.responses(1);
    c.destroy();
    t.equal(r!.status, 413);
    t.match(r!.body, /larger than 1000 bytes/);
    t.same(seen.at(-1), { code: 'ERR_BODY_TOO_LARGE', received: 0 });
  });

  t.test('a huge chunked upload over the limit: 413, not buffered beyond limit + a socket read', async (t) => {
    const limit = 100 * 1024;
    const c = new Client(port);
    await c.ready;
    c.write(`POST /p?limit=${limit} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x61), Buffer.from('\r\n')]);
    let sent = 0;
    let stop = false;
    // Keep sending (16 MiB at most) until the reply comes; socket backpressure paces us.
    const pump = (async () => {
      while (!stop && sent < 16 * 1024 * 1024 && !c.closed) {
        if (!c.socket.write(chunk)) await new Promise((r) => { c.socket.once('drain', r); c.socket.once('close', r); });
        sent += 0x10000;
      }
    })();
    const [r] = await c.responses(1, 10000);
    stop = true;
    c.destroy();
    await pump;
    t.equal(r!.status, 413);
    const last = seen.at(-1)!;
    t.equal(last.code, 'ERR_BODY_TOO_LARGE');
    t.ok(last.received! > limit, `read past the limit (${last.received})`);
    t.ok(last.received! <= limit + 1 + 2 * 65536, `received ${last.received} content bytes when refusing, for a limit of ${limit}`);
  });

  t.test('an uncaught BodyError without bodyErrors is a 500', async (t) => {
    const { port: p2 } = await serve(t, async (req) => json(await body.json(req)));
    const r = await ask(p2, post(3), 'nop');
    t.equal(r.status, 500);
  });

  t.test('the documented try/catch pattern', async (t) => {
    const { port: p3 } = await serve(t, async (req) => {
      try {
        return json(await body.json(req, { limit: 2 }));
      } catch (e) {
        if (e instanceof BodyError) return e.response;
        throw e;
      }
    });
    t.equal((await ask(p3, post(3), '123')).status, 413);
    t.equal((await ask(p3, post(2), '12')).status, 200);
  });
});

t.test('cookies set and read back over a socket', async (t) => {
  const { port } = await serve(t, (req) => {
    if (req.path === '/set') {
      return {
        statuscode: 204,
        headers: { 'Set-Cookie': [setCookie('sid', 'abc', { path: '/', httpOnly: true }), setCookie('theme', 'dark', { maxAge: 60 })] },
      };
    }
    return json({ cookies: cookies(req), header: header(req, 'COOKIE') ?? null });
  });
  const set = await ask(port, 'GET /set HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
  t.equal(set.status, 204);
  const lines = set.raw.filter(([k]) => k.toLowerCase() === 'set-cookie').map(([, v]) => v);
  t.same(lines, ['sid=abc; Path=/; HttpOnly', 'theme=dark; Max-Age=60'], 'one field line per cookie');
  const back = lines.map((l) => l.split(';')[0]);
  const got = await ask(port, `GET /get HTTP/1.1\r\nHost: t\r\nConnection: close\r\nCookie: ${back[0]}\r\ncookie: ${back[1]}; sid=later\r\n\r\n`);
  t.same(JSON.parse(got.body), { cookies: { sid: 'abc', theme: 'dark' }, header: 'sid=abc; theme=dark; sid=later' });
});
