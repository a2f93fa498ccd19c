/**
 * The server side of the fault tests, run in a child process
 * (`node --expose-gc --import @tapjs/typescript/import`, forked with IPC) so
 * that its heap can be measured after a forced GC without the test runner's
 * and the load clients' objects in it, and so that the clients and the server
 * each get a core.
 *
 * The callback picks a behaviour by path (see ROUTES). The parent drives it
 * with IPC messages `{ seq, cmd, arg }` and gets `{ seq, result }` or
 * `{ seq, error }` back:
 *   start {options}  → { id, port }       registerCallback on 127.0.0.1:0
 *   stop  {id}       → { ms }             stopCallback, timed
 *   stats            → Stats              counters since the last reset
 *   reset            → null
 *   heap             → memoryUsage after repeated gc()
 *   sockets          → open TCP sockets of this process (server side)
 */
import type { Socket } from 'node:net';
import { boundAddress, registerCallback, stopCallback } from '../../src/server/server.js';
import type { RequestDict } from '../../src/server/request.js';
import type { ServerOptions } from '../../src/server/options.js';

/** Counters the parent asserts on. */
export interface Stats {
  /** onError calls keyed `${path} ${code ?? name}` (path '-' when no request). */
  errors: Record<string, number>;
  /** Callback calls by path. */
  calls: Record<string, number>;
  /** Message streams (generators, file-likes) by path: started, finished (`finally` ran / close() called). */
  streams: Record<string, { started: number; finished: number; closeCalls: number; pulled: number }>;
  /** Request content read failures by error code (/upload). */
  readErrors: Record<string, number>;
  /** Request contents read completely (/upload). */
  uploadsComplete: number;
  /** Signals that fired, by path. */
  aborts: Record<string, number>;
  unhandledRejections: string[];
  uncaughtExceptions: string[];
}

const BIG = 8 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x62); // 'b'

let stats: Stats = fresh();
function fresh(): Stats {
  return { errors: {}, calls: {}, streams: {}, readErrors: {}, uploadsComplete: 0, aborts: {}, unhandledRejections: [], uncaughtExceptions: [] };
}
const bump = (o: Record<string, number>, k: string, n = 1): void => {
  o[k] = (o[k] ?? 0) + n;
};
const streamStats = (path: string): Stats['streams'][string] => (stats.streams[path] ??= { started: 0, finished: 0, closeCalls: 0, pulled: 0 });

process.on('unhandledRejection', (e) => stats.unhandledRejections.push(String((e as Error)?.stack ?? e)));
process.on('uncaughtException', (e) => stats.uncaughtExceptions.push(String(e?.stack ?? e)));

/** A generator of `total` bytes in 64 KiB chunks that counts its pulls and whether its `finally` ran. */
async function* counted(path: string, total: number): AsyncGenerator<Buffer> {
  const s = streamStats(path);
  s.started++;
  try {
    for (let sent = 0; sent < total; sent += CHUNK.length) {
      s.pulled += CHUNK.length;
      yield CHUNK;
    }
  } finally {
    s.finished++;
  }
}

function* countedSync(path: string, total: number): Generator<Buffer> {
  const s = streamStats(path);
  s.started++;
  try {
    for (let sent = 0; sent < total; sent += CHUNK.length) {
      s.pulled += CHUNK.length;
      yield CHUNK;
    }
  } finally {
    s.finished++;
  }
}

/** A file-like message of `total` bytes; `finished` counts the first close(), `closeCalls` every one. */
function fileLike(path: string, total: number): { read(n: number): Promise<Buffer>; close(): void } {
  const s = streamStats(path);
  s.started++;
  let sent = 0;
  let closed = false;
  return {
    async read(n: number) {
      if (closed) throw new Error('read after close');
      const k = Math.min(n, CHUNK.length, total - sent);
      sent += k;
      s.pulled += k;
      return CHUNK.subarray(0, k);
    },
    close() {
      s.closeCalls++;
      if (!closed) s.finished++;
      closed = true;
    },
  };
}

const never = (): Promise<never> => new Promise(() => {});

const ROUTES: Record<string, (req: RequestDict) => unknown> = {
  '/ok': () => ({ statuscode: 200, message: 'ok' }),
  // Failures of the callback itself → 500.
  '/throw': () => {
    throw new Error('secret-throw');
  },
  '/throw-string': () => {
    throw 'secret-string';
  },
  '/reject': () => Promise.reject(new Error('secret-reject')),
  '/async-throw': async () => {
    await null;
    throw new TypeError('secret-async');
  },
  '/reject-undefined': () => Promise.reject(undefined),
  // Garbage instead of a response dictionary → 500 (InvalidResponseError).
  '/null': () => null,
  '/undefined': () => undefined,
  '/number': () => 42,
  '/string': () => 'HTTP/1.1 200 OK\r\n\r\nsmuggled',
  '/array': () => [200, 'ok'],
  '/resolve-null': async () => null,
  '/nostatus': () => ({ message: 'x' }),
  '/status-700': () => ({ statuscode: 700 }),
  '/status-float': () => ({ statuscode: 200.5 }),
  '/status-string': () => ({ statuscode: '200' }),
  '/status-nan': () => ({ statuscode: NaN }),
  '/status-101': () => ({ statuscode: 101 }),
  '/crlf-value': () => ({ statuscode: 200, headers: { 'X-A': 'a\r\nSet-Cookie: evil=1' } }),
  '/lf-value': () => ({ statuscode: 200, headers: { 'X-A': 'a\nSet-Cookie: evil=1' } }),
  '/nul-value': () => ({ statuscode: 200, headers: { 'X-A': 'a\0b' } }),
  '/crlf-name': () => ({ statuscode: 200, headers: { 'X-A\r\nSet-Cookie': 'evil=1' } }),
  '/crlf-array': () => ({ statuscode: 200, headers: { 'X-A': ['ok', 'b\r\nSet-Cookie: evil=1'] } }),
  '/crlf-statusmsg': () => ({ statuscode: 200, statusmsg: 'OK\r\nSet-Cookie: evil=1' }),
  '/headers-string': () => ({ statuscode: 200, headers: 'Set-Cookie: evil=1' }),
  '/header-object': () => ({ statuscode: 200, headers: { 'X-A': { evil: 1 } } }),
  '/message-number': () => ({ statuscode: 200, message: 12 }),
  '/message-object': () => ({ statuscode: 200, message: { evil: 1 } }),
  '/message-bool': () => ({ statuscode: 200, message: true }),
  '/version-2': () => ({ statuscode: 200, version: '2.0' }),
  '/length-mismatch': () => ({ statuscode: 200, headers: { 'Content-Length': '3' }, message: 'evil!' }),
  '/te-gzip': () => ({ statuscode: 200, headers: { 'Transfer-Encoding': 'gzip' }, message: 'evil' }),
  // Callbacks that do not answer in time → 503, Connection: close.
  '/hang': (req) => {
    req.signal.addEventListener('abort', () => bump(stats.aborts, '/hang'), { once: true });
    return never();
  },
  '/late': (req) =>
    new Promise((resolve) => {
      // Answers after the timeout: the answer must be dropped, not written.
      req.signal.addEventListener('abort', () => {
        bump(stats.aborts, '/late');
        setTimeout(() => resolve({ statuscode: 200, message: 'late-evil' }), 20);
      }, { once: true });
    }),
  // Huge streamed responses.
  '/big': () => ({ statuscode: 200, message: counted('/big', BIG) }),
  '/big-cl': () => ({ statuscode: 200, headers: { 'Content-Length': String(BIG) }, message: counted('/big-cl', BIG) }),
  // For clients that vanish mid-response: 256 MiB, far more than any socket buffer.
  '/stream': () => ({ statuscode: 200, message: counted('/stream', 256 * BIG) }),
  '/stream-cl': () => ({ statuscode: 200, headers: { 'Content-Length': String(256 * BIG) }, message: counted('/stream-cl', 256 * BIG) }),
  '/stream-sync': () => ({ statuscode: 200, message: countedSync('/stream-sync', 256 * BIG) }),
  '/stream-file': () => ({ statuscode: 200, message: fileLike('/stream-file', 256 * BIG) }),
  // A stream that never waits and never ends (until its client goes): fairness.
  '/endless': () => ({
    statuscode: 200,
    message: (async function* () {
      for (;;) yield CHUNK;
    })(),
  }),
  // A stream that produces garbage after the head: the connection is cut.
  '/bad-chunk': () => ({
    statuscode: 200,
    message: (async function* () {
      yield 'partial';
      yield null as unknown as string;
    })(),
  }),
  // Hostile objects: property reads that throw where the server looks at them.
  '/then-getter-throws': () => ({
    get then(): never {
      throw new Error('secret-then-getter');
    },
  }),
  '/then-throws': () => ({
    then(): never {
      throw new Error('secret-then');
    },
  }),
  '/proxy-throws': () => new Proxy({}, {
    get(): never {
      throw new Error('secret-proxy');
    },
  }),
  '/close-getter-throws': () => ({
    statuscode: 200,
    message: {
      read: () => '',
      get close(): never {
        throw new Error('secret-close-getter');
      },
    },
  }),
  // Reads the request content; a client that vanishes makes the read reject.
  '/upload': async (req) => {
    let n = 0;
    try {
      for await (const c of req.datastream) n += c.length;
      stats.uploadsComplete++;
    } catch (e) {
      bump(stats.readErrors, String((e as { code?: string }).code ?? (e as Error).name));
    }
    return { statuscode: 200, message: String(n) };
  },
  // Waits for its signal (a client that vanishes before the response).
  '/wait': (req) =>
    new Promise((resolve) => {
      req.signal.addEventListener('abort', () => {
        bump(stats.aborts, '/wait');
        resolve({ statuscode: 200, message: 'gone' });
      }, { once: true });
    }),
};

function callback(req: RequestDict): unknown {
  bump(stats.calls, req.path);
  const route = ROUTES[req.path];
  if (route === undefined) return { statuscode: 404, message: 'no such route' };
  return route(req);
}

function onError(err: unknown, req: RequestDict | null): void {
  const e = err as { code?: string; name?: string } | null | undefined;
  const what = typeof err === 'object' && err !== null ? (e!.code ?? e!.name ?? 'object') : typeof err;
  bump(stats.errors, `${req?.path ?? '-'} ${what}`);
}

async function heap(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let k = 0; k < 4; k++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

/** The server-side TCP sockets of this process (not the listener, not IPC). */
function openSockets(): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h !== null && typeof h === 'object' && (h as Socket).constructor?.name === 'Socket' && typeof (h as Socket).remotePort === 'number').length;
}

const commands: Record<string, (arg: unknown) => unknown> = {
  async start(arg) {
    const options = { ...(arg as ServerOptions), onError };
    const id = await registerCallback(['127.0.0.1', 0], callback as never, options);
    return { id, port: boundAddress(id)[1] };
  },
  async stop(arg) {
    const start = performance.now();
    await stopCallback((arg as { id: number }).id);
    return { ms: performance.now() - start };
  },
  stats: () => stats,
  reset: () => {
    stats = fresh();
    return null;
  },
  heap,
  sockets: openSockets,
  cpu: () => process.cpuUsage(),
};

process.on('message', (m: { seq: number; cmd: string; arg?: unknown }) => {
  void (async () => {
    try {
      const result = await commands[m.cmd]!(m.arg);
      process.send!({ seq: m.seq, result });
    } catch (e) {
      process.send!({ seq: m.seq, error: String((e as Error)?.stack ?? e) });
    }
  })();
});
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0));
process.send!({ seq: 0, result: 'ready' });
