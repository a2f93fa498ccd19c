/**
 * Shared pieces of the real-peer tests (nginx, python3 http.client, wrk,
 * Chromium): find a peer's binary (or say why the test skips), find a free
 * port, run a peer with a hard time limit, start a long-running peer whose
 * whole process group is killed when the test ends, and a logging server
 * on 127.0.0.1:0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, connect } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Test } from 'tap';
import { boundAddress, registerCallback, stopCallback, type RequestDict, type ResponseDict, type ServerOptions } from '../../src/index.js';

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The first executable called one of `names` on PATH or in the sbin/bin
 * directories (nginx lives in /usr/sbin, often not on a user's PATH).
 */
export function findBinary(names: string[]): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const name of names) {
    for (const dir of dirs) {
      if (dir === '') continue;
      const p = join(dir, name);
      try {
        accessSync(p, fsConstants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}

export interface Run {
  /** Exit code, or null when killed (timeout) or not started. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/**
 * Runs a program to its end with a hard time limit (the process group is
 * killed at the limit). Never rejects: the result says how it went.
 */
export function run(cmd: string, args: string[], opts: { timeoutMs: number; input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<Run> {
  return new Promise((resolve) => {
    const start = performance.now();
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    } catch (err) {
      resolve({ code: null, signal: null, stdout, stderr: String(err), ms: 0, timedOut });
      return;
    }
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      stderr += String(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // A peer may leave helpers behind (Chromium's zygote): end its group.
      killGroup(child, 'SIGKILL');
      resolve({ code, signal, stdout, stderr, ms: performance.now() - start, timedOut });
    });
  });
}

/** Signals the process group of a child started with `detached: true` (its pid is the group id). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts a long-running peer in its own process group. When the test ends,
 * the group gets SIGTERM, then SIGKILL if it is still there after `graceMs`.
 */
export function startPeer(t: Test, cmd: string, args: string[], graceMs = 2000): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.on('error', (err) => (out += String(err)));
  let alive = true;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      alive = false;
      resolve(code);
    }),
  );
  t.teardown(async () => {
    if (alive) {
      killGroup(child, 'SIGTERM');
      await within(exited, graceMs);
    }
    // Workers or helpers may outlive the leader: SIGKILL the group in any case.
    killGroup(child, 'SIGKILL');
  });
  return { child, output: () => out, exited };
}

/** A port nobody listens on right now (bind 127.0.0.1:0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = s.address();
      const port = addr !== null && typeof addr === 'object' ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Waits for `p` at most `ms` (the timer is cleared, so it does not hold the process); resolves with false on timeout. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]).finally(() => clearTimeout(timer));
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `ms`. */
export async function waitForPort(port: number, ms: number, gone?: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (gone?.() === true) throw new Error(`the peer exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await sleep(50);
  }
}

/** What the server saw of one request. */
export interface Logged {
  verb: string;
  path: string;
  version: string;
  querystr: string | null;
  querydict: Record<string, string | null> | null;
  headers: Record<string, string>;
  rawheaders: [string, string][];
  remoteportnum: number;
}

/**
 * Registers `route` on 127.0.0.1:0 behind a logger (every request is
 * logged before `route` runs; callback failures are collected in `errors`)
 * and stops it when the test ends.
 */
export async function loggingServer(
  t: Test,
  route: (req: RequestDict) => ResponseDict | Promise<ResponseDict>,
  options: ServerOptions = {},
): Promise<{ port: number; base: string; log: Logged[]; errors: unknown[] }> {
  const log: Logged[] = [];
  const errors: unknown[] = [];
  const id = await registerCallback(
    ['127.0.0.1', 0],
    (req) => {
      log.push({
        verb: req.verb, path: req.path, version: req.version, querystr: req.querystr, querydict: req.querydict,
        headers: req.headers, rawheaders: req.rawheaders.map(([k, v]) => [k, v]), remoteportnum: req.remoteportnum,
      });
      return route(req);
    },
    { onError: (err) => errors.push(err), ...options },
  );
  t.teardown(() => stopCallback(id).catch(() => {}));
  const [host, port] = boundAddress(id);
  return { port, base: `http://${host}:${port}`, log, errors };
}

/** Reads the whole request content: its length and sha256. */
export async function readBody(req: RequestDict): Promise<{ length: number; sha256: string; text: string }> {
  const parts: Buffer[] = [];
  for await (const chunk of req.datastream) parts.push(chunk);
  const all = Buffer.concat(parts);
  return { length: all.length, sha256: sha256(all), text: all.length <= 4096 ? all.toString('utf8') : '' };
}

/** Distinct client ports among logged requests: the number of connections they came over. */
export const connectionsOf = (entries: Logged[]): number => new Set(entries.map((e) => e.remoteportnum)).size;

/**
 * The flags of every headless Chromium the tests start: no sandbox (root in
 * a container), no GPU, QUIC, /dev/shm, extensions, sync or background
 * networking, so that a run depends on nothing but the page it loads.
 */
export const HEADLESS_CHROMIUM_FLAGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--disable-extensions', '--disable-default-apps', '--no-default-browser-check',
  '--metrics-recording-only', '--mute-audio',
];

/**
 * Loads `url` in headless Chromium with a throwaway profile (HOME points
 * there too, so nothing lands in the real one; removed afterwards) and
 * returns the run: `stdout` is what `--dump-dom` printed. `args` go before
 * `--dump-dom` (e.g. `--virtual-time-budget=…`).
 */
export async function chromiumDumpDom(binary: string, url: string, opts: { timeoutMs: number; args?: string[] }): Promise<Run> {
  const profile = mkdtempSync(join(tmpdir(), 'repy-http-chromium-'));
  try {
    return await run(binary, [...HEADLESS_CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...(opts.args ?? []), '--dump-dom', url], {
      timeoutMs: opts.timeoutMs, env: { ...process.env, HOME: profile },
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
