/**
 * What users reach for (issue #10): a field by any case (`header`), response
 * dictionaries for JSON, text and redirects (`json`, `text`, `redirect`),
 * the request content as text or JSON within a size limit (`body.text`,
 * `body.json`, `BodyError`, `bodyErrors`), and cookies (`cookies`,
 * `setCookie`).
 *
 * Pure functions over the request and response dictionaries: nothing here
 * touches a socket, and `req.headers` stays the repy dictionary.
 * No regular expressions (every character is checked in a loop).
 *
 * @example
 * import { registerCallback, compose, bodyErrors, body, json, cookies, setCookie } from 'repy-http';
 * const app = compose(bodyErrors)(async (req) => {
 *   const input = await body.json(req, { limit: 64 * 1024 }); // 413 / 400 through bodyErrors
 *   const seen = Number(cookies(req).seen ?? '0') + 1;
 *   const res = json({ got: input, seen });
 *   return { ...res, headers: { ...res.headers, 'Set-Cookie': [setCookie('seen', String(seen), { httpOnly: true, path: '/' })] } };
 * });
 * await registerCallback(['127.0.0.1', 8080], app);
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';
import { isToken } from '../parser/constants.js';
import { trimOWS } from '../parser/text.js';
import type { Middleware } from './compose.js';
import type { RequestDict } from './request.js';
import type { ResponseDict } from './response.js';

/** The part of a request the header and cookie helpers look at. */
type WithRawHeaders = Pick<RequestDict, 'rawheaders'>;

/**
 * The value of field `name`, matched in any case, as `req.headers` would
 * hold it: repeated lines joined with `, ` (Cookie with `; `, RFC 6265
 * §5.4); `undefined` when the request has no such field. It reads
 * `req.rawheaders`, so it works whatever the name's canonical form is and on
 * copies whose `headers` a middleware replaced.
 *
 * @example
 * header(req, 'content-type') // 'application/json' for a 'CONTENT-TYPE: application/json' line
 * header(req, 'X-Missing')    // undefined
 */
export function header(req: WithRawHeaders, name: string): string | undefined {
  if (typeof name !== 'string') throw new TypeError('header(req, name): name must be a string');
  const raw = req?.rawheaders;
  if (!Array.isArray(raw)) throw new TypeError('header(req, name): req must be a request dictionary (with rawheaders)');
  const want = name.toLowerCase();
  const sep = want === 'cookie' ? '; ' : ', ';
  let out: string | undefined;
  for (const [n, v] of raw) {
    if (n.length !== want.length || n.toLowerCase() !== want) continue;
    out = out === undefined ? v : out + sep + v;
  }
  return out;
}

// ---------------------------------------------------------------- responses

function checkStatus(fn: string, status: number): void {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new RangeError(`${fn}: status must be an integer 200–599, got ${String(status)}`);
  }
}

/**
 * A JSON response: `JSON.stringify(value)` with
 * `Content-Type: application/json; charset=utf-8`. Throws `TypeError` for a
 * value JSON cannot encode (undefined, a function, a symbol, a BigInt, a
 * cycle) and `RangeError` for a status outside 200–599.
 *
 * @example return json({ id: 7 }, 201); // { statuscode: 201, headers: {...}, message: '{"id":7}' }
 */
export function json(value: unknown, status = 200): ResponseDict & { headers: Record<string, string>; message: string } {
  checkStatus('json(value, status)', status);
  const message = JSON.stringify(value) as string | undefined; // throws TypeError for BigInt and cycles
  if (message === undefined) throw new TypeError(`json(value): ${typeof value} cannot be encoded as JSON`);
  return { statuscode: status, headers: { 'Content-Type': 'application/json; charset=utf-8' }, message };
}

/**
 * A text response with `Content-Type: text/plain; charset=utf-8`.
 *
 * @example return text('hello\n'); // { statuscode: 200, headers: {...}, message: 'hello\n' }
 */
export function text(s: string, status = 200): ResponseDict & { headers: Record<string, string>; message: string } {
  if (typeof s !== 'string') throw new TypeError('text(s, status): s must be a string');
  checkStatus('text(s, status)', status);
  return { statuscode: status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, message: s };
}

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * A redirect to `location` with a short text body. `status` is one of 301,
 * 302 (default), 303, 307, 308, else `RangeError`. The Location is checked:
 * a control character (CR, LF, NUL, … DEL) or an empty string is a
 * `TypeError` (no header injection); non-ASCII characters and spaces are
 * percent-encoded as UTF-8 (`encodeURI`), existing `%XX` escapes are kept.
 * A relative reference is sent as given (RFC 9110 §10.2.2 allows it).
 *
 * @example
 * return redirect('/login?next=%2Fhome');   // 302
 * return redirect('/café', 303);             // Location: /caf%C3%A9
 */
export function redirect(location: string, status = 302): ResponseDict & { headers: Record<string, string>; message: string } {
  if (typeof location !== 'string' || location.length === 0) throw new TypeError('redirect(location): location must be a non-empty string');
  if (!REDIRECTS.has(status)) throw new RangeError(`redirect(location, status): status must be 301, 302, 303, 307 or 308, got ${String(status)}`);
  let out = '';
  let from = 0;
  for (let i = 0; i < location.length; i++) {
    const c = location.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new TypeError(`redirect(location): control character 0x${c.toString(16).padStart(2, '0')} at ${i}`);
    if (c > 0x20 && c < 0x7f) continue;
    // A space or a run of non-ASCII: percent-encode it as UTF-8.
    let j = i + 1;
    if (c !== 0x20) while (j < location.length && location.charCodeAt(j) > 0x7f) j++;
    let enc: string;
    try {
      enc = encodeURI(location.slice(i, j));
    } catch {
      throw new TypeError(`redirect(location): lone surrogate at ${i}`);
    }
    out += location.slice(from, i) + enc;
    from = j;
    i = j - 1;
  }
  out += location.slice(from);
  return {
    statuscode: status,
    headers: { Location: out, 'Content-Type': 'text/plain; charset=utf-8' },
    message: `Redirecting to ${out}\n`,
  };
}

// ---------------------------------------------------------------- request content

/** A stable code of {@link BodyError}. */
export type BodyErrorCode = 'ERR_BODY_TOO_LARGE' | 'ERR_BAD_UTF8' | 'ERR_BAD_JSON';

const BODY_STATUS: Record<BodyErrorCode, number> = { ERR_BODY_TOO_LARGE: 413, ERR_BAD_UTF8: 400, ERR_BAD_JSON: 400 };

/**
 * The request content was refused by `body.text` / `body.json`: too large
 * (`ERR_BODY_TOO_LARGE`, status 413), not UTF-8 (`ERR_BAD_UTF8`, 400) or
 * not JSON (`ERR_BAD_JSON`, 400). It carries the `status` and the
 * `response` dictionary to answer with: return `e.response` from the
 * callback, or wrap the callback in {@link bodyErrors} which does it.
 * Uncaught, it is like any other throw: 500 and `onError`.
 *
 * @example
 * try { data = await body.json(req); } catch (e) { if (e instanceof BodyError) return e.response; throw e; }
 */
export class BodyError extends RepyHttpError {
  override name = 'BodyError';
  declare readonly code: BodyErrorCode;
  /** The HTTP status to answer with: 413 or 400. */
  readonly status: number;
  constructor(code: BodyErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = BODY_STATUS[code];
  }

  /** A fresh response dictionary: the status and the message as text. */
  get response(): ResponseDict & { headers: Record<string, string>; message: string } {
    return text(`${this.message}\n`, this.status);
  }
}

/**
 * A middleware that answers a {@link BodyError} thrown (or rejected) by the
 * callback with its `response` (413 / 400); other errors pass on unchanged.
 *
 * @example const app = compose(bodyErrors)(async (req) => json(await body.json(req)));
 */
export const bodyErrors: Middleware = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    if (e instanceof BodyError) return e.response;
    throw e;
  }
};

/** Options of `body.text` and `body.json`. */
export interface BodyOptions {
  /** The most content bytes accepted (default 1 MiB); more is a `BodyError` `ERR_BODY_TOO_LARGE` (413). */
  limit?: number;
}

/** `body.text`'s and `body.json`'s default limit: 1 MiB. */
export const BODY_LIMIT = 1024 * 1024;

/**
 * Reads the content, at most `limit` bytes. It asks `datastream` for
 * `limit + 1` bytes: `read(n)` resolves once n bytes are buffered or the
 * content ends, and the connection stops reading the socket once it holds
 * that many, so a larger upload is never buffered beyond `limit + 1` bytes
 * (plus one socket read). A Content-Length above the limit is refused before
 * reading anything.
 */
async function readLimited(req: Pick<RequestDict, 'datastream' | 'rawheaders'>, options: BodyOptions | undefined): Promise<Buffer> {
  const limit = options?.limit ?? BODY_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new TypeError('body: limit must be a non-negative integer');
  if (req === null || typeof req !== 'object' || typeof req.datastream?.read !== 'function') {
    throw new TypeError('body: req must be a request dictionary (with datastream)');
  }
  const cl = Array.isArray(req.rawheaders) ? header(req, 'content-length') : undefined;
  // The parser has checked Content-Length (digits; repeats agree): its first value is the length.
  if (cl !== undefined && Number(cl.split(',')[0]) > limit) {
    throw new BodyError('ERR_BODY_TOO_LARGE', `content larger than ${limit} bytes`);
  }
  const buf = await req.datastream.read(limit + 1);
  if (buf.length > limit) throw new BodyError('ERR_BODY_TOO_LARGE', `content larger than ${limit} bytes`);
  return buf;
}

function decodeUtf8(buf: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch (e) {
    throw new BodyError('ERR_BAD_UTF8', 'content is not valid UTF-8', { cause: e });
  }
}

/**
 * The request content as text or JSON, within a size limit. Each reads
 * the rest of `req.datastream` (call one of them once per request).
 *
 * Refusals are {@link BodyError}s carrying the response to send:
 * - more than `limit` bytes (default 1 MiB): `ERR_BODY_TOO_LARGE`, 413;
 * - not UTF-8: `ERR_BAD_UTF8`, 400 (a leading BOM is dropped);
 * - `body.json` only, not JSON: `ERR_BAD_JSON`, 400.
 *
 * A broken content (client gone, bad chunk, timeout) rejects with the
 * datastream's own error.
 *
 * @example
 * const app = compose(bodyErrors)(async (req) => json({ echo: await body.json(req, { limit: 4096 }) }));
 * // or by hand:
 * try { return text(await body.text(req)); } catch (e) { if (e instanceof BodyError) return e.response; throw e; }
 */
export const body = Object.freeze({
  /** The content decoded as UTF-8. */
  async text(req: Pick<RequestDict, 'datastream' | 'rawheaders'>, options?: BodyOptions): Promise<string> {
    return decodeUtf8(await readLimited(req, options));
  },
  /** The content decoded as UTF-8 and parsed as JSON (an empty content is not JSON). */
  async json(req: Pick<RequestDict, 'datastream' | 'rawheaders'>, options?: BodyOptions): Promise<unknown> {
    const s = decodeUtf8(await readLimited(req, options));
    try {
      return JSON.parse(s) as unknown;
    } catch (e) {
      throw new BodyError('ERR_BAD_JSON', `content is not JSON: ${(e as Error).message}`, { cause: e });
    }
  },
});

// ---------------------------------------------------------------- cookies

/**
 * The request's cookies, name → value, from every Cookie field line
 * (RFC 6265 §5.4, §4.2): each line is split on `;`, each pair trimmed of
 * spaces and tabs and split at its first `=`; pairs without `=` or with an
 * empty name are skipped; the first occurrence of a name wins (user agents
 * send the most specific cookie first). Values are returned as sent:
 * percent-escapes are not decoded and surrounding double quotes are kept
 * (they are part of the cookie-value). The object has a null prototype, so
 * a cookie named `__proto__` or `constructor` is just a key.
 *
 * @example
 * // Cookie: a=1; b=x=y; a=2
 * cookies(req) // { a: '1', b: 'x=y' }
 */
export function cookies(req: WithRawHeaders): Record<string, string> {
  const raw = req?.rawheaders;
  if (!Array.isArray(raw)) throw new TypeError('cookies(req): req must be a request dictionary (with rawheaders)');
  const out = Object.create(null) as Record<string, string>;
  for (const [n, v] of raw) {
    if (n.length !== 6 || n.toLowerCase() !== 'cookie') continue;
    for (const pair of v.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const name = trimOWS(pair.slice(0, eq));
      if (name.length === 0 || Object.prototype.hasOwnProperty.call(out, name)) continue;
      out[name] = trimOWS(pair.slice(eq + 1));
    }
  }
  return out;
}

/** Attributes of {@link setCookie}. */
export interface CookieAttributes {
  /** Seconds until the cookie expires (a non-negative integer; 0 deletes it). */
  maxAge?: number;
  /** When the cookie expires, sent as an IMF-fixdate. */
  expires?: Date;
  /** The path the cookie applies to, e.g. `'/'`. */
  path?: string;
  /** The domain the cookie applies to (and its subdomains). */
  domain?: string;
  /** Send only over HTTPS. */
  secure?: boolean;
  /** Hide from page scripts. */
  httpOnly?: boolean;
  /** Cross-site sending; `'None'` requires `secure`. */
  sameSite?: 'Strict' | 'Lax' | 'None';
}

/** cookie-octet (RFC 6265 §4.1.1): %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
function isCookieOctet(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x2c && c !== 0x3b && c !== 0x5c;
}

/** cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ). */
function isCookieValue(v: string): boolean {
  let a = 0;
  let b = v.length;
  if (b >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(b - 1) === 0x22) {
    a = 1;
    b--;
  }
  for (let i = a; i < b; i++) if (!isCookieOctet(v.charCodeAt(i))) return false;
  return true;
}

/** av-octet (RFC 6265 §4.1.1): any CHAR except CTLs or ';'. */
function checkAttrValue(attr: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`setCookie: ${attr} must be a non-empty string`);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x3b) throw new TypeError(`setCookie: ${attr} has a character not allowed in a cookie attribute at ${i}`);
  }
  return v;
}

/**
 * A Set-Cookie field value (RFC 6265 §4.1). The name must be a token and
 * the value cookie-octets (optionally in double quotes), else `TypeError`:
 * encode other values yourself (e.g. `encodeURIComponent`). Attribute
 * values are checked too (no control characters or `;`); `sameSite: 'None'`
 * without `secure` is a `TypeError` (browsers drop such cookies).
 * Several cookies go out as an array: `headers: { 'Set-Cookie': [a, b] }`
 * sends one field line each.
 *
 * @example
 * setCookie('sid', 'abc123', { path: '/', httpOnly: true, secure: true, sameSite: 'Lax', maxAge: 3600 })
 * // 'sid=abc123; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax'
 */
export function setCookie(name: string, value: string, attrs: CookieAttributes = {}): string {
  if (typeof name !== 'string' || !isToken(name)) throw new TypeError(`setCookie: name ${JSON.stringify(name)} is not a token`);
  if (typeof value !== 'string' || !isCookieValue(value)) {
    throw new TypeError(`setCookie: value of ${name} has characters outside cookie-octet (encode it, e.g. with encodeURIComponent)`);
  }
  if (attrs === null || typeof attrs !== 'object') throw new TypeError('setCookie: attrs must be an object');
  let out = `${name}=${value}`;
  if (attrs.maxAge !== undefined) {
    if (!Number.isSafeInteger(attrs.maxAge) || attrs.maxAge < 0) throw new TypeError('setCookie: maxAge must be a non-negative integer (seconds)');
    out += `; Max-Age=${attrs.maxAge}`;
  }
  if (attrs.expires !== undefined) {
    if (!(attrs.expires instanceof Date) || Number.isNaN(attrs.expires.getTime())) throw new TypeError('setCookie: expires must be a valid Date');
    out += `; Expires=${attrs.expires.toUTCString()}`; // IMF-fixdate (RFC 9110 §5.6.7)
  }
  if (attrs.domain !== undefined) out += `; Domain=${checkAttrValue('domain', attrs.domain)}`;
  if (attrs.path !== undefined) out += `; Path=${checkAttrValue('path', attrs.path)}`;
  if (attrs.secure === true) out += '; Secure';
  if (attrs.httpOnly === true) out += '; HttpOnly';
  if (attrs.sameSite !== undefined) {
    if (attrs.sameSite !== 'Strict' && attrs.sameSite !== 'Lax' && attrs.sameSite !== 'None') {
      throw new TypeError(`setCookie: sameSite must be 'Strict', 'Lax' or 'None', got ${String(attrs.sameSite)}`);
    }
    if (attrs.sameSite === 'None' && attrs.secure !== true) throw new TypeError("setCookie: sameSite 'None' requires secure: true");
    out += `; SameSite=${attrs.sameSite}`;
  }
  return out;
}
