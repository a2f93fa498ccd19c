/**
 * Real HTTP clients against the server over real sockets: curl (HTTP/1.0,
 * keep-alive reuse, chunked upload, HEAD, Expect: 100-continue) and Node's
 * own fetch (undici: query strings, string and streamed uploads, streamed
 * chunked responses, status round trip, connection reuse). A parser that
 * only agrees with itself can still disagree with the clients people use;
 * these tests catch that.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundAddress, registerCallback, stopCallback, type RequestDict, type ResponseDict } from '../src/index.js';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What the server saw of one request. */
interface Logged {
  verb: string;
  path: string;
  version: string;
  querystr: string | null;
  querydict: Record<string, string | null> | null;
  headers: Record<string, string>;
  remoteportnum: number;
  /** Body bytes read (null when the callback did not read). */
  length: number | null;
  sha: string | null;
}

/**
 * Starts a server on 127.0.0.1:0 whose callback logs every request and routes:
 * - `/noread?status=N`: answers N (default 413) without reading the content;
 * - `/stream?chunks=N&size=S`: streams N chunks of S bytes from an async iterable;
 * - `/status`: a 418 with a custom reason phrase and custom fields;
 * - anything else: reads the whole content and answers JSON (length and sha256).
 */
async function startServer(t: Test): Promise<{ port: number; base: string; log: Logged[]; streamed: Map<string, string>; errors: unknown[] }> {
  const log: Logged[] = [];
  const errors: unknown[] = [];
  const streamed = new Map<string, string>();
  const callback = async (req: RequestDict): Promise<ResponseDict> => {
    const entry: Logged = {
      verb: req.verb, path: req.path, version: req.version, querystr: req.querystr, querydict: req.querydict,
      headers: req.headers, remoteportnum: req.remoteportnum, length: null, sha: null,
    };
    log.push(entry);
    if (req.path === '/noread') {
      return { statuscode: Number(req.querydict?.['status'] ?? 413), headers: { 'Content-Type': 'text/plain' }, message: 'not reading that\n' };
    }
    if (req.path === '/status') {
      return {
        statuscode: 418, statusmsg: 'I Am A Teapot',
        headers: { 'Content-Type': 'text/plain', 'X-Single': 'one', 'X-Multi': ['a', 'b'], 'Cache-Control': 'no-store' },
        message: 'short and stout\n',
      };
    }
    if (req.path === '/stream') {
      const chunks = Number(req.querydict?.['chunks'] ?? 8);
      const size = Number(req.querydict?.['size'] ?? 1024);
      const hash = createHash('sha256');
      const parts: Buffer[] = [];
      for (let i = 0; i < chunks; i++) {
        const p = randomBytes(size);
        hash.update(p);
        parts.push(p);
      }
      streamed.set(req.querystr ?? '', hash.digest('hex'));
      return {
        statuscode: 200,
        headers: { 'Content-Type': 'application/octet-stream' },
        message: (async function* () {
          for (const p of parts) {
            await new Promise((r) => setImmediate(r));
            yield p;
          }
        })(),
      };
    }
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of req.datastream) {
      hash.update(chunk);
      length += chunk.length;
    }
    entry.length = length;
    entry.sha = hash.digest('hex');
    return {
      statuscode: 200,
      headers: { 'Content-Type': 'application/json' },
      message: `${JSON.stringify({ verb: req.verb, path: req.path, version: req.version, length, sha256: entry.sha })}\n`,
    };
  };
  const id = await registerCallback(['127.0.0.1', 0], callback, { onError: (err) => errors.push(err) });
  t.teardown(() => stopCallback(id));
  const [host, port] = boundAddress(id);
  return { port, base: `http://${host}:${port}`, log, streamed, errors };
}

// ------------------------------------------------------------------- curl

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

/** Runs curl with a hard time limit; never rejects (the exit code says how it went). */
function curl(args: string[], input?: Buffer, timeoutMs = 10_000): Promise<Run> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = execFile(
      'curl', ['--max-time', String(Math.ceil(timeoutMs / 1000)), ...args],
      { encoding: 'buffer', timeout: timeoutMs + 2000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
        resolve({ code, stdout, stderr: stderr.toString('utf8'), ms: performance.now() - start });
      },
    );
    child.stdin?.on('error', () => {});
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

const curlMissing = await new Promise<string | false>((resolve) => {
  execFile('curl', ['--version'], { timeout: 5000 }, (err) => {
    resolve(err === null ? false : `curl is not installed (${(err as NodeJS.ErrnoException).code ?? err.message}); CI installs it (apt-get install curl)`);
  });
});

/** Splits `curl -i` output into the head text and the body. */
function splitHead(out: Buffer): { head: string; body: Buffer } {
  const end = out.indexOf('\r\n\r\n');
  if (end === -1) return { head: out.toString('latin1'), body: Buffer.alloc(0) };
  return { head: out.subarray(0, end).toString('latin1'), body: out.subarray(end + 4) };
}

t.test('curl', { skip: curlMissing }, async (t) => {
  const srv = await startServer(t);
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-curl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  t.test('--http1.0 GET', async (t) => {
    const r = await curl(['-sS', '-i', '--http1.0', `${srv.base}/one?x=1`]);
    t.equal(r.code, 0, `curl exit 0 ${r.stderr}`);
    const { head, body } = splitHead(r.stdout);
    t.match(head, /^HTTP\/1\.0 200 OK\r\n/, 'an HTTP/1.0 status line');
    t.match(head, /\r\nContent-Length: \d+/i, 'Content-Length');
    t.match(head, /\r\nConnection: close/i, 'Connection: close (1.0 without keep-alive)');
    t.notMatch(head, /Transfer-Encoding/i, 'no chunked coding for HTTP/1.0');
    const json = JSON.parse(body.toString('utf8')) as { version: string; path: string; length: number };
    t.equal(json.version, '1.0', 'the server saw version 1.0');
    t.equal(json.path, '/one', 'and the path');
    t.equal(json.length, 0, 'and no content');
    t.same(srv.log.at(-1)?.querydict, { x: '1' }, 'querydict');
  });

  t.test('HTTP/1.1 keep-alive: several URLs, one connection', async (t) => {
    const before = srv.log.length;
    const urls = ['/ka1', '/ka2', '/ka3', '/ka4'].map((p) => `${srv.base}${p}`);
    const args = ['-sS', '-w', '%{num_connects} %{http_code}\\n'];
    for (const u of urls) args.push('-o', '/dev/null', u);
    const r = await curl(args);
    t.equal(r.code, 0, `curl exit 0 ${r.stderr}`);
    const lines = r.stdout.toString('utf8').trim().split('\n');
    t.same(lines, ['1 200', '0 200', '0 200', '0 200'], 'one new connection for the first URL, reused for the others');
    const seen = srv.log.slice(before);
    t.same(seen.map((e) => e.path), ['/ka1', '/ka2', '/ka3', '/ka4'], 'the server saw every request in order');
    t.equal(new Set(seen.map((e) => e.remoteportnum)).size, 1, 'all from the same client port');
    t.ok(seen.every((e) => e.version === '1.1'), 'HTTP/1.1');
  });

  t.test('-T - : chunked upload from stdin', async (t) => {
    const data = randomBytes(300 * 1024 + 17);
    const r = await curl(['-sS', '-T', '-', `${srv.base}/upload`], data);
    t.equal(r.code, 0, `curl exit 0 ${r.stderr}`);
    const json = JSON.parse(r.stdout.toString('utf8')) as { verb: string; length: number; sha256: string };
    t.equal(json.verb, 'PUT', 'curl -T sends PUT');
    t.equal(json.length, data.length, 'the server read every byte');
    t.equal(json.sha256, sha256(data), 'intact (sha256)');
    const e = srv.log.at(-1)!;
    t.equal(e.headers['Transfer-Encoding'], 'chunked', 'the server saw Transfer-Encoding: chunked');
    t.equal(e.headers['Content-Length'], undefined, 'and no Content-Length');
  });

  t.test('-I: HEAD gets the header section with Content-Length and no body', async (t) => {
    const r = await curl(['-sS', '-I', `${srv.base}/status`]);
    t.equal(r.code, 0, `curl exit 0 ${r.stderr}`);
    const text = r.stdout.toString('latin1');
    t.match(text, /^HTTP\/1\.1 418 I Am A Teapot\r\n/, 'status line with the custom reason');
    t.match(text, /\r\nContent-Length: 16\r\n/i, 'the Content-Length a GET would have');
    t.ok(text.endsWith('\r\n\r\n'), 'nothing after the header section');
    t.equal(srv.log.at(-1)?.verb, 'HEAD', 'the callback saw HEAD');
    // And over a raw pipeline: curl -I followed by GET on the same connection still frames correctly.
    const r2 = await curl(['-sS', '-w', '%{num_connects}\\n', '-I', `${srv.base}/status`, '-o', '/dev/null', '--next', '-sS', '-w', '%{num_connects}\\n', '-o', '/dev/null', `${srv.base}/after-head`]);
    t.equal(r2.code, 0, `HEAD then GET: curl exit 0 ${r2.stderr}`);
    t.same(r2.stdout.toString('utf8').trim().split('\n'), ['1', '0'], 'the connection survived the HEAD response (no stray body)');
  });

  t.test('2 MiB POST: Expect: 100-continue answered at once, body intact', async (t) => {
    const data = randomBytes(2 * 1024 * 1024);
    const file = join(dir, 'big.bin');
    writeFileSync(file, data);
    // curl waits --expect100-timeout (8 s here, 1 s by default) for 100 Continue before
    // sending anyway: a long wait, so that a busy machine cannot be mistaken for it.
    const r = await curl(['-sS', '--expect100-timeout', '8', '--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream', `${srv.base}/big`]);
    t.equal(r.code, 0, `curl exit 0 ${r.stderr}`);
    const json = JSON.parse(r.stdout.toString('utf8')) as { length: number; sha256: string };
    const e = srv.log.at(-1)!;
    t.equal(e.path, '/big', 'the request reached the callback');
    t.equal(e.headers['Expect'], '100-continue', 'curl sent Expect: 100-continue');
    t.equal(e.headers['Content-Length'], String(data.length), 'with Content-Length');
    t.equal(json.length, data.length, 'the server read every byte');
    t.equal(json.sha256, sha256(data), 'intact (sha256)');
    t.ok(r.ms < 4000, `finished in ${r.ms.toFixed(0)} ms (< 4 s: no expect timeout of 8 s)`);
  });

  t.test('100-continue: a callback that answers without reading the content', async (t) => {
    const data = randomBytes(2 * 1024 * 1024);
    const file = join(dir, 'unread.bin');
    writeFileSync(file, data);
    const r = await curl(['-sS', '-i', '--expect100-timeout', '8', '--data-binary', `@${file}`, `${srv.base}/noread`]);
    t.equal(r.code, 0, `curl exit 0 ${r.stderr}`);
    const { head, body } = splitHead(r.stdout);
    t.notMatch(head, /100 Continue/, 'no 100 Continue: nobody asked for the content');
    t.match(head, /^HTTP\/1\.1 413 Content Too Large\r\n/, 'the final response straight away');
    // The server closes after this response (the client never got 100 and must not send the
    // content); RFC 9110 §10.1.1: it SHOULD say so, or the client thinks the connection is reusable.
    t.match(head, /\r\nConnection: close/i, 'Connection: close announced (the server closes: the content was never asked for)');
    t.equal(body.toString('utf8'), 'not reading that\n', 'body');
    const e = srv.log.at(-1)!;
    t.equal(e.headers['Expect'], '100-continue', 'curl sent Expect: 100-continue');
    t.equal(e.length, null, 'the callback did not read');
    t.ok(r.ms < 4000, `finished in ${r.ms.toFixed(0)} ms (< 4 s: no expect timeout of 8 s)`);
  });

  t.test('2 MiB POST without Expect that the callback does not read: the close is announced', async (t) => {
    // The server answers, drains at most maxDrainSize (1 MiB) of the unread content, then
    // closes. With 2 MiB declared it knows when it answers that it will close, and
    // RFC 9110 §10.1.1 says it SHOULD say so: otherwise the client reuses a dead connection.
    const data = randomBytes(2 * 1024 * 1024);
    const file = join(dir, 'undrained.bin');
    writeFileSync(file, data);
    const r = await curl([
      '-sS', '-i', '-H', 'Expect:', '--data-binary', `@${file}`, `${srv.base}/noread?status=200`,
      '--next', '-sS', '-o', '/dev/null', '-w', '%{http_code}\n', `${srv.base}/after-undrained`,
    ]);
    t.equal(r.code, 0, `curl exit 0 ${r.stderr}`);
    const { head, body } = splitHead(r.stdout);
    t.match(head, /^HTTP\/1\.1 200 OK\r\n/, 'the callback\'s response');
    t.equal(srv.log.find((e) => e.path === '/noread' && e.headers['Expect'] === undefined)?.headers['Content-Length'], String(data.length), 'curl declared 2 MiB without Expect');
    t.match(head, /\r\nConnection: close/i, 'Connection: close: the unread content exceeds what the server drains');
    t.match(body.toString('utf8'), /^not reading that\n200\n$/, 'body, then the next request on a working connection');
  });

  t.test('no callback failures', async (t) => {
    t.same(srv.errors, [], 'onError was never called');
  });
});

// ------------------------------------------------------------------ fetch

t.test('fetch', async (t) => {
  const srv = await startServer(t);

  t.test('GET with a query string', async (t) => {
    const res = await fetch(`${srv.base}/q?a=1&b=x+y&c&d=%C3%A9t%C3%A9&a=2`, { signal: AbortSignal.timeout(5000) });
    t.equal(res.status, 200, '200');
    const json = (await res.json()) as { verb: string; path: string };
    t.equal(json.verb, 'GET', 'GET');
    t.equal(json.path, '/q', 'path without the query');
    const e = srv.log.at(-1)!;
    t.equal(e.querystr, 'a=1&b=x+y&c&d=%C3%A9t%C3%A9&a=2', 'querystr undecoded');
    t.same(e.querydict, { a: '2', b: 'x y', c: null, d: 'été' }, 'querydict decoded (last repeat wins, bare key → null)');
    t.equal(e.headers['Host'], `127.0.0.1:${srv.port}`, 'Host');
  });

  t.test('POST a string body', async (t) => {
    const body = 'hello wörld, '.repeat(1000);
    const res = await fetch(`${srv.base}/post`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
    t.equal(res.status, 200, '200');
    t.equal(res.headers.get('content-type'), 'application/json', 'Content-Type round trip');
    const json = (await res.json()) as { length: number; sha256: string };
    const bytes = Buffer.from(body, 'utf8');
    t.equal(json.length, bytes.length, 'length');
    t.equal(json.sha256, sha256(bytes), 'intact (sha256)');
    t.equal(srv.log.at(-1)?.headers['Content-Length'], String(bytes.length), 'sent with Content-Length');
  });

  t.test('POST a ReadableStream (duplex: half) → chunked upload', async (t) => {
    const parts = Array.from({ length: 40 }, (_, i) => randomBytes(4096 + i * 13));
    const all = Buffer.concat(parts);
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setImmediate(r));
        if (i < parts.length) controller.enqueue(parts[i++]!);
        else controller.close();
      },
    });
    const res = await fetch(`${srv.base}/stream-up`, {
      method: 'POST', body: stream, duplex: 'half', headers: { 'Content-Type': 'application/octet-stream' },
      signal: AbortSignal.timeout(10_000),
    } as RequestInit);
    t.equal(res.status, 200, '200');
    const json = (await res.json()) as { length: number; sha256: string };
    t.equal(json.length, all.length, 'length');
    t.equal(json.sha256, sha256(all), 'intact (sha256)');
    const e = srv.log.at(-1)!;
    t.equal(e.headers['Transfer-Encoding'], 'chunked', 'the server saw Transfer-Encoding: chunked');
    t.equal(e.headers['Content-Length'], undefined, 'no Content-Length');
  });

  t.test('a streamed response from an async iterable arrives chunked and whole', async (t) => {
    const query = 'chunks=64&size=8192';
    const res = await fetch(`${srv.base}/stream?${query}`, { signal: AbortSignal.timeout(10_000) });
    t.equal(res.status, 200, '200');
    t.equal(res.headers.get('transfer-encoding'), 'chunked', 'Transfer-Encoding: chunked');
    t.equal(res.headers.get('content-length'), null, 'no Content-Length');
    t.equal(res.headers.get('content-type'), 'application/octet-stream', 'Content-Type');
    const body = Buffer.from(await res.arrayBuffer());
    t.equal(body.length, 64 * 8192, 'every byte');
    t.equal(sha256(body), srv.streamed.get(query), 'intact (sha256)');
  });

  t.test('status, statusmsg and headers round trip', async (t) => {
    const res = await fetch(`${srv.base}/status`, { signal: AbortSignal.timeout(5000) });
    t.equal(res.status, 418, 'statuscode');
    t.equal(res.statusText, 'I Am A Teapot', 'statusmsg');
    t.equal(res.headers.get('x-single'), 'one', 'a single header');
    t.equal(res.headers.get('x-multi'), 'a, b', 'an array value: one field line per item');
    t.equal(res.headers.get('cache-control'), 'no-store', 'Cache-Control');
    t.equal(res.headers.get('content-length'), '16', 'Content-Length');
    t.ok(res.headers.get('date') !== null && !Number.isNaN(Date.parse(res.headers.get('date')!)), 'a valid Date');
    t.equal(await res.text(), 'short and stout\n', 'body');
  });

  t.test('several sequential fetches reuse one connection', async (t) => {
    const before = srv.log.length;
    for (let k = 0; k < 10; k++) {
      const method = k % 2 === 0 ? 'GET' : 'POST';
      const res = await fetch(`${srv.base}/seq/${k}`, {
        method, body: method === 'POST' ? `body ${k}` : null, signal: AbortSignal.timeout(5000),
      });
      t.equal(res.status, 200, `fetch ${k}: 200`);
      const json = (await res.json()) as { path: string; verb: string; length: number };
      t.same([json.verb, json.path, json.length], [method, `/seq/${k}`, method === 'POST' ? `body ${k}`.length : 0], `fetch ${k}: answered`);
    }
    const seen = srv.log.slice(before);
    t.equal(seen.length, 10, 'ten requests');
    // undici alternates between two pooled connections even for strictly sequential
    // requests (it does the same against node:http), so reuse means at most two.
    const conns = new Set(seen.map((e) => e.remoteportnum)).size;
    t.ok(conns <= 2, `connections kept alive and reused: ${conns} connection(s) for 10 requests`);
  });

  t.test('no callback failures', async (t) => {
    t.same(srv.errors, [], 'onError was never called');
  });
});
