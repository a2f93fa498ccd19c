/**
 * Raw-socket helpers for server tests: start a server on port 0, send exact
 * bytes, read what comes back.
 */
import { connect, type Socket } from 'node:net';
import type { Test } from 'tap';
import { boundAddress, registerCallback, stopCallback, type Callback } from '../../src/server/server.js';
import type { ServerOptions } from '../../src/server/options.js';
import { parseMessages } from '../../src/parser/inspect.js';
import type { ResponseHead } from '../../src/parser/parser.js';

/** Registers `cb` on 127.0.0.1:0 and stops it when the test ends. */
export async function serve(t: Test, cb: Callback, options?: ServerOptions): Promise<{ id: number; port: number }> {
  const id = await registerCallback(['127.0.0.1', 0], cb, options);
  // A test that stopped it itself makes this a KeyError, which is fine.
  t.teardown(() => stopCallback(id).catch(() => {}));
  return { id, port: boundAddress(id)[1] };
}

/** An open client connection that collects everything the server sends. */
export class Client {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.ready.catch(() => {}); // a refused connection is asserted by the test, not unhandled
    this.socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.notify();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Waits until `pred(received)` holds or the connection closes; rejects after `ms`. */
  async until(pred: (b: Buffer) => boolean, ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (!pred(this.received) && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; received so far: ${JSON.stringify(this.received.toString('latin1').slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  /** Waits for the server to close the connection. */
  async closedByServer(ms = 5000): Promise<Buffer> {
    return this.until(() => false, ms).catch((e: Error) => {
      if (this.closed) return this.received;
      throw e;
    });
  }

  /** Waits until `n` complete responses arrived, parsed with the response parser. */
  async responses(n: number, ms = 5000, head = false): Promise<Reply[]> {
    await this.until((b) => parseReplies(b, head).length >= n, ms);
    return parseReplies(this.received, head);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface Reply {
  status: number;
  reason: string;
  version: string;
  headers: Record<string, string>;
  raw: [string, string][];
  body: string;
}

/** Splits received bytes into complete responses (ignoring 100 Continue). */
export function parseReplies(b: Buffer, head = false): Reply[] {
  const r = parseMessages(b, { kind: 'response', head });
  return r.messages
    .filter((m) => m.complete && (m.head as ResponseHead).status >= 200)
    .map((m) => {
      const h = m.head as ResponseHead;
      const headers: Record<string, string> = {};
      for (const [k, v] of h.rawHeaders) headers[k.toLowerCase()] = v;
      return { status: h.status, reason: h.reason, version: h.version, headers, raw: h.rawHeaders, body: m.body.toString('latin1') };
    });
}

/** Connects, sends `bytes`, reads until the server closes. */
export async function exchange(port: number, bytes: string | Buffer, ms = 5000): Promise<string> {
  const c = new Client(port);
  await c.ready;
  c.write(bytes);
  return (await c.closedByServer(ms)).toString('latin1');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
