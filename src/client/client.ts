/**
 * The HTTP client: `open` (repy's `httpretrieve_open`), `getString`
 * (`httpretrieve_get_string`) and `saveFile` (`httpretrieve_save_file`).
 *
 * One HTTP/1.1 request per connection (`Connection: close`), over raw
 * node:net sockets, the response read by the same strict incremental
 * {@link ResponseParser} the CLI and the tests use. Every wait is bounded
 * (connect, idle and total timeouts), the response content is bounded
 * (`maxResponseSize`), redirects are bounded and can be confined to an
 * allow-list of hosts. No TLS: `https:` URLs are refused.
 *
 * docs/client.md describes every option, every error, and the differences
 * from httpretrieve.repy.
 *
 * @example
 * const res = await open('http://127.0.0.1:8080/hello', { querydata: { q: 'a b' } });
 * res.statuscode;            // 200
 * res.headers['Content-Type'];
 * const body = await res.read();
 * res.close();
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { open as openFile, rename, rm } from 'node:fs/promises';
import { connect, isIPv6, type LookupFunction, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { domainToASCII } from 'node:url';
import { FIELD_VALUE, HOST_CHAR, TOKEN } from '../parser/constants.js';
import { HttpParseError, ValueError } from '../errors.js';
import { ResponseParser, type RawHeader, type ResponseHead } from '../parser/parser.js';
import { headersObject } from '../message/headers.js';
import { quoteParameters, urlsplit } from '../message/url.js';
import {
  HttpBrokenServerError, HttpConnectionError, HttpForbiddenError, HttpRedirectError, HttpResponseTooLargeError,
  HttpTimeoutError,
} from './errors.js';
import { ContentQueue } from '../message/content.js';

/** The longest delay Node's timers hold; a longer one would fire at once. */
const MAX_TIMER = 0x7fffffff;

export * from './errors.js';

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

/** Buffered, unread response content above which the socket is no longer read. */
const HIGH_WATER_MARK = 64 * 1024;
/** Request content is written in slices of this size, so that upload progress keeps the idle timer alive. */
const WRITE_SLICE = 64 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Fields the client writes itself (framing and connection management): refused in `httpheaders`. */
const MANAGED_FIELDS = new Set(['content-length', 'transfer-encoding', 'connection', 'upgrade']);
/** Fields not sent to another host or port after a redirect. */
const CREDENTIAL_FIELDS = new Set(['authorization', 'cookie', 'proxy-authorization', 'host']);
/** Fields that describe the request content, dropped when a redirect drops the content. */
const CONTENT_FIELDS = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);

interface Resolved {
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
}

const OPTION_KEYS = new Set([
  'querydata', 'postdata', 'httpheaders', 'proxy', 'method', 'timeout', 'connectTimeout', 'idleTimeout',
  'totalTimeout', 'maxResponseSize', 'maxHeaderSize', 'followRedirects', 'maxRedirects', 'allow', 'lookup',
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

function resolveOptions(options: OpenOptions): Resolved {
  for (const key of Object.keys(options)) if (!OPTION_KEYS.has(key)) throw new ValueError(`unknown option ${JSON.stringify(key)}`);
  const timeout = timeoutOption('timeout', options.timeout, NaN);
  const pick = (name: 'connectTimeout' | 'idleTimeout'): number =>
    timeoutOption(name, options[name], Number.isNaN(timeout) ? CLIENT_DEFAULTS[name] : timeout);
  if (options.followRedirects !== undefined && options.followRedirects !== null && typeof options.followRedirects !== 'boolean') {
    throw new TypeError('options.followRedirects must be a boolean');
  }
  return {
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
  };
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

// ------------------------------------------------------------ the request

/** Everything needed to send one request. */
interface Prepared {
  /** The URL without fragment or userinfo. */
  url: string;
  hostname: string;
  port: number;
  /** `host`, `host:port` (not 80), `[v6]:port`. */
  authority: string;
  /** Path and query, percent-encoded where needed. */
  pathQuery: string;
  method: string;
  body: Buffer | null;
  /** User fields in order, validated; values already strings. */
  fields: RawHeader[];
}

/** Where a request goes: the URL, host, port, authority and request-target of a parsed http URL. */
function addressOf(
  u: { authority: string; hostname: string; port: number; path: string },
  query: string,
): { url: string; hostname: string; port: number; authority: string; pathQuery: string } {
  const pathQuery = encodeTarget(u.path.length === 0 ? '/' : u.path) + (query.length > 0 ? `?${encodeTarget(query)}` : '');
  return { url: `http://${u.authority}${pathQuery}`, hostname: u.hostname, port: u.port, authority: u.authority, pathQuery };
}

/**
 * Percent-encodes, as UTF-8, the characters that cannot appear in a
 * request-target: controls, space, DEL, `#` and non-ASCII. Existing `%XX`
 * escapes and every other visible ASCII character are kept.
 */
function encodeTarget(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c > 0x20 && c < 0x7f && c !== 0x23) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Parses and checks an `http:` URL; TypeError / ValueError for what cannot be fetched. */
function parseHttpUrl(url: unknown): { hostname: string; port: number; authority: string; path: string; query: string } {
  if (typeof url !== 'string') throw new TypeError('url must be a string');
  const u = urlsplit(url);
  if (u.scheme === 'https') {
    throw new ValueError(`https URLs are not supported: repy-http has no TLS (use node:https or fetch for ${JSON.stringify(url)})`, 'ERR_UNSUPPORTED_SCHEME');
  }
  if (u.scheme !== 'http') throw new ValueError(`URL doesn't seem to be for the HTTP protocol: ${JSON.stringify(url)}`, 'ERR_UNSUPPORTED_SCHEME');
  if (u.hostname === null) throw new ValueError(`Missing hostname in ${JSON.stringify(url)}`, 'ERR_INVALID_URL');
  const v6 = u.netloc.includes('[');
  // An internationalised name is sent and looked up in its ASCII (punycode) form.
  const hostname = !v6 && /[^\x00-\x7f]/.test(u.hostname) ? domainToASCII(u.hostname) : u.hostname;
  if (v6 ? !isIPv6(hostname) : !/^[A-Za-z0-9\-._~%!$&'()*+,;=]+$/.test(hostname)) {
    throw new ValueError(`invalid host ${JSON.stringify(u.hostname)} in ${JSON.stringify(url)}`, 'ERR_INVALID_URL');
  }
  // As the original: no port, or port 0, means 80.
  const port = u.port === null || u.port === 0 ? 80 : u.port;
  const host = v6 ? `[${hostname}]` : hostname;
  return { hostname, port, authority: port === 80 ? host : `${host}:${port}`, path: u.path, query: u.query };
}

function validateFields(httpheaders: unknown): RawHeader[] {
  if (httpheaders === undefined || httpheaders === null) return [];
  if (typeof httpheaders !== 'object' || Array.isArray(httpheaders)) throw new TypeError('options.httpheaders must be an object of field names to values');
  const out: RawHeader[] = [];
  for (const name of Object.keys(httpheaders)) {
    if (name.length === 0 || ![...name].every((ch) => TOKEN[ch.charCodeAt(0)] === 1 && ch.charCodeAt(0) < 0x80)) {
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

function prepare(url: string, options: OpenOptions): Prepared {
  const u = parseHttpUrl(url);
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
    if (options.method.length === 0 || ![...options.method].every((ch) => ch.charCodeAt(0) < 0x80 && TOKEN[ch.charCodeAt(0)] === 1)) {
      throw new ValueError(`invalid method ${JSON.stringify(options.method)}: a method is a token`);
    }
    if (options.method.toUpperCase() === 'CONNECT') throw new ValueError('CONNECT is not supported: the client does not open tunnels');
    method = options.method;
  }
  return {
    ...addressOf(u, query),
    method,
    body,
    fields,
  };
}

/** The bytes of the request head. */
function requestHead(p: Prepared, proxy: boolean): Buffer {
  const target = proxy ? `http://${p.authority}${p.pathQuery}` : p.pathQuery;
  let head = `${p.method} ${target} HTTP/1.1\r\n`;
  if (!p.fields.some(([n]) => n.toLowerCase() === 'host')) head += `Host: ${p.authority}\r\n`;
  for (const [n, v] of p.fields) head += `${n}: ${v}\r\n`;
  // RFC 9110 §8.6: a user agent sends Content-Length for content, and 0 for an empty POST/PUT/PATCH.
  if (p.body !== null) head += `Content-Length: ${p.body.length}\r\n`;
  else if (p.method === 'POST' || p.method === 'PUT' || p.method === 'PATCH') head += 'Content-Length: 0\r\n';
  head += 'Connection: close\r\n\r\n';
  return Buffer.from(head, 'utf8');
}

// ------------------------------------------------------------ the response

/**
 * The response content as it arrives (the shared ContentQueue). Unlike the
 * server's DataStream, an error does not drop what was buffered: the bytes
 * that arrived before it are read first, then the error.
 */
class ResponseBody extends ContentQueue {
  constructor(onDemand: () => void) {
    super(HIGH_WATER_MARK, onDemand, true);
  }

  /** The response was closed: drop everything; reads reject with `err`. */
  discard(err: Error): void {
    this.drop();
    this.ended = false;
    this.error = err;
    this.wake();
  }
}

/**
 * A response, as `open` returns it once the final status line and header
 * section have arrived: the status and fields as properties, the content
 * read on demand (the socket is not read faster than the content is
 * consumed).
 *
 * @example
 * const res = await open('http://127.0.0.1:8080/');
 * res.httpstatus;   // ['HTTP/1.1', 200, 'OK']
 * for await (const chunk of res) process.stdout.write(chunk);
 */
export class HttpResponse implements AsyncIterable<Buffer> {
  /** `[protocol, status code, reason phrase]`, e.g. `['HTTP/1.1', 200, 'OK']`. */
  readonly httpstatus: readonly [protocol: string, code: number, reason: string];
  /** The status code. */
  readonly statuscode: number;
  /** Canonical field name → value, repeats joined with `, ` (Cookie with `; `), the shape of the server's request dictionary; read repeated Set-Cookie lines from `rawheaders`. */
  readonly headers: Record<string, string>;
  /** Every field line `[name, value]` in wire order and case. */
  readonly rawheaders: RawHeader[];
  /** The URL that answered (after redirects), without fragment or userinfo. */
  readonly url: string;
  /** How many redirects were followed to get here. */
  readonly redirects: number;
  private readonly exchange: Exchange;
  private closedFlag = false;
  private queue: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(head: ResponseHead, exchange: Exchange, url: string, redirects: number) {
    this.httpstatus = Object.freeze([`HTTP/1.${head.versionMinor}`, head.status, head.reason] as const);
    this.statuscode = head.status;
    this.headers = headersObject(head.rawHeaders);
    this.rawheaders = head.rawHeaders;
    this.exchange = exchange;
    this.url = url;
    this.redirects = redirects;
  }

  /** Trailer fields of a chunked response (canonical names), filled once the content was read to its end. */
  get trailers(): Record<string, string> {
    return headersObject(this.exchange.body.trailers);
  }

  /** Trailer field lines `[name, value]` as received. */
  get rawtrailers(): RawHeader[] {
    return this.exchange.body.trailers;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Reads `limit` bytes of content (fewer only at the end), or the whole
   * rest without a limit (`undefined` or `null`). Resolves with an empty
   * Buffer at the end, and for `read(0)`. Reads are served in call order.
   * Rejects with ValueError 'I/O operation on closed file' after `close()`,
   * TypeError for a limit that is not an integer, ValueError for a negative
   * one, and the exchange's error (timeout, broken server, too large...)
   * when the content cannot be read.
   */
  read(limit?: number | null): Promise<Buffer> {
    const p = this.queue.then(() => {
      if (this.closedFlag) throw new ValueError('I/O operation on closed file', 'ERR_CLOSED');
      if (limit !== undefined && limit !== null) {
        if (typeof limit !== 'number' || !Number.isInteger(limit)) throw new TypeError('Expected an integer or null for read() limit');
        if (limit < 0) throw new ValueError('read() limit must not be negative');
      }
      return this.exchange.body.read(limit ?? undefined);
    });
    this.queue = p.then(() => undefined, () => undefined);
    return p;
  }

  /** Closes the connection and drops unread content. Idempotent. Pending reads reject with ValueError. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.exchange.body.discard(new ValueError('I/O operation on closed file', 'ERR_CLOSED'));
    this.exchange.destroy();
  }

  /** The content chunk by chunk, as it arrives. Leaving the loop early closes the response. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.closedFlag) throw new ValueError('I/O operation on closed file', 'ERR_CLOSED');
    let finished = false;
    try {
      for await (const chunk of this.exchange.body) yield chunk;
      finished = true;
    } finally {
      if (!finished) this.close();
    }
  }
}

/** One connection: send one request, parse one response. */
class Exchange {
  readonly body: ResponseBody;
  private socket: Socket | null = null;
  private readonly parser: ResponseParser;
  private head: ResponseHead | null = null;
  private settled = false; // open's promise resolved or rejected
  private finished = false; // the content ended, failed, or the response was closed
  private paused = false;
  private connected = false;
  private eof = false;
  private connectTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private totalTimer: NodeJS.Timeout | null = null;
  private resolveHead!: (head: ResponseHead) => void;
  private rejectHead!: (err: Error) => void;

  constructor(
    private readonly req: Prepared,
    private readonly o: Resolved,
    private readonly deadline: number,
  ) {
    this.parser = new ResponseParser({ maxBodySize: o.maxResponseSize, maxHeaderSize: o.maxHeaderSize });
    if (req.method === 'HEAD') this.parser.expectNoBody('HEAD');
    this.body = new ResponseBody(() => this.demand());
  }

  /** Connects and sends; resolves with the final response head. */
  start(): Promise<ResponseHead> {
    const headPromise = new Promise<ResponseHead>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    const left = this.deadline - Date.now();
    // Node's timers hold at most 2^31-1 ms (a longer delay fires at once): beyond that, no deadline.
    if (left <= MAX_TIMER) {
      // After redirects the deadline may have passed already: the timer then fires at once.
      this.totalTimer = setTimeout(() => this.fail(new HttpTimeoutError('ETIMEDOUT_TOTAL', this.o.totalTimeout, this.req.url)), Math.max(0, left));
      this.totalTimer.unref();
    }
    const [host, port] = this.o.proxy ?? [this.req.hostname, this.req.port];
    if (this.o.connectTimeout <= MAX_TIMER) {
      this.connectTimer = setTimeout(() => this.fail(new HttpTimeoutError('ETIMEDOUT_CONNECT', this.o.connectTimeout, this.req.url)), this.o.connectTimeout);
      this.connectTimer.unref();
    }
    const socket = connect({ host, port, noDelay: true, ...(this.o.lookup !== null ? { lookup: this.o.lookup } : {}) });
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      if (this.connectTimer !== null) clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.armIdle();
      void this.send(socket);
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.eof = true;
      this.parser.finish();
      this.pump();
    });
    socket.on('error', (err) => this.onSocketError(err, host, port));
    socket.on('close', () => {
      // A close without 'end' or 'error' (e.g. destroyed by the peer's reset after end).
      if (!this.finished && !this.eof) this.onSocketError(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' }), host, port);
    });
    return headPromise;
  }

  /**
   * Writes the head, then the content in slices. Until the response starts,
   * each slice handed to the kernel re-arms the idle timer: a slow upload
   * that makes progress is not idle.
   */
  private async send(socket: Socket): Promise<void> {
    const progress = (): void => {
      if (this.head === null) this.armIdle();
    };
    socket.write(requestHead(this.req, this.o.proxy !== null), progress);
    const body = this.req.body;
    if (body === null) return;
    for (let off = 0; off < body.length; off += WRITE_SLICE) {
      if (this.finished || socket.destroyed) return;
      if (!socket.write(body.subarray(off, off + WRITE_SLICE), progress)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          };
          socket.on('drain', done);
          socket.on('close', done);
        });
      }
    }
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    this.armIdle();
    this.parser.push(chunk);
    this.pump();
  }

  /** Takes every event the parser can give now. */
  private pump(): void {
    while (!this.finished) {
      const ev = this.parser.next();
      switch (ev.type) {
        case 'head': {
          const h = ev.head;
          if (h.status === 101) {
            this.fail(new HttpBrokenServerError('UNEXPECTED_UPGRADE', h.offset, `The server switched protocols (101) although the client did not ask to (${this.req.url})`, this.req.url));
            return;
          }
          if (h.status < 200) continue; // interim response (100 Continue, 103 Early Hints): skipped
          this.head = h;
          this.settled = true;
          this.resolveHead(h);
          continue;
        }
        case 'data':
          this.body.push(ev.data);
          if (this.body.full && !this.paused) {
            this.paused = true;
            this.socket?.pause();
            this.clearIdle();
          }
          continue;
        case 'end':
          if (this.head === null) continue; // the end of an interim response
          this.body.end(ev.trailers);
          // Done: bytes after the content (beyond Content-Length) are ignored and the connection closed.
          this.cleanup();
          return;
        case 'error':
          this.fail(parseFailure(ev.error, this.req.url, this.o.maxResponseSize));
          return;
        default: // partial
          if (this.eof) {
            // The peer closed between messages: before any (final) response.
            const e = new HttpParseError('UNEXPECTED_EOF', this.parser.offset, 'the server closed the connection before sending a response');
            this.fail(parseFailure(e, this.req.url, this.o.maxResponseSize));
          }
          return;
      }
    }
  }

  /** The reader wants bytes: resume the socket if it was paused for backpressure. */
  private demand(): void {
    if (this.paused && !this.finished && !this.body.full) {
      this.paused = false;
      this.socket?.resume();
      this.armIdle();
    }
  }

  private onSocketError(err: Error, host: string, port: number): void {
    if (this.finished) return;
    const what = this.connected ? 'Connection to' : 'Could not connect to';
    const code = (err as { code?: string }).code;
    this.fail(new HttpConnectionError(`${what} ${host}:${port} failed${code ? ` (${code})` : ''}: ${err.message}`, this.req.url, host, port, err));
  }

  private armIdle(): void {
    this.clearIdle();
    if (this.finished || this.paused || !(this.o.idleTimeout <= MAX_TIMER)) return;
    this.idleTimer = setTimeout(() => this.fail(new HttpTimeoutError('ETIMEDOUT_IDLE', this.o.idleTimeout, this.req.url)), this.o.idleTimeout);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** The exchange failed: reject `open` or, once the response was returned, its reads. */
  fail(err: Error): void {
    if (this.finished) return;
    if (!this.settled) {
      this.settled = true;
      this.rejectHead(err);
    } else this.body.fail(err);
    this.cleanup();
  }

  /** Stops everything (the response was closed, or followed as a redirect). */
  destroy(): void {
    this.cleanup();
  }

  private cleanup(): void {
    this.finished = true;
    this.clearIdle();
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.totalTimer !== null) clearTimeout(this.totalTimer);
    this.connectTimer = null;
    this.totalTimer = null;
    this.socket?.destroy();
  }
}

function parseFailure(e: HttpParseError, url: string, limit: number): Error {
  if (e.code === 'BODY_TOO_LARGE') return new HttpResponseTooLargeError(limit, url, e);
  return new HttpBrokenServerError(e.code, e.offset, `The server sent a malformed response: ${e.message} (${url})`, url, e);
}

// ------------------------------------------------------------ redirects

/** The Location field's value (first field line), decoded as UTF-8 when it is. */
function locationOf(raw: RawHeader[]): string | null {
  const f = raw.find(([n]) => n.toLowerCase() === 'location');
  if (f === undefined) return null;
  const bytes = Buffer.from(f[1], 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : f[1];
}

/** The request to send after a redirect (RFC 9110 §15.4, and the Fetch standard's method rewrite). */
function redirected(prev: Prepared, status: number, location: string, redirects: number): Prepared {
  let next: URL;
  try {
    next = new URL(location, prev.url);
  } catch (e) {
    throw new HttpRedirectError('ERR_REDIRECT_LOCATION', `Redirect ${status} has an invalid Location ${JSON.stringify(location)} (${prev.url})`, prev.url, location, status, redirects, e);
  }
  if (next.protocol !== 'http:') {
    throw new HttpRedirectError('ERR_REDIRECT_SCHEME', `Redirect ${status} to ${JSON.stringify(next.href)}: only http: can be followed${next.protocol === 'https:' ? ' (repy-http has no TLS)' : ''}`, prev.url, location, status, redirects);
  }
  next.hash = '';
  next.username = '';
  next.password = '';
  let u: ReturnType<typeof parseHttpUrl>;
  try {
    u = parseHttpUrl(next.href);
  } catch (e) {
    throw new HttpRedirectError('ERR_REDIRECT_LOCATION', `Redirect ${status} to an unusable URL ${JSON.stringify(next.href)}: ${(e as Error).message}`, prev.url, location, status, redirects, e);
  }
  // 303 → GET (HEAD stays HEAD); 301/302 after POST → GET, as browsers do; 307/308 keep method and content.
  const toGet = (status === 303 && prev.method !== 'HEAD') || ((status === 301 || status === 302) && prev.method === 'POST');
  const sameOrigin = u.hostname === prev.hostname && u.port === prev.port;
  const fields = prev.fields.filter(([n]) => {
    const lower = n.toLowerCase();
    if (!sameOrigin && CREDENTIAL_FIELDS.has(lower)) return false;
    if (toGet && CONTENT_FIELDS.has(lower)) return false;
    return true;
  });
  return {
    ...addressOf(u, u.query),
    method: toGet ? 'GET' : prev.method,
    body: toGet ? null : prev.body,
    fields,
  };
}

function checkAllowed(o: Resolved, p: Prepared, redirect: boolean): void {
  if (o.allow === null) return;
  if (!o.allow({ url: p.url, hostname: p.hostname, port: p.port, redirect })) throw new HttpForbiddenError(p.url, p.hostname, p.port, redirect);
}

// ------------------------------------------------------------ the API

/**
 * `httpretrieve_open`: sends one HTTP/1.1 request and resolves with the
 * {@link HttpResponse} once the final response head has arrived (interim 1xx
 * responses are skipped; redirects are followed). The content is then read
 * with `read()` or `for await`.
 *
 * Rejects with TypeError / ValueError for bad arguments (before connecting),
 * HttpForbiddenError, HttpConnectionError, HttpTimeoutError,
 * HttpBrokenServerError, HttpResponseTooLargeError or HttpRedirectError:
 * see docs/client.md.
 *
 * @example
 * const res = await open('http://127.0.0.1:8080/form', { postdata: { first: '1st' }, timeout: 5000 });
 * const text = (await res.read()).toString('utf8');
 */
export async function open(url: string, options: OpenOptions | null = {}): Promise<HttpResponse> {
  options ??= {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object');
  const o = resolveOptions(options);
  let req = prepare(url, options);
  const deadline = Date.now() + o.totalTimeout;
  for (let redirects = 0; ; redirects++) {
    checkAllowed(o, req, redirects > 0);
    const exchange = new Exchange(req, o, deadline);
    const head = await exchange.start();
    const res = new HttpResponse(head, exchange, req.url, redirects);
    if (!o.followRedirects || !REDIRECTS.has(head.status)) return res;
    const location = locationOf(head.rawHeaders);
    if (location === null) return res; // a redirect without Location is an ordinary response
    res.close();
    if (redirects >= o.maxRedirects) {
      throw new HttpRedirectError('ERR_TOO_MANY_REDIRECTS', `More than ${o.maxRedirects} redirects (the last from ${req.url} to ${JSON.stringify(location)})`, req.url, location, head.status, redirects);
    }
    req = redirected(req, head.status, location, redirects);
  }
}

/**
 * `httpretrieve_get_string`: the whole content as a string (UTF-8; invalid
 * sequences become U+FFFD), whatever the status code. The connection is
 * closed in every case.
 *
 * @example const text = await getString('http://127.0.0.1:8080/', { timeout: 5000 });
 */
export async function getString(url: string, options: OpenOptions | null = {}): Promise<string> {
  const res = await open(url, options);
  try {
    return (await res.read()).toString('utf8');
  } finally {
    res.close();
  }
}

/**
 * `httpretrieve_save_file`: writes the content to `filename`, whatever the
 * status code. The content goes to a temporary file in the same directory,
 * which is renamed over `filename` only once everything arrived: a failed
 * download never truncates or replaces an existing file, and leaves no
 * temporary file behind. Resolves with the number of bytes written.
 *
 * @example await saveFile('http://127.0.0.1:8080/data.bin', './data.bin');
 */
export async function saveFile(url: string, filename: string, options: OpenOptions | null = {}): Promise<number> {
  if (typeof filename !== 'string') throw new TypeError('filename must be a string');
  if (filename.length === 0) throw new ValueError('filename must not be empty');
  const res = await open(url, options);
  const tmp = join(dirname(filename), `.${basename(filename)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fh: Awaited<ReturnType<typeof openFile>> | null = null;
  let written = 0;
  try {
    fh = await openFile(tmp, 'wx');
    for await (const chunk of res) {
      await fh.write(chunk);
      written += chunk.length;
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, filename);
    return written;
  } catch (e) {
    if (fh !== null) await fh.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  } finally {
    res.close();
  }
}
