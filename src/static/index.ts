/**
 * `serveStatic(root)`: a callback that serves the files under a directory
 * (issue #10), for `repy-http serve DIR` and for callbacks that mount it
 * with `route`.
 *
 * The request path is decoded strictly, segment by segment: a bad escape is
 * 400; NUL, a backslash, a `/` that was encoded (`%2f`), an empty name, `.`
 * and `..` are refused; the file is resolved under the real path of `root`
 * and its own real path must still be inside it (a symlink out of `root` is
 * 404). Only GET and HEAD (else 405). Files get Content-Type, Content-Length,
 * Last-Modified, a weak ETag, 304 for If-None-Match / If-Modified-Since
 * (If-None-Match wins, RFC 9110 §13.2.2), a single byte range (206, 416),
 * and are streamed from an open file handle. A directory without its
 * trailing slash is a 301; with one it serves `index.html`, else an HTML
 * listing with every name escaped.
 *
 * @example
 * import { registerCallback, route } from 'repy-http';
 * import { serveStatic } from 'repy-http/static';
 * await registerCallback(['127.0.0.1', 8080], serveStatic('./public'));
 * // or under a prefix: route({ '/assets/': { callback: serveStatic('./public'), strip: true } })
 *
 * @module
 */

import { realpathSync, statSync, type Stats } from 'node:fs';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { RequestDict } from '../server/request.js';
import type { ResponseDict } from '../server/response.js';
import type { Callback } from '../server/server.js';

/** The options of {@link serveStatic}. */
export interface StaticOptions {
  /** The file served for a directory's URL; `null`: none. Default `'index.html'`. */
  index?: string | null;
  /** List a directory that has no index file (default true); false: 404. */
  listing?: boolean;
}

const TEXT = '; charset=utf-8';

/**
 * Content-Type by file extension (lower case, without the dot); anything
 * else is `application/octet-stream`.
 *
 * @example CONTENT_TYPES['css'] // 'text/css; charset=utf-8'
 */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html' + TEXT,
  htm: 'text/html' + TEXT,
  css: 'text/css' + TEXT,
  js: 'text/javascript' + TEXT,
  mjs: 'text/javascript' + TEXT,
  json: 'application/json' + TEXT,
  txt: 'text/plain' + TEXT,
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  wasm: 'application/wasm',
  pdf: 'application/pdf',
};

/**
 * The Content-Type of a file name.
 *
 * @example contentType('a.JS') // 'text/javascript; charset=utf-8'
 */
export function contentType(name: string): string {
  return CONTENT_TYPES[extname(name).slice(1).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * `s` with `& < > " '` escaped for HTML text and attribute values.
 *
 * @example escapeHtml(`<b>&"'`) // '&lt;b&gt;&amp;&quot;&#39;'
 */
export function escapeHtml(s: string): string {
  let out = '';
  for (const ch of s) {
    out += ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '"' ? '&quot;' : ch === "'" ? '&#39;' : ch;
  }
  return out;
}

/** A refusal: 400 (malformed) or 404 (not served). */
class Refused {
  constructor(readonly status: 400 | 404) {}
}

/**
 * The decoded names of a request path, or a refusal. `dir` is true when the
 * path ends with `/`. Empty segments (`//`) are skipped.
 */
function segments(raw: string): { names: string[]; dir: boolean } | Refused {
  if (raw.length === 0 || raw[0] !== '/') return new Refused(400);
  const parts = raw.split('/');
  const names: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    let name: string;
    try {
      name = decodeURIComponent(part);
    } catch {
      return new Refused(400);
    }
    if (name.includes('\0') || name.includes('\\')) return new Refused(400);
    if (name.includes('/') || name === '.' || name === '..') return new Refused(404);
    names.push(name);
  }
  return { names, dir: raw.endsWith('/') };
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of `p` if it exists and is inside `root`, else null. */
async function realInside(root: string, p: string): Promise<string | null> {
  if (!inside(root, p)) return null;
  let real: string;
  try {
    real = await realpath(p);
  } catch {
    return null;
  }
  return inside(root, real) ? real : null;
}

function plain(status: number, msg: string, headers: Record<string, string> = {}): ResponseDict {
  return { statuscode: status, headers: { 'Content-Type': 'text/plain' + TEXT, ...headers }, message: msg + '\n' };
}

/** True when one entity-tag of an If-None-Match list matches `etag` (weak comparison, RFC 9110 §8.8.3.2). */
function noneMatch(list: string, etag: string): boolean {
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (let tag of list.split(',')) {
    tag = tag.trim();
    if (tag === '*') return true;
    if (tag.startsWith('W/')) tag = tag.slice(2);
    if (tag === bare) return true;
  }
  return false;
}

/** A single range `bytes=a-b`, `bytes=a-`, `bytes=-n` over `size` bytes: [start, end], 'unsatisfiable', or null (ignore it). */
function parseRange(value: string, size: number): [number, number] | 'unsatisfiable' | null {
  const v = value.trim();
  if (v.slice(0, 6).toLowerCase() !== 'bytes=') return null;
  const spec = v.slice(6).trim();
  if (spec.includes(',')) return null; // several ranges: the whole file (RFC 9110 §14.2 allows it)
  const dash = spec.indexOf('-');
  if (dash === -1) return null;
  const a = spec.slice(0, dash).trim();
  const b = spec.slice(dash + 1).trim();
  const digits = (s: string): boolean => s.length > 0 && s.length <= 15 && [...s].every((c) => c >= '0' && c <= '9');
  if (a === '') {
    if (!digits(b)) return null;
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size - 1];
  }
  if (!digits(a) || (b !== '' && !digits(b))) return null;
  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (end < start) return null;
  if (start >= size) return 'unsatisfiable';
  return [start, Math.min(end, size - 1)];
}

async function serveFile(req: RequestDict, fh: FileHandle, st: Stats, name: string): Promise<ResponseDict> {
  const mtime = Math.floor(st.mtimeMs / 1000) * 1000;
  const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const lastModified = new Date(mtime).toUTCString();
  const base: Record<string, string> = { ETag: etag, 'Last-Modified': lastModified, 'Accept-Ranges': 'bytes' };
  const h = req.headers as Record<string, string | undefined>;
  const inm = h['If-None-Match'];
  const ims = h['If-Modified-Since'];
  // RFC 9110 §13.2.2: If-None-Match, when present, decides; If-Modified-Since is then ignored.
  const notModified = inm !== undefined ? noneMatch(inm, etag) : ims !== undefined && !Number.isNaN(Date.parse(ims)) && mtime <= Date.parse(ims);
  if (notModified) {
    await fh.close();
    return { statuscode: 304, headers: base };
  }
  const headers: Record<string, string> = { ...base, 'Content-Type': contentType(name), 'X-Content-Type-Options': 'nosniff' };
  let range: [number, number] | 'unsatisfiable' | null = null;
  // Range is defined for GET only (RFC 9110 §14.2); an If-Range that does not match the Last-Modified turns it off.
  const ifRange = h['If-Range'];
  if (req.verb === 'GET' && h.Range !== undefined && (ifRange === undefined || ifRange === lastModified)) range = parseRange(h.Range, st.size);
  if (range === 'unsatisfiable') {
    await fh.close();
    return plain(416, 'range not satisfiable', { ...base, 'Content-Range': `bytes */${st.size}` });
  }
  const [start, end] = range ?? [0, st.size - 1];
  const length = end - start + 1;
  headers['Content-Length'] = String(length);
  if (range !== null) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  const statuscode = range !== null ? 206 : 200;
  if (req.verb === 'HEAD' || length === 0) {
    await fh.close();
    return { statuscode, headers, message: '' };
  }
  return { statuscode, headers, message: fh.createReadStream({ start, end }) };
}

async function listing(dirPath: string, names: string[]): Promise<ResponseDict> {
  const entries = await readdir(dirPath, { withFileTypes: true });
  const rows = entries
    .map((e) => ({ name: e.name, dir: e.isDirectory() }))
    .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    .map(({ name, dir }) => `<li><a href="${escapeHtml(encodeURIComponent(name))}${dir ? '/' : ''}">${escapeHtml(name)}${dir ? '/' : ''}</a></li>`);
  if (names.length > 0) rows.unshift('<li><a href="../">../</a></li>');
  const title = escapeHtml('/' + names.map((n) => n + '/').join(''));
  const html = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of ${title}</title></head>\n<body><h1>Index of ${title}</h1>\n<ul>\n${rows.join('\n')}\n</ul></body></html>\n`;
  return { statuscode: 200, headers: { 'Content-Type': 'text/html' + TEXT, 'X-Content-Type-Options': 'nosniff' }, message: html };
}

/** Opens a regular file at the real path `real`; null when it is not one. */
async function openFile(real: string): Promise<{ fh: FileHandle; st: Stats } | null> {
  let fh: FileHandle;
  try {
    fh = await open(real, 'r');
  } catch {
    return null;
  }
  const st = await fh.stat().catch(() => null);
  if (st === null || !st.isFile()) {
    await fh.close();
    return null;
  }
  return { fh, st };
}

/**
 * A callback serving the files under `root` (GET and HEAD). Throws when
 * `root` is not a directory.
 *
 * @example
 * const id = await registerCallback(['127.0.0.1', 8000], serveStatic('public', { listing: false }));
 */
export function serveStatic(root: string, options: StaticOptions = {}): Callback {
  const base = realpathSync(resolve(root));
  if (!statSync(base).isDirectory()) throw new TypeError(`serveStatic(root): ${root} is not a directory`);
  const index = options.index === undefined ? 'index.html' : options.index;
  const list = options.listing ?? true;
  return async (req) => {
    if (req.verb !== 'GET' && req.verb !== 'HEAD') return plain(405, 'method not allowed', { Allow: 'GET, HEAD' });
    const seg = segments(req.path);
    if (seg instanceof Refused) return plain(seg.status, seg.status === 400 ? 'bad request path' : 'not found');
    const real = await realInside(base, resolve(base, ...seg.names));
    if (real === null) return plain(404, 'not found');
    const st = await stat(real).catch(() => null);
    if (st === null) return plain(404, 'not found');
    if (st.isDirectory()) {
      // Built from the decoded names, so that `//evil.example` cannot become a protocol-relative Location.
      const canonical = '/' + seg.names.map((n) => encodeURIComponent(n) + '/').join('');
      if (!seg.dir) {
        const q = req.querystr === null ? '' : '?' + req.querystr;
        return { statuscode: 301, headers: { Location: canonical + q, 'Content-Type': 'text/plain' + TEXT }, message: `moved to ${canonical}\n` };
      }
      if (index !== null) {
        const indexReal = await realInside(base, resolve(real, index));
        const opened = indexReal === null ? null : await openFile(indexReal);
        if (opened !== null) return serveFile(req, opened.fh, opened.st, index);
      }
      return list ? listing(real, seg.names) : plain(404, 'not found');
    }
    if (seg.dir) return plain(404, 'not found'); // a file named with a trailing slash
    const opened = await openFile(real);
    if (opened === null) return plain(404, 'not found');
    return serveFile(req, opened.fh, opened.st, real);
  };
}
