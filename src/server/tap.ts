/**
 * The raw-traffic tap: lets a tool (the inspector, a recorder) see the bytes
 * of each connection exactly as they were read and written, without the
 * server keeping a copy. Off by default, and then it costs nothing: no
 * listener, no wrapper, no check on the read path (the connection installs
 * the tap once, when it is made, only if `onRaw` is set).
 *
 * @module
 */

import type { Socket } from 'node:net';

/** One observation of a connection's traffic, as `onRaw` receives it. */
export interface RawTraffic {
  /** A number unique among the connections of this process's registrations (1, 2, …). */
  connection: number;
  /** `'open'` (no bytes), `'in'` (one read, before the parser sees it), `'out'` (one write), `'end'` (the peer half-closed: no more input; no bytes), `'close'` (no bytes). */
  kind: 'open' | 'in' | 'out' | 'end' | 'close';
  /** The bytes read or written; empty for `'open'` and `'close'`. Do not keep a reference to an `'in'` chunk you mutate. */
  bytes: Uint8Array;
  remoteAddress: string;
  remotePort: number;
}

/** The `onRaw` server option: called synchronously for every read and write of every connection. */
export type RawTap = (traffic: RawTraffic) => void;

const EMPTY = new Uint8Array(0);
let nextConnection = 1;

/**
 * Installs `tap` on `socket`. Must run before the connection adds its own
 * `data` listener, so that a read is reported before the responses it
 * causes (listeners run in the order they were added). Writes are seen by
 * wrapping this one socket's `write` (strings converted with the encoding
 * they are written in). A tap that throws is reported through `report` and
 * the traffic goes on.
 *
 * @example
 * installTap(socket, (t) => console.log(t.connection, t.kind, t.bytes.length), (err) => console.error(err));
 */
export function installTap(socket: Socket, tap: RawTap, report: (err: unknown) => void): void {
  const connection = nextConnection++;
  const remoteAddress = socket.remoteAddress ?? '';
  const remotePort = socket.remotePort ?? 0;
  const emit = (kind: RawTraffic['kind'], bytes: Uint8Array): void => {
    try {
      tap({ connection, kind, bytes, remoteAddress, remotePort });
    } catch (err) {
      report(err);
    }
  };
  emit('open', EMPTY);
  socket.on('data', (chunk: Buffer) => emit('in', chunk));
  socket.on('end', () => emit('end', EMPTY));
  socket.on('close', () => emit('close', EMPTY));
  const write = socket.write;
  socket.write = function tappedWrite(this: Socket, data: unknown, ...rest: unknown[]): boolean {
    if (typeof data === 'string') emit('out', Buffer.from(data, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8'));
    else if (data instanceof Uint8Array) emit('out', data);
    return (write as (...a: unknown[]) => boolean).call(this, data, ...rest);
  } as Socket['write'];
}
