// package.json "exports": the package is built into a temporary
// node_modules/repy-http (this package.json + a fresh dist/) and imported by
// name from a child process, as a user would. 'repy-http/parser' must work
// without loading the server or the client (no node:net).
import t from 'tap';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const dir = t.testdir({});
const pkg = join(dir, 'node_modules', 'repy-http');

t.before(async () => {
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: root });
});

/**
 * Runs an ES module in a plain child process with cwd in the temp dir; its
 * stdout parsed as JSON. Through `env -u NODE_OPTIONS`: tap's processinfo
 * puts its loaders into NODE_OPTIONS of every process spawned under a test
 * (whatever env is passed), and they load node:net themselves.
 */
async function child(code: string): Promise<unknown> {
  const { stdout } = await run('env', ['-u', 'NODE_OPTIONS', process.execPath, '--input-type=module', '-e', code], { cwd: dir });
  return JSON.parse(stdout) as unknown;
}

/** The subpaths besides "." and "./package.json": the parser and one per add-on, each `dist/<name>/index`. */
const SUBPATHS = [
  'cluster',
  'parser',
  'sse',
  'static',
];

t.test('the exports map names ".", "./package.json" and one entry per subpath, each with its types', async (t) => {
  const exp = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports;
  t.same(Object.keys(exp).sort(), ['.', './package.json', ...SUBPATHS.map((s) => './' + s)].sort());
  t.same(exp['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
  for (const s of SUBPATHS) t.same(exp['./' + s], { types: `./dist/${s}/index.d.ts`, default: `./dist/${s}/index.js` }, s);
});

/**
 * Runs a CommonJS script like child() does: `require('repy-http')` loads the
 * ES modules through require(esm) (Node >= 20.19, no flag), which works only
 * while no module of the graph has a top-level await.
 */
async function cjsChild(code: string): Promise<{ out: unknown; stderr: string }> {
  const { stdout, stderr } = await run('env', ['-u', 'NODE_OPTIONS', process.execPath, '--input-type=commonjs', '-e', code], { cwd: dir });
  return { out: JSON.parse(stdout) as unknown, stderr };
}

t.test('require("repy-http") and require("repy-http/parser") work (require(esm))', async (t) => {
  const { out, stderr } = await cjsChild(`
    const m = require('repy-http');
    const p = require('repy-http/parser');
    const names = ['registerCallback', 'stopCallback', 'open', 'getString', 'compose', 'RequestParser'];
    console.log(JSON.stringify({
      missing: names.filter((n) => typeof m[n] !== 'function'),
      sameParser: m.RequestParser === p.RequestParser,
      sameAsImport: m.registerCallback === (require('repy-http')).registerCallback,
      pkg: require('repy-http/package.json').name,
    }));`);
  t.same(out, { missing: [], sameParser: true, sameAsImport: true, pkg: 'repy-http' });
  // From inside node_modules, Node 20.19+ loads it without an ExperimentalWarning.
  t.equal(stderr, '');
});

t.test('require() of files outside the exports map fails too', async (t) => {
  const { out } = await cjsChild(`
    const codes = [];
    for (const s of ['repy-http/dist/index.js', 'repy-http/server']) {
      try { require(s); codes.push('loaded'); } catch (e) { codes.push(e.code); }
    }
    console.log(JSON.stringify(codes));`);
  t.same(out, ['ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
});

t.test('no module in dist has a top-level await (require(esm) would throw ERR_REQUIRE_ASYNC_MODULE)', async (t) => {
  const { out } = await cjsChild(`
    const { readdirSync } = require('node:fs');
    const { join } = require('node:path');
    const dist = join(require.resolve('repy-http'), '..');
    const failed = [];
    for (const f of readdirSync(dist, { recursive: true })) {
      if (!f.endsWith('.js') || f === 'cli.js') continue; // cli.js runs on load; not exported
      try { require(join(dist, f)); } catch (e) { failed.push(f + ': ' + e.code); }
    }
    console.log(JSON.stringify(failed));`);
  t.same(out, []);
});

t.test('"repy-http/parser" parses and does not load node:net', async (t) => {
  const out = await child(`
    const { RequestParser, parseMessages, HttpParseError } = await import('repy-http/parser');
    const p = new RequestParser();
    p.push(Buffer.from('GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'));
    const ev = p.next();
    const bad = parseMessages(Buffer.from('GET / HTTP/1.1\\r\\nBad Header: x\\r\\n\\r\\n')).error;
    console.log(JSON.stringify({
      target: ev.head?.target, badIsParseError: bad instanceof HttpParseError,
      net: process.moduleLoadList.includes('NativeModule net'),
    }));`);
  t.same(out, { target: '/x', badIsParseError: true, net: false });
});

t.test('"repy-http" exports the repy API, compose included (and does load node:net)', async (t) => {
  const out = await child(`
    const m = await import('repy-http');
    const names = ['registerCallback', 'stopCallback', 'boundAddress', 'compose', 'route', 'withRequest', 'getString', 'RequestParser'];
    console.log(JSON.stringify({
      missing: names.filter((n) => typeof m[n] !== 'function'),
      net: process.moduleLoadList.includes('NativeModule net'),
      sameParser: m.RequestParser === (await import('repy-http/parser')).RequestParser,
    }));`);
  t.same(out, { missing: [], net: true, sameParser: true });
});

t.test('"repy-http/static" exports serveStatic', async (t) => {
  const out = await child(`
    const m = await import('repy-http/static');
    console.log(JSON.stringify({ serveStatic: typeof m.serveStatic, escaped: m.escapeHtml('<&>') }));`);
  t.same(out, { serveStatic: 'function', escaped: '&lt;&amp;&gt;' });
});

t.test('"repy-http/sse" exports eventStream and the event format', async (t) => {
  const out = await child(`
    const m = await import('repy-http/sse');
    console.log(JSON.stringify({ eventStream: typeof m.eventStream, text: m.formatEvent({ id: 1, data: 'a\\nb' }) }));`);
  t.same(out, { eventStream: 'function', text: 'id: 1\ndata: a\ndata: b\n\n' });
});

t.test('"repy-http/cluster" exports serveCluster and its error class', async (t) => {
  const out = await child(`
    const m = await import('repy-http/cluster');
    console.log(JSON.stringify({ serveCluster: typeof m.serveCluster, code: new m.ClusterError('ERR_CLUSTER_OPTION', 'x').code, delay: m.restartDelay(3, m.BACKOFF_DEFAULTS) }));`);
  t.same(out, { serveCluster: 'function', code: 'ERR_CLUSTER_OPTION', delay: 400 });
});

t.test('files outside the exports map are not importable', async (t) => {
  const out = await child(`
    const codes = [];
    for (const s of ['repy-http/dist/server/server.js', 'repy-http/server', 'repy-http/compose']) {
      try { await import(s); codes.push('loaded'); } catch (e) { codes.push(e.code); }
    }
    console.log(JSON.stringify(codes));`);
  t.same(out, ['ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
});

t.test('the parser\'s import graph stays out of server/ and client/ and imports no node: module', async (t) => {
  const dist = join(pkg, 'dist');
  const seen = new Set<string>();
  const bare: string[] = [];
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else bare.push(spec);
    }
  };
  walk(join(dist, 'parser', 'index.js'));
  const files = [...seen].map((f) => f.slice(dist.length + 1)).sort();
  t.ok(files.length >= 2, `walked ${files.join(', ')}`);
  t.same(files.filter((f) => !f.startsWith('parser/') && f !== 'errors.js'), [], 'only parser/ and errors.js');
  t.same(bare, [], 'no node: or package imports');
});

t.test('TypeScript resolves "repy-http/parser" to its declarations', async (t) => {
  writeFileSync(join(dir, 'use.ts'), [
    "import { RequestParser, type RequestHead } from 'repy-http/parser';",
    "import { compose, route, withRequest, type Middleware } from 'repy-http';",
    "import { serveStatic, type StaticOptions } from 'repy-http/static';",
    'export const files = serveStatic(".", { listing: false } satisfies StaticOptions);',
    'const p: RequestParser = new RequestParser();',
    'export const h: RequestHead | null = null;',
    'export const mw: Middleware = (next) => (req) => next(withRequest(req, { path: "/" }));',
    'export const app = compose(mw)(route({ "/": () => ({ statuscode: 204 }) }));',
    'void p;',
  ].join('\n'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['use.ts'],
  }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  // @types/node for Buffer in the declarations: point typeRoots at this repo's.
  cpSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), { recursive: true, dereference: true });
  const r = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir }).then(() => 'ok', (e: { stdout?: string }) => e.stdout ?? String(e));
  t.equal(r, 'ok');
});
