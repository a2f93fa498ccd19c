/**
 * Server options and their defaults. docs/limits.md gives the RFC section
 * behind each limit and timeout.
 *
 * @module
 */

import { DEFAULT_LIMITS } from '../parser/constants.js';
import type { ParserOptions } from '../parser/parser.js';
import type { RequestDict } from './request.js';
import type { RawTap } from './tap.js';
import cluster from 'node:cluster';
import { inspect } from 'node:util';
import type { TlsOptions } from 'node:tls';
import { ValueError } from '../errors.js';
import { TlsHandshakeError } from './errors.js';

/**
 * The `tls` option of `registerCallback`: node:tls's own server options
 * (`key`, `cert`, `ca`, `pfx`, `passphrase`, `requestCert`,
 * `rejectUnauthorized`, `SNICallback`, `minVersion`, `ciphers`, ...), handed
 * to `tls.createServer` as they are. Two are the server's: ALPN is always
 * `http/1.1` alone (this server speaks nothing else), and the handshake is
 * bounded by the `handshakeTimeout` option. docs/https.md lists the defaults.
 *
 * @example
 * await registerCallback(['127.0.0.1', 8443], cb, { tls: { key: readFileSync('key.pem'), cert: readFileSync('cert.pem') } });
 */
export type ServerTlsOptions = Omit<TlsOptions, 'ALPNProtocols' | 'ALPNCallback' | 'handshakeTimeout' | 'allowHalfOpen' | 'pauseOnConnect'>;

/**
 * Options of `registerCallback`. Every field is optional.
 *
 * @example
 * await registerCallback(['127.0.0.1', 0], cb, { maxBodySize: 1 << 20, onError: (e) => log(e) });
 */
export interface ServerOptions extends Omit<ParserOptions, 'trace'> {
  /**
   * Called with every callback failure (throw, rejection, invalid dictionary,
   * broken message stream). Default: one report on stderr per failure
   * (`repy-http: GET /path HTTP/1.1: callback failed: <stack>`); `null`
   * silences it; a function replaces it.
   */
  onError?: ((err: unknown, req: RequestDict | null) => void) | null;
  /**
   * Aborting it stops the registration, as `stopCallback(id)` does (in-flight
   * requests get `stopTimeout` to finish). An already aborted signal makes
   * `registerCallback` reject with its reason, without listening.
   *
   * @example
   * const ac = new AbortController();
   * await registerCallback(['127.0.0.1', 0], cb, { signal: ac.signal });
   * ac.abort(); // stops it
   */
  signal?: AbortSignal;
  /**
   * An access log: one line per response in the Common Log Format
   * (`127.0.0.1 - - [02/Dec/2026:00:40:00 +0000] "GET /a?b=1 HTTP/1.1" 200 5`).
   * `true` writes it to stdout; a function receives each line (without the
   * newline) and the request (null for an answer to bytes that were no
   * request). Default false: a library prints nothing on success.
   */
  log?: boolean | ((line: string, req: RequestDict | null) => void);
  /**
   * A tap on the raw traffic (for the inspector, `repy-http/inspector`, or
   * a recorder): called synchronously with every read and every write of
   * every connection, as bytes, and when a connection opens and closes.
   * Default null: nothing is installed and the read path is unchanged.
   *
   * @example
   * await registerCallback(['127.0.0.1', 0], cb, { onRaw: (t) => t.kind === 'in' && console.log(t.bytes.length) });
   */
  onRaw?: RawTap | null;
  /**
   * Whether the listening socket is this registration's alone. It matters
   * only in a `node:cluster` worker: `true` binds the address in the worker
   * itself, so a second worker on the same port fails with `EADDRINUSE`;
   * `false` asks the primary for the port, which it shares among the workers
   * (it accepts, and hands each connection to one of them). Outside a worker
   * the socket is always the process's own. A second registration on an
   * address this process already listens on fails with `EADDRINUSE` either
   * way. Default: `false` in a cluster worker, `true` elsewhere.
   *
   * @example
   * // in a worker forked by node:cluster: every worker answers on port 8080
   * await registerCallback(['127.0.0.1', 8080], cb); // exclusive: false by default here
   */
  exclusive?: boolean;
  /** Requests of one connection waiting for their responses before reading pauses (default 16). */
  maxPipelined?: number;
  /** Buffered, unread request content (bytes) before reading pauses (default 64 KiB). */
  highWaterMark?: number;
  /** Unread request content (bytes) read and dropped after a response before the connection is closed instead (default 1 MiB). */
  maxDrainSize?: number;
  /** Milliseconds for a request head to arrive once started; 408 after (default 60 000). */
  headersTimeout?: number;
  /** Milliseconds without new request content, while it is being read, before 408 (default 60 000). */
  bodyTimeout?: number;
  /** Milliseconds for the callback to answer before 503 (default 120 000; `req.setTimeout` overrides). */
  callbackTimeout?: number;
  /** Milliseconds a response write may wait for the client to read before the connection is cut (default 60 000). */
  writeTimeout?: number;
  /** Open connections at most; one more is answered 503 and closed (default 10 000). */
  maxConnections?: number;
  /** Milliseconds an idle keep-alive connection stays open (default 65 000). */
  keepAliveTimeout?: number;
  /** Milliseconds to keep reading (and dropping) after the server half-closed a connection (default 2 000). */
  lingerTimeout?: number;
  /** Milliseconds `stopCallback` waits for in-flight requests before it closes their connections (default 10 000). */
  stopTimeout?: number;
  /**
   * Serve HTTPS: node:tls server options (at least `key` and `cert`, or
   * `pfx`). Default: none, plain HTTP. See docs/https.md.
   *
   * @example
   * { tls: { key, cert, ca, requestCert: true, rejectUnauthorized: true } }
   */
  tls?: ServerTlsOptions | null;
  /** With `tls`: milliseconds for a TLS handshake to complete before the socket is destroyed and reported (default 10 000). */
  handshakeTimeout?: number;
  /**
   * Milliseconds a connection with nothing in flight stays open once
   * `stopCallback` was called, so that a request its client sent meanwhile
   * is answered (with `Connection: close`) rather than met by a close
   * (default 0: such connections close at once). `repy-http/cluster` sets
   * 1 000 in its workers, so that a rolling restart refuses nothing.
   */
  stopIdleTimeout?: number;
}

/** Options with every default filled in. */
export type ServerOptionsResolved = Required<Omit<ServerOptions, 'onError' | 'signal' | 'log' | 'tls' | 'onRaw'>> & {
  tls: ServerTlsOptions | null;
  onRaw: RawTap | null;
  onError: ((err: unknown, req: RequestDict | null) => void) | null;
  signal: AbortSignal | null;
  log: ((line: string, req: RequestDict | null) => void) | null;
};

/** `log: true`: each line on stdout. */
const logToStdout = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * The default `onError`: failures are visible, as with node:http's uncaught
 * exceptions and Python's http.server tracebacks. One write per failure: the
 * request line, then the error's stack.
 *
 * @example reportToStderr(new Error('boom'), req) // repy-http: GET /x HTTP/1.1: callback failed: Error: boom\n    at ...
 */
export function reportToStderr(err: unknown, req: RequestDict | null): void {
  if (err instanceof TlsHandshakeError) {
    // A client's failed handshake is one line: its stack says nothing, and scanners make many.
    process.stderr.write(`repy-http: ${err.message}\n`);
    return;
  }
  const detail = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : inspect(err);
  const where = req === null ? '' : `${req.verb} ${req.path}${req.querystr === null ? '' : `?${req.querystr}`} HTTP/${req.version}: callback failed: `;
  process.stderr.write(`repy-http: ${where}${detail}\n`);
}

/** The default of every numeric server option. */
export const SERVER_DEFAULTS = Object.freeze({
  ...DEFAULT_LIMITS,
  maxPipelined: 16,
  highWaterMark: 64 * 1024,
  maxDrainSize: 1024 * 1024,
  headersTimeout: 60_000,
  bodyTimeout: 60_000,
  callbackTimeout: 120_000,
  writeTimeout: 60_000,
  maxConnections: 10_000,
  keepAliveTimeout: 65_000,
  lingerTimeout: 2_000,
  stopTimeout: 10_000,
  handshakeTimeout: 10_000,
  stopIdleTimeout: 0,
});

/** Validates options: unknown keys and bad values are errors, not silent surprises. */
export function resolveOptions(options: unknown): ServerOptionsResolved {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object');
  const o = options as Record<string, unknown>;
  const out: Record<string, unknown> = { ...SERVER_DEFAULTS, allowBareLF: false, requireHost: true, onError: reportToStderr, signal: null, log: null, tls: null, onRaw: null, exclusive: !cluster.isWorker };
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (v === undefined) continue;
    if (key === 'onError' || key === 'onRaw') {
      if (v !== null && typeof v !== 'function') throw new TypeError(`options.${key} must be a function or null`);
      out[key] = v;
    } else if (key === 'log') {
      if (typeof v !== 'boolean' && typeof v !== 'function') throw new TypeError('options.log must be a boolean or a function');
      out[key] = v === true ? logToStdout : v === false ? null : v;
    } else if (key === 'signal') {
      if (!(v instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
      out[key] = v;
    } else if (key === 'tls') {
      out[key] = tlsOption(v);
    } else if (key === 'allowBareLF' || key === 'requireHost' || key === 'exclusive') {
      if (typeof v !== 'boolean') throw new TypeError(`options.${key} must be a boolean`);
      out[key] = v;
    } else if (key in SERVER_DEFAULTS) {
      if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`options.${key} must be a number`);
      if (v < 0 || (!Number.isInteger(v) && v !== Infinity)) throw new ValueError(`options.${key} must be a non-negative integer or Infinity`);
      if (key === 'maxPipelined' && v < 1) throw new ValueError('options.maxPipelined must be at least 1');
      out[key] = v;
    } else throw new ValueError(`unknown option ${JSON.stringify(key)}`);
  }
  return out as ServerOptionsResolved;
}

/** Options node:tls would take but that the server decides itself. */
const TLS_FIXED = ['ALPNProtocols', 'ALPNCallback', 'handshakeTimeout', 'allowHalfOpen', 'pauseOnConnect'];

/**
 * The `tls` option: an object of node:tls server options (node itself
 * checks the certificates and keys when the server is made), or null.
 */
function tlsOption(v: unknown): ServerTlsOptions | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new TypeError('options.tls must be an object of node:tls server options (key, cert, ...)');
  for (const k of TLS_FIXED) {
    if ((v as Record<string, unknown>)[k] !== undefined) {
      throw new ValueError(`options.tls.${k} cannot be set: ${k === 'handshakeTimeout' ? 'use the handshakeTimeout option' : 'the server sets it (ALPN is http/1.1 only)'}`);
    }
  }
  return { ...(v as ServerTlsOptions) };
}

/**
 * How often the registration checks its connections' deadlines: a quarter
 * of the shortest timeout, between 5 ms and 1 s. One interval timer per
 * registration instead of timers per request.
 */
export function sweepInterval(o: ServerOptionsResolved): number {
  const ts = [o.headersTimeout, o.bodyTimeout, o.callbackTimeout, o.writeTimeout, o.keepAliveTimeout].filter((v) => v > 0 && Number.isFinite(v));
  const shortest = ts.length > 0 ? Math.min(...ts) : 4000;
  return Math.min(1000, Math.max(5, Math.floor(shortest / 4)));
}
