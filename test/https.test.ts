/**
 * HTTPS (issue #16): the server's `tls` option and the client's https: URLs,
 * over real TLS sockets with a throwaway CA made by openssl for this run
 * (test/helpers/tls-ca.ts). Node's own https client and tls sockets are the
 * peers here; curl, Python and Chromium are in test/peer-https.test.ts.
 *
 * - the same dictionaries over TLS: `req.secure`, `req.peercert`, keep-alive,
 *   large bodies both ways, a half-close after the request;
 * - ALPN is http/1.1 only; SNI reaches an SNICallback;
 * - the client verifies by default: unknown CA, self-signed, wrong host,
 *   expired certificates are refused before any byte of the request leaves;
 * - client certificates: required, accepted, unknown (reported, not trusted);
 * - failures on the server are bounded and reported, never hung: plain HTTP
 *   sent to the TLS port, a handshake that never finishes (slowloris on TLS),
 *   a client that hangs up mid-handshake, stop during a handshake;
 * - redirects between http and https: upgrade followed, downgrade refused
 *   unless allowed, credentials never carried to another origin.
 */
import t, { type Test } from 'tap';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { request as httpsRequest, Agent } from 'node:https';
import { createHash, randomBytes } from 'node:crypto';
import {
  boundAddress, getString, HttpClientError, TlsHandshakeError, HttpConnectionError, HttpRedirectError, open, registerCallback, stopCallback,
  type RequestDict, type ResponseDict, type ServerOptions,
} from '../src/index.js';
import { reportToStderr } from '../src/server/options.js';
import { hasOpenssl, makeCa, type Ca } from './helpers/tls-ca.js';

const skip = hasOpenssl() ? false : 'openssl is not installed (apt-get install openssl): the tests make their CA with it';
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One CA for the whole file (a few openssl runs), removed when it ends. */
const shared: Ca | null = skip === false ? makeCa(t) : null;
function ca(_t: Test): Ca {
  return shared!;
}

interface Started {
  port: number;
  base: string;
  errors: unknown[];
  seen: RequestDict[];
}

async function serve(t: Test, cb: (req: RequestDict) => ResponseDict | Promise<ResponseDict>, options: ServerOptions): Promise<Started> {
  const errors: unknown[] = [];
  const seen: RequestDict[] = [];
  const id = await registerCallback(['127.0.0.1', 0], (req) => {
    seen.push(req);
    return cb(req);
  }, { onError: (e) => errors.push(e), ...options });
  t.teardown(() => stopCallback(id).catch(() => {}));
  const [, port] = boundAddress(id);
  return { port, base: `https://127.0.0.1:${port}`, errors, seen };
}

const hello = (req: RequestDict): ResponseDict => ({
  statuscode: 200, headers: { 'Content-Type': 'application/json' },
  message: JSON.stringify({ path: req.path, secure: req.secure ?? null, cn: req.peercert?.subject['CN'] ?? null, authorized: req.peercert?.authorized ?? null }),
});

/** Resolves when `socket` closes, with the milliseconds it took and what it received. */
function closed(socket: Socket): Promise<{ ms: number; data: string; error: string | null }> {
  const start = Date.now();
  let data = '';
  let error: string | null = null;
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  return new Promise((resolve) => socket.on('close', () => resolve({ ms: Date.now() - start, data, error })));
}

/** Fails the test instead of hanging when `p` does not settle within `ms`. */
async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms (hung)`)), ms)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `cond()` or `ms` passed. */
async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

t.test('the same dictionaries over TLS: secure, keys, keep-alive with node:https', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert } });
  const plain = await registerCallback(['127.0.0.1', 0], (req) => ({ statuscode: 200, message: JSON.stringify({ keys: Object.keys(req), secure: 'secure' in req }) }), { onError: null });
  t.teardown(() => stopCallback(plain).catch(() => {}));

  t.same(JSON.parse(await getString(`${srv.base}/a`, { ca: c.ca })), { path: '/a', secure: true, cn: null, authorized: null });
  const req = srv.seen[0]!;
  t.same(Object.keys(req), ['verb', 'path', 'querystr', 'querydict', 'version', 'headers', 'rawheaders', 'datastream', 'httpdid', 'remoteipstr', 'remoteportnum', 'secure', 'peercert', 'signal', 'setTimeout'], 'TLS requests: two more own keys, before signal');
  t.equal(req.peercert, null, 'no client certificate: peercert null');
  t.equal(req.remoteipstr, '127.0.0.1');
  const spread = { ...req };
  t.equal(spread.secure, true, 'a spread copy keeps secure');

  const p = JSON.parse(await getString(`http://127.0.0.1:${boundAddress(plain)[1]}/`)) as { keys: string[]; secure: boolean };
  t.equal(p.keys.length, 13, 'plain HTTP requests keep their thirteen keys');
  t.equal(p.secure, false, 'and have no secure key');

  // node:https with a keep-alive agent: three requests over one TLS connection.
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: c.ca });
  t.teardown(() => agent.destroy());
  const ports: number[] = [];
  for (const path of ['/1', '/2', '/3']) {
    const body = await new Promise<string>((resolve, reject) => {
      const r = httpsRequest(`${srv.base}${path}`, { agent }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (s += d));
        res.on('end', () => resolve(s));
      });
      r.on('error', reject);
      r.end();
    });
    t.equal(JSON.parse(body).path, path);
    ports.push(srv.seen[srv.seen.length - 1]!.remoteportnum);
  }
  t.equal(new Set(ports).size, 1, `three requests over one kept-alive TLS connection (client ports ${ports.join(', ')})`);
  t.same(srv.errors, []);
});

t.test('large content both ways over TLS, with backpressure', { skip }, async (t) => {
  const c = ca(t);
  const up = randomBytes(3 * 1024 * 1024 + 17);
  const srv = await serve(t, async (req) => {
    const parts: Buffer[] = [];
    for await (const chunk of req.datastream) parts.push(chunk);
    const got = Buffer.concat(parts);
    async function* back(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 48; i++) yield Buffer.alloc(64 * 1024, i);
    }
    return { statuscode: 200, headers: { 'X-Got': `${got.length} ${sha256(got)}` }, message: back() };
  }, { tls: { key: c.server.key, cert: c.server.cert } });
  const res = await open(`${srv.base}/up`, { ca: c.ca, postdata: up });
  t.equal(res.headers['X-Got'], `${up.length} ${sha256(up)}`, 'the server read every byte of a 3 MiB upload');
  const body = await res.read();
  const want = Buffer.concat(Array.from({ length: 48 }, (_, i) => Buffer.alloc(64 * 1024, i)));
  t.equal(body.length, want.length);
  t.ok(body.equals(want), 'a 3 MiB streamed response arrived whole, in order');
  t.equal(res.url, `${srv.base}/up`);
  t.same(srv.errors, []);
});

t.test('a client that half-closes after its request still gets the answer', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert } });
  const s = tlsConnect({ host: '127.0.0.1', port: srv.port, ca: c.ca });
  await new Promise((r) => s.once('secureConnect', r));
  const done = closed(s);
  s.end('GET /half HTTP/1.1\r\nHost: x\r\n\r\n');
  const r = await bounded(done, 5000, 'half-closed client');
  t.match(r.data, /^HTTP\/1\.1 200 OK\r\n/, 'answered after the client\'s close_notify/FIN');
  t.match(r.data, /"path":"\/half"/);
});

t.test('ALPN: http/1.1 only; a client that wants h2 alone is refused and reported', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert } });
  const both = tlsConnect({ host: '127.0.0.1', port: srv.port, ca: c.ca, ALPNProtocols: ['h2', 'http/1.1'] });
  await new Promise((r) => both.once('secureConnect', r));
  t.equal(both.alpnProtocol, 'http/1.1', 'h2 and http/1.1 offered: http/1.1 chosen');
  both.destroy();
  const h2 = tlsConnect({ host: '127.0.0.1', port: srv.port, ca: c.ca, ALPNProtocols: ['h2'] });
  const r = await bounded(closed(h2), 5000, 'h2-only client');
  t.match(r.error ?? '', /ALERT_NO_APPLICATION_PROTOCOL|ECONNRESET/i, `h2 alone: the handshake fails (${r.error})`);
  t.ok(await until(() => srv.errors.length > 0), 'reported');
  const e = srv.errors[0] as TlsHandshakeError;
  t.type(e, TlsHandshakeError);
  t.equal(e.code, 'ERR_TLS_HANDSHAKE');
  // The server's own ALPN failure, or the client's hang-up after the alert, whichever node sees first.
  t.ok(e.tlsCode === 'ERR_SSL_NO_APPLICATION_PROTOCOL' || e.tlsCode === 'ECONNRESET', `tlsCode ${e.tlsCode}`);
  t.equal(e.remoteipstr, '127.0.0.1');
  t.ok(e.remoteportnum > 0, 'with the peer\'s port');
  t.equal(srv.seen.length, 0, 'no callback ran');
});

t.test('pipelined requests over TLS are answered in order, in one corked write', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, async (req) => {
    if (req.path === '/slow') await new Promise((r) => setTimeout(r, 30));
    return hello(req);
  }, { tls: { key: c.server.key, cert: c.server.cert } });
  const s = tlsConnect({ host: '127.0.0.1', port: srv.port, ca: c.ca });
  await new Promise((r) => s.once('secureConnect', r));
  const done = closed(s);
  s.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const r = await bounded(done, 5000, 'pipelined over TLS');
  const paths = [...r.data.matchAll(/"path":"([^"]+)"/g)].map((m) => m[1]);
  t.same(paths, ['/slow', '/fast', '/last'], 'in request order although /slow finished last');
  t.equal(r.data.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
});

t.test('a client that offers only TLS 1.0 and 1.1 fails the handshake (the server needs 1.2 or later)', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert } });
  const old = tlsConnect({ host: '127.0.0.1', port: srv.port, ca: c.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
  const r = await bounded(closed(old), 5000, 'an old TLS client');
  t.ok(r.error !== null, `the client fails (${r.error})`);
  t.ok(await until(() => srv.errors.length > 0), 'reported');
  t.equal((srv.errors[0] as TlsHandshakeError).code, 'ERR_TLS_HANDSHAKE', `tlsCode ${(srv.errors[0] as TlsHandshakeError).tlsCode}`);
  t.equal(srv.seen.length, 0);
});

t.test('SNI: the server name reaches SNICallback; the client\'s servername option picks and verifies it', { skip }, async (t) => {
  const c = ca(t);
  const { createSecureContext } = await import('node:tls');
  const names: string[] = [];
  const srv = await serve(t, hello, {
    tls: {
      key: c.server.key, cert: c.server.cert,
      SNICallback: (name, cb) => {
        names.push(name);
        cb(null, name === 'other.test' ? createSecureContext({ key: c.other.key, cert: c.other.cert }) : undefined);
      },
    },
  });
  t.equal(JSON.parse(await getString(`${srv.base}/sni`, { ca: c.ca, servername: 'other.test' })).path, '/sni', 'verified as other.test');
  t.equal(JSON.parse(await getString(`https://localhost:${srv.port}/dflt`, { ca: c.ca })).path, '/dflt', 'localhost: the default certificate');
  t.same(names, ['other.test', 'localhost'], 'SNICallback saw both names (none is sent for an IP address)');
  // servername is for the first URL's host: a redirect to another host is verified as that host.
  const elsewhere = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert } });
  const hop = await serve(t, () => ({ statuscode: 302, headers: { Location: `https://localhost:${elsewhere.port}/there` } }), {
    tls: { key: c.other.key, cert: c.other.cert },
  });
  const landed = await open(`${hop.base}/`, { ca: c.ca, servername: 'other.test' });
  t.equal(landed.url, `https://localhost:${elsewhere.port}/there`, 'redirected to localhost, verified as localhost, not as other.test');
  landed.close();
  const wrong = await open(`${srv.base}/`, { ca: c.ca, servername: 'nothere.test' }).catch((e: unknown) => e as HttpConnectionError);
  t.type(wrong, HttpConnectionError);
  t.equal((wrong as HttpConnectionError).code, 'ERR_TLS_CERT_ALTNAME_INVALID', 'a servername the certificate does not name is refused');
});

t.test('the client verifies by default: unknown CA, self-signed, wrong host, expired', { skip }, async (t) => {
  const c = ca(t);
  const cases: [string, { key: string; cert: string }, string, Record<string, unknown>, string][] = [
    ['a CA the client does not know (no ca option)', c.server, '127.0.0.1', {}, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['a self-signed certificate', c.selfSigned, '127.0.0.1', { ca: c.ca }, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['a certificate for another host', c.other, '127.0.0.1', { ca: c.ca }, 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['a certificate for another host, by name', c.other, 'localhost', { ca: c.ca }, 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['an expired certificate', c.expired, '127.0.0.1', { ca: c.ca }, 'CERT_HAS_EXPIRED'],
  ];
  for (const [name, pem, host, opts, code] of cases) {
    const srv = await serve(t, hello, { tls: { key: pem.key, cert: pem.cert } });
    const err = await bounded(open(`https://${host}:${srv.port}/secret`, { ...opts, postdata: 'password=1' }).then(() => null, (e: unknown) => e), 5000, name);
    t.type(err, HttpConnectionError, name);
    const e = err as HttpConnectionError;
    t.equal(e.code, code, `${name}: ${e.message}`);
    t.equal(e.requestSent, false, `${name}: not a byte of the request was sent`);
    t.equal(e.port, srv.port);
    t.equal(srv.seen.length, 0, `${name}: the callback never ran`);
    // The server reports the handshake the client broke off (not a crash, not a hang).
    t.ok(await until(() => srv.errors.length > 0), `${name}: the server reported the failed handshake`);
    t.type(srv.errors[0], TlsHandshakeError);
    // rejectUnauthorized: false accepts it (tests only).
    const text = await getString(`https://${host}:${srv.port}/ok`, { rejectUnauthorized: false });
    t.equal(JSON.parse(text).path, '/ok', `${name}: accepted with rejectUnauthorized: false`);
  }
});

t.test('client certificates: required, accepted, unknown', { skip }, async (t) => {
  const c = ca(t);
  const strict = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert, ca: c.ca, requestCert: true, rejectUnauthorized: true } });
  const ok = JSON.parse(await getString(`${strict.base}/me`, { ca: c.ca, cert: c.client.cert, key: c.client.key }));
  t.same(ok, { path: '/me', secure: true, cn: 'alice', authorized: true }, 'the callback sees the client certificate\'s subject');
  const pc = strict.seen[0]!.peercert!;
  t.same(pc.issuer, { CN: 'repy-http test CA' });
  t.match(pc.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  t.match(pc.validTo, /GMT$/);
  t.equal(pc.authorizationError, null);
  t.ok(Object.isFrozen(pc), 'frozen: one object per connection, shared by its requests');

  for (const [name, extra] of [
    ['no client certificate', {}],
    ['a certificate the server\'s CA did not sign', { cert: c.stranger.cert, key: c.stranger.key }],
  ] as const) {
    const before = strict.errors.length;
    const err = await bounded(open(`${strict.base}/me`, { ca: c.ca, ...extra }).then(() => null, (e: unknown) => e), 5000, name);
    // TLS 1.3: the client may finish its side first and see the refusal as a reset or an EOF.
    t.type(err, HttpClientError, `${name}: refused (${(err as Error | null)?.message})`);
    t.ok(await until(() => strict.errors.length > before), `${name}: reported`);
    t.type(strict.errors[strict.errors.length - 1], TlsHandshakeError);
  }
  t.equal(strict.seen.length, 1, 'only the request with a valid certificate reached the callback');

  // requestCert without rejectUnauthorized: the callback decides, with authorized and authorizationError.
  const lax = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert, ca: c.ca, requestCert: true, rejectUnauthorized: false } });
  t.same(JSON.parse(await getString(`${lax.base}/x`, { ca: c.ca, cert: c.stranger.cert, key: c.stranger.key })), { path: '/x', secure: true, cn: 'mallory', authorized: false });
  t.equal(lax.seen[0]!.peercert!.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  t.equal(JSON.parse(await getString(`${lax.base}/none`, { ca: c.ca })).cn, null, 'no certificate: peercert null');
});

t.test('plain HTTP sent to the TLS port: a clear close, reported, not a hang', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert } });
  const s = netConnect(srv.port, '127.0.0.1');
  const done = closed(s);
  s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const r = await bounded(done, 5000, 'plain HTTP to the TLS port');
  t.notMatch(r.data, /HTTP\/1\.1 200/, 'no HTTP answer in the clear');
  t.ok(await until(() => srv.errors.length > 0), 'reported');
  const e = srv.errors[0] as TlsHandshakeError;
  t.equal(e.code, 'ERR_TLS_HANDSHAKE');
  t.equal(e.tlsCode, 'ERR_SSL_HTTP_REQUEST', 'node says it was an HTTP request');
  t.equal(srv.seen.length, 0);
  // Our own client pointed at it with http: fails cleanly too.
  const err = await bounded(open(`http://127.0.0.1:${srv.port}/`, { timeout: 5000 }).then(() => null, (x: unknown) => x), 8000, 'own client');
  t.ok(err instanceof Error, `the client reports it: ${(err as Error).message}`);
});

t.test('a handshake that never finishes is cut at handshakeTimeout (slowloris on TLS)', { skip }, async (t) => {
  const c = ca(t);
  const handshakeTimeout = 300;
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert }, handshakeTimeout });
  // One client sends nothing; one sends the first bytes of a ClientHello and stops.
  const silent = netConnect(srv.port, '127.0.0.1');
  const partial = netConnect(srv.port, '127.0.0.1', () => partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])));
  const [a, b] = await bounded(Promise.all([closed(silent), closed(partial)]), 10_000, 'slow handshakes');
  t.ok(a.ms >= handshakeTimeout - 50, `the silent client was given handshakeTimeout (closed after ${a.ms} ms)`);
  t.ok(b.ms >= handshakeTimeout - 50, `the partial ClientHello too (closed after ${b.ms} ms)`);
  t.ok(await until(() => srv.errors.length >= 2), 'both reported');
  for (const e of srv.errors as TlsHandshakeError[]) t.equal(e.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
  // The server still serves.
  t.equal(JSON.parse(await getString(`${srv.base}/after`, { ca: c.ca })).path, '/after');
});

t.test('a client that hangs up mid-handshake is let go at once, not at handshakeTimeout', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert }, handshakeTimeout: 60_000 });
  // The client refuses the certificate (unknown CA) and closes during the handshake.
  await open(`${srv.base}/`).catch(() => {});
  t.ok(await until(() => srv.errors.length > 0, 5000), 'the server noticed and reported it well before the 60 s timeout');
  t.equal((srv.errors[0] as TlsHandshakeError).code, 'ERR_TLS_HANDSHAKE');
});

t.test('maxConnections counts handshakes too: one more TCP connection is closed at once', { skip }, async (t) => {
  const c = ca(t);
  const srv = await serve(t, hello, { tls: { key: c.server.key, cert: c.server.cert }, maxConnections: 2, handshakeTimeout: 60_000 });
  const held = [netConnect(srv.port, '127.0.0.1'), netConnect(srv.port, '127.0.0.1')];
  t.teardown(() => held.forEach((s) => s.destroy()));
  await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
  await new Promise((r) => setTimeout(r, 50));
  const extra = netConnect(srv.port, '127.0.0.1');
  const r = await bounded(closed(extra), 5000, 'the connection over maxConnections');
  t.ok(r.ms < 5000, `closed at once (${r.ms} ms), while two handshakes hold the limit`);
  held.forEach((s) => s.destroy());
  await until(() => false, 100);
  t.equal(JSON.parse(await getString(`${srv.base}/after`, { ca: c.ca })).path, '/after', 'served again once they are gone');
});

t.test('stopCallback cuts handshakes still under way', { skip }, async (t) => {
  const c = ca(t);
  const id = await registerCallback(['127.0.0.1', 0], hello, { tls: { key: c.server.key, cert: c.server.cert }, handshakeTimeout: 60_000, onError: null });
  const s = netConnect(boundAddress(id)[1], '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  await new Promise((r) => setTimeout(r, 50));
  const done = closed(s);
  await bounded(stopCallback(id), 5000, 'stopCallback with a pending handshake');
  const r = await bounded(done, 5000, 'the pending handshake\'s socket');
  t.ok(r.ms < 5000, 'closed by the stop, not by the 60 s handshake timeout');
});

t.test('redirects between http and https', { skip }, async (t) => {
  const c = ca(t);
  const secure = await serve(t, (req) => {
    if (req.path === '/down') return { statuscode: 302, headers: { Location: `http://127.0.0.1:${plainPort}/landed` } };
    if (req.path === '/same') return { statuscode: 307, headers: { Location: '/landed' } };
    return { statuscode: 200, message: JSON.stringify({ where: 'https', auth: req.headers['Authorization'] ?? null, cookie: req.headers['Cookie'] ?? null }) };
  }, { tls: { key: c.server.key, cert: c.server.cert } });
  const plainSeen: RequestDict[] = [];
  const plainId = await registerCallback(['127.0.0.1', 0], (req) => {
    plainSeen.push(req);
    if (req.path.endsWith('/up')) return { statuscode: 301, headers: { Location: `https://localhost:${secure.port}/landed` } };
    return { statuscode: 200, message: JSON.stringify({ where: 'http', auth: req.headers['Authorization'] ?? null }) };
  }, { onError: null });
  t.teardown(() => stopCallback(plainId).catch(() => {}));
  const plainPort = boundAddress(plainId)[1];
  const creds = { Authorization: 'Bearer s3cret', Cookie: 'sid=1' };

  const up = await open(`http://127.0.0.1:${plainPort}/up`, { ca: c.ca, httpheaders: creds });
  t.equal(up.url, `https://localhost:${secure.port}/landed`, 'http → https followed');
  t.equal(up.redirects, 1);
  t.same(JSON.parse((await up.read()).toString()), { where: 'https', auth: null, cookie: null }, 'credentials not carried to the other origin');

  const same = JSON.parse(await getString(`${secure.base}/same`, { ca: c.ca, httpheaders: creds }));
  t.same(same, { where: 'https', auth: 'Bearer s3cret', cookie: 'sid=1' }, 'https → https on the same origin keeps them');

  const before = plainSeen.length;
  const down = await open(`${secure.base}/down`, { ca: c.ca, httpheaders: creds }).then(() => null, (e: unknown) => e);
  t.type(down, HttpRedirectError);
  t.equal((down as HttpRedirectError).code, 'ERR_REDIRECT_DOWNGRADE', 'https → http refused by default');
  t.equal((down as HttpRedirectError).location, `http://127.0.0.1:${plainPort}/landed`);
  t.equal(plainSeen.length, before, 'nothing was sent in the clear');

  const allowed = await open(`${secure.base}/down`, { ca: c.ca, httpheaders: creds, allowDowngrade: true });
  t.same(JSON.parse((await allowed.read()).toString()), { where: 'http', auth: null }, 'allowDowngrade: followed, without the credentials');

  // Through a proxy an https target would need a CONNECT tunnel: the redirect is refused, not sent in the clear.
  const viaProxy = await open(`http://origin.test/up`, { proxy: ['127.0.0.1', plainPort] }).then(() => null, (e: unknown) => e);
  t.equal((viaProxy as HttpRedirectError).code, 'ERR_REDIRECT_SCHEME', 'http → https through a proxy: refused');

  // The allow predicate is told the scheme.
  const targets: boolean[] = [];
  await getString(`http://127.0.0.1:${plainPort}/up`, { ca: c.ca, allow: (x) => (targets.push(x.secure), true) });
  t.same(targets, [false, true], 'allow() sees secure: false, then true for the https redirect');
});

t.test('options: validation of tls and handshakeTimeout; a bad key rejects registerCallback', { skip }, async (t) => {
  const c = ca(t);
  const addr = ['127.0.0.1', 0] as const;
  const cb = (): ResponseDict => ({ statuscode: 204 });
  await t.rejects(registerCallback(addr, cb, { tls: 'cert.pem' as never }), TypeError);
  await t.rejects(registerCallback(addr, cb, { tls: [] as never }), TypeError);
  await t.rejects(registerCallback(addr, cb, { tls: { key: c.server.key, cert: c.server.cert, ALPNProtocols: ['h2'] } as never }), { code: 'ERR_VALUE', message: /ALPN is http\/1\.1 only/ });
  await t.rejects(registerCallback(addr, cb, { tls: { key: c.server.key, cert: c.server.cert, handshakeTimeout: 5 } as never }), { message: /use the handshakeTimeout option/ });
  await t.rejects(registerCallback(addr, cb, { handshakeTimeout: -1 }), { code: 'ERR_VALUE' });
  await t.rejects(registerCallback(addr, cb, { tls: { key: 'not a key', cert: c.server.cert } }), Error, 'a bad key: rejects, nothing listens');
  await t.rejects(registerCallback(addr, cb, { tls: { key: c.other.key, cert: c.server.cert } }), Error, 'a key that is not the certificate\'s');
  // tls: null is plain HTTP; handshakeTimeout 0 means no timeout of ours (the largest timer).
  const id = await registerCallback(addr, cb, { tls: null, onError: null });
  await stopCallback(id);
  const id2 = await registerCallback(addr, cb, { tls: { key: c.server.key, cert: c.server.cert }, handshakeTimeout: 0, onError: null });
  t.equal((await open(`https://127.0.0.1:${boundAddress(id2)[1]}/`, { ca: c.ca })).statuscode, 204);
  await stopCallback(id2);
});

t.test('the default onError prints a failed handshake as one line', { skip }, async (t) => {
  const writes: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    reportToStderr(new TlsHandshakeError(Object.assign(new Error('wrong version number\n'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }), '10.0.0.1', 4000), null);
  } finally {
    process.stderr.write = orig;
  }
  t.same(writes, ['repy-http: TLS handshake with 10.0.0.1:4000 failed: wrong version number\n']);
});

// Keep the TLSSocket type import used by the checker (tlsConnect returns one).
export type { TLSSocket };
