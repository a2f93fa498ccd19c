/**
 * src/ and some test helpers as plain JavaScript in a temporary directory,
 * for tests that start many child processes (a child on the TypeScript
 * loader takes ~1.4 s to start on a busy machine, a plain one ~0.1 s) or
 * that measure a child's memory (the loader's own RSS would hide what is
 * measured: test/dos-memory.test.ts). Type-only imports vanish
 * (verbatimModuleSyntax), `.js` specifiers already point at the outputs.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Transpiles src/**.ts and `helpers` (paths from the repository root) into a new directory; returns it and a remover. */
export function transpileForChildren(helpers: string[]): { dir: string; js: (file: string) => string; remove: () => void } {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-children-'));
  const files = [
    ...(readdirSync(join(root, 'src'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => `src/${f.split('\\').join('/')}`),
    ...helpers,
  ];
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const f of files) {
    const out = ts.transpileModule(readFileSync(join(root, f), 'utf8'), {
      fileName: f,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
    });
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f.replace(/\.ts$/, '.js')), out.outputText);
  }
  return { dir, js: (file) => join(dir, file.replace(/\.ts$/, '.js')), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
