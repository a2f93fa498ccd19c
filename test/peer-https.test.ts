/**
 * Real TLS clients against the server's `tls` option, with a throwaway CA
 * made for this run (test/helpers/tls-ca.ts):
 *
 * - curl `--cacert`: GET and POST over one kept-alive connection, ALPN
 *   agreed on http/1.1 although curl offers h2; no CA, a wrong host name and
 *   an expired certificate refused by curl (exit 60) and reported by the
 *   server;
 * - Python's http.client with an `ssl.create_default_context(cafile=...)`:
 *   GET, POST and a chunked upload over one HTTPSConnection, and the
 *   verification error for a wrong host name;
 * - headless Chromium: the page and its script over HTTPS. Chromium cannot
 *   be told to trust a CA file without NSS's certutil (not installed), so
 *   the test trusts exactly the server's key with
 *   `--ignore-certificate-errors-spki-list=<sha256 of its SPKI>` (certificate
 *   checks stay on for every other key), not `--ignore-certificate-errors`.
 */
import t from 'tap';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumDumpDom, findBinary, loggingServer, readBody, run, sha256 } from './helpers/peers-common.js';
import { hasOpenssl, makeCa } from './helpers/tls-ca.js';
import { TlsHandshakeError, type RequestDict, type ResponseDict } from '../src/index.js';

const noOpenssl = hasOpenssl() ? false : 'openssl is not installed (apt-get install openssl): the tests make their CA with it';
const curl = findBinary(['curl']);
const python = findBinary(['python3']);
const chromium = findBinary(['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);
const ca = noOpenssl === false ? makeCa(t) : null;

/** Echoes what the callback saw, as JSON; reads the content first. */
async function echo(req: RequestDict): Promise<ResponseDict> {
  const body = await readBody(req);
  return {
    statuscode: 200, headers: { 'Content-Type': 'application/json' },
    message: JSON.stringify({ verb: req.verb, path: req.path, secure: req.secure === true, length: body.length, sha256: body.sha256, port: req.remoteportnum }),
  };
}

t.test('curl --cacert: GET and POST over one TLS connection, ALPN http/1.1', { skip: noOpenssl || (curl === null && 'curl is not installed') }, async (t) => {
  const srv = await loggingServer(t, echo, { tls: { key: ca!.server.key, cert: ca!.server.cert } });
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-curl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = randomBytes(100_000);
  writeFileSync(join(dir, 'up.bin'), data);
  const base = `https://localhost:${srv.port}`;
  const r = await run(curl!, [
    '-sS', '-v', '--cacert', ca!.caFile, `${base}/one`, '--next', '--cacert', ca!.caFile,
    '--data-binary', `@${join(dir, 'up.bin')}`, '-H', 'Content-Type: application/octet-stream', `${base}/two`,
  ], { timeoutMs: 20_000 });
  t.equal(r.code, 0, `curl exit 0 ${r.code === 0 ? '' : r.stderr.slice(-1500)}`);
  const [one, two] = r.stdout.trim().split('}{').map((s, i, a) => (i > 0 ? '{' : '') + s + (i < a.length - 1 ? '}' : '')).map((s) => JSON.parse(s) as Record<string, unknown>);
  t.match(one, { verb: 'GET', path: '/one', secure: true, length: 0 });
  t.match(two, { verb: 'POST', path: '/two', secure: true, length: data.length, sha256: sha256(data) });
  t.equal(one!['port'], two!['port'], 'curl reused the TLS connection');
  t.match(r.stderr, /ALPN[^\n]*(server accepted|: server accepted to use|accepted) (to use )?http\/1\.1/i, 'ALPN: curl offered h2, the server accepted http/1.1');
  t.match(r.stderr, /SSL certificate verify ok/, 'curl verified the certificate against the CA');
  t.same(srv.errors, []);
});

t.test('curl refuses what it cannot verify; the server reports the handshake', { skip: noOpenssl || (curl === null && 'curl is not installed') }, async (t) => {
  // curl checks the host name after the handshake (the server saw a good one, then a close: nothing to
  // report); the CA and the dates during it (the server sees the handshake fail).
  const cases: [string, { key: string; cert: string }, string[], string, boolean][] = [
    ['no CA given', ca!.server, [], 'localhost', true],
    ['wrong host name', ca!.other, ['--cacert', ca!.caFile], 'localhost', false],
    ['expired certificate', ca!.expired, ['--cacert', ca!.caFile], 'localhost', true],
  ];
  for (const [name, pem, args, host, reported] of cases) {
    const srv = await loggingServer(t, echo, { tls: { key: pem.key, cert: pem.cert } });
    const r = await run(curl!, ['-sS', ...args, `https://${host}:${srv.port}/secret`], { timeoutMs: 15_000 });
    t.equal(r.code, 60, `${name}: curl exit 60 (peer certificate cannot be authenticated): ${r.stderr.trim()}`);
    t.equal(srv.log.length, 0, `${name}: no request reached the callback`);
    if (!reported) continue;
    const end = Date.now() + 3000;
    while (srv.errors.length === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
    t.type(srv.errors[0], TlsHandshakeError, `${name}: reported as a TlsHandshakeError`);
  }
  // Plain http:// to the TLS port: curl gets a closed connection at once (exit 52: empty reply), not a hang.
  const srv = await loggingServer(t, echo, { tls: { key: ca!.server.key, cert: ca!.server.cert } });
  const r = await run(curl!, ['-sS', '--max-time', '10', `http://localhost:${srv.port}/`], { timeoutMs: 15_000 });
  t.ok(r.code === 52 || r.code === 56, `plain HTTP: curl exit ${r.code} (empty reply / recv failure), not 28 (timeout): ${r.stderr.trim()}`);
});

const PY = String.raw`
import hashlib, http.client, json, ssl, sys
port, cafile, otherport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection('localhost', port, context=ctx, timeout=10)
out = {}
conn.request('GET', '/py/get?a=1')
r = conn.getresponse(); out['get'] = json.loads(r.read()); out['version'] = conn.sock.version()
data = bytes(range(256)) * 1000
conn.request('POST', '/py/post', body=data)
r = conn.getresponse(); out['post'] = json.loads(r.read()); out['sent'] = hashlib.sha256(data).hexdigest()
def gen():
    yield b'a' * 5000
    yield b'b' * 7
conn.request('PUT', '/py/chunked', body=gen(), encode_chunked=True)
r = conn.getresponse(); out['chunked'] = json.loads(r.read())
conn.close()
try:
    bad = http.client.HTTPSConnection('localhost', otherport, context=ctx, timeout=10)
    bad.request('GET', '/'); bad.getresponse()
    out['wronghost'] = 'accepted'
except ssl.SSLCertVerificationError as e:
    out['wronghost'] = e.verify_message
print(json.dumps(out))
`;

t.test('Python http.client over an ssl context: GET, POST, chunked upload over one connection', { skip: noOpenssl || (python === null && 'python3 is not installed') }, async (t) => {
  const srv = await loggingServer(t, echo, { tls: { key: ca!.server.key, cert: ca!.server.cert } });
  // A certificate for other.test only, asked for as localhost: the wrong host name.
  const other = await loggingServer(t, echo, { tls: { key: ca!.other.key, cert: ca!.other.cert } });
  const r = await run(python!, ['-c', PY, String(srv.port), ca!.caFile, String(other.port)], { timeoutMs: 20_000 });
  t.equal(r.code, 0, `python exit 0 ${r.code === 0 ? '' : r.stderr.slice(-1500)}`);
  const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown> & { port?: number }> & { sent: string; version: string; wronghost: string };
  t.match(out['get'], { verb: 'GET', path: '/py/get', secure: true });
  t.match(out['post'], { verb: 'POST', path: '/py/post', length: 256_000, sha256: out.sent });
  t.match(out['chunked'], { verb: 'PUT', length: 5007, sha256: createHash('sha256').update(Buffer.concat([Buffer.alloc(5000, 'a'), Buffer.alloc(7, 'b')])).digest('hex') });
  t.equal(new Set([out['get']!.port, out['post']!.port, out['chunked']!.port]).size, 1, 'one kept-alive HTTPSConnection');
  t.match(out.version, /^TLSv1\.[23]$/, `negotiated ${out.version}`);
  t.equal(other.log.length, 0, 'no request reached the wrongly named server');
  t.match(out.wronghost, /IP address mismatch|doesn't match|Hostname mismatch/i, `a wrong host name is refused by Python: ${out.wronghost}`);
});

t.test('headless Chromium loads a page and its script over HTTPS', { skip: noOpenssl || (chromium === null && 'Chromium is not installed (apt-get install chromium)'), timeout: 45_000 }, async (t) => {
  const PAGE = '<!doctype html><html><head><title>before</title><script src="/app.js"></script></head><body></body></html>';
  const srv = await loggingServer(t, (req) => {
    if (req.path === '/app.js') {
      return { statuscode: 200, headers: { 'Content-Type': 'text/javascript' }, message: `document.title = 'ran over ' + location.protocol + ' ${req.secure === true ? 'secure' : 'plain'}';` };
    }
    return { statuscode: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, message: PAGE };
  }, { tls: { key: ca!.server.key, cert: ca!.server.cert } });
  const spki = createHash('sha256').update(new X509Certificate(ca!.server.cert).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  const url = `https://localhost:${srv.port}/`;
  const r = await chromiumDumpDom(chromium!, url, { timeoutMs: 30_000, args: [`--ignore-certificate-errors-spki-list=${spki}`] });
  t.equal(r.code, 0, `Chromium exited 0 ${r.code === 0 ? '' : r.stderr.slice(-1500)}`);
  t.match(r.stdout, /<title>ran over https: secure<\/title>/, 'the page and its script came over HTTPS; the callback saw req.secure');
  t.same(srv.log.map((e) => e.path).filter((p) => p === '/' || p === '/app.js'), ['/', '/app.js']);
  t.ok(srv.log.every((e) => e.version === '1.1'), 'HTTP/1.1 (ALPN: Chromium offered h2, got http/1.1)');
  t.same(srv.errors.filter((e) => !(e instanceof TlsHandshakeError)), [], 'no callback failure');

  // The flag is what makes Chromium accept the key: without it, no page (the CA is unknown to it).
  const before = srv.log.length;
  const r2 = await chromiumDumpDom(chromium!, url, { timeoutMs: 30_000 });
  t.notMatch(r2.stdout, /ran over https/, 'without the flag Chromium refuses the certificate: the script never ran');
  t.equal(srv.log.length, before, 'and sent no request');
});
