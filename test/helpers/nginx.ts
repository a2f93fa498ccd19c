/**
 * nginx for one test: its own temporary prefix (temp paths, logs, pid), a
 * free loopback port, the test's `http { }` content, `nginx -t` checked,
 * then started in the foreground and stopped at teardown. The four nginx
 * tests (peer-nginx, jobs-nginx, sse-peers, deploy-nginx-sessions) share
 * this instead of each writing the same main configuration.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { findBinary, freePort, run, startPeer, waitForPort } from './peers-common.js';

export const nginxBinary = findBinary(['nginx']);

/** A reason to skip, or false when nginx is there. */
export const nginxSkip: string | false = nginxBinary === null
  ? 'nginx is not installed (not on PATH nor in /usr/sbin); .ci/run installs it with apt-get install nginx'
  : false;

export interface Nginx {
  /** The port nginx listens on (127.0.0.1). */
  port: number;
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** Its prefix directory (removed at teardown). */
  dir: string;
  /** The error log so far. */
  errorLog(): string;
  /** nginx -t's output (its stderr). */
  checked: string;
}

/**
 * Starts nginx with `http(port, dir)` as the inside of its `http { }` block
 * (the temp paths and access log are set already). `nginx -t` must accept
 * it: the test fails (and this throws) otherwise.
 */
export async function startNginx(t: Test, http: (port: number, dir: string) => string, opts: { workerConnections?: number; prefix?: string } = {}): Promise<Nginx> {
  if (nginxBinary === null) throw new Error(String(nginxSkip));
  const dir = mkdtempSync(join(tmpdir(), opts.prefix ?? 'repy-http-nginx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `
# As root the workers would switch to "nobody", who cannot write the temp paths in ${dir}.
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
error_log ${dir}/error.log info;
events { worker_connections ${opts.workerConnections ?? 256}; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http(port, dir)}
}
`);
  const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
  const check = await run(nginxBinary, ['-t', ...args], { timeoutMs: 5000 });
  t.equal(check.code, 0, `nginx -t accepts the configuration: ${check.stderr.trim()}`);
  if (check.code !== 0) throw new Error(`nginx -t: ${check.stderr}`);
  const peer = startPeer(t, nginxBinary, [...args, '-g', `daemon off; pid ${dir}/nginx.pid;`]);
  let exited = false;
  void peer.exited.then(() => (exited = true));
  await waitForPort(port, 5000, () => exited);
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    dir,
    checked: check.stderr,
    errorLog() {
      try {
        return readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    },
  };
}
