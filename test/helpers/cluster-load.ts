/**
 * A load client for the cluster tests: N kept-alive connections, each
 * sending one request at a time and reconnecting when its connection ends.
 * Every answer carries the pid of the worker that gave it (cluster-app.mjs),
 * so a lost request can be charged to the worker its connection was on:
 * `failed` lists each request that was sent and never answered, with the
 * pid that last answered on its connection (0: none had yet).
 */
import { connect, type Socket } from 'node:net';

export interface Failure { lastPid: number; error: string }

export interface Load {
  /** Answers per pid. */
  byPid: Map<number, number>;
  answered: () => number;
  failed: Failure[];
  /** Connections refused (nothing was sent on them). */
  refused: () => number;
  /** Open connections whose last answer came from `pid`. */
  openOn: (pid: number) => number;
  /** Stops sending; resolves once every connection has ended. */
  stop: () => Promise<void>;
}

export function startLoad(port: number, { connections, path = '/', timeoutMs = 10_000 }: { connections: number; path?: string; timeoutMs?: number }): Load {
  const byPid = new Map<number, number>();
  const failed: Failure[] = [];
  const open = new Map<Socket, { lastPid: number }>();
  let answered = 0;
  let refused = 0;
  let stopping = false;
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: cluster\r\n\r\n`, 'latin1');

  const oneConnection = (): Promise<void> => new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    const state = { lastPid: 0 };
    let outstanding = false;
    let connected = false;
    let error = '';
    let buf = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => {
      connected = true;
      open.set(socket, state);
      outstanding = true;
      socket.write(request);
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.subarray(0, end).toString('latin1').toLowerCase();
        const at = head.indexOf('content-length: ');
        const length = at === -1 ? 0 : parseInt(head.slice(at + 16), 10);
        if (buf.length < end + 4 + length) return;
        const pid = Number(buf.subarray(end + 4, end + 4 + length).toString('latin1'));
        buf = buf.subarray(end + 4 + length);
        outstanding = false;
        if (head.startsWith('http/1.1 200')) {
          answered++;
          state.lastPid = pid;
          byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
        } else failed.push({ lastPid: state.lastPid, error: head.slice(0, 12) });
        if (stopping || head.includes('connection: close')) {
          socket.end();
          return;
        }
        outstanding = true;
        socket.write(request);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      open.delete(socket);
      if (!connected) refused++;
      else if (outstanding) failed.push({ lastPid: state.lastPid, error: error || 'closed' });
      // A refused connection: wait a little rather than spin.
      setTimeout(done, connected ? 0 : 20);
    });
  });

  const loops = Array.from({ length: connections }, async () => {
    while (!stopping) await oneConnection();
  });
  return {
    byPid,
    answered: () => answered,
    failed,
    refused: () => refused,
    openOn: (pid) => [...open.values()].filter((s) => s.lastPid === pid).length,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}
