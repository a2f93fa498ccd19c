/**
 * Header fields as both sides present them: the canonical name of a field
 * and the `headers` object (the server's request dictionary and the
 * client's response share its shape).
 *
 * @module
 */

import type { RawHeader } from '../parser/parser.js';
import { setOwn } from './url.js';

const canonicalCache = new Map<string, string>();

/**
 * The canonical form of a field name: each hyphen-separated word with its
 * first letter upper-cased and the rest lower-cased.
 *
 * @example canonicalName('content-TYPE') === 'Content-Type'
 */
export function canonicalName(name: string): string {
  const hit = canonicalCache.get(name);
  if (hit !== undefined) return hit;
  let out = '';
  let upper = true;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  if (canonicalCache.size < 2048) canonicalCache.set(name, out);
  return out;
}

/**
 * Folds field lines into the `headers` object: canonical names, repeats
 * joined with `, ` (RFC 9110 §5.3), except Cookie with `; ` (RFC 6265 §5.4).
 *
 * @example headersObject([['a', '1'], ['A', '2']]) // { A: '1, 2' }
 */
export function headersObject(raw: RawHeader[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of raw) {
    const key = canonicalName(name);
    const prev = Object.prototype.hasOwnProperty.call(out, key) ? out[key] : undefined;
    const next = prev === undefined ? value : `${prev}${key === 'Cookie' ? '; ' : ', '}${value}`;
    setOwn(out, key, next);
  }
  return out;
}
