// The access log option (issue #10): one Common Log Format line per response.
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { boundAddress, registerCallback, stopCallback } from '../src/server/server.js';
import type { RequestDict } from '../src/server/request.js';
import { accessLine, clfDate } from '../src/server/access-log.js';
import { exchange } from './helpers/wire.js';

const CLF = /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "([^"]*)" (\d{3}) (\d+|-)$/;

t.test('log: a function gets one line per response, requests and errors alike', async (t) => {
  const lines: [string, RequestDict | null][] = [];
  const id = await registerCallback(['127.0.0.1', 0], (req) => {
    if (req.path === '/missing') return { statuscode: 404, message: 'no' };
    if (req.path === '/stream') return { statuscode: 200, message: (async function* () { yield 'ab'; yield 'cde'; })() };
    return { statuscode: 200, message: 'hello' };
  }, { log: (line, req) => lines.push([line, req]), onError: null });
  t.teardown(() => stopCallback(id));
  const port = boundAddress(id)[1];
  const raw = 'GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n' + 'HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n'
    + 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /bad HTTP/1.1\r\nHost : x\r\n\r\n';
  await exchange(port, raw);
  const got = lines.map(([l]) => CLF.exec(l)?.slice(1));
  t.same(got, [
    ['GET /a?b=1 HTTP/1.1', '200', '5'],
    ['HEAD /a HTTP/1.1', '200', '-'],
    ['GET /missing HTTP/1.1', '404', '2'],
    ['GET /stream HTTP/1.1', '200', '5'],
    ['-', '400', got[4]?.[2] ?? '?'],
  ], lines.map(([l]) => l).join('\n'));
  t.equal(lines[0]![1]!.path, '/a', 'the request is passed along');
  t.equal(lines[4]![1], null, 'no request for bytes that were none');
});

t.test('log: true writes to stdout; a throwing log function changes nothing', async (t) => {
  const child = fileURLToPath(new URL('./helpers/report-child.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', '@tapjs/typescript/import', child, 'log', 'ok'], {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }, timeout: 30_000,
    }, (err, out) => (err ? reject(err) : resolve(out)));
  });
  t.match(stdout, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/fail\?x=1 HTTP\/1\.1" 200 2$/m);
  const id = await registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200, message: 'ok' }), {
    log: () => {
      throw new Error('log broke');
    },
    onError: null,
  });
  t.teardown(() => stopCallback(id));
  const reply = await exchange(boundAddress(id)[1], 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(reply.match(/HTTP\/1\.1 200 OK/g)?.length, 2, 'both answered');
  await t.rejects(registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200 }), { log: 'yes' as never }), TypeError);
});

t.test('the line: escapes quotes, HTTP/0.9, the date in UTC', async (t) => {
  const when = new Date(Date.UTC(2026, 11, 2, 3, 4, 5));
  t.equal(clfDate(when), '[02/Dec/2026:03:04:05 +0000]');
  const head = { method: 'GET', target: '/a"b\\c', version: '1.1', versionMinor: 1 } as never;
  t.equal(accessLine('::1', head, 200, 0, when), '::1 - - [02/Dec/2026:03:04:05 +0000] "GET /a\\"b\\\\c HTTP/1.1" 200 -');
  const old = { method: 'GET', target: '/old', version: '0.9', versionMinor: 9 } as never;
  t.equal(accessLine('', old, 200, 3, when), '- - - [02/Dec/2026:03:04:05 +0000] "GET /old" 200 3');
});
