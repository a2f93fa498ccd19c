/**
 * Child of test/client-timers.test.ts: one client exchange whose only
 * pending work is a client timer (argv[2]: connect, total or idle), then
 * prints the error code. If the timer did not keep the process alive, the
 * top-level await never settles and Node exits with code 13 instead.
 */
import { createServer } from 'node:net';
import { open } from '../../src/index.js';

const which = process.argv[2];
const never = (): void => {}; // a lookup that never calls back

let p: Promise<unknown>;
if (which === 'connect') {
  p = open('http://example.invalid/', { lookup: never, connectTimeout: 200 });
} else if (which === 'total') {
  p = open('http://example.invalid/', { lookup: never, connectTimeout: 0, totalTimeout: 200 });
} else {
  // A server that accepts and never answers, holding neither the process nor its sockets alive.
  const server = createServer((s) => s.unref());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as { port: number };
  p = open(`http://127.0.0.1:${port}/`, { idleTimeout: 200 });
}
try {
  await p;
  console.log('resolved');
} catch (e) {
  console.log((e as { code?: string }).code ?? String(e));
}
