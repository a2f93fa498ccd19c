/**
 * The files the inspector page is made of, read once into memory: the
 * page's own HTML, CSS and JavaScript (src/inspector/page/, shipped as
 * they are: the package's `files` includes `src`), and the compiled parser
 * (dist/parser/*.js and dist/errors.js), which the page imports as ES
 * modules — no bundler, no CDN: the page works offline.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the page may load. */
export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

const typeOf = (name: string): string | undefined => TYPES[name.slice(name.lastIndexOf('.'))];

/** The first of `dirs` that holds `probe`, or null. */
function firstWith(dirs: string[], probe: string): string | null {
  for (const d of dirs) if (existsSync(join(d, probe))) return d;
  return null;
}

/**
 * Reads the page and the parser modules. Keys are paths under the
 * inspector's prefix: `index.html`, `app.js`, `parser/index.js`,
 * `errors.js`. `parserDir` overrides where the compiled parser is (it must
 * hold `index.js`, with `errors.js` in its parent); without it: beside this
 * module when it runs from dist/, else the package's dist/.
 *
 * @example const files = loadAssets(); files.get('index.html')?.type // 'text/html; charset=utf-8'
 */
export function loadAssets(parserDir?: string): { files: Map<string, Asset>; parserFound: boolean } {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const files = new Map<string, Asset>();
  const pageDir = firstWith([join(here, 'page'), join(here, '..', '..', 'src', 'inspector', 'page')], 'index.html');
  if (pageDir !== null) {
    for (const name of readdirSync(pageDir)) {
      const type = typeOf(name);
      if (type !== undefined) files.set(name, { type, body: readFileSync(join(pageDir, name)) });
    }
  }
  const parser = parserDir ?? firstWith([join(here, '..', 'parser'), join(here, '..', '..', 'dist', 'parser')], 'index.js');
  const parserFound = parser !== null && existsSync(join(parser, 'index.js')) && existsSync(join(parser, '..', 'errors.js'));
  if (parserFound) {
    for (const name of readdirSync(parser)) {
      if (name.endsWith('.js')) files.set(`parser/${name}`, { type: TYPES['.js']!, body: readFileSync(join(parser, name)) });
    }
    files.set('errors.js', { type: TYPES['.js']!, body: readFileSync(join(parser, '..', 'errors.js')) });
  }
  return { files, parserFound };
}
