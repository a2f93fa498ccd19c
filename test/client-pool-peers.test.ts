// Connection reuse against real servers: nginx with `keepalive_requests 3`
// (it closes each connection after its third response, with
// `Connection: close` on that one) and a short keepalive_timeout, and
// Python's http.server speaking HTTP/1.1. The access log's $connection and
// $connection_requests show which requests shared a connection.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConnectionPool, getString } from '../src/client/client.js';
import { nginxSkip, startNginx } from './helpers/nginx.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('nginx with keepalive_requests 3: 20 sequential GETs, connections reused 3 at a time', { skip: nginxSkip }, async (t) => {
  const ng = await startNginx(t, (port, dir) => `
  log_format conn '$connection $connection_requests $request';
  keepalive_requests 3;
  keepalive_timeout 1s;
  server {
    listen 127.0.0.1:${port};
    access_log ${dir}/conn.log conn;
    location /file { root ${dir}/www; }
    location / { return 200 "hello from nginx"; }
  }`);
  writeFileSync(join(ng.dir, 'conn.log'), '');
  const pool = new ConnectionPool({ idleTimeout: 10_000 });
  t.teardown(() => pool.close());
  for (let i = 0; i < 20; i++) t.equal(await getString(`${ng.base}/r${i}`, { keepAlive: pool }), 'hello from nginx', `request ${i}`);
  // nginx writes the log line after the response: wait for the 20th.
  let lines: string[][] = [];
  for (let i = 0; i < 200 && lines.length < 20; i++) {
    lines = readFileSync(join(ng.dir, 'conn.log'), 'utf8').split('\n').filter((l) => l.length > 0).map((l) => l.split(' '));
    if (lines.length < 20) await sleep(10);
  }
  t.same(lines.map((l) => `${l[2]} ${l[3]} ${l[4]}`), Array.from({ length: 20 }, (_, i) => `GET /r${i} HTTP/1.1`), 'every request, in order');
  t.same(lines.map((l) => Number(l[1])), Array.from({ length: 20 }, (_, i) => (i % 3) + 1), 'each connection carried requests 1, 2, 3');
  const connections = new Set(lines.map((l) => l[0]));
  t.equal(connections.size, 7, '20 requests on 7 connections');
  // After keepalive_timeout nginx closes the idle connection: the pool drops it, the next GET opens another.
  await sleep(1300);
  t.equal(pool.stats().idle, 0, 'nginx closed the idle connection; the pool dropped it');
  t.equal(await getString(`${ng.base}/after`, { keepAlive: pool }), 'hello from nginx');
  t.equal(ng.errorLog().includes('[alert]'), false, ng.errorLog());
});

t.test('Python http.server (HTTP/1.1): sequential GETs on one connection', async (t) => {
  const script = `
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = ('%s %d' % (self.path, self.client_address[1])).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`;
  const py = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => py.kill());
  const spawned = await Promise.race([
    new Promise<string>((r) => createInterface({ input: py.stdout }).once('line', r)),
    new Promise<null>((r) => py.once('error', () => r(null))),
  ]);
  if (spawned === null) {
    t.plan(0, 'python3 is not installed');
    return;
  }
  const port = Number(spawned);
  const pool = new ConnectionPool();
  t.teardown(() => pool.close());
  const answers: string[] = [];
  for (let i = 0; i < 10; i++) answers.push(await getString(`http://127.0.0.1:${port}/p${i}`, { keepAlive: pool }));
  t.same(answers.map((a) => a.split(' ')[0]), Array.from({ length: 10 }, (_, i) => `/p${i}`));
  t.equal(new Set(answers.map((a) => a.split(' ')[1])).size, 1, 'one connection (one client port) served every request');
});
