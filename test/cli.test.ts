// The `repy-http parse` command: JSON out, errors with code/status/offset,
// --trace steps with offsets, --split invariance.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { main, unescape } from '../src/cli.js';

function run(args: string[], stdin = ''): { code: number; out: string; json: Record<string, unknown> | null } {
  const lines: string[] = [];
  const code = main(args, (l) => lines.push(l), () => Buffer.from(stdin, 'latin1'));
  const out = lines.join('\n');
  const start = out.indexOf('{\n');
  return { code, out, json: start === -1 ? null : (JSON.parse(out.slice(start)) as Record<string, unknown>) };
}

t.test('a request becomes its dictionary', async (t) => {
  const r = run(['parse', '-'], 'GET /p?a=1&b HTTP/1.1\r\nHost: x\r\nCookie: a\r\ncookie: b\r\n\r\n');
  t.equal(r.code, 0);
  t.same(r.json, {
    messages: [{
      verb: 'GET', path: '/p', querystr: 'a=1&b', querydict: { a: '1', b: null }, version: '1.1',
      headers: { Host: 'x', Cookie: 'a; b' }, rawheaders: [['Host', 'x'], ['Cookie', 'a'], ['cookie', 'b']],
      body: '', bodyLength: 0, trailers: [], keepAlive: true, complete: true,
    }],
    error: null,
    consumed: 56,
  });
});

t.test('pipelined requests, -e escapes, binary body', async (t) => {
  const r = run(['parse', '-e', 'POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 2\\r\\n\\r\\n\\xff\\x00GET /2 HTTP/1.0\\r\\n\\r\\n']);
  t.equal(r.code, 0);
  const msgs = r.json!['messages'] as Record<string, unknown>[];
  t.equal(msgs.length, 2);
  t.equal(msgs[0]!['body_base64'], Buffer.from([0xff, 0]).toString('base64'));
  t.equal(msgs[1]!['path'], '/2');
});

t.test('an error prints code, status, offset, reason and exits 1', async (t) => {
  const r = run(['parse', '-'], 'GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n');
  t.equal(r.code, 1);
  t.same(r.json!['error'], { code: 'HEADER_NAME_INVALID', status: 400, offset: 28, reason: 'invalid character in field name' });
});

t.test('an incomplete message exits 1 and says partial', async (t) => {
  const r = run(['parse', '-'], 'GET / HTTP/1.1\r\nHost: x\r\n');
  t.equal(r.code, 1);
  t.equal(r.json!['partial'], true);
  const eof = run(['parse', '--eof', '-'], 'GET / HTTP/1.1\r\nHost: x\r\n');
  t.equal((eof.json!['error'] as { code: string }).code, 'UNEXPECTED_EOF');
});

t.test('--trace shows each step with its offset; --split changes nothing', async (t) => {
  const raw = 'POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n';
  const r = run(['parse', '--trace', '-'], raw);
  t.match(r.out, /^@ +0 {2}start-line {2}POST \/u \(HTTP\/1\.1\)$/m);
  t.match(r.out, /^@ +18 {2}field {7}Host: x$/m);
  t.match(r.out, /^@ +27 {2}field {7}Transfer-Encoding: chunked$/m);
  t.match(r.out, /^@ +57 {2}head {8}complete$/m);
  t.match(r.out, /^@ +57 {2}chunk-size {2}3$/m);
  t.match(r.out, /^@ +60 {2}data {8}3 bytes "abc"$/m);
  t.match(r.out, /^@ +65 {2}chunk-size {2}0 \(last chunk\)$/m);
  t.match(r.out, /^@ +68 {2}trailer {5}T: 1$/m);
  t.match(r.out, /^@ +76 {2}end {9}message complete$/m);
  for (const n of ['1', '3', '7']) t.same(run(['parse', '--split', n, '-'], raw).json, run(['parse', '-'], raw).json, `--split ${n}`);
  const bad = run(['parse', '--trace', '-'], 'GET / HTTP/1.1\r\nX : y\r\n\r\n');
  t.match(bad.out, /^@ +17 {2}error {7}HEADER_NAME_INVALID at byte 17.*\[error \(in head: field-name\)\]$/m, 'the state it stopped in');
  const nul = run(['parse', '--trace', '-'], 'GET / HTTP/1.1\r\nHost: x\r\nX-A:   \x00\r\n\r\n');
  t.match(nul.out, /HEADER_VALUE_INVALID.*\[error \(in head: field-value\)\]$/m);
  const ext = run(['parse', '--trace', '-'], 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a b\r\nx\r\n0\r\n\r\n');
  t.match(ext.out, /CHUNK_EXTENSION_INVALID.*\[error \(in chunk-size line: BWS after chunk-ext-name\)\]$/m);
  const cut = run(['parse', '--trace', '--eof', '-'], 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab');
  t.match(cut.out, /UNEXPECTED_EOF.*\[error \(in content \(Content-Length\)\)\]$/m);
  const old = run(['parse', '--trace', '-'], 'GET /old\r\n');
  t.match(old.out, /start-line {2}GET \/old \(HTTP\/0\.9\)/);
});

t.test('responses and leniency flags', async (t) => {
  const r = run(['parse', '--response', '-'], 'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!');
  t.same((r.json!['messages'] as unknown[])[0], {
    version: '1.1', statuscode: 404, statusmsg: 'Not Found', headers: { 'Content-Length': '3' }, rawheaders: [['Content-Length', '3']],
    body: 'no!', bodyLength: 3, trailers: [], keepAlive: true, complete: true,
  });
  const head = run(['parse', '--response', '--head', '-'], 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n');
  t.equal(((head.json!['messages'] as Record<string, unknown>[])[0]!)['bodyLength'], 0);
  t.equal(run(['parse', '-'], 'GET / HTTP/1.1\nHost: x\n\n').code, 1);
  t.equal(run(['parse', '--allow-bare-lf', '-'], 'GET / HTTP/1.1\nHost: x\n\n').code, 0);
  t.equal(run(['parse', '--no-require-host', '-'], 'GET / HTTP/1.1\r\n\r\n').code, 0);
  const up = run(['parse', '-'], 'GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n\x81');
  t.equal(up.json!['upgraded'], true);
  const ec = run(['parse', '-'], 'PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n');
  t.equal(((ec.json!['messages'] as Record<string, unknown>[])[0]!)['expectContinue'], true);
});

t.test('usage errors exit 2', async (t) => {
  t.equal(run([]).code, 2);
  t.equal(run(['--help']).code, 0);
  t.equal(run(['parse', '--help']).code, 0);
  t.equal(run(['frobnicate']).code, 2);
  t.equal(run(['parse', '--bogus']).code, 2);
  t.equal(run(['parse', '--split', '0']).code, 2);
  t.equal(run(['parse', '-e']).code, 2);
  t.equal(run(['parse', '/nonexistent/file']).code, 2);
  t.equal(unescape('a\\x41\\t\\0\\\\').toString('latin1'), 'aA\t\0\\');
});

t.test('reads a file argument', async (t) => {
  const file = new URL('../package.json', import.meta.url).pathname;
  const r = run(['parse', file]);
  t.equal((r.json!['error'] as { code: string }).code, 'METHOD_INVALID', 'JSON is not HTTP');
});

t.test('the built bin runs', { skip: existsSync('dist/cli.js') ? false : 'dist/cli.js not built (npm run build)' }, async (t) => {
  const out = execFileSync(process.execPath, ['dist/cli.js', 'parse', '-e', 'GET / HTTP/1.0\\r\\n\\r\\n'], { encoding: 'utf8' });
  t.match(out, /"verb": "GET"/);
});

t.test('--version, --help lists every escape, empty and partial input say so', async (t) => {
  const v = run(['--version']);
  t.equal(v.code, 0);
  t.match(v.out, /^repy-http \d+\.\d+\.\d+/);
  t.equal(run(['-V']).out, v.out);
  const help = run(['--help']).out;
  for (const e of ['\\r', '\\n', '\\t', '\\0', '\\\\', '\\xHH']) t.ok(help.includes(e), `--help names the escape ${e}`);
  const empty = run(['parse', '-'], '');
  t.equal(empty.code, 1, 'empty input: exit 1');
  t.match(empty.out, /^no input: 0 bytes/);
  const cut = run(['parse', '-'], 'GET / HT');
  t.equal(cut.code, 1);
  t.match(cut.out, /^incomplete: the input ends inside a message after 8 bytes/);
  t.equal((cut.json as { partial?: boolean }).partial, true);
});

t.test('the examples of docs/cli.md run as written', async (t) => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cli = join(root, 'dist', 'cli.js');
  if (!existsSync(cli)) {
    t.comment('dist/cli.js not built (npm run build): skipped');
    return;
  }
  // A scratch folder with `repy-http` and `npx` on PATH running the built CLI, and dist/ beside.
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'repy-http'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'npx'), `#!/bin/sh\n[ "$1" = repy-http ] && shift\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 });
  symlinkSync(join(root, 'dist'), join(dir, 'dist'));
  const doc = readFileSync(join(root, 'docs', 'cli.md'), 'utf8');
  const examples: { command: string; shown: string }[] = [];
  for (const block of doc.split('```').filter((_, k) => k % 2 === 1)) {
    const [lang, ...lines] = block.split('\n');
    if (lang === 'sh') {
      for (const l of lines) if (/^(npx|node|printf) /.test(l)) examples.push({ command: l.replace(/ +#.*$/, ''), shown: '' });
    } else if (lang === 'console') {
      if (!lines[0]!.startsWith('$ ')) continue;
      // The command, with its continuation lines (a trailing backslash), then what the doc shows.
      let k = 0;
      let command = lines[0]!.slice(2);
      while (command.endsWith('\\') && k + 1 < lines.length) command = `${command.slice(0, -1)} ${lines[++k]!.trim()}`;
      examples.push({ command, shown: lines.slice(k + 1).join('\n') });
    }
  }
  t.ok(examples.length >= 6, `${examples.length} examples`);
  for (const { command, shown } of examples) {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env['PATH']}` };
    delete env['NODE_OPTIONS'];
    let code = 0;
    let out = '';
    try {
      out = execFileSync('sh', ['-c', command], { cwd: dir, env, encoding: 'utf8' });
    } catch (e) {
      code = (e as { status: number }).status;
      out = String((e as { stdout: string }).stdout);
    }
    const wantCode = /"code": "([A-Z_]+)"/.exec(shown)?.[1];
    if (wantCode !== undefined) t.ok(code === 1 && out.includes(`"code": "${wantCode}"`), `${command}: ${wantCode} as shown`);
    else t.equal(code, 0, `${command}: runs (${out.split('\n')[0]})`);
  }
});
