/**
 * nginx as a reverse proxy in front of the server, with upstream keep-alive
 * (`keepalive 16`, `proxy_http_version 1.1`, `Connection ""`): nginx is the
 * most common thing people put in front of an HTTP server, and it is strict
 * about upstream framing: a wrong length, a bad chunk or a connection
 * closed under a reused request shows up as a 502 and an [error] line.
 * `proxy_next_upstream off` makes nginx report such a failure instead of
 * retrying it quietly on a fresh connection.
 *
 * Through nginx: GETs with query strings, POST bodies, chunked uploads
 * (buffered by nginx into Content-Length, and streamed as chunked with
 * `proxy_request_buffering off`), 100 requests over reused upstream
 * connections, and a chunked response streamed back with
 * `proxy_buffering off`.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connectionsOf, loggingServer, run, sha256, sleep, within } from './helpers/peers-common.js';
import { nginxBinary as nginx, nginxSkip, startNginx } from './helpers/nginx.js';

const version = nginx === null ? null : await run(nginx, ['-v'], { timeoutMs: 5000 });
const skip = nginxSkip !== false
  ? nginxSkip
  : version!.code !== 0 ? `nginx -v failed: ${version!.stderr.trim()}` : false;

t.test('nginx reverse proxy with upstream keep-alive', { skip, timeout: 30_000 }, async (t) => {
  t.comment(version!.stderr.trim());

  // ---------------------------------------------------------- our server
  let firstUploadChunk: () => void = () => {};
  const firstUploadArrived = new Promise<void>((resolve) => (firstUploadChunk = resolve));
  let streamGateOpen: () => void = () => {};
  const streamGate = new Promise<void>((resolve) => (streamGateOpen = resolve));
  let streamGateTimedOut = false;
  const streamParts = [Buffer.from('part-0 '), randomBytes(64 * 1024), Buffer.from(' part-2 '), randomBytes(200 * 1024), Buffer.from(' end\n')];

  const big = randomBytes(6 * 1024 * 1024 + 3);
  const srv = await loggingServer(t, async (req) => {
    if (req.path === '/stream/gated') {
      // The first part, then wait until the client says it arrived: proves
      // that nginx passes the chunks on as they come instead of collecting.
      return {
        statuscode: 200,
        headers: { 'Content-Type': 'application/octet-stream' },
        message: (async function* () {
          yield streamParts[0]!;
          if ((await within(streamGate, 5000)) === false) streamGateTimedOut = true;
          for (const p of streamParts.slice(1)) {
            await new Promise((r) => setImmediate(r));
            yield p;
          }
        })(),
      };
    }
    if (req.path === '/big') return { statuscode: 200, headers: { 'Content-Type': 'application/octet-stream' }, message: big };
    if (req.path === '/close') {
      return { statuscode: 200, headers: { 'Content-Type': 'text/plain', Connection: 'close', 'X-Upstream-Port': String(req.remoteportnum) }, message: 'closing\n' };
    }
    let length = 0;
    const parts: Buffer[] = [];
    for await (const chunk of req.datastream) {
      if (length === 0 && req.path === '/unbuffered/gated') firstUploadChunk();
      length += chunk.length;
      parts.push(chunk);
    }
    const all = Buffer.concat(parts);
    return {
      statuscode: 200,
      headers: { 'Content-Type': 'application/json', 'X-Upstream-Port': String(req.remoteportnum) },
      message: `${JSON.stringify({
        verb: req.verb, path: req.path, querystr: req.querystr, querydict: req.querydict,
        length, sha256: sha256(all),
        te: req.headers['Transfer-Encoding'] ?? null, cl: req.headers['Content-Length'] ?? null,
      })}\n`,
    };
  });

  // --------------------------------------------------------------- nginx
  const proxy = 'proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_next_upstream off; proxy_read_timeout 10s;';
  const { base, errorLog } = await startNginx(t, (port) => `
  client_max_body_size 16m;
  upstream backend {
    server 127.0.0.1:${srv.port};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / { ${proxy} }
    location /unbuffered/ { ${proxy} proxy_request_buffering off; }
    location /stream/ { ${proxy} proxy_buffering off; }
  }`);

  t.test('GETs with query strings arrive as sent', async (t) => {
    const queries = ['a=1&b=x+y&c&d=%C3%A9t%C3%A9', 'q=%2F%3F%26', 'empty=&&k'];
    for (const q of queries) {
      const res = await fetch(`${base}/get/path%20x?${q}`, { signal: AbortSignal.timeout(5000) });
      t.equal(res.status, 200, `?${q}: 200`);
      const json = (await res.json()) as { verb: string; path: string; querystr: string | null; length: number };
      t.same([json.verb, json.path, json.querystr, json.length], ['GET', '/get/path%20x', q, 0], `?${q}: verb, undecoded path and querystr`);
    }
    t.same(srv.log.at(-3)?.querydict, { a: '1', b: 'x y', c: null, d: 'été' }, 'querydict decoded');
    const e = srv.log.at(-1)!;
    t.equal(e.version, '1.1', 'nginx speaks HTTP/1.1 upstream');
    t.equal(e.headers['Host'], 'backend', 'Host is the upstream name ($proxy_host)');
    t.equal(e.headers['Connection'], undefined, 'no Connection field (proxy_set_header Connection "")');
  });

  t.test('POST bodies (nginx sends them with Content-Length)', async (t) => {
    for (const size of [0, 1, 1000, 100_000, 3 * 1024 * 1024 + 5]) {
      const data = randomBytes(size);
      const res = await fetch(`${base}/post/${size}`, { method: 'POST', body: data, signal: AbortSignal.timeout(10_000) });
      t.equal(res.status, 200, `${size} bytes: 200`);
      const json = (await res.json()) as { length: number; sha256: string; cl: string | null; te: string | null };
      t.same([json.length, json.sha256, json.cl, json.te], [size, sha256(data), String(size), null], `${size} bytes: intact, Content-Length framing`);
    }
  });

  const chunkedBody = (parts: Buffer[], before?: (i: number) => Promise<void>): ReadableStream<Uint8Array> => {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (before !== undefined) await before(i);
        else await new Promise((r) => setImmediate(r));
        if (i < parts.length) controller.enqueue(parts[i++]!);
        else controller.close();
      },
    });
  };

  t.test('chunked upload, buffered by nginx (default): Content-Length upstream', async (t) => {
    const parts = Array.from({ length: 20 }, (_, i) => randomBytes(3000 + i * 101));
    const all = Buffer.concat(parts);
    const res = await fetch(`${base}/buffered-upload`, {
      method: 'PUT', body: chunkedBody(parts), duplex: 'half', signal: AbortSignal.timeout(10_000),
    } as RequestInit);
    t.equal(res.status, 200, '200');
    const json = (await res.json()) as { length: number; sha256: string; cl: string | null; te: string | null };
    t.same([json.length, json.sha256], [all.length, sha256(all)], 'intact');
    t.same([json.cl, json.te], [String(all.length), null], 'nginx collected it and sent Content-Length');
  });

  t.test('chunked upload streamed through (proxy_request_buffering off): chunked upstream', async (t) => {
    const parts = Array.from({ length: 30 }, (_, i) => randomBytes(5000 + i * 7));
    const all = Buffer.concat(parts);
    let waitedOk = true;
    const body = chunkedBody(parts, async (i) => {
      // Part 1 is sent only once our server has read part 0: a proxy that
      // buffered the whole upload would deadlock here (and time out).
      if (i === 1) waitedOk = (await within(firstUploadArrived, 5000)) !== false;
    });
    const res = await fetch(`${base}/unbuffered/gated`, {
      method: 'POST', body, duplex: 'half', headers: { 'Content-Type': 'application/octet-stream' }, signal: AbortSignal.timeout(10_000),
    } as RequestInit);
    t.equal(res.status, 200, '200');
    const json = (await res.json()) as { length: number; sha256: string; cl: string | null; te: string | null };
    t.ok(waitedOk, 'our server read the first part before the client sent the second (streamed, not buffered)');
    t.same([json.length, json.sha256], [all.length, sha256(all)], 'intact');
    t.same([json.te, json.cl], ['chunked', null], 'the server saw Transfer-Encoding: chunked from nginx');
    t.equal(srv.log.at(-1)?.headers['Content-Type'], 'application/octet-stream', 'fields forwarded');
  });

  t.test('100 requests over reused upstream connections', async (t) => {
    const before = srv.log.length;
    const statuses: number[] = [];
    let bad = 0;
    // 5 clients in parallel, 20 requests each, GETs and POSTs mixed.
    await Promise.all(Array.from({ length: 5 }, async (_, w) => {
      for (let k = 0; k < 20; k++) {
        const post = k % 3 === 0;
        const body = post ? `worker ${w} request ${k} `.repeat(k + 1) : null;
        const res = await fetch(`${base}/many/${w}/${k}?w=${w}&k=${k}`, { method: post ? 'POST' : 'GET', body, signal: AbortSignal.timeout(10_000) });
        statuses.push(res.status);
        const json = (await res.json().catch(() => null)) as { path: string; length: number; querydict: Record<string, string> } | null;
        if (json === null || json.path !== `/many/${w}/${k}` || json.length !== (body?.length ?? 0) || json.querydict['k'] !== String(k)) bad++;
      }
    }));
    const seen = srv.log.slice(before);
    const conns = connectionsOf(seen);
    t.equal(statuses.length, 100, '100 responses');
    t.equal(statuses.filter((s) => s === 502).length, 0, 'no 502 from nginx');
    t.ok(statuses.every((s) => s === 200), 'every one 200');
    t.equal(bad, 0, 'every response answered its own request');
    t.equal(seen.length, 100, 'our server saw 100 requests (no retries)');
    t.ok(conns <= 16, `over ${conns} upstream connections (keepalive 16, 5 clients): far fewer than 100`);
    t.comment(`nginx: 100 requests over ${conns} upstream connections`);
  });

  t.test('a chunked response streamed back through nginx (proxy_buffering off)', async (t) => {
    const res = await fetch(`${base}/stream/gated`, { signal: AbortSignal.timeout(10_000) });
    t.equal(res.status, 200, '200');
    t.equal(res.headers.get('transfer-encoding'), 'chunked', 'nginx passes it on chunked');
    t.equal(res.headers.get('content-length'), null, 'no Content-Length');
    const reader = res.body!.getReader();
    const got: Buffer[] = [];
    let n = 0;
    while (n < streamParts[0]!.length) {
      const { value, done } = await reader.read();
      if (done) break;
      got.push(Buffer.from(value));
      n += value.length;
    }
    t.equal(Buffer.concat(got).subarray(0, 7).toString(), 'part-0 ', 'the first part arrived while the callback was still producing');
    streamGateOpen();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got.push(Buffer.from(value));
    }
    const all = Buffer.concat(got);
    const want = Buffer.concat(streamParts);
    t.notOk(streamGateTimedOut, 'the gate was opened by the client, not by the 5 s fallback');
    t.equal(all.length, want.length, `every byte (${want.length})`);
    t.equal(sha256(all), sha256(want), 'intact (sha256)');
    // And the upstream connection stays usable after a chunked response.
    const res2 = await fetch(`${base}/after-stream`, { signal: AbortSignal.timeout(5000) });
    t.equal(res2.status, 200, 'the next request through nginx works');
    await res2.text();
  });

  t.test('a 6 MiB response through nginx (buffered to its temp file): intact', async (t) => {
    const res = await fetch(`${base}/big`, { signal: AbortSignal.timeout(10_000) });
    t.equal(res.status, 200, '200');
    t.equal(res.headers.get('content-length'), String(big.length), 'Content-Length passed on');
    const body = Buffer.from(await res.arrayBuffer());
    t.equal(body.length, big.length, 'every byte');
    t.equal(sha256(body), sha256(big), 'intact (sha256)');
  });

  t.test('Connection: close from the callback: nginx does not reuse that connection', async (t) => {
    const ports: string[] = [];
    for (let k = 0; k < 3; k++) {
      const res = await fetch(`${base}/close`, { signal: AbortSignal.timeout(5000) });
      t.equal(res.status, 200, `request ${k}: 200, no 502`);
      t.equal(await res.text(), 'closing\n', `request ${k}: body`);
      ports.push(res.headers.get('x-upstream-port') ?? '');
    }
    t.equal(new Set(ports).size, 3, `a different upstream connection each time, none reused after its Connection: close (ports ${ports.join(', ')})`);
    const res = await fetch(`${base}/after-close`, { signal: AbortSignal.timeout(5000) });
    t.equal(res.status, 200, 'and a keep-alive request after them works');
    await res.text();
  });

  t.test('nginx logged no upstream error', async (t) => {
    await sleep(50);
    const lines = errorLog().split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l) || /upstream (prematurely|sent)/.test(l));
    t.same(lines, [], 'no [error]/[crit]/[alert] lines and no "upstream prematurely closed"/"upstream sent invalid" in error.log');
    t.same(srv.errors, [], 'onError was never called');
    t.comment(`our server saw ${srv.log.length} requests from nginx over ${connectionsOf(srv.log)} connections`);
  });
});
