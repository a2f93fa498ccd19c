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
  'certified',
  'idempotency',
  'inspector',
  'jobs',
  'cluster',
  'parser',
  'redis',
  'sessions',
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
    console.log(JSON.stringify({ eventStream: typeof m.eventStream, events: typeof m.events, text: m.formatEvent({ id: 1, data: 'a\\nb' }),
      parsed: new m.EventStreamParser().push(Buffer.from('id: 1\\ndata: a\\n\\n')) }));`);
  t.same(out, { eventStream: 'function', events: 'function', text: 'id: 1\ndata: a\ndata: b\n\n', parsed: [{ id: '1', event: 'message', data: 'a' }] });
});

t.test('"repy-http/sessions" exports sessions and SessionExpiredError (a RepyHttpError)', async (t) => {
  const out = await child(`
    const m = await import('repy-http/sessions');
    const { RepyHttpError } = await import('repy-http');
    const e = new m.SessionExpiredError();
    console.log(JSON.stringify({ sessions: typeof m.sessions, base: e instanceof RepyHttpError, code: e.code, id: m.isSessionId(m.newSessionId()) }));`);
  t.same(out, { sessions: 'function', base: true, code: 'ERR_SESSION_EXPIRED', id: true });
});

t.test('"repy-http/idempotency" and "repy-http/certified" export their API', async (t) => {
  const out = await child(`
    const i = await import('repy-http/idempotency');
    const c = await import('repy-http/certified');
    const root = await import('repy-http');
    const names = [i.idempotent, i.idempotencyKey, i.memoryStore, i.fileStore, c.certifiedRequest, c.resumable, c.checkResumable];
    console.log(JSON.stringify({
      functions: names.every((f) => typeof f === 'function'),
      errorBase: new c.ReplayDivergenceError('j', 1, 'a', 'b') instanceof root.RepyHttpError,
      code: new c.NotResumableError(1, 'x').code,
      key: i.serializeKey('a"b'),
    }));`);
  t.same(out, { functions: true, errorBase: true, code: 'ERR_NOT_RESUMABLE', key: '"a\\"b"' });
});

t.test('"repy-http/redis" loads without touching Redis, and reports a missing server with a code', async (t) => {
  const out = await child(`
    const m = await import('repy-http/redis');
    const err = await m.connectRedis('redis://127.0.0.1:1', { onError: () => {} }).then(() => null, (e) => e);
    console.log(JSON.stringify({ store: typeof m.redisIdempotencyStore, code: err && err.code }));`);
  t.same(out, { store: 'function', code: 'ERR_REDIS' });
});

t.test('"repy-http/inspector" exports withInspector and finds its page and the compiled parser in the package', async (t) => {
  const out = await child(`
    const m = await import('repy-http/inspector');
    const a = m.loadAssets();
    console.log(JSON.stringify({ withInspector: typeof m.withInspector, page: a.files.has('index.html') && a.files.has('tryit.js'), parser: a.parserFound && a.files.has('parser/ranges.js') && a.files.has('errors.js') }));`);
  t.same(out, { withInspector: 'function', page: true, parser: true });
});

t.test('"repy-http/jobs" exports jobResource, runJob and the memory store', async (t) => {
  const out = await child(`
    const m = await import('repy-http/jobs');
    const e = new m.JobCanceledError('u', null);
    console.log(JSON.stringify({ jobResource: typeof m.jobResource, runJob: typeof m.runJob, store: typeof m.memoryStore().append, code: e.code }));`);
  t.same(out, { jobResource: 'function', runJob: 'function', store: 'function', code: 'ERR_JOB_CANCELED' });
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
    "import { idempotent, memoryStore, type IdempotencyStore } from 'repy-http/idempotency';",
    "import { resumable, type ResumableContext } from 'repy-http/certified';",
    'export const store: IdempotencyStore = memoryStore({ max: 10 });',
    'export const keyed = idempotent(() => ({ statuscode: 201 }), { store });',
    'export const flow = (j: string) => resumable(j, async (ctx: ResumableContext) => ctx.persist(() => 1));',
    'export const files = serveStatic(".", { listing: false } satisfies StaticOptions);',
    "import { sessions, type Session, type SessionsOptions } from 'repy-http/sessions';",
    'export const game = sessions(async (s: Session) => { await s.next(); }, { cookie: "sid" } satisfies SessionsOptions);',
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
