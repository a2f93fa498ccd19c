/**
 * Session ids: 128 random bits, base64url (22 characters). Every id is made
 * here, in one function, so that a later version can put more into it (a
 * hint of the process that holds the session, for affinity when several
 * processes serve one site) without touching the mappers.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';

/** Characters of an id: 16 bytes are 22 base64url characters (RFC 4648 §5), no padding. */
const ID_LENGTH = 22;

/**
 * A new session id: 128 bits from the operating system's CSPRNG, base64url.
 * Unguessable: knowing other ids says nothing about the next one.
 *
 * @example newSessionId() // 'q3bY0b8jT4eV2xk1Gm9s_A'
 */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** 1 for `A-Z a-z 0-9 - _`, the base64url alphabet. */
const B64URL = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  B64URL[c] = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch === '-' || ch === '_' ? 1 : 0;
}

/**
 * Whether `s` has the shape of an id {@link newSessionId} makes (22
 * base64url characters). A value of any other shape is treated as no id at
 * all, without a look-up. (A loop, not a regular expression: it reads
 * untrusted input.)
 *
 * @example isSessionId('q3bY0b8jT4eV2xk1Gm9s_A') // true; isSessionId('admin') // false
 */
export function isSessionId(s: unknown): s is string {
  if (typeof s !== 'string' || s.length !== ID_LENGTH) return false;
  for (let i = 0; i < ID_LENGTH; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || B64URL[c] === 0) return false;
  }
  // 22 characters carry 132 bits; the last one holds 2 bits of the 16 bytes and 4 zero bits.
  return 'AQgw'.includes(s[ID_LENGTH - 1]!);
}
