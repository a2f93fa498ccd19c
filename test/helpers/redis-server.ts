/**
 * A private redis-server for one test file: its own loopback port, no
 * persistence, no config file, stopped at teardown. `.ci/run` installs
 * Debian's redis-server; without it the tests skip and say why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { findBinary, freePort, sleep } from './peers-common.js';
import { connect } from 'node:net';

export const redisServerBinary = findBinary(['redis-server']);

/** A reason to skip, or false when redis-server is there. */
export const redisSkip: string | false = redisServerBinary === null
  ? 'redis-server is not installed (not on PATH nor in /usr/sbin, /usr/bin); .ci/run installs it with apt-get install redis-server'
  : false;

export interface RedisServer {
  port: number;
  url: string;
  child: ChildProcess;
  /** Stops it (SIGTERM, then SIGKILL after 2 s). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop), e.g. to test recovery. */
  restart(): Promise<void>;
}

/** Sends PING and waits for +PONG (raw RESP, no client library). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

/** Starts redis-server on a free loopback port; stopped at the test's teardown. */
export async function startRedis(t: Test): Promise<RedisServer> {
  if (redisServerBinary === null) throw new Error(String(redisSkip));
  const port = await freePort();
  let child!: ChildProcess;
  let log = '';
  const launch = async (): Promise<void> => {
    log = '';
    child = spawn(redisServerBinary!, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}: ${log}`);
      if (await ping(port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server did not answer PING on ${port} within 5 s: ${log}`);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  t.teardown(stop);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get child() {
      return child;
    },
    stop,
    restart: launch,
  };
}

const appChild = fileURLToPath(new URL('./redis-app-child.ts', import.meta.url));

/** A server process of redis-app-child.ts: its port, and what it wrote on stderr. */
export interface RedisApp { child: ChildProcess; port: number; stderr: () => string }

/**
 * Starts one server process (test/helpers/redis-app-child.ts: idempotent
 * POSTs at /pay, jobs at /runs/, both on the Redis at `url`); killed at
 * teardown.
 */
export function startRedisApp(t: Test, url: string, effects: string, name: string): Promise<RedisApp> {
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', appChild, url, effects, name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]), stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}: ${err}`)));
  });
}
