/**
 * The request dictionary handed to a callback, and its `datastream`: the
 * request content, read with backpressure.
 *
 * @module
 */

import { ContentQueue } from '../message/content.js';
import type { RawHeader, RequestHead } from '../parser/parser.js';
import { parseQuery } from '../message/url.js';
import { headersObject } from '../message/headers.js';

/**
 * The request content as a stream. `read(n)` resolves with exactly
 * `min(n, rest)` bytes (waiting for them), `read()` with the whole rest;
 * both resolve with an empty Buffer at the end. Also async-iterable (chunks
 * as they arrive). The socket is not read faster than this is consumed.
 * A broken body (client gone, bad chunk) rejects the pending and later reads.
 *
 * @example
 * for await (const chunk of req.datastream) total += chunk.length;
 * const first10 = await req.datastream.read(10);
 */
export class DataStream extends ContentQueue {
  private discarding = false;
  /** Content bytes that arrived so far (read, buffered or dropped). */
  received = 0;

  /**
   * @param highWaterMark buffered bytes above which the connection stops reading the socket
   * @param onDemand called when the reader wants bytes (resume reading, send 100 Continue)
   */
  constructor(highWaterMark: number, onDemand: () => void) {
    super(highWaterMark, onDemand, false);
  }

  /** True when the connection should stop feeding until the reader catches up. */
  override get full(): boolean {
    return !this.discarding && super.full;
  }

  /** The connection delivers content bytes. */
  override push(data: Buffer): void {
    this.received += data.length;
    if (!this.discarding) super.push(data);
  }

  /** The response is done: drop what is buffered and what still arrives. Returns the bytes dropped. */
  discard(): number {
    this.discarding = true;
    return this.drop();
  }
}

/**
 * The request dictionary a callback receives (repy's, plus `rawheaders` and
 * `signal`).
 *
 * @example
 * { verb: 'GET', path: '/search', querystr: 'q=a+b&x', querydict: { q: 'a b', x: null },
 *   version: '1.1', headers: { Host: 'localhost:8080' }, rawheaders: [['host', 'localhost:8080']],
 *   datastream, httpdid: 1, remoteipstr: '127.0.0.1', remoteportnum: 51234, signal }
 */
export interface RequestDict {
  /** The method as sent, e.g. `'GET'` (case-sensitive). */
  verb: string;
  /** The request-target before the first `?`, undecoded (`*` and absolute-form kept as sent). */
  path: string;
  /** The text after the first `?`, or null when there is none. */
  querystr: string | null;
  /** The decoded query: `k=v` → 'v', bare `k` → null; null when there is no `?`. */
  querydict: Record<string, string | null> | null;
  /** `'0.9'`, `'1.0'` or `'1.1'`. */
  version: '0.9' | '1.0' | '1.1';
  /** Canonical field name (`Content-Type`) → value; repeats joined with `, ` (Cookie: `; `). */
  headers: Record<string, string>;
  /** Every field line `[name, value]` in wire order and case. */
  rawheaders: RawHeader[];
  /** The request content. */
  datastream: DataStream;
  /** The id `registerCallback` returned. */
  httpdid: number;
  /** The peer's address. */
  remoteipstr: string;
  /** The peer's port. */
  remoteportnum: number;
  /** Fires when the client disconnects before the response is written, the server stops, or a timeout cuts the request. */
  signal: AbortSignal;
  /**
   * `true` on an HTTPS registration (`tls` option). Not set at all on plain
   * HTTP, so that plain requests keep their thirteen keys and their cost:
   * test it as `req.secure === true`.
   */
  secure?: true;
  /**
   * HTTPS only: the client certificate (with `tls.requestCert`), or null
   * when the client sent none. Not set on plain HTTP.
   */
  peercert?: PeerCertificate | null;
  /**
   * Overrides the server's `bodyTimeout` and `callbackTimeout` for this
   * request (ms; 0 = none): for long uploads and long polls.
   */
  setTimeout(ms: number): void;
}

/**
 * A client certificate as `req.peercert` shows it: the fields of node:tls's
 * `getPeerCertificate()` a callback needs to decide who is calling, frozen,
 * shared by the requests of one connection.
 *
 * @example req.peercert?.authorized && req.peercert.subject.CN === 'alice'
 */
export interface PeerCertificate {
  /** The subject's attributes: `{ CN: 'alice', O: 'Example' }` (an array where one repeats). */
  readonly subject: Readonly<Record<string, string | string[]>>;
  /** The issuer's attributes. */
  readonly issuer: Readonly<Record<string, string | string[]>>;
  /** `notBefore` and `notAfter` as OpenSSL prints them (`'Dec  2 01:00:00 2026 GMT'`). */
  readonly validFrom: string;
  readonly validTo: string;
  /** Hex, upper case. */
  readonly serialNumber: string;
  /** SHA-256 fingerprint, `AA:BB:...`. */
  readonly fingerprint256: string;
  /** True when it chains to the server's `ca` (always, with `rejectUnauthorized`). */
  readonly authorized: boolean;
  /** Why it did not verify (`'UNABLE_TO_VERIFY_LEAF_SIGNATURE'`, ...), or null. */
  readonly authorizationError: string | null;
}

/** What a request on a TLS connection carries (null on plain HTTP). */
export interface TlsInfo {
  peercert: PeerCertificate | null;
}

/**
 * An AbortController made only when the callback looks at `req.signal`:
 * most callbacks never do, and a controller per request costs more than
 * parsing the request. Aborting before anyone looked still fires for whoever
 * looks later (the signal is born aborted).
 *
 * @example const a = new LazyAbort(); a.abort(new Error('gone')); a.signal.aborted === true
 */
export class LazyAbort {
  private controller: AbortController | null = null;
  private reason: unknown = undefined;
  private fired = false;
  /** The request's own timeout set through `req.setTimeout` (ms, 0 = none), or null for the server's. */
  timeout: number | null = null;

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.fired) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.fired) return;
    this.fired = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * Where a request dictionary keeps its control object: an own enumerable
 * symbol property, so that `{ ...req }` and `Object.assign({}, req)` carry it
 * (spread copies own enumerable symbol keys) while `Object.keys` and
 * `JSON.stringify` do not list it.
 */
const CONTROL = Symbol('repy-http.request');

type Controlled = { [CONTROL]: LazyAbort };

/** `req.signal`: one shared getter, installed on each request as an own enumerable accessor. */
function getSignal(this: Controlled): AbortSignal {
  return this[CONTROL].signal;
}

/**
 * `req.setTimeout`: one shared function (no closure per request), an own
 * enumerable property of each request; it finds the request's control
 * object through `this`, which a spread copy carries too.
 */
function setRequestTimeout(this: Controlled, ms: number): void {
  if (this === null || typeof this !== 'object' || !(this[CONTROL] instanceof LazyAbort)) {
    throw new TypeError('setTimeout must be called on a request dictionary: req.setTimeout(ms)');
  }
  if (typeof ms !== 'number' || !(ms >= 0)) throw new TypeError('setTimeout(ms): ms must be a non-negative number (0 = no timeout)');
  this[CONTROL].timeout = ms;
}

/**
 * Defines an own getter that is enumerable and configurable: what
 * `Object.defineProperty(o, k, { get, enumerable: true, configurable: true })`
 * does, without reading a descriptor object. ECMAScript Annex B.2.2.2
 * (`Object.prototype.__defineGetter__`); taken once here, so that a later
 * change to Object.prototype does not reach the requests. It made building
 * a request about 100 ns cheaper (a micro-benchmark of buildRequest).
 */
const defineGetter = (Object.prototype as unknown as { __defineGetter__(this: object, key: string, get: () => unknown): void }).__defineGetter__;

/**
 * Builds the request dictionary from a parsed head. Its own enumerable
 * properties are the data fields, then `signal` (a lazy getter) and
 * `setTimeout`, so a plain spread copy keeps working.
 */
export function buildRequest(
  head: RequestHead,
  datastream: DataStream,
  httpdid: number,
  remoteipstr: string,
  remoteportnum: number,
  control: LazyAbort,
  tls: TlsInfo | null = null,
): RequestDict {
  const q = head.target.indexOf('?');
  const querystr = q === -1 ? null : head.target.slice(q + 1);
  // One literal: the object is made with room for these fields in itself.
  const req = {
    verb: head.method,
    path: q === -1 ? head.target : head.target.slice(0, q),
    querystr,
    querydict: querystr === null ? null : parseQuery(querystr),
    version: head.version,
    headers: headersObject(head.rawHeaders),
    rawheaders: head.rawHeaders,
    datastream,
    httpdid,
    remoteipstr,
    remoteportnum,
  } as RequestDict & Controlled;
  if (tls !== null) {
    // Own enumerable keys on HTTPS only: plain requests keep their shape (and cost).
    req.secure = true;
    req.peercert = tls.peercert;
  }
  // Own properties, so that a wrapper's `{ ...req, path }` keeps them: spread
  // reads the getter (the copy holds this request's AbortSignal, made then)
  // and copies the function and the control symbol. The signal stays lazy
  // for callbacks that neither read it nor spread the request.
  defineGetter.call(req, 'signal', getSignal);
  req.setTimeout = setRequestTimeout;
  req[CONTROL] = control;
  return req;
}
