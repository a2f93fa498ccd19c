// serveStatic (issue #10): files with their validators, conditional and
// range requests, directories, the listing's escaping, the traversal corpus
// (raw node:net and curl --path-as-is), and `repy-http serve` as a process.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { registerCallback, stopCallback, boundAddress } from '../src/index.js';
import { serveStatic, escapeHtml, contentType } from '../src/static/index.js';

const repo = resolve(import.meta.dirname, '..');
const base = realpathSync(mkdtempSync(join(tmpdir(), 'repy-static-')));
const root = join(base, 'root');
const SECRET = 'TOPSECRET-outside-root';
mkdirSync(join(root, 'sub'), { recursive: true });
mkdirSync(join(root, 'dir'));
writeFileSync(join(base, 'secret'), SECRET);
writeFileSync(join(root, 'sub', 'index.html'), '<p>sub index</p>\n');
writeFileSync(join(root, 'a.txt'), 'hello static\n');
const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
writeFileSync(join(root, 'b.bin'), bin);
writeFileSync(join(root, 'dir', 'with space.txt'), 'sp');
const odd = `<b>&"'.txt`;
writeFileSync(join(root, 'dir', odd), 'odd');
writeFileSync(join(root, 'empty.txt'), '');
symlinkSync(base, join(root, 'link-out'));
symlinkSync(join(base, 'secret'), join(root, 'secret-link'));
const mtime = new Date('2026-01-02T03:04:05Z');
utimesSync(join(root, 'a.txt'), mtime, mtime);
t.teardown(() => rmSync(base, { recursive: true, force: true }));

const id = await registerCallback(['127.0.0.1', 0], serveStatic(root));
t.teardown(() => stopCallback(id));
const port = boundAddress(id)[1];

interface Res { status: number; headers: Record<string, string>; body: Buffer }

/** Sends raw request bytes, reads to the close, parses one response. */
function raw(head: string): Promise<Res> {
  return new Promise((done, fail) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', fail);
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const lines = all.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      done({ status: Number(lines[0]!.split(' ')[1]), headers, body: all.subarray(end + 4) });
    });
    s.write(head);
  });
}
const get = (path: string, extra = '', verb = 'GET'): Promise<Res> => raw(`${verb} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`);

t.test('a file: 200 with type, length, ETag, Last-Modified, Accept-Ranges', async (t) => {
  const r = await get('/a.txt');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  t.equal(r.headers['content-length'], '13');
  t.match(r.headers['etag'], /^W\/"d-[0-9a-f]+"$/);
  t.equal(r.headers['last-modified'], 'Fri, 02 Jan 2026 03:04:05 GMT');
  t.equal(r.headers['accept-ranges'], 'bytes');
  t.equal(r.body.toString(), 'hello static\n');
  const b = await get('/b.bin');
  t.equal(b.headers['content-type'], 'application/octet-stream');
  t.same(b.body, bin);
  const e = await get('/empty.txt');
  t.same([e.status, e.headers['content-length'], e.body.length], [200, '0', 0]);
});

t.test('HEAD: the fields and no content', async (t) => {
  const r = await get('/b.bin', '', 'HEAD');
  t.same([r.status, r.headers['content-length'], r.body.length], [200, '256', 0]);
  t.ok(r.headers['etag']);
});

t.test('304 for If-None-Match and If-Modified-Since; If-None-Match wins', async (t) => {
  const etag = (await get('/a.txt')).headers['etag']!;
  const a = await get('/a.txt', `If-None-Match: "x", ${etag}\r\n`);
  t.same([a.status, a.body.length, a.headers['etag']], [304, 0, etag]);
  t.equal((await get('/a.txt', 'If-None-Match: *\r\n')).status, 304);
  t.equal((await get('/a.txt', 'If-Modified-Since: Fri, 02 Jan 2026 03:04:05 GMT\r\n')).status, 304);
  t.equal((await get('/a.txt', 'If-Modified-Since: Fri, 02 Jan 2026 03:04:04 GMT\r\n')).status, 200);
  t.equal((await get('/a.txt', 'If-Modified-Since: garbage\r\n')).status, 200);
  // A non-matching If-None-Match decides even if the date would say 304.
  t.equal((await get('/a.txt', 'If-None-Match: "other"\r\nIf-Modified-Since: Fri, 02 Jan 2026 03:04:05 GMT\r\n')).status, 200);
});

t.test('ranges: 206 single and suffix, 416, several → 200', async (t) => {
  const a = await get('/b.bin', 'Range: bytes=10-19\r\n');
  t.same([a.status, a.headers['content-range'], a.headers['content-length']], [206, 'bytes 10-19/256', '10']);
  t.same(a.body, bin.subarray(10, 20));
  const s = await get('/b.bin', 'Range: bytes=-6\r\n');
  t.same([s.status, s.headers['content-range']], [206, 'bytes 250-255/256']);
  t.same(s.body, bin.subarray(250));
  const o = await get('/b.bin', 'Range: bytes=200-\r\n');
  t.same([o.status, o.body.length], [206, 56]);
  const u = await get('/b.bin', 'Range: bytes=300-400\r\n');
  t.same([u.status, u.headers['content-range']], [416, 'bytes */256']);
  const m = await get('/b.bin', 'Range: bytes=0-1, 5-6\r\n');
  t.same([m.status, m.body.length], [200, 256]);
  t.equal((await get('/b.bin', 'Range: lines=1-2\r\n')).status, 200);
  t.equal((await get('/b.bin', 'Range: bytes=0-1\r\n', 'HEAD')).status, 200, 'HEAD ignores Range');
});

t.test('directories: 301 to the slash, index.html, listing with escaped names', async (t) => {
  const r = await get('/sub?x=1');
  t.same([r.status, r.headers['location']], [301, '/sub/?x=1']);
  const i = await get('/sub/');
  t.same([i.status, i.body.toString()], [200, '<p>sub index</p>\n']);
  const l = await get('/dir/');
  t.equal(l.status, 200);
  t.equal(l.headers['content-type'], 'text/html; charset=utf-8');
  const html = l.body.toString();
  t.ok(html.includes(`href="${escapeHtml(encodeURIComponent(odd))}"`), html);
  t.ok(html.includes('&lt;b&gt;&amp;&quot;&#39;.txt</a>'));
  t.notOk(html.includes('<b>'), 'no raw tag from a name');
  t.ok(html.includes('href="with%20space.txt"'));
  const f = await get('/dir/' + encodeURIComponent(odd));
  t.same([f.status, f.body.toString()], [200, 'odd']);
  t.equal((await get('/a.txt/')).status, 404);
});

t.test('405 with Allow for POST', async (t) => {
  const r = await raw('POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  t.same([r.status, r.headers['allow']], [405, 'GET, HEAD']);
});

const CORPUS = ['/../secret', '/%2e%2e/secret', '/%2e%2e%2fsecret', '/..%2fsecret', '/sub/..%5c..%5csecret', '/%00', '/a%00.txt',
  '/..\\secret', '//etc/passwd', '/link-out/secret', '/secret-link', '/%252e%252e/secret', '/%zz', '/./a.txt', '/sub/%2e/index.html'];

t.test('the traversal corpus (raw): all refused, never the secret', async (t) => {
  for (const p of CORPUS) {
    const r = await get(p);
    t.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
    t.notOk(r.body.toString().includes(SECRET), `${p} leaks nothing`);
  }
  t.equal((await get('/%252e%252e/secret')).status, 404, 'double-encoded is a name, not a traversal');
});

function curl(args: string[]): Promise<{ code: number; out: string } | null> {
  return new Promise((done) => {
    execFile('curl', args, { timeout: 20_000 }, (err, stdout) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') done(null);
      else done({ code: err === null ? 0 : Number(err.code), out: stdout });
    });
  });
}

const hasCurl = (await curl(['--version'])) !== null;

t.test('curl --path-as-is: the corpus refused, files served', { skip: hasCurl ? false : 'curl is missing' }, async (t) => {
  for (const p of CORPUS) {
    const r = (await curl(['-s', '-i', '--path-as-is', `http://127.0.0.1:${port}${p}`]))!;
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(r.out)?.[1]);
    t.ok(status === 404 || status === 400, `curl ${p} → ${status}`);
    t.notOk(r.out.includes(SECRET));
  }
  const ok = (await curl(['-s', '-i', `http://127.0.0.1:${port}/a.txt`]))!;
  t.match(ok.out, /^HTTP\/1\.1 200 OK/);
  t.match(ok.out, /\r\n\r\nhello static\n$/);
  const range = (await curl(['-s', '-r', '0-4', `http://127.0.0.1:${port}/a.txt`]))!;
  t.equal(range.out, 'hello');
});

t.test('contentType and the constructor', async (t) => {
  t.equal(contentType('x.MJS'), 'text/javascript; charset=utf-8');
  t.equal(contentType('x.png'), 'image/png');
  t.equal(contentType('noext'), 'application/octet-stream');
  t.throws(() => serveStatic(join(root, 'a.txt')), TypeError);
  t.throws(() => serveStatic(join(base, 'nope')));
});

t.test('repy-http serve DIR: prints the URL, logs, stops on SIGTERM', async (t) => {
  const child = spawn('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--import', '@tapjs/typescript/import',
    join(repo, 'src', 'cli.ts'), 'serve', root, '--port', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /serving .* on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) done(m[1]!);
    });
    child.on('exit', () => fail(new Error(`exited early: ${out} ${err}`)));
  });
  const res = await fetch(url + 'a.txt');
  t.equal(res.status, 200);
  t.equal(await res.text(), 'hello static\n');
  for (let i = 0; i < 50 && !/"GET \/a\.txt HTTP\/1\.1" 200 13/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  t.match(out, /"GET \/a\.txt HTTP\/1\.1" 200 13/, 'an access-log line');
  child.kill('SIGTERM');
  t.equal(await exited, 0, err);
});

t.test('repy-http serve MODULE.mjs --no-log: the default export answers, no log line', async (t) => {
  const mod = join(base, 'app.mjs');
  writeFileSync(mod, "export default (req) => ({ statuscode: 200, message: 'app ' + req.path });\n");
  const child = spawn('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--import', '@tapjs/typescript/import',
    join(repo, 'src', 'cli.ts'), 'serve', mod, '--port', '0', '--no-log'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) done(m[1]!);
    });
    child.on('exit', () => fail(new Error(`exited early: ${out}`)));
  });
  t.equal(await (await fetch(url + 'x')).text(), 'app /x');
  await new Promise((r) => setTimeout(r, 100));
  t.notMatch(out, /"GET \/x/, 'no access log');
  child.kill('SIGINT');
  t.equal(await exited, 0);
});

t.test('serve(args): usage errors exit 2 without listening', async (t) => {
  const { serve } = await import('../src/cli.js');
  const lines: string[] = [];
  const out = (l: string): void => void lines.push(l);
  t.equal(await serve(['--port', 'x'], out), 2);
  t.equal(await serve(['--bogus'], out), 2);
  t.equal(await serve([join(root, 'a.txt')], out), 2);
  t.equal(await serve([join(base, 'missing')], out), 2);
  const noDefault = join(base, 'nodefault.mjs');
  writeFileSync(noDefault, 'export const x = 1;\n');
  t.equal(await serve([noDefault], out), 2);
  t.equal(await serve(['--help'], out), 0);
  // In-process, stopped by the given promise instead of a signal.
  let stop!: () => void;
  const running = serve([root, '--port', '0', '--no-log'], out, () => new Promise<void>((r) => (stop = r)));
  for (let i = 0; i < 100 && !lines.some((l) => l.startsWith('serving ')); i++) await new Promise((r) => setTimeout(r, 10));
  const url = /on (\S+)/.exec(lines.find((l) => l.startsWith('serving '))!)![1]!;
  t.equal((await fetch(url + 'a.txt')).status, 200);
  stop();
  t.equal(await running, 0);
});

const chromium = await new Promise<boolean>((done) => execFile('chromium', ['--version'], { timeout: 20_000 }, (err) => done(err === null)));

t.test('headless Chromium shows the listing with the names escaped', { skip: chromium ? false : 'chromium is missing' }, async (t) => {
  const dom = await new Promise<string>((done, fail) => {
    execFile('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `http://127.0.0.1:${port}/dir/`],
      { timeout: 60_000 }, (err, stdout) => (err ? fail(err) : done(stdout)));
  });
  t.match(dom, /Index of \/dir\//);
  t.ok(dom.includes('&lt;b&gt;&amp;"\'.txt</a>'), 'the name is text, not markup');
  t.notMatch(dom, /<b>&/, 'no <b> element from a file name');
  t.ok(dom.includes('with space.txt'));
});
