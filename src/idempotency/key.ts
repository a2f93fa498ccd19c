/**
 * The `Idempotency-Key` request field (draft-ietf-httpapi-idempotency-key-header):
 * an RFC 8941 structured-field string, `Idempotency-Key: "8e03978e-40d5-43e8"`.
 * A bare token-like value (`Idempotency-Key: 8e03978e-40d5-43e8`, as many
 * clients send it) is accepted too. Parsed with a loop, not a regular
 * expression (the input is untrusted).
 *
 * @module
 */

import { isToken } from '../parser/constants.js';

/** The longest key accepted (characters), as the draft's examples and most services bound it. */
export const MAX_KEY_LENGTH = 255;

/** Why a key was refused, or the key. */
export type KeyParse = { key: string } | { error: string };

/**
 * Parses one `Idempotency-Key` field value: an sf-string (RFC 8941 §3.3.3:
 * `"` … `"`, visible ASCII and SP, `\"` and `\\` escapes) or a bare value of
 * token characters plus `:` and `/` (sf-token's set, RFC 8941 §3.3.4, without
 * its first-character rule, so that a bare UUID is accepted). Empty, longer
 * than 255 characters, or anything else is an error.
 *
 * @example
 * parseKeyField('"a-1"') // { key: 'a-1' }
 * parseKeyField('a-1')   // { key: 'a-1' }
 * parseKeyField('""')    // { error: 'the key is empty' }
 */
export function parseKeyField(value: string): KeyParse {
  let key = '';
  if (value.charCodeAt(0) === 0x22) {
    let i = 1;
    for (; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        const n = value.charCodeAt(++i);
        if (n !== 0x22 && n !== 0x5c) return { error: 'a string may only escape " and \\' };
        key += value[i];
      } else if (c < 0x20 || c > 0x7e) {
        return { error: 'a string may only hold visible ASCII and spaces' };
      } else {
        key += value[i];
      }
      if (key.length > MAX_KEY_LENGTH) return { error: `the key is longer than ${MAX_KEY_LENGTH} characters` };
    }
    if (i >= value.length) return { error: 'the string is not closed' };
    if (i !== value.length - 1) return { error: 'one key only: nothing may follow the string' };
  } else {
    for (let i = 0; i < value.length; i++) {
      const ch = value[i]!;
      if (!isToken(ch) && ch !== ':' && ch !== '/') return { error: 'a bare key may only hold token characters, ":" and "/" (quote it as a string)' };
    }
    key = value;
  }
  if (key.length === 0) return { error: 'the key is empty' };
  if (key.length > MAX_KEY_LENGTH) return { error: `the key is longer than ${MAX_KEY_LENGTH} characters` };
  return { key };
}

/**
 * The `Idempotency-Key` field as an sf-string, for a client to send.
 *
 * @example serializeKey('a"b') // '"a\\"b"'
 */
export function serializeKey(key: string): string {
  let out = '"';
  for (const ch of key) out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  return out + '"';
}
