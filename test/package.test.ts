// The npm package as a user gets it: the package is built and packed with
// `npm pack` from a staging copy (this repo's dist/ is left alone: other
// tests run it), the tarball is extracted into a scratch project's
// node_modules/repy-http (no runtime dependencies, so no install and no
// network), and the scratch project uses it from ESM, from CommonJS
// (require(esm)) and from TypeScript. Children run through
// `env -u NODE_OPTIONS`: tap puts its loaders into every child's NODE_OPTIONS.
import t from 'tap';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[]; name: string; version: string };

const dir = t.testdir({ stage: {}, packed: {}, scratch: { node_modules: { 'repy-http': {} } } });
const stage = join(dir, 'stage');
const scratch = join(dir, 'scratch');
const installed = join(scratch, 'node_modules', 'repy-http');
let files: string[] = [];

const plain = (cmd: string, args: string[], cwd: string) => run('env', ['-u', 'NODE_OPTIONS', cmd, ...args], { cwd, maxBuffer: 16 << 20 });

t.before(async () => {
  // Stage what "files" names (dist/ is built there), with a tsconfig equal to tsconfig.build.json.
  cpSync(join(root, 'package.json'), join(stage, 'package.json'));
  for (const f of rootPkg.files) {
    if (f.startsWith('!') || f === 'dist') continue;
    cpSync(join(root, f), join(stage, f), { recursive: true });
  }
  writeFileSync(join(stage, 'tsconfig.json'), JSON.stringify({
    extends: join(root, 'tsconfig.build.json'),
    compilerOptions: { rootDir: 'src', outDir: 'dist' },
    include: ['src/**/*.ts'],
  }));
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules')); // @types/node; npm pack never packs node_modules
  await plain(process.execPath, [tsc, '-p', join(stage, 'tsconfig.json')], stage);
  // The build is done: --ignore-scripts skips "prepare" (the same build again).
  const { stdout } = await plain('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', join(dir, 'packed')], stage);
  const info = (JSON.parse(stdout) as { filename: string; files: { path: string }[] }[])[0]!;
  files = info.files.map((f) => f.path).sort();
  await plain('tar', ['-xzf', join(dir, 'packed', info.filename), '-C', installed, '--strip-components=1'], scratch);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
});

t.test('the tarball holds the package and nothing else', async (t) => {
  for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/parser/index.js', 'dist/parser/index.d.ts', 'dist/cli.js', 'src/index.ts', 'docs/api.md', 'docs/client.md']) {
    t.ok(files.includes(f), f);
  }
  t.same(files.filter((f) => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('examples/') || f.includes('node_modules') || f.startsWith('dist-check/')), [], 'no tests, benchmarks, examples or dependencies');
  t.same(files.filter((f) => f.startsWith('dist/cli.d.ts')), [], 'no declarations of the command-line entry');
  t.ok(readFileSync(join(installed, 'LICENSE'), 'utf8').includes('Copyright (c) 2026 the repy-http authors'));
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
  t.match(pkg, { license: 'MIT', engines: { node: '>=20.19' }, repository: { url: /github\.com\/repy-http\/repy-http/ }, homepage: String, bugs: { url: String } });
  // Every file the exports map and bin name is in the tarball.
  const named = JSON.stringify([pkg.exports, pkg.bin, pkg.main, pkg.types]).match(/\.?\/?dist\/[^"]+/g) ?? [];
  t.same(named.map((f) => f.replace(/^\.\//, '')).filter((f) => !files.includes(f)), [], 'exports, bin, main and types exist');
});

t.test('every source map resolves to files in the tarball', async (t) => {
  const maps = files.filter((f) => f.endsWith('.map'));
  t.ok(maps.length > 20, `${maps.length} maps`);
  const missing: string[] = [];
  for (const m of maps) {
    const map = JSON.parse(readFileSync(join(installed, m), 'utf8')) as { sources: string[]; sourceRoot?: string; file: string };
    if (!files.includes(posix.join(posix.dirname(m), map.file))) missing.push(`${m}: file ${map.file}`);
    for (const s of map.sources) {
      const f = posix.normalize(posix.join(posix.dirname(m), map.sourceRoot ?? '', s));
      if (!files.includes(f)) missing.push(`${m}: ${s}`);
    }
  }
  t.same(missing, []);
});

t.test('relative links in README.md and docs/ resolve inside the tarball', async (t) => {
  const broken: string[] = [];
  for (const md of files.filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(installed, md), 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link!) || link!.startsWith('#')) continue;
      const target = posix.normalize(posix.join(posix.dirname(md), link!.split('#')[0]!));
      if (!files.includes(target) && !files.some((f) => f.startsWith(`${target.replace(/\/$/, '')}/`))) broken.push(`${md}: ${link}`);
    }
  }
  t.same(broken, []);
});

const serve = (imports: string): string => `${imports}
const id = await registerCallback(['127.0.0.1', 0], (req) => ({ statuscode: 200, message: 'hello ' + req.path }));
const [host, port] = boundAddress(id);
const viaFetch = await (await fetch('http://' + host + ':' + port + '/fetch')).text();
const viaClient = await getString('http://' + host + ':' + port + '/client');
await stopCallback(id);
console.log(JSON.stringify([viaFetch, viaClient]));
`;

t.test('an ES module imports "repy-http", serves and fetches', async (t) => {
  writeFileSync(join(scratch, 'esm.mjs'), serve("import { registerCallback, boundAddress, stopCallback, getString } from 'repy-http';"));
  const { stdout, stderr } = await plain(process.execPath, ['esm.mjs'], scratch);
  t.same(JSON.parse(stdout), ['hello /fetch', 'hello /client']);
  t.equal(stderr, '');
});

t.test('a CommonJS file requires "repy-http" (require(esm)), serves and fetches', async (t) => {
  const body = serve("const { registerCallback, boundAddress, stopCallback, getString } = require('repy-http');\nconst { RequestParser } = require('repy-http/parser');");
  writeFileSync(join(scratch, 'cjs.cjs'), `(async () => {\n${body}\nconsole.log(typeof RequestParser);\n})();\n`);
  const { stdout, stderr } = await plain(process.execPath, ['cjs.cjs'], scratch);
  const [answer, parser] = stdout.trim().split('\n');
  t.same(JSON.parse(answer!), ['hello /fetch', 'hello /client']);
  t.equal(parser, 'function');
  t.equal(stderr, '', 'no ExperimentalWarning from inside node_modules');
});

t.test('TypeScript (NodeNext) type-checks ESM and CommonJS users of both entry points', async (t) => {
  mkdirSync(join(scratch, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(scratch, 'node_modules', '@types', 'node'));
  writeFileSync(join(scratch, 'use.mts'), [
    "import { registerCallback, getString, open, HttpTimeoutError, type Callback, type OpenOptions } from 'repy-http';",
    "import { RequestParser, parseMessages, type RequestHead } from 'repy-http/parser';",
    "const cb: Callback = (req) => ({ statuscode: 200, message: req.path });",
    'const opts: OpenOptions = { connectTimeout: 1000 };',
    'export const id: Promise<number> = registerCallback(["127.0.0.1", 0], cb);',
    'export const s: Promise<string> = getString("http://127.0.0.1/", opts);',
    'export const o = open("http://127.0.0.1/").catch((e: unknown) => e instanceof HttpTimeoutError ? e.code : null);',
    'const p = new RequestParser();',
    'export const head: RequestHead | null = null;',
    'export const n: number = parseMessages(Buffer.from("")).messages.length;',
    'void p;',
    '// @ts-expect-error: not exported',
    "import type {} from 'repy-http/dist/server/server.js';",
  ].join('\n'));
  writeFileSync(join(scratch, 'use.cts'), [
    "import { registerCallback, type Callback } from 'repy-http';",
    "import { RequestParser } from 'repy-http/parser';",
    "const cb: Callback = () => ({ statuscode: 204 });",
    'export const id: Promise<number> = registerCallback(["127.0.0.1", 0], cb);',
    'export const p: RequestParser = new RequestParser();',
  ].join('\n'));
  writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] },
    files: ['use.mts', 'use.cts'],
  }));
  const r = await plain(process.execPath, [tsc, '-p', join(scratch, 'tsconfig.json')], scratch).then(() => 'ok', (e: { stdout?: string }) => e.stdout ?? String(e));
  t.equal(r, 'ok');
  t.notOk(existsSync(join(scratch, 'use.mjs')), 'nothing emitted');
});
