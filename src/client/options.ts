/**
 * The client's options: their types, their defaults, and their validation
 * into the resolved form the rest of the client uses. Bad values are
 * TypeError / ValueError, thrown before anything is sent.
 *
 * @module
 */

import { isIP, type LookupFunction } from 'node:net';
import { ValueError } from '../errors.js';
import { ConnectionPool, defaultConnectionPool } from './pool.js';

/** One allow-list entry: a host name or address (`'*'`: any) and a port (`'*'`: any). */
export type AllowRule = readonly [host: string, port: number | '*'];

/** What an `allow` predicate is asked about: the URL about to be fetched. */
export interface AllowTarget {
  /** The URL without its fragment. */
  url: string;
  /** Lower-cased host; an IPv6 address without brackets. */
  hostname: string;
  port: number;
  /** True for a redirect target. */
  redirect: boolean;
  /** True for an `https:` URL. */
  secure: boolean;
}

/** Options of {@link open}, {@link getString} and {@link saveFile}. Every field is optional. */
export interface OpenOptions {
  /** Query parameters: an object (encoded with `quoteParameters`) or a string sent as is. Appended to the URL's own query with `&`. */
  querydata?: string | Readonly<Record<string, string>> | null;
  /** Request content; given (even `''`) → POST. A string is sent as UTF-8, bytes as they are, an object as `quoteParameters` with `Content-Type: application/x-www-form-urlencoded`. */
  postdata?: string | Uint8Array | Readonly<Record<string, string>> | null;
  /** Request header fields: name → string, number, or an array of them (one field line each). */
  httpheaders?: Readonly<Record<string, string | number | readonly (string | number)[]>> | null;
  /** `[host, port]` of an HTTP proxy: the client connects there and sends the absolute URL as the request target. */
  proxy?: readonly [string, number] | null;
  /** The request method; default GET, or POST when `postdata` is given. */
  method?: string;
  /** Milliseconds: the default of `connectTimeout` and `idleTimeout` (each single wait), like Python's socket timeout. */
  timeout?: number;
  /** Milliseconds for the name lookup and TCP connect (default 10 000; 0 or Infinity: none). */
  connectTimeout?: number;
  /** Milliseconds without receiving a byte while waiting for the response or its content (default 30 000; 0 or Infinity: none). */
  idleTimeout?: number;
  /** Milliseconds for the whole exchange: connects, redirects and reading the content to its end (default 300 000; 0 or Infinity: none). */
  totalTimeout?: number;
  /** Most bytes of response content (decoded) (default 64 MiB). */
  maxResponseSize?: number;
  /** Most bytes of the response header section (default 16 KiB). */
  maxHeaderSize?: number;
  /** Follow 301/302/303/307/308 redirects (default true). False: the 3xx response is returned. */
  followRedirects?: boolean;
  /** Most redirects followed; one more → HttpRedirectError `ERR_TOO_MANY_REDIRECTS` (default 5). */
  maxRedirects?: number;
  /** Hosts and ports the client may fetch (the first URL and every redirect): `[[host, port | '*'], ...]` or a predicate. Default: any. */
  allow?: readonly AllowRule[] | ((target: AllowTarget) => boolean) | null;
  /** A custom name lookup, as `net.connect`'s `lookup` (default `dns.lookup`): to pin names or refuse private addresses. */
  lookup?: LookupFunction | null;
  /** https: the certificate authorities (PEM) to trust instead of Node's bundled ones. */
  ca?: PemInput | null;
  /** https: verify the server's certificate and host name (default true). False accepts any certificate: tests only. */
  rejectUnauthorized?: boolean;
  /** https: the name sent in SNI and checked against the certificate (default: the URL's host name; none for an IP address, which is checked as an address). */
  servername?: string | null;
  /** https: a client certificate (PEM) for servers that ask for one, with its `key`. */
  cert?: PemInput | null;
  /** https: the private key (PEM) of `cert`. */
  key?: PemInput | null;
  /** Follow a redirect from https: to http: (default false: refused with `ERR_REDIRECT_DOWNGRADE`). */
  allowDowngrade?: boolean;
  /**
   * Aborts the exchange: connecting, waiting for the head, or reading the
   * content. The connection is destroyed at once and `open` (or the pending
   * read) rejects with the signal's `reason`, as `fetch` does.
   */
  signal?: AbortSignal | null;
  /**
   * Reuse connections (HTTP/1.1 keep-alive): `true` uses a shared default
   * {@link ConnectionPool}, a `ConnectionPool` uses that one. Default false:
   * one connection per request, sent with `Connection: close`, as repy.
   * See docs/client.md, "Connection reuse".
   */
  keepAlive?: boolean | ConnectionPool | null;
}

/** PEM text or bytes, or a list of them (several CA certificates). */
export type PemInput = string | Uint8Array | readonly (string | Uint8Array)[];

/** The TLS settings of an https request, validated (passed to `tls.connect`). */
export interface TlsSettings {
  ca: (string | Buffer)[] | null;
  cert: (string | Buffer)[] | null;
  key: (string | Buffer)[] | null;
  rejectUnauthorized: boolean;
  servername: string | null;
}

/** The defaults of the numeric client options. */
export const CLIENT_DEFAULTS = Object.freeze({
  connectTimeout: 10_000,
  idleTimeout: 30_000,
  totalTimeout: 300_000,
  maxResponseSize: 64 * 1024 * 1024,
  maxHeaderSize: 16 * 1024,
  maxRedirects: 5,
});


/** The options of one `open` call, validated, timeouts as milliseconds (Infinity: none). */
export interface Resolved {
  connectTimeout: number;
  idleTimeout: number;
  totalTimeout: number;
  maxResponseSize: number;
  maxHeaderSize: number;
  maxRedirects: number;
  followRedirects: boolean;
  proxy: [string, number] | null;
  allow: ((t: AllowTarget) => boolean) | null;
  lookup: LookupFunction | null;
  tls: TlsSettings;
  allowDowngrade: boolean;
  signal: AbortSignal | null;
  /** The pool of the `keepAlive` option, or null: one connection per request. */
  pool: ConnectionPool | null;
}

const OPTION_KEYS = new Set([
  'querydata', 'postdata', 'httpheaders', 'proxy', 'method', 'timeout', 'connectTimeout', 'idleTimeout',
  'totalTimeout', 'maxResponseSize', 'maxHeaderSize', 'followRedirects', 'maxRedirects', 'allow', 'lookup',
  'ca', 'rejectUnauthorized', 'servername', 'cert', 'key', 'allowDowngrade',
  'signal', 'keepAlive',
]);

/** A timeout value: a non-negative number; 0 and Infinity mean none (returned as Infinity). */
function timeoutOption(name: string, v: unknown, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`options.${name} must be a number of milliseconds`);
  if (v < 0) throw new ValueError(`options.${name} must not be negative`);
  return v === 0 ? Infinity : v;
}

function sizeOption(name: string, v: unknown, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`options.${name} must be a number`);
  if (v < 0 || (!Number.isInteger(v) && v !== Infinity)) throw new ValueError(`options.${name} must be a non-negative integer or Infinity`);
  return v;
}

export function resolveOptions(options: OpenOptions): Resolved {
  for (const key of Object.keys(options)) if (!OPTION_KEYS.has(key)) throw new ValueError(`unknown option ${JSON.stringify(key)}`);
  const timeout = timeoutOption('timeout', options.timeout, NaN);
  const pick = (name: 'connectTimeout' | 'idleTimeout'): number =>
    timeoutOption(name, options[name], Number.isNaN(timeout) ? CLIENT_DEFAULTS[name] : timeout);
  if (options.followRedirects !== undefined && options.followRedirects !== null && typeof options.followRedirects !== 'boolean') {
    throw new TypeError('options.followRedirects must be a boolean');
  }
  return {
    tls: {
      ca: pemOption('ca', options.ca),
      cert: pemOption('cert', options.cert),
      key: pemOption('key', options.key),
      rejectUnauthorized: booleanOption('rejectUnauthorized', options.rejectUnauthorized, true),
      servername: servernameOption(options.servername),
    },
    allowDowngrade: booleanOption('allowDowngrade', options.allowDowngrade, false),
    connectTimeout: pick('connectTimeout'),
    idleTimeout: pick('idleTimeout'),
    totalTimeout: timeoutOption('totalTimeout', options.totalTimeout, CLIENT_DEFAULTS.totalTimeout),
    maxResponseSize: sizeOption('maxResponseSize', options.maxResponseSize, CLIENT_DEFAULTS.maxResponseSize),
    maxHeaderSize: sizeOption('maxHeaderSize', options.maxHeaderSize, CLIENT_DEFAULTS.maxHeaderSize),
    maxRedirects: sizeOption('maxRedirects', options.maxRedirects, CLIENT_DEFAULTS.maxRedirects),
    followRedirects: options.followRedirects ?? true,
    proxy: proxyOption(options.proxy),
    allow: allowOption(options.allow),
    lookup: lookupOption(options.lookup),
    signal: signalOption(options.signal),
    pool: keepAliveOption(options.keepAlive),
  };
}

function booleanOption(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`options.${name} must be a boolean`);
  return v;
}

function pemOption(name: string, v: unknown): (string | Buffer)[] | null {
  if (v === undefined || v === null) return null;
  const list = Array.isArray(v) ? (v as unknown[]) : [v];
  return list.map((item) => {
    if (typeof item === 'string') return item;
    if (item instanceof Uint8Array) return Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    throw new TypeError(`options.${name} must be PEM text or bytes, or an array of them`);
  });
}

function servernameOption(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new TypeError('options.servername must be a string');
  if (v.length === 0 || v.length > 253 || isIP(v) !== 0) throw new ValueError(`options.servername must be a host name (not an address): ${JSON.stringify(v)}`);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f;
    if (!ok) throw new ValueError(`options.servername must be a host name (letters, digits, '-', '.', '_'): ${JSON.stringify(v)}`);
  }
  return v;
}

function proxyOption(p: unknown): [string, number] | null {
  if (p === undefined || p === null) return null;
  if (!Array.isArray(p)) throw new TypeError('options.proxy must be a [host, port] pair');
  if (p.length !== 2) throw new ValueError('options.proxy must be a [host, port] pair');
  const [host, port] = p as unknown[];
  if (typeof host !== 'string') throw new TypeError('options.proxy host must be a string');
  if (host.length === 0) throw new ValueError('options.proxy host must not be empty');
  if (typeof port !== 'number' || !Number.isInteger(port)) throw new TypeError('options.proxy port must be an integer');
  if (port < 1 || port > 65535) throw new ValueError(`options.proxy port must be between 1 and 65535, got ${port}`);
  return [host, port];
}

function signalOption(s: unknown): AbortSignal | null {
  if (s === undefined || s === null) return null;
  if (!(s instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
  return s;
}

function keepAliveOption(k: unknown): ConnectionPool | null {
  if (k === undefined || k === null || k === false) return null;
  if (k === true) return defaultConnectionPool();
  if (!(k instanceof ConnectionPool)) throw new TypeError('options.keepAlive must be a boolean or a ConnectionPool');
  if (k.closed) throw new ValueError('options.keepAlive: the ConnectionPool is closed', 'ERR_POOL_CLOSED');
  return k;
}

function lookupOption(l: unknown): LookupFunction | null {
  if (l === undefined || l === null) return null;
  if (typeof l !== 'function') throw new TypeError('options.lookup must be a function');
  return l as LookupFunction;
}

function allowOption(a: unknown): ((t: AllowTarget) => boolean) | null {
  if (a === undefined || a === null) return null;
  if (typeof a === 'function') return a as (t: AllowTarget) => boolean;
  if (!Array.isArray(a)) throw new TypeError('options.allow must be an array of [host, port] pairs or a function');
  const rules: [string, number | '*'][] = a.map((rule: unknown, i) => {
    if (!Array.isArray(rule) || rule.length !== 2) throw new TypeError(`options.allow[${i}] must be a [host, port] pair`);
    const [host, port] = rule as unknown[];
    if (typeof host !== 'string' || host.length === 0) throw new TypeError(`options.allow[${i}][0] must be a non-empty host string`);
    if (port !== '*' && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new TypeError(`options.allow[${i}][1] must be a port number or '*'`);
    }
    const bare = host.length > 1 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host; // [v6] → v6
    return [bare.toLowerCase(), port as number | '*'];
  });
  return (t) => rules.some(([h, p]) => (h === '*' || h === t.hostname) && (p === '*' || p === t.port));
}

