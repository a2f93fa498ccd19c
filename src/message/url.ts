/**
 * URL helpers: the query-string decoding behind the request dictionary's
 * `querydict`, and the urllib.repy / urlparse.repy functions (`quote`,
 * `unquote`, `quoteParameters`, `urlsplit`...) used by the client.
 *
 * @module
 */

import { ValueError } from '../errors.js';

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

// ---------------------------------------------------------------------------
// urllib.repy and urlparse.repy: quoting and URL splitting.
//
// The port's decisions where the original was buggy or ambiguous (docs/client.md
// lists them with the original behaviour beside each):
// - strings are text: their UTF-8 bytes are quoted ('é' → '%C3%A9'), and
//   unquote decodes UTF-8 (invalid sequences become U+FFFD); pass a
//   Uint8Array to quote exact bytes, and use unquoteToBytes to get them back;
// - '~' is unreserved (RFC 3986 §2.3) and never quoted (the original gave '%7E');
// - unquote accepts exactly two hex digits after '%' (the original's int()
//   also took '% 1' and '%+1');
// - quoteParameters of a non-object is a TypeError (the original's was a NameError);
// - unquoteParameters('') is {} (the original raised ValueError), so that
//   quoteParameters({}) round-trips;
// - urlsplit: the scheme must be RFC 3986 scheme characters (the original's
//   check was a no-op), the userinfo ends at the last '@', the hostname is
//   lower-cased, IPv6 literals '[::1]:8080' are understood, and the port must
//   be 0–65535.
// ---------------------------------------------------------------------------

const HEX_UPPER = '0123456789ABCDEF';

/** Bytes never quoted: RFC 3986 §2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}

function toBytes(s: string | Uint8Array, what: string): Uint8Array {
  if (typeof s === 'string') return Buffer.from(s, 'utf8');
  if (s instanceof Uint8Array) return s;
  throw new TypeError(`${what} must be a string or a Uint8Array`);
}

function safeSet(safe: unknown, what: string): Set<number> {
  if (typeof safe !== 'string') throw new TypeError(`${what}: safe must be a string`);
  const set = new Set<number>();
  // Only ASCII characters can be kept: anything else is quoted as UTF-8 bytes.
  for (let i = 0; i < safe.length; i++) if (safe.charCodeAt(i) < 0x80) set.add(safe.charCodeAt(i));
  return set;
}

function quoteBytes(bytes: Uint8Array, safe: Set<number>): string {
  let out = '';
  for (const b of bytes) {
    if (isUnreserved(b) || safe.has(b)) out += String.fromCharCode(b);
    else out += `%${HEX_UPPER[b >> 4]}${HEX_UPPER[b & 15]}`;
  }
  return out;
}

/**
 * `urllib_quote`: percent-encodes every byte except the RFC 3986 unreserved
 * characters (`A-Z a-z 0-9 - . _ ~`) and the ASCII characters of `safe`.
 * A string is quoted as its UTF-8 bytes; a Uint8Array byte for byte.
 * Escapes use upper-case hex. TypeError for other argument types.
 *
 * @example quote('/home/foo bar') === '/home/foo%20bar'
 * @example quote('é') === '%C3%A9'; quote(Buffer.from([0xfb])) === '%FB'; quote('~x') === '~x'
 */
export function quote(s: string | Uint8Array, safe = '/'): string {
  return quoteBytes(toBytes(s, 'quote'), safeSet(safe, 'quote'));
}

/**
 * `urllib_quote_plus`: {@link quote} with a space kept and then written as
 * `+`, and nothing else safe by default (so `/` becomes `%2F`): the
 * `application/x-www-form-urlencoded` style.
 *
 * @example quotePlus('~f oo/') === '~f+oo%2F'
 */
export function quotePlus(s: string | Uint8Array, safe = ''): string {
  if (typeof safe !== 'string') throw new TypeError('quotePlus: safe must be a string');
  return quote(s, `${safe} `).replace(/ /g, '+');
}

/**
 * Decodes `%XX` escapes to bytes. Every `%` must be followed by exactly two
 * hex digits, else ValueError (`foo%`, `foo%4`, `foo%4g`). Characters that are
 * not escapes count as their UTF-8 bytes. The output is not rescanned
 * (`%2541` → `%41`).
 *
 * @example unquoteToBytes('foo%FB') // <Buffer 66 6f 6f fb>
 */
export function unquoteToBytes(s: string): Buffer {
  if (typeof s !== 'string') throw new TypeError('unquote: argument must be a string');
  if (s.indexOf('%') === -1) return Buffer.from(s, 'utf8');
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === PERCENT) {
      const h = i + 1 < s.length ? hexValue(s.charCodeAt(i + 1)) : -1;
      const l = i + 2 < s.length ? hexValue(s.charCodeAt(i + 2)) : -1;
      if (h < 0 || l < 0) throw new ValueError(`Quoted string is poorly formed: ${JSON.stringify(s.slice(i, i + 3))} at index ${i} is not %XX`);
      bytes.push(h * 16 + l);
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else {
      const cp = s.codePointAt(i)!;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  return Buffer.from(bytes);
}

/**
 * `urllib_unquote`: decodes `%XX` escapes and reads the bytes as UTF-8
 * (a byte sequence that is not UTF-8 becomes U+FFFD; use
 * {@link unquoteToBytes} for the exact bytes). ValueError on a malformed
 * escape.
 *
 * @example unquote('/home/foo%20bar') === '/home/foo bar'; unquote('%C3%A9') === 'é'
 */
export function unquote(s: string): string {
  if (typeof s !== 'string') throw new TypeError('unquote: argument must be a string');
  if (s.indexOf('%') === -1) return s;
  return unquoteToBytes(s).toString('utf8');
}

/**
 * `urllib_unquote_plus`: `+` becomes a space, then {@link unquote}.
 *
 * @example unquotePlus('~f+oo%2F') === '~f oo/'
 */
export function unquotePlus(s: string): string {
  if (typeof s !== 'string') throw new TypeError('unquotePlus: argument must be a string');
  return unquote(s.replace(/\+/g, ' '));
}

/**
 * `urllib_quote_parameters`: `quote(key)=quote(value)` for each own
 * enumerable property in order, joined with `&` (so a space is `%20` and `/`
 * is kept, as in the original). TypeError when `obj` is not a plain object
 * (null, an array, a string...) or a value is not a string.
 *
 * @example quoteParameters({ first: '1st', q: 'a b&c' }) === 'first=1st&q=a%20b%26c'
 */
export function quoteParameters(obj: Readonly<Record<string, string>>): string {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || obj instanceof Uint8Array) {
    throw new TypeError('quoteParameters: expected an object of string keys and string values');
  }
  const parts: string[] = [];
  for (const key of Object.keys(obj)) {
    const value = (obj as Record<string, unknown>)[key];
    if (typeof value !== 'string') throw new TypeError(`quoteParameters: the value of ${JSON.stringify(key)} must be a string, got ${value === null ? 'null' : typeof value}`);
    parts.push(`${quote(key)}=${quote(value)}`);
  }
  return parts.join('&');
}

/**
 * `urllib_unquote_parameters`: splits on `&`; every piece must contain
 * exactly one `=`, else ValueError (a bare `k`, `a=b=c`, an empty piece);
 * keys and values are decoded with {@link unquotePlus}; the last repeat wins.
 * The empty string gives `{}`. A key `__proto__` is an ordinary own property.
 * Compare {@link parseQuery}, the lenient decoder behind the server's `querydict`.
 *
 * @example unquoteParameters('a=1&b=x+y&a=2') // { a: '2', b: 'x y' }
 */
export function unquoteParameters(s: string): Record<string, string> {
  if (typeof s !== 'string') throw new TypeError('unquoteParameters: argument must be a string');
  const out: Record<string, string> = {};
  if (s.length === 0) return out;
  for (const piece of s.split('&')) {
    const kv = piece.split('=');
    if (kv.length !== 2) throw new ValueError(`unquoteParameters: ${JSON.stringify(piece)} is not a key=value pair`);
    setOwn(out, unquotePlus(kv[0]!), unquotePlus(kv[1]!));
  }
  return out;
}

/** The result of {@link urlsplit}: the original's nine fields. */
export interface SplitUrl {
  /** Lower-cased scheme, or the default scheme when the URL has none (`''` by default). */
  scheme: string;
  /** The authority after `//` as written (userinfo and port included), or `''`. */
  netloc: string;
  /** The path, `;params` included; `''` when empty (`//foo` → `''`). */
  path: string;
  /** The text after the first `?` (before the fragment), or `''`. */
  query: string;
  /** The text after the first `#`, or `''` (always `''` when fragments are not allowed). */
  fragment: string;
  /** The user of the userinfo, or null (also null when empty). */
  username: string | null;
  /** The password of the userinfo (may be `''`), or null when there is no `:`. */
  password: string | null;
  /** The host, lower-cased, IPv6 literal without its brackets; null when empty. */
  hostname: string | null;
  /** The port as an integer, or null. */
  port: number | null;
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/**
 * `urlparse_urlsplit`: splits a URL into the nine fields of {@link SplitUrl}
 * the way the original does (Python 2.6 urlsplit with its dictionary
 * result): scheme up to the first `:` when it is a valid scheme; the netloc
 * after `//` up to the first `/`, `?` or `#`; then the fragment at the first
 * `#` (when `allowFragments`), then the query at the first `?`. `;params` stay
 * in the path. Nothing is decoded.
 *
 * ValueError for a port that is not decimal digits (`host:88-88`, `host:`),
 * above 65535, or text after an IPv6 literal's `]` that is not `:port`.
 * TypeError when `url` is not a string.
 *
 * @example
 * urlsplit('scheme://user:pass@host:8888/path?query#fragment')
 * // { scheme: 'scheme', netloc: 'user:pass@host:8888', path: '/path', query: 'query', fragment: 'fragment',
 * //   username: 'user', password: 'pass', hostname: 'host', port: 8888 }
 * urlsplit('http://[::1]:8080/').hostname === '::1'
 */
export function urlsplit(url: string, defaultScheme = '', allowFragments = true): SplitUrl {
  if (typeof url !== 'string') throw new TypeError('urlsplit: url must be a string');
  if (typeof defaultScheme !== 'string') throw new TypeError('urlsplit: defaultScheme must be a string');
  const out: SplitUrl = {
    scheme: defaultScheme, netloc: '', path: '', query: '', fragment: '',
    username: null, password: null, hostname: null, port: null,
  };
  let rest = url;
  const colon = url.indexOf(':');
  if (colon > 0 && SCHEME_RE.test(url.slice(0, colon))) {
    out.scheme = url.slice(0, colon).toLowerCase();
    rest = url.slice(colon + 1);
  }
  if (rest.startsWith('//')) {
    let end = rest.length;
    for (const d of '/?#') {
      const k = rest.indexOf(d, 2);
      if (k !== -1 && k < end) end = k;
    }
    out.netloc = rest.slice(2, end);
    rest = rest.slice(end);
    splitAuthority(out.netloc, out);
  }
  if (allowFragments) {
    const hash = rest.indexOf('#');
    if (hash !== -1) {
      out.fragment = rest.slice(hash + 1);
      rest = rest.slice(0, hash);
    }
  }
  const q = rest.indexOf('?');
  if (q !== -1) {
    out.query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  out.path = rest;
  return out;
}

function splitAuthority(netloc: string, out: SplitUrl): void {
  let hostport = netloc;
  const at = netloc.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = netloc.slice(0, at);
    hostport = netloc.slice(at + 1);
    const c = userinfo.indexOf(':');
    const user = c === -1 ? userinfo : userinfo.slice(0, c);
    if (user.length > 0) out.username = user;
    if (c !== -1) out.password = userinfo.slice(c + 1);
  }
  let host: string;
  let port: string | null = null;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close === -1) throw new ValueError(`urlsplit: unterminated IPv6 literal in ${JSON.stringify(netloc)}`);
    host = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after.length > 0) {
      if (after[0] !== ':') throw new ValueError(`urlsplit: unexpected ${JSON.stringify(after)} after the IPv6 literal in ${JSON.stringify(netloc)}`);
      port = after.slice(1);
    }
  } else {
    const c = hostport.indexOf(':');
    host = c === -1 ? hostport : hostport.slice(0, c);
    if (c !== -1) port = hostport.slice(c + 1);
  }
  if (host.length > 0) out.hostname = host.toLowerCase();
  if (port !== null) {
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) throw new ValueError(`urlsplit: invalid port ${JSON.stringify(port)} in ${JSON.stringify(netloc)}`);
    out.port = Number(port);
  }
}
