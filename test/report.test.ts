// Callback failures are visible by default (issue #10): one report on stderr
// per failure, as node:http and Python's http.server do; onError: null
// silences it, a function replaces it.
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { boundAddress, registerCallback, stopCallback } from '../src/server/server.js';
import { exchange } from './helpers/wire.js';

const child = fileURLToPath(new URL('./helpers/report-child.ts', import.meta.url));

function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', '@tapjs/typescript/import', child, ...args], {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }, timeout: 30_000,
    }, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr })));
  });
}

t.test('default: a throwing callback is reported on stderr with its request line and stack', async (t) => {
  const { stdout, stderr } = await run('default', 'throw');
  t.equal(stdout.trim(), 'HTTP/1.1 500 Internal Server Error');
  t.match(stderr, /^repy-http: GET \/fail\?x=1 HTTP\/1\.1: callback failed: Error: boom from the callback\n\s+at /m);
  t.equal(stderr.match(/^repy-http: /gm)?.length, 1, 'one report');
});

t.test('default: a garbage result is reported as an InvalidResponseError', async (t) => {
  const { stdout, stderr } = await run('default', 'garbage');
  t.equal(stdout.trim(), 'HTTP/1.1 500 Internal Server Error');
  t.match(stderr, /^repy-http: GET \/fail\?x=1 HTTP\/1\.1: callback failed: InvalidResponseError: /m);
});

t.test('onError: null prints nothing', async (t) => {
  const { stdout, stderr } = await run('null', 'throw');
  t.equal(stdout.trim(), 'HTTP/1.1 500 Internal Server Error');
  t.equal(stderr, '');
});

t.test('a function replaces the default report', async (t) => {
  const seen: unknown[] = [];
  const id = await registerCallback(['127.0.0.1', 0], () => {
    throw new Error('boom');
  }, { onError: (err, req) => seen.push([(err as Error).message, req?.path]) });
  t.teardown(() => stopCallback(id));
  const res = await exchange(boundAddress(id)[1], 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  t.match(res, /^HTTP\/1\.1 500 /);
  t.same(seen, [['boom', '/x']]);
});

t.test('onError must be a function or null', async (t) => {
  await t.rejects(registerCallback(['127.0.0.1', 0], () => ({ statuscode: 200 }), { onError: 'log' as never }), { name: 'TypeError', message: 'options.onError must be a function or null' });
});

t.test('default: a missing file as message is reported like a callback failure, with a clean 500', async (t) => {
  const { stdout, stderr } = await run('default', 'stream');
  t.equal(stdout.trim(), 'HTTP/1.1 500 Internal Server Error');
  t.match(stderr, /^repy-http: GET \/fail\?x=1 HTTP\/1\.1: callback failed: Error: ENOENT/m);
});
