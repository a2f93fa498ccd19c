/**
 * The bytes and string helpers every part of the parser shares: the
 * delimiters of RFC 9112 §2 and the OWS rules of RFC 9110 §5.6.3.
 *
 * @module
 */

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const EQUALS = 0x3d;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

/**
 * `buf.latin1Slice(start, end)`: Node's undocumented but long-stable fast
 * path behind `toString('latin1', ...)` (one char per byte, no decoding).
 */
export const latin1 = (buf: Buffer, start: number, end: number): string =>
  (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end);

/** Strips trailing SP / HTAB (the leading OWS is skipped before the value starts). */
export function trimTrailingOWS(s: string): string {
  let e = s.length;
  while (e > 0) {
    const c = s.charCodeAt(e - 1);
    if (c !== SP && c !== HTAB) break;
    e--;
  }
  return e === s.length ? s : s.slice(0, e);
}

/** Lower-case ASCII comparison of `s` with an already lower-case `lower`. */
export function equalsLower(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  // `lower` is [a-z-] only; in a token, c | 0x20 equals one of those only for its two cases.
  for (let k = 0; k < s.length; k++) if ((s.charCodeAt(k) | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * Strips OWS (SP / HTAB, RFC 9110 §5.6.3) from both ends. Not
 * `String.prototype.trim`, which also strips NBSP (0xA0), NEL (0x85) and
 * friends: stripping those is the http-garden "server-12" smuggling bug.
 */
export function trimOWS(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === SP || s.charCodeAt(a) === HTAB)) a++;
  while (b > a && (s.charCodeAt(b - 1) === SP || s.charCodeAt(b - 1) === HTAB)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Splits a comma-separated list (RFC 9110 §5.6.1) into OWS-trimmed, lower-cased members. */
export function listMembers(value: string): string[] {
  return value.split(',').map((m) => trimOWS(m).toLowerCase());
}
