/**
 * Server options and their defaults. docs/limits.md gives the RFC section
 * behind each limit and timeout.
 *
 * @module
 */

import { DEFAULT_LIMITS } from '../parser/constants.js';
import type { ParserOptions } from '../parser/parser.js';
import type { RequestDict } from './request.js';
import cluster from 'node:cluster';
import { inspect } from 'node:util';
import { ValueError } from '../errors.js';

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
   * Milliseconds a connection with nothing in flight stays open once
   * `stopCallback` was called, so that a request its client sent meanwhile
   * is answered (with `Connection: close`) rather than met by a close
   * (default 0: such connections close at once). `repy-http/cluster` sets
   * 1 000 in its workers, so that a rolling restart refuses nothing.
   */
  stopIdleTimeout?: number;
}

/** Options with every default filled in. */
export type ServerOptionsResolved = Required<Omit<ServerOptions, 'onError' | 'signal' | 'log'>> & {
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
  stopIdleTimeout: 0,
});

/** Validates options: unknown keys and bad values are errors, not silent surprises. */
export function resolveOptions(options: unknown): ServerOptionsResolved {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object');
  const o = options as Record<string, unknown>;
  const out: Record<string, unknown> = { ...SERVER_DEFAULTS, allowBareLF: false, requireHost: true, onError: reportToStderr, signal: null, log: null, exclusive: !cluster.isWorker };
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (v === undefined) continue;
    if (key === 'onError') {
      if (v !== null && typeof v !== 'function') throw new TypeError('options.onError must be a function or null');
      out[key] = v;
    } else if (key === 'log') {
      if (typeof v !== 'boolean' && typeof v !== 'function') throw new TypeError('options.log must be a boolean or a function');
      out[key] = v === true ? logToStdout : v === false ? null : v;
    } else if (key === 'signal') {
      if (!(v instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
      out[key] = v;
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
