/**
 * Peers for the client tests, each on 127.0.0.1 port 0 and shut down when
 * the test ends: this project's own server, a node:http server (an
 * independent implementation), and a raw node:net server that answers
 * with exact bytes (tricky and broken responses).
 */
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { Test } from 'tap';
import { boundAddress, registerCallback, stopCallback, type Callback } from '../../src/server/server.js';
import type { ServerOptions } from '../../src/server/options.js';

/** This project's server: registerCallback on port 0. */
export async function repyServer(t: Test, cb: Callback, options?: ServerOptions): Promise<number> {
  const id = await registerCallback(['127.0.0.1', 0], cb, options);
  t.teardown(() => stopCallback(id).catch(() => {}));
  return boundAddress(id)[1];
}

/** A node:http server. */
export async function nodeServer(t: Test, listener: RequestListener, host = '127.0.0.1'): Promise<number> {
  const server = createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** One request as the raw server received it. */
export interface RawRequest {
  /** The head, request line to the empty line, as latin1 text. */
  head: string;
  /** The content announced by Content-Length. */
  body: Buffer;
  /** Request line. */
  line: string;
  /** Field lines `[name, value]` as received. */
  fields: [string, string][];
}

/** Reads one request (head, then Content-Length bytes) from a socket. Resolves null if the peer closes first. */
export function readRequest(socket: Socket): Promise<RawRequest | null> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end + 4).toString('latin1');
      const lines = head.split('\r\n').slice(0, -2);
      const fields = lines.slice(1).map((l) => {
        const c = l.indexOf(':');
        return [l.slice(0, c), l.slice(c + 1).trim()] as [string, string];
      });
      const cl = fields.find(([n]) => n.toLowerCase() === 'content-length');
      const want = cl ? Number(cl[1]) : 0;
      if (buf.length - (end + 4) < want) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ head, line: lines[0]!, fields, body: buf.subarray(end + 4, end + 4 + want) });
    };
    const onClose = (): void => resolve(null);
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** A raw server's handler: the connection, and the request it sent. */
export type RawHandler = (socket: Socket, req: RawRequest) => void | Promise<void>;

/** The raw server: every request it received, in order. */
export interface RawServer {
  port: number;
  requests: RawRequest[];
  /** Connections accepted (a request that is refused before connecting leaves this at 0). */
  connections: number;
}

/** A node:net server that reads one request per connection and lets `handler` write raw bytes. */
export async function rawServer(t: Test, handler: RawHandler): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const state: RawServer = { port: 0, requests: [], connections: 0 };
  const server = createNetServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    void readRequest(socket).then(async (req) => {
      if (req === null) return;
      state.requests.push(req);
      await handler(socket, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.port = (server.address() as AddressInfo).port;
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

/** A handler that writes `bytes` (latin1 when a string) and closes. */
export function reply(bytes: string | Buffer): RawHandler {
  return (socket) => {
    socket.end(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  };
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Settles `p` or rejects after `ms` (every wait in these tests is bounded). */
export function within<T>(p: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

/** The error `p` rejects with (fails the test when it resolves), bounded by `ms`. */
export async function rejection(p: Promise<unknown>, ms = 5000): Promise<Error & Record<string, unknown>> {
  try {
    await within(p, ms, 'rejection');
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection, got a resolution');
}
