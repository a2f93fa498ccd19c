/**
 * Session ids: 128 random bits, base64url (22 characters), optionally after
 * a *home*: `b2.q3bY0b8jT4eV2xk1Gm9s_A`. Live sessions are in-process
 * state, so when several processes serve one site a proxy must send each
 * request to the process that holds its session. With a home in the id the
 * proxy can read that from the cookie itself (docs/deploy.md: an nginx
 * `map` on `$cookie_sid`), and a new session's first cookie already names
 * the process that made it. A hash of the id would not: the process that
 * makes a session is not the one a hash of its new id picks.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';

/** Characters of an id: 16 bytes are 22 base64url characters (RFC 4648 §5), no padding. */
const ID_LENGTH = 22;

/** The longest home: a short process name, not data. */
const MAX_HOME = 32;

/**
 * A new session id: 128 bits from the operating system's CSPRNG, base64url,
 * after `home` and a dot when one is given. Unguessable: knowing other ids
 * says nothing about the next one (the home is not secret; the 128 bits are).
 *
 * @example
 * newSessionId()      // 'q3bY0b8jT4eV2xk1Gm9s_A'
 * newSessionId('b2')  // 'b2.q3bY0b8jT4eV2xk1Gm9s_A'
 */
export function newSessionId(home?: string): string {
  const random = randomBytes(16).toString('base64url');
  return home === undefined ? random : checkHome(home) + '.' + random;
}

/**
 * `home` if it can be a session id's home: 1–32 characters of the
 * base64url alphabet (letters, digits, `-`, `_`), so the id stays a valid
 * cookie value and path segment. Else `TypeError`.
 *
 * @example checkHome('b2') // 'b2'
 */
export function checkHome(home: unknown): string {
  if (typeof home !== 'string' || home.length === 0 || home.length > MAX_HOME || !isB64url(home, 0, home.length)) {
    throw new TypeError(`a session home must be 1-${MAX_HOME} characters of A-Z a-z 0-9 - _, got ${JSON.stringify(home)}`);
  }
  return home;
}

/** 1 for `A-Z a-z 0-9 - _`, the base64url alphabet. */
const B64URL = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  B64URL[c] = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch === '-' || ch === '_' ? 1 : 0;
}

function isB64url(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || B64URL[c] === 0) return false;
  }
  return true;
}

/**
 * Whether `s` has the shape of an id {@link newSessionId} makes: 22
 * base64url characters, optionally after a home and a dot. A value of any
 * other shape is treated as no id at all, without a look-up. (A loop, not
 * a regular expression: it reads untrusted input.) Any home is accepted
 * here; whether the id names a live session is the registry's question.
 *
 * @example isSessionId('q3bY0b8jT4eV2xk1Gm9s_A') // true; isSessionId('b2.q3bY0b8jT4eV2xk1Gm9s_A') // true; isSessionId('admin') // false
 */
export function isSessionId(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const start = s.length - ID_LENGTH;
  if (start < 0 || (start !== 0 && (start < 2 || start > MAX_HOME + 1 || s.charCodeAt(start - 1) !== 46 /* . */))) return false;
  if (!isB64url(s, 0, start - 1) || !isB64url(s, start, s.length)) return false;
  // 22 characters carry 132 bits; the last one holds 2 bits of the 16 bytes and 4 zero bits.
  return 'AQgw'.includes(s[s.length - 1]!);
}
