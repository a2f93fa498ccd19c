/**
 * URL helpers: the query-string decoding behind the request dictionary's
 * `querydict`.
 *
 * @module
 */

const PLUS = 0x2b;
const PERCENT = 0x25;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decodes `%XX` escapes (and `+` as space when `plus`) as UTF-8, leniently:
 * a malformed escape (`%`, `%4`, `%zz`) is kept literally, and byte
 * sequences that are not valid UTF-8 become U+FFFD. Used for `querydict`,
 * where a request must never fail because of its query.
 *
 * @example decodeComponentLenient('a+b%20c%zz', true) === 'a b c%zz'
 */
export function decodeComponentLenient(s: string, plus: boolean): string {
  if (s.indexOf('%') === -1 && (!plus || s.indexOf('+') === -1)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === PERCENT && i + 2 < s.length) {
      const h = hexValue(s.charCodeAt(i + 1));
      const l = hexValue(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        bytes.push(h * 16 + l);
        i += 2;
        continue;
      }
    }
    if (c === PLUS && plus) bytes.push(0x20);
    else if (c < 0x80) bytes.push(c);
    else {
      const cp = s.codePointAt(i)!;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Parses a query string into the request dictionary's `querydict`: `k=v`
 * → `'v'`, a bare `k` → `null`, `+` and `%XX` decoded as UTF-8, a malformed
 * escape kept literally, the last repeat wins, empty pieces skipped.
 * A key like `__proto__` is stored as an ordinary own property.
 *
 * @example parseQuery('foo=bar&baz') // { foo: 'bar', baz: null }
 */
export function parseQuery(query: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (query.length === 0) return out;
  for (const piece of query.split('&')) {
    if (piece.length === 0) continue;
    const eq = piece.indexOf('=');
    if (eq === -1) setOwn(out, decodeComponentLenient(piece, true), null);
    else setOwn(out, decodeComponentLenient(piece.slice(0, eq), true), decodeComponentLenient(piece.slice(eq + 1), true));
  }
  return out;
}

/**
 * `obj[key] = value` that also works for the key `__proto__` (which a plain
 * assignment would treat as the prototype).
 *
 * @example setOwn({}, '__proto__', 'x') // { ['__proto__']: 'x' } as an own property
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
