/**
 * The registry: `registerCallback` starts listening on an address and hands
 * every request to a callback; `stopCallback` stops it gracefully.
 *
 * @module
 */

import { createServer, type Server, type Socket } from 'node:net';
import { Connection, timer, type ServerContext } from './connection.js';
import { IndexError, KeyError, ValueError } from '../errors.js';
import { resolveOptions, sweepInterval, type ServerOptions } from './options.js';
import type { RequestDict } from './request.js';
import { errorResponse, type ResponseDict } from './response.js';
import { tlsServer } from './tls.js';

/** A request callback: sync or async, returns the response dictionary. */
export type Callback = (req: RequestDict) => ResponseDict | Promise<ResponseDict>;

interface Registration {
  server: Server;
  rejected: Set<Socket>;
  /** With `tls`: every accepted TCP socket until it closes (those still handshaking are cut at stop). */
  raw: Set<Socket>;
  sweeper: NodeJS.Timeout;
  ctx: ServerContext;
  connections: Set<Connection>;
  address: [string, number];
  stopped: Promise<void> | null;
  /** Removes the abort listener of `options.signal` (nothing without one). */
  unlisten: () => void;
}

const registry = new Map<number, Registration>();
let nextId = 1;

/**
 * Listens on `[host, port]` and answers every HTTP request with
 * `callback(request)`. Resolves with a positive integer id once listening
 * (port 0 picks a free port: see {@link boundAddress}).
 *
 * Rejects with `TypeError` (wrong types), `IndexError` (address with fewer
 * than two items), `ValueError` (port out of range, bad option) or the
 * operating system's error with its `code` kept (`EADDRINUSE`, `EACCES`,
 * `EADDRNOTAVAIL`, ...).
 *
 * @example
 * const id = await registerCallback(['127.0.0.1', 8080], async (req) => ({
 *   statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: `hello ${req.path}\n`,
 * }));
 */
export async function registerCallback(address: readonly [string, number], callback: Callback, options?: ServerOptions): Promise<number> {
  if (address === null || typeof address !== 'object' || typeof (address as { length?: unknown }).length !== 'number') {
    throw new TypeError('address must be a [host, port] pair');
  }
  if (address.length < 2) throw new IndexError('address must have two items: [host, port]');
  const [host, port] = address;
  if (typeof host !== 'string') throw new TypeError('host must be a string');
  if (host.length === 0) throw new ValueError('host must not be empty (use "0.0.0.0" or "::" for every interface)');
  if (typeof port !== 'number' || !Number.isInteger(port)) throw new TypeError('port must be an integer');
  if (port < 0 || port > 65535) throw new ValueError(`port must be between 0 and 65535, got ${port}`);
  if (typeof callback !== 'function') throw new TypeError('callback must be a function');
  const opts = resolveOptions(options);
  opts.signal?.throwIfAborted();

  const id = nextId++;
  const connections = new Set<Connection>();
  const rejected = new Set<Socket>();
  const ctx: ServerContext = {
    id,
    callback: callback as (req: RequestDict) => unknown,
    options: opts,
    stopping: false,
    report(err, req) {
      if (opts.onError === null) return;
      try {
        opts.onError(err, req);
      } catch {
        // An onError hook that throws must not take the server down.
      }
    },
    closed(conn) {
      connections.delete(conn);
    },
  };
  const accept = (socket: Socket): void => {
    if (ctx.stopping) {
      socket.destroy();
      return;
    }
    if (connections.size >= opts.maxConnections) {
      // Bounded: one more connection gets a short 503 and is closed; what
      // it sent is read and dropped so that its FIN is seen.
      rejected.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => rejected.delete(socket));
      socket.resume();
      socket.end(errorResponse(503, 'too many connections'));
      timer(() => socket.destroy(), opts.lingerTimeout);
      return;
    }
    connections.add(new Connection(socket, ctx));
  };
  const raw = new Set<Socket>();
  const server = opts.tls === null ? createServer({ noDelay: true, allowHalfOpen: true }, accept) : tlsServer(opts, ctx, raw, accept);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: opts.exclusive }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => ctx.report(err, null));
  const bound = server.address();
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const conn of connections) conn.sweep(now);
  }, sweepInterval(opts));
  sweeper.unref();
  const reg: Registration = {
    server, ctx, connections, rejected, raw, stopped: null, sweeper, unlisten: () => {},
    address: [host, bound !== null && typeof bound === 'object' ? bound.port : port],
  };
  registry.set(id, reg);
  // options.signal: aborting it stops this registration (and nothing leaks once it is stopped).
  const signal = opts.signal;
  if (signal !== null) {
    const stop = (): void => void stopCallback(id).catch(() => {});
    if (signal.aborted) stop(); // aborted while listening
    else {
      signal.addEventListener('abort', stop, { once: true });
      reg.unlisten = () => signal.removeEventListener('abort', stop);
    }
  }
  return id;
}

/** An un-awaited `registerCallback` result passed as an id is a TypeError that says so. */
function checkId(id: unknown): void {
  if (id !== null && (typeof id === 'object' || typeof id === 'function') && typeof (id as { then?: unknown }).then === 'function') {
    throw new TypeError('id is a Promise — did you forget await? (registerCallback resolves with the id)');
  }
}

/**
 * The address a registration listens on, with the real port when 0 was asked.
 * Throws `KeyError` for an unknown or stopped id.
 *
 * @example
 * const id = await registerCallback(['127.0.0.1', 0], cb);
 * const [host, port] = boundAddress(id); // ['127.0.0.1', 40123]
 */
export function boundAddress(id: number): [string, number] {
  checkId(id);
  const reg = registry.get(id);
  if (reg === undefined || reg.ctx.stopping) throw new KeyError(`no registered callback with id ${String(id)}`);
  return [reg.address[0], reg.address[1]];
}

/**
 * Stops a registration: the listener closes at once, idle keep-alive
 * connections are closed, in-flight requests get their responses (their
 * `signal` fires so long work can give up), then their connections close.
 * Resolves once every connection is closed, at the latest `stopTimeout`
 * (option, default 10 s) after the call, when the rest are cut.
 * Rejects with `KeyError` for an unknown or already stopped id.
 *
 * @example await stopCallback(id);
 */
export async function stopCallback(id: number): Promise<void> {
  checkId(id);
  const reg = registry.get(id);
  if (reg === undefined || reg.ctx.stopping) throw new KeyError(`no registered callback with id ${String(id)}`);
  reg.ctx.stopping = true;
  registry.delete(id);
  reg.unlisten();
  const listenerClosed = new Promise<void>((resolve) => reg.server.close(() => resolve()));
  for (const conn of reg.connections) conn.shutdown();
  for (const socket of reg.rejected) socket.destroy();
  const allClosed = (async () => {
    while (reg.connections.size > 0) await new Promise((r) => setTimeout(r, 10));
  })();
  let deadline: NodeJS.Timeout | null = null;
  await Promise.race([
    allClosed,
    new Promise<void>((resolve) => {
      deadline = timer(() => {
        for (const conn of reg.connections) conn.destroy();
        resolve();
      }, reg.ctx.options.stopTimeout);
    }),
  ]);
  if (deadline !== null) clearTimeout(deadline);
  // Every connection is closed: what is left are TLS handshakes still under way.
  for (const socket of reg.raw) socket.destroy();
  clearInterval(reg.sweeper);
  await listenerClosed;
}
