/**
 * wrk, the HTTP benchmarking tool, against a hello-world callback: 20
 * kept-alive connections for 2 seconds, then 10 connections that pipeline 8
 * requests per write for 1 second. wrk counts every response it can parse
 * and reports read/write/timeout errors and non-2xx answers; under load a
 * server that drops a response, misframes one or closes a kept-alive
 * connection shows up there. Its numbers are printed as comments, not
 * asserted (the machine may be busy): only that it worked without errors.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundAddress, registerCallback, stopCallback, type RequestDict } from '../src/index.js';
import { findBinary, run } from './helpers/peers-common.js';

const wrk = findBinary(['wrk']);
const version = wrk === null ? null : await run(wrk, ['-v'], { timeoutMs: 5000 });
// `wrk -v` prints its version and the usage text, and exits 1.
const skip = wrk === null
  ? 'wrk is not installed; .ci/run installs it with apt-get install wrk'
  : !/wrk/.test(version!.stdout + version!.stderr) ? `wrk -v printed no version: ${version!.stderr.trim()}` : false;

interface WrkReport {
  requests: number;
  seconds: number;
  rps: number;
  socketErrors: string | null;
  non2xx: string | null;
}

/** Reads wrk's summary ("N requests in 2.00s", "Requests/sec:", error lines). */
function parseWrk(out: string): WrkReport | null {
  const m = /(\d+) requests in ([\d.]+)(ms|s|m)\b/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (m === null || rps === null) return null;
  const unit = m[3] === 'ms' ? 0.001 : m[3] === 'm' ? 60 : 1;
  return {
    requests: Number(m[1]),
    seconds: Number(m[2]) * unit,
    rps: Number(rps[1]),
    socketErrors: /Socket errors:.*/.exec(out)?.[0] ?? null,
    non2xx: /Non-2xx or 3xx responses:.*/.exec(out)?.[0] ?? null,
  };
}

/** A hello-world server that counts requests and the client ports they came from. */
async function helloServer(t: Test): Promise<{ port: number; count: () => number; ports: Set<number>; errors: unknown[]; bad: () => number }> {
  let count = 0;
  let bad = 0;
  const ports = new Set<number>();
  const errors: unknown[] = [];
  const id = await registerCallback(['127.0.0.1', 0], (req: RequestDict) => {
    count++;
    ports.add(req.remoteportnum);
    if (req.verb !== 'GET' || req.version !== '1.1') bad++;
    return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: 'hello world\n' };
  }, { onError: (err) => errors.push(err) });
  t.teardown(() => stopCallback(id).catch(() => {}));
  return { port: boundAddress(id)[1], count: () => count, ports, errors, bad: () => bad };
}

t.test('wrk', { skip, timeout: 30_000 }, async (t) => {
  t.comment((version!.stdout + version!.stderr).split('\n')[0]!.trim());
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-wrk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  t.test('-t1 -c20 -d2s: kept-alive load', async (t) => {
    const srv = await helloServer(t);
    const r = await run(wrk!, ['-t1', '-c20', '-d2s', '--timeout', '2s', `http://127.0.0.1:${srv.port}/`], { timeoutMs: 15_000 });
    t.equal(r.code, 0, `wrk exited 0 ${r.timedOut ? '(timed out)' : ''}${r.stderr.trim()}`);
    const rep = parseWrk(r.stdout);
    t.ok(rep !== null, `wrk printed a summary:\n${r.stdout}`);
    if (rep === null) return;
    t.ok(rep.requests > 0, `wrk counted ${rep.requests} requests`);
    t.equal(rep.socketErrors, null, 'no "Socket errors" line (connect/read/write/timeout)');
    t.equal(rep.non2xx, null, 'no "Non-2xx or 3xx responses" line');
    t.ok(srv.count() >= rep.requests, `the server answered ${srv.count()} ≥ the ${rep.requests} wrk completed`);
    t.ok(srv.ports.size <= 20, `over ${srv.ports.size} connections (wrk -c20): every one kept alive, none reopened`);
    t.equal(srv.bad(), 0, 'every request a GET over HTTP/1.1');
    t.same(srv.errors, [], 'onError was never called');
    t.comment(`wrk -c20 -d2s: ${rep.requests} requests in ${rep.seconds}s, ${rep.rps} req/s, ${srv.ports.size} connections`);
  });

  t.test('-c10 -d1s, 8 requests pipelined per write (Lua script)', async (t) => {
    const srv = await helloServer(t);
    const script = join(dir, 'pipeline.lua');
    writeFileSync(script, [
      'init = function(args)',
      '  local r = {}',
      '  for i = 1, 8 do r[i] = wrk.format(nil, "/p?i=" .. i) end',
      '  req = table.concat(r)',
      'end',
      'request = function() return req end',
      '',
    ].join('\n'));
    const r = await run(wrk!, ['-t1', '-c10', '-d1s', '--timeout', '2s', '-s', script, `http://127.0.0.1:${srv.port}/`], { timeoutMs: 15_000 });
    t.equal(r.code, 0, `wrk exited 0 ${r.timedOut ? '(timed out)' : ''}${r.stderr.trim()}`);
    const rep = parseWrk(r.stdout);
    t.ok(rep !== null, `wrk printed a summary:\n${r.stdout}`);
    if (rep === null) return;
    t.ok(rep.requests > 0, `wrk counted ${rep.requests} responses`);
    t.equal(rep.socketErrors, null, 'no "Socket errors" line');
    t.equal(rep.non2xx, null, 'no "Non-2xx or 3xx responses" line');
    t.ok(srv.count() >= rep.requests, `the server answered ${srv.count()} ≥ the ${rep.requests} wrk completed`);
    t.ok(srv.ports.size <= 10, `over ${srv.ports.size} connections (wrk -c10)`);
    t.same(srv.errors, [], 'onError was never called');
    t.comment(`wrk pipelined x8 -c10 -d1s: ${rep.requests} requests in ${rep.seconds}s, ${rep.rps} req/s`);
  });
});
