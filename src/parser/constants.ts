/**
 * Byte tables, reason phrases and default limits shared by the parser, the
 * server and the client. Each table is a `Uint8Array(256)` indexed by byte
 * value: 1 where the byte is allowed, 0 where it is not (as httparse and
 * undici do), with the RFC ABNF it encodes beside it.
 *
 * @module
 */

function table(allowed: (b: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = allowed(b) ? 1 : 0;
  return t;
}

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isAlpha = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

/**
 * RFC 9110 §5.6.2:
 * ```
 * token = 1*tchar
 * tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 * ```
 * Used for methods (§9.1), field names (§5.1), transfer codings and chunk
 * extension names.
 *
 * @example TOKEN['G'.charCodeAt(0)] === 1; TOKEN[0x20] === 0
 */
export const TOKEN: Uint8Array = table((b) => isDigit(b) || isAlpha(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)));

/**
 * True when `s` is a token (RFC 9110 §5.6.2: one or more tchar): a method,
 * a field name, a cookie name.
 *
 * @example isToken('Content-Type') === true; isToken('a b') === false; isToken('') === false
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] !== 1) return false;
  }
  return true;
}

/**
 * RFC 9110 §5.5:
 * ```
 * field-value    = *field-content
 * field-content  = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
 * field-vchar    = VCHAR / obs-text        ; %x21-7E / %x80-FF
 * ```
 * SP and HTAB are allowed inside a value (1 here); every other control
 * character, DEL and NUL is not (RFC 9110 §5.5: "a recipient of CR, LF, or
 * NUL within a field value MUST either reject the message or replace each of
 * those characters with SP" — this parser rejects).
 *
 * @example FIELD_VALUE[0x09] === 1; FIELD_VALUE[0x00] === 0
 */
export const FIELD_VALUE: Uint8Array = table((b) => b === 0x09 || b === 0x20 || (b >= 0x21 && b <= 0x7e) || b >= 0x80);

/**
 * The request-target (RFC 9112 §3.2) in any of its four forms is built from
 * URI characters (RFC 3986 §2). This table admits every visible ASCII
 * character (VCHAR, %x21-7E) as llhttp and most servers do, because real
 * clients send unescaped `|`, `{`, `"` and the like; it refuses SP, controls,
 * DEL and every byte >= 0x80 (RFC 3986 has no raw non-ASCII).
 *
 * @example TARGET['/'.charCodeAt(0)] === 1; TARGET[0xce] === 0
 */
export const TARGET: Uint8Array = table((b) => b >= 0x21 && b <= 0x7e);

/**
 * RFC 9112 §4: `reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )`.
 *
 * @example REASON[0x20] === 1; REASON[0x0d] === 0
 */
export const REASON: Uint8Array = FIELD_VALUE;

/**
 * Hex digit values for chunk sizes (RFC 9112 §7.1: `chunk-size = 1*HEXDIG`),
 * 255 for a byte that is not a hex digit.
 *
 * @example HEX['a'.charCodeAt(0)] === 10; HEX['g'.charCodeAt(0)] === 255
 */
export const HEX: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/**
 * RFC 9112 §7.1.1 chunk-ext-val quoted-string characters (RFC 9110 §5.6.4):
 * ```
 * qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
 * ```
 *
 * @example QDTEXT['"'.charCodeAt(0)] === 0; QDTEXT['a'.charCodeAt(0)] === 1
 */
export const QDTEXT: Uint8Array = table((b) => b === 0x09 || b === 0x20 || b === 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e) || b >= 0x80);

/**
 * Characters allowed in a Host field value (RFC 9110 §7.2, RFC 3986 §3.2.2):
 * `uri-host [ ":" port ]`, where uri-host is an IP-literal in brackets, an
 * IPv4 address or a reg-name of unreserved / pct-encoded / sub-delims.
 *
 * @example HOST_CHAR['['.charCodeAt(0)] === 1; HOST_CHAR['/'.charCodeAt(0)] === 0
 */
export const HOST_CHAR: Uint8Array = table((b) => isDigit(b) || isAlpha(b) || "-._~%!$&'()*+,;=:[]".includes(String.fromCharCode(b)));

/**
 * Reason phrases of RFC 9110 §15, used when a response dictionary has no
 * `statusmsg`.
 *
 * @example STATUS_REASONS[404] === 'Not Found'
 */
export const STATUS_REASONS: Readonly<Record<number, string>> = Object.freeze({
  100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Content Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed',
  418: "I'm a teapot", 421: 'Misdirected Request', 422: 'Unprocessable Content', 423: 'Locked', 424: 'Failed Dependency',
  425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates',
  507: 'Insufficient Storage', 508: 'Loop Detected', 510: 'Not Extended', 511: 'Network Authentication Required',
});

/**
 * Default limits of the parser. Each is an option of the same name; see
 * docs/limits.md for the RFC section behind each.
 *
 * @example new RequestParser({ maxHeaderCount: DEFAULT_LIMITS.maxHeaderCount * 2 })
 */
export const DEFAULT_LIMITS = Object.freeze({
  /** Request line (or status line) bytes, CRLF excluded: 414 (RFC 9112 §3). */
  maxRequestLineSize: 8192,
  /** Bytes of the field section (header lines, and separately trailer lines): 431 (RFC 6585 §5). */
  maxHeaderSize: 16384,
  /** Number of header field lines (and separately trailer lines): 431 (RFC 6585 §5). */
  maxHeaderCount: 100,
  /** Bytes of decoded content in one message: 413 (RFC 9110 §15.5.14). */
  maxBodySize: 64 * 1024 * 1024,
  /** Bytes of one chunk-size line including its extensions: 400 (RFC 9112 §7.1.1). */
  maxChunkLineSize: 4096,
  /** Bytes of chunk extensions over one whole message: 400 (RFC 9112 §7.1.1). */
  maxChunkExtensionsSize: 16384,
});
