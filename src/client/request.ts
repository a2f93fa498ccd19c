/**
 * The request the client sends: the checks on the URL, the method, the
 * header fields and the content (TypeError / ValueError before anything is
 * sent), and the bytes of the request head.
 *
 * @module
 */

import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { FIELD_VALUE, HOST_CHAR, isToken } from '../parser/constants.js';
import { ValueError } from '../errors.js';
import type { RawHeader } from '../parser/parser.js';
import { quoteParameters, urlsplit } from '../message/url.js';
import type { OpenOptions } from './options.js';

/** Fields the client writes itself (framing and connection management): refused in `httpheaders`. */
const MANAGED_FIELDS = new Set(['content-length', 'transfer-encoding', 'connection', 'upgrade']);

/** Everything needed to send one request. */
export interface Prepared {
  /** The URL without fragment or userinfo. */
  url: string;
  /** True for an `https:` URL: the request goes over TLS. */
  secure: boolean;
  hostname: string;
  port: number;
  /** `host`, `host:port` (not the scheme's default port), `[v6]:port`. */
  authority: string;
  /** Path and query, percent-encoded where needed. */
  pathQuery: string;
  method: string;
  body: Buffer | null;
  /** User fields in order, validated; values already strings. */
  fields: RawHeader[];
}

/** Where a request goes: the URL, host, port, authority and request-target of a parsed http URL. */
export function addressOf(
  u: { secure: boolean; authority: string; hostname: string; port: number; path: string },
  query: string,
): { url: string; secure: boolean; hostname: string; port: number; authority: string; pathQuery: string } {
  const pathQuery = encodeTarget(u.path.length === 0 ? '/' : u.path) + (query.length > 0 ? `?${encodeTarget(query)}` : '');
  return { url: `${u.secure ? 'https' : 'http'}://${u.authority}${pathQuery}`, secure: u.secure, hostname: u.hostname, port: u.port, authority: u.authority, pathQuery };
}

/**
 * Percent-encodes, as UTF-8, the characters that cannot appear in a
 * request-target: controls, space, DEL, `#` and non-ASCII. Existing `%XX`
 * escapes and every other visible ASCII character are kept.
 */
function encodeTarget(s: string): string {
  // Most targets need nothing: check before building a copy character by character.
  let clean = true;
  for (let i = 0; i < s.length && clean; i++) {
    const c = s.charCodeAt(i);
    clean = c > 0x20 && c < 0x7f && c !== 0x23;
  }
  if (clean) return s;
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c > 0x20 && c < 0x7f && c !== 0x23) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Parses and checks an `http:` or `https:` URL; TypeError / ValueError for what cannot be fetched. */
export function parseHttpUrl(url: unknown): { secure: boolean; hostname: string; port: number; authority: string; path: string; query: string } {
  if (typeof url !== 'string') throw new TypeError('url must be a string');
  const u = urlsplit(url);
  if (u.scheme !== 'http' && u.scheme !== 'https') throw new ValueError(`URL doesn't seem to be for the HTTP protocol: ${JSON.stringify(url)}`, 'ERR_UNSUPPORTED_SCHEME');
  if (u.hostname === null) throw new ValueError(`Missing hostname in ${JSON.stringify(url)}`, 'ERR_INVALID_URL');
  const v6 = u.netloc.includes('[');
  // An internationalised name is sent and looked up in its ASCII (punycode) form.
  const hostname = !v6 && /[^\x00-\x7f]/.test(u.hostname) ? domainToASCII(u.hostname) : u.hostname;
  if (v6 ? !isIPv6(hostname) : !/^[A-Za-z0-9\-._~%!$&'()*+,;=]+$/.test(hostname)) {
    throw new ValueError(`invalid host ${JSON.stringify(u.hostname)} in ${JSON.stringify(url)}`, 'ERR_INVALID_URL');
  }
  // As the original: no port, or port 0, means the scheme's default (80; 443 for https).
  const secure = u.scheme === 'https';
  const dflt = secure ? 443 : 80;
  const port = u.port === null || u.port === 0 ? dflt : u.port;
  const host = v6 ? `[${hostname}]` : hostname;
  return { secure, hostname, port, authority: port === dflt ? host : `${host}:${port}`, path: u.path, query: u.query };
}

function validateFields(httpheaders: unknown): RawHeader[] {
  if (httpheaders === undefined || httpheaders === null) return [];
  if (typeof httpheaders !== 'object' || Array.isArray(httpheaders)) throw new TypeError('options.httpheaders must be an object of field names to values');
  const out: RawHeader[] = [];
  for (const name of Object.keys(httpheaders)) {
    if (!isToken(name)) {
      throw new ValueError(`invalid header name ${JSON.stringify(name)}: a field name is a token (RFC 9110 §5.1)`, 'ERR_INVALID_HEADER');
    }
    if (MANAGED_FIELDS.has(name.toLowerCase())) {
      throw new ValueError(`header ${JSON.stringify(name)} is written by the client itself and cannot be set`, 'ERR_INVALID_HEADER');
    }
    const raw = (httpheaders as Record<string, unknown>)[name];
    const values = Array.isArray(raw) ? raw : [raw];
    for (const v of values) {
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
        throw new TypeError(`the value of header ${JSON.stringify(name)} must be a string or a finite number`);
      }
      const value = String(v);
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c < 0x80 && FIELD_VALUE[c] !== 1) {
          throw new ValueError(`invalid character 0x${c.toString(16).padStart(2, '0')} in the value of header ${JSON.stringify(name)} (CR, LF, NUL and other controls are not allowed)`, 'ERR_INVALID_HEADER');
        }
      }
      if (name.toLowerCase() === 'host' && ![...value].every((ch) => ch.charCodeAt(0) < 0x80 && HOST_CHAR[ch.charCodeAt(0)] === 1)) {
        throw new ValueError(`invalid Host header ${JSON.stringify(value)}`, 'ERR_INVALID_HEADER');
      }
      out.push([name, value]);
    }
  }
  return out;
}

export function prepare(url: string, options: OpenOptions): Prepared {
  const u = parseHttpUrl(url);
  if (u.secure && options.proxy !== undefined && options.proxy !== null) {
    // An https request through a proxy needs a CONNECT tunnel, which this client does not open.
    throw new ValueError(`https through a proxy is not supported (no CONNECT tunnel): ${JSON.stringify(url)}`, 'ERR_UNSUPPORTED_PROXY');
  }
  let query = u.query;
  const qd = options.querydata;
  if (qd !== undefined && qd !== null) {
    if (typeof qd !== 'string' && typeof qd !== 'object') throw new TypeError('options.querydata must be a string or an object');
    const q = typeof qd === 'string' ? qd : quoteParameters(qd);
    if (q.length > 0) query = query.length > 0 ? `${query}&${q}` : q;
  }
  let body: Buffer | null = null;
  const fields = validateFields(options.httpheaders);
  const pd = options.postdata;
  if (pd !== undefined && pd !== null) {
    if (typeof pd === 'string') body = Buffer.from(pd, 'utf8');
    else if (pd instanceof Uint8Array) body = Buffer.from(pd.buffer, pd.byteOffset, pd.byteLength);
    else if (typeof pd === 'object' && !Array.isArray(pd)) {
      body = Buffer.from(quoteParameters(pd as Record<string, string>), 'utf8');
      if (!fields.some(([n]) => n.toLowerCase() === 'content-type')) fields.push(['Content-Type', 'application/x-www-form-urlencoded']);
    } else throw new TypeError('options.postdata must be a string, a Uint8Array or an object');
  }
  let method = body === null ? 'GET' : 'POST';
  if (options.method !== undefined && options.method !== null) {
    if (typeof options.method !== 'string') throw new TypeError('options.method must be a string');
    if (!isToken(options.method)) {
      throw new ValueError(`invalid method ${JSON.stringify(options.method)}: a method is a token`);
    }
    if (options.method.toUpperCase() === 'CONNECT') throw new ValueError('CONNECT is not supported: the client does not open tunnels');
    method = options.method;
  }
  // Named fields, not a spread: V8 builds a spread literal on a slow path (it showed in a keep-alive profile).
  const a = addressOf(u, query);
  return { url: a.url, secure: a.secure, hostname: a.hostname, port: a.port, authority: a.authority, pathQuery: a.pathQuery, method, body, fields };
}

/**
 * The bytes of the request head. `keepAlive` (a pooled request) leaves out
 * `Connection: close`: an HTTP/1.1 connection is persistent unless a side
 * says otherwise (RFC 9112 §9.3).
 */
export function requestHead(p: Prepared, proxy: boolean, keepAlive = false): Buffer {
  const target = proxy ? `http://${p.authority}${p.pathQuery}` : p.pathQuery;
  let head = `${p.method} ${target} HTTP/1.1\r\n`;
  if (!p.fields.some(([n]) => n.toLowerCase() === 'host')) head += `Host: ${p.authority}\r\n`;
  for (const [n, v] of p.fields) head += `${n}: ${v}\r\n`;
  // RFC 9110 §8.6: a user agent sends Content-Length for content, and 0 for an empty POST/PUT/PATCH.
  if (p.body !== null) head += `Content-Length: ${p.body.length}\r\n`;
  else if (p.method === 'POST' || p.method === 'PUT' || p.method === 'PATCH') head += 'Content-Length: 0\r\n';
  head += keepAlive ? '\r\n' : 'Connection: close\r\n\r\n';
  return Buffer.from(head, 'utf8');
}
