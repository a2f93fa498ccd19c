/**
 * The regular expressions of the whole-head fast path (fast-path.ts),
 * built from the byte tables of constants.ts so that the grammar is written
 * once: the byte scanner (head.ts) reads TOKEN, TARGET, REASON and
 * FIELD_VALUE byte by byte, and these expressions use the very same tables
 * as character classes. Internal: exported for test/redos.test.ts, which
 * lints and growth-tests every expression built here.
 *
 * Each stays linear: every quantified class is followed by a character it
 * cannot match (the method and target classes exclude SP, the field-name
 * class excludes ":", the value and reason classes exclude CR), so a failed
 * match gives back each class run once; and the repeated field line ends
 * with LF, which nothing else in it matches, so the lines split one way.
 *
 * @module
 */

import { FIELD_VALUE, REASON, TARGET, TOKEN } from './constants.js';

const hex = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;
/** One byte inside a class: digits and letters as themselves, the rest as `\xHH`. */
const classChar = (b: number): string =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ? String.fromCharCode(b) : hex(b);

/**
 * A byte table (1 = allowed) as a regular-expression class of its runs.
 *
 * @example tableClass(TARGET) === '[\\x21-\\x7e]'; tableClass(FIELD_VALUE, true) === '[^\\x09\\x20-\\x7e\\x80-\\xff]'
 */
export function tableClass(table: Uint8Array, negate = false): string {
  let s = negate ? '[^' : '[';
  for (let b = 0; b < 256; b++) {
    if (table[b] !== 1) continue;
    let e = b;
    while (e < 255 && table[e + 1] === 1) e++;
    s += e === b ? classChar(b) : e === b + 1 ? classChar(b) + classChar(e) : `${classChar(b)}-${classChar(e)}`;
    b = e;
  }
  return `${s}]`;
}

const tchar = tableClass(TOKEN);

/** request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3): TOKEN and TARGET as classes. */
export const REQUEST_LINE = new RegExp(`${tchar}+ ${tableClass(TARGET)}+ HTTP\\/[0-9]\\.[0-9]\\r\\n`, 'y');

/** status-line = HTTP-version SP status-code [ SP reason-phrase ] CRLF (RFC 9112 §4), as the scanner accepts it. */
export const STATUS_LINE = new RegExp(`HTTP\\/([0-9])\\.([0-9]) ([0-9]{3})(?: (${tableClass(REASON)}*))?\\r\\n`, 'y');

/**
 * The field lines of a head and the empty line after them (RFC 9112 §2.1:
 * `*( field-line CRLF ) CRLF`), checked by one call. field-line =
 * field-name ":" OWS field-value OWS (§5): the name, then everything up to
 * the CR — OWS included, stripped when the value is cut. Writing the OWS as
 * quantifiers of their own (`:[\t ]*(…)[\t ]*\r\n`) would put three
 * adjacent quantifiers over SP/HTAB: cubic backtracking (issue #8). The
 * repeated group starts with a name character and ends with CRLF, neither
 * of which the name or value classes can take from a neighbour, so a failed
 * match gives back each character once.
 */
export const FIELD_SECTION = new RegExp(`(?:${tchar}+:${tableClass(FIELD_VALUE)}*\\r\\n)*\\r\\n`, 'y');

/** The first character a field value may not contain (FIELD_VALUE negated). */
export const INVALID_VALUE = new RegExp(tableClass(FIELD_VALUE, true));

/** Every expression built here, for the audit of test/redos.test.ts. */
export const BUILT_PATTERNS: readonly RegExp[] = [REQUEST_LINE, STATUS_LINE, FIELD_SECTION, INVALID_VALUE];
