/**
 * Python's http.client (python3 -c) against the server: GET with a query,
 * POST with a Content-Length body, a chunked upload (encode_chunked=True),
 * a chunked response, HEAD, and all of them over one kept-alive
 * HTTPConnection. Python's client is strict about response framing (it
 * raises on a bad chunk or a short body, and on a body after HEAD the next
 * response would be garbage), and it is what a lot of scripts and test
 * suites use. The script prints one JSON document that the test asserts.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connectionsOf, findBinary, loggingServer, run, sha256 } from './helpers/peers-common.js';

const python = findBinary(['python3']);
const version = python === null ? null : await run(python, ['--version'], { timeoutMs: 5000 });
const skip = python === null
  ? 'python3 is not installed; install it with apt-get install python3'
  : version!.code !== 0 ? `python3 --version failed: ${version!.stderr.trim()}` : false;

/** The client: every request over one HTTPConnection, results printed as JSON. */
const SCRIPT = String.raw`
import hashlib, http.client, json, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
out = []
def record(name, resp, extra=None):
    body = resp.read()
    r = {
        'name': name, 'status': resp.status, 'reason': resp.reason, 'version': resp.version,
        'headers': {k.lower(): v for k, v in resp.getheaders()},
        'chunked': resp.chunked, 'length': len(body), 'sha256': hashlib.sha256(body).hexdigest(),
        'clientport': conn.sock.getsockname()[1] if conn.sock is not None else None,
        'closed': resp.isclosed() and conn.sock is None,
    }
    try:
        r['json'] = json.loads(body)
    except Exception:
        r['json'] = None
    if extra:
        r.update(extra)
    out.append(r)

conn.request('GET', '/py/get?a=1&b=two+words&c&d=%C3%A9t%C3%A9', headers={'X-Client': 'python'})
record('get', conn.getresponse())

data = bytes(range(256)) * 400 + b'tail'
conn.request('POST', '/py/post', body=data, headers={'Content-Type': 'application/octet-stream'})
record('post', conn.getresponse(), {'sent': hashlib.sha256(data).hexdigest(), 'sentlen': len(data)})

parts = [b'x' * 1000, bytes(range(256)) * 50, b'', b'last part']
def gen():
    for p in parts:
        yield p
joined = b''.join(parts)
conn.request('PUT', '/py/chunked', body=gen(), headers={'Transfer-Encoding': 'chunked'}, encode_chunked=True)
record('chunked', conn.getresponse(), {'sent': hashlib.sha256(joined).hexdigest(), 'sentlen': len(joined)})

conn.request('GET', '/py/stream')
record('stream', conn.getresponse())

conn.request('HEAD', '/py/head')
record('head', conn.getresponse())

for i in range(5):
    conn.request('GET', '/py/ka/%d' % i)
    record('ka%d' % i, conn.getresponse())

conn.close()
print(json.dumps(out))
`;

interface PyResult {
  name: string;
  status: number;
  reason: string;
  version: number;
  headers: Record<string, string>;
  chunked: boolean;
  length: number;
  sha256: string;
  clientport: number | null;
  closed: boolean;
  json: { verb: string; path: string; querystr: string | null; length: number; sha256: string; te: string | null; cl: string | null } | null;
  sent?: string;
  sentlen?: number;
}

t.test('python3 http.client', { skip, timeout: 30_000 }, async (t) => {
  t.comment(version!.stdout.trim() || version!.stderr.trim());
  const streamed = Buffer.concat([randomBytes(10_000), Buffer.from('--'), randomBytes(70_000)]);
  const srv = await loggingServer(t, async (req) => {
    if (req.path === '/py/stream') {
      return {
        statuscode: 200,
        headers: { 'Content-Type': 'application/octet-stream' },
        message: (async function* () {
          for (let i = 0; i < streamed.length; i += 8192) {
            await new Promise((r) => setImmediate(r));
            yield streamed.subarray(i, i + 8192);
          }
        })(),
      };
    }
    const parts: Buffer[] = [];
    for await (const chunk of req.datastream) parts.push(chunk);
    const all = Buffer.concat(parts);
    return {
      statuscode: 200,
      headers: { 'Content-Type': 'application/json', 'X-Path': req.path },
      message: `${JSON.stringify({
        verb: req.verb, path: req.path, querystr: req.querystr, length: all.length, sha256: sha256(all),
        te: req.headers['Transfer-Encoding'] ?? null, cl: req.headers['Content-Length'] ?? null,
      })}\n`,
    };
  });

  const r = await run(python!, ['-c', SCRIPT, String(srv.port)], { timeoutMs: 20_000 });
  t.equal(r.code, 0, `python exited 0 ${r.timedOut ? '(timed out)' : ''} ${r.stderr.trim()}`);
  let results: PyResult[] = [];
  try {
    results = JSON.parse(r.stdout) as PyResult[];
  } catch {
    t.fail(`python printed no JSON: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 2000)}`);
    return;
  }
  const by = new Map(results.map((x) => [x.name, x]));
  t.equal(results.length, 10, 'ten responses');

  const get = by.get('get')!;
  t.same([get.status, get.reason, get.version], [200, 'OK', 11], 'GET: HTTP/1.1 200 OK');
  t.same([get.json?.verb, get.json?.path, get.json?.querystr], ['GET', '/py/get', 'a=1&b=two+words&c&d=%C3%A9t%C3%A9'], 'GET: verb, path, querystr');
  t.same(srv.log.find((e) => e.path === '/py/get')?.querydict, { a: '1', b: 'two words', c: null, d: 'été' }, 'GET: querydict');
  t.equal(srv.log.find((e) => e.path === '/py/get')?.headers['X-Client'], 'python', 'GET: a custom field');
  t.equal(get.headers['content-length'], String(get.length), 'GET: Content-Length matches the body');

  const post = by.get('post')!;
  t.equal(post.status, 200, 'POST: 200');
  t.same([post.json?.length, post.json?.sha256], [post.sentlen, post.sent], 'POST: the body arrived intact');
  t.same([post.json?.cl, post.json?.te], [String(post.sentlen), null], 'POST: sent with Content-Length');

  const chunked = by.get('chunked')!;
  t.equal(chunked.status, 200, 'chunked upload: 200');
  t.same([chunked.json?.verb, chunked.json?.length, chunked.json?.sha256], ['PUT', chunked.sentlen, chunked.sent], 'chunked upload: intact');
  t.same([chunked.json?.te, chunked.json?.cl], ['chunked', null], 'chunked upload: Transfer-Encoding: chunked, no Content-Length');

  const stream = by.get('stream')!;
  t.equal(stream.status, 200, 'streamed response: 200');
  t.ok(stream.chunked, 'streamed response: python read it as chunked');
  t.same([stream.length, stream.sha256], [streamed.length, sha256(streamed)], 'streamed response: every byte, intact');

  const head = by.get('head')!;
  t.equal(head.status, 200, 'HEAD: 200');
  t.equal(head.length, 0, 'HEAD: no body');
  t.ok(Number(head.headers['content-length']) > 0, `HEAD: the Content-Length a GET would have (${head.headers['content-length']})`);
  t.equal(srv.log.find((e) => e.path === '/py/head')?.verb, 'HEAD', 'HEAD: the callback saw HEAD');

  for (let i = 0; i < 5; i++) {
    const ka = by.get(`ka${i}`)!;
    t.same([ka.status, ka.json?.path], [200, `/py/ka/${i}`], `keep-alive request ${i} after HEAD: answered`);
  }
  const ports = new Set(results.map((x) => x.clientport));
  t.equal(ports.size, 1, 'python used one socket for all ten requests');
  t.notOk(results.some((x) => x.closed), 'no response closed the connection');
  t.equal(srv.log.length, 10, 'the server saw ten requests');
  t.equal(connectionsOf(srv.log), 1, 'over one connection');
  t.ok(srv.log.every((e) => e.version === '1.1'), 'all HTTP/1.1');
  t.same(srv.errors, [], 'onError was never called');
});
