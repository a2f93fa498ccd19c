/**
 * Child of test/report.test.ts: registers a callback that fails, sends it one
 * request over a real socket, prints the response's status line on stdout and
 * exits, so that the parent can read what the server printed on stderr.
 *
 *   argv[2]: 'default' (no onError), 'null' (onError: null), 'log' (log: true)
 *   argv[3]: 'throw' | 'garbage' | 'stream' (a file stream of a missing file) | 'ok'
 */
import { connect } from 'node:net';
import { createReadStream } from 'node:fs';
import { registerCallback, boundAddress, stopCallback } from '../../src/server/server.js';
import type { ServerOptions } from '../../src/server/options.js';

const [mode, fault] = process.argv.slice(2);
const options: ServerOptions = mode === 'null' ? { onError: null } : mode === 'log' ? { log: true } : {};
const id = await registerCallback(['127.0.0.1', 0], () => {
  if (fault === 'ok') return { statuscode: 200, message: 'ok' };
  if (fault === 'throw') throw new Error('boom from the callback');
  if (fault === 'stream') return { statuscode: 200, message: createReadStream('/nonexistent/repy-http-missing-file') };
  return 42 as never;
}, options);
const port = boundAddress(id)[1];
const reply = await new Promise<string>((resolve, reject) => {
  const s = connect(port, '127.0.0.1', () => s.end('GET /fail?x=1 HTTP/1.1\r\nHost: a\r\n\r\n'));
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString('latin1')));
  s.on('error', reject);
  s.on('close', () => resolve(got));
});
process.stdout.write(reply.split('\r\n')[0] + '\n');
await stopCallback(id);
