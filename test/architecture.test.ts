/**
 * The import rules of docs/architecture.md, checked on the sources: each
 * layer imports only the layers below it, the server and the client never
 * import each other, and no parser file imports a `node:` module.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function files(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The layer of a file: its folder under src/, or its name for a top-level file. */
function layerOf(rel: string): string {
  if (rel === 'index.ts' || rel.endsWith('/index.ts')) return 'index';
  const slash = rel.indexOf('/');
  return slash === -1 ? rel.replace(/\.ts$/, '') : rel.slice(0, slash);
}

/** Which layers each layer may import (besides itself); anything else is an add-on. */
const ALLOWED: Record<string, string[]> = {
  errors: [],
  parser: ['errors'],
  message: ['parser', 'errors'],
  server: ['message', 'parser', 'errors'],
  client: ['message', 'parser', 'errors'],
  // `repy-http serve` registers a callback and serves a directory (static/index.ts, an add-on's entry point).
  cli: ['message', 'parser', 'errors', 'server', 'index'],
};
const CORE = new Set(Object.keys(ALLOWED));

/** Every module specifier of a source file's import and export statements (not of its comments). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!/^(?:import|export|\}) /.test(line)) continue;
    const at = line.indexOf(" from '");
    const start = at !== -1 ? at + 7 : line.startsWith("import '") ? 8 : -1;
    if (start !== -1) out.push(line.slice(start, line.indexOf("'", start)));
  }
  return out;
}

const all = files(SRC);

t.test('each layer imports only the layers below it', async (t) => {
  t.ok(all.length > 10, `${all.length} source files`);
  for (const file of all) {
    const rel = relative(SRC, file).split('\\').join('/');
    const layer = layerOf(rel);
    if (layer === 'index') continue;
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(file), spec)).split('\\').join('/').replace(/\.js$/, '.ts');
      const to = layerOf(target);
      if (to === layer) continue;
      if (CORE.has(layer)) {
        t.ok(ALLOWED[layer]!.includes(to), `${rel} (${layer}) imports ${spec} (${to})`);
      } else {
        // An add-on: the core layers through their public surface, never another add-on.
        t.ok(CORE.has(to) || to === 'index', `add-on ${rel} imports another add-on's ${spec}`);
      }
    }
  }
});

t.test('no parser file imports a node: module', async (t) => {
  for (const file of all.filter((f) => relative(SRC, f).startsWith('parser'))) {
    const nodeImports = importsOf(readFileSync(file, 'utf8')).filter((s) => s.startsWith('node:') || !s.startsWith('.'));
    t.same(nodeImports, [], relative(SRC, file));
  }
});
