// A plain node:cluster program for test/cluster-registration.test.ts: the
// primary picks a free port and forks 2 workers; each registers a callback
// answering its pid on that port (`exclusive` as argv[2] says: "default" or
// "true"), then tries a second registration on the same address in the same
// process, and tells the primary what happened. The primary asks the port 40
// times which pid answers and prints one JSON line with it all.
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { registerCallback, boundAddress } from '../../src/index.js';

const mode = process.argv[2] ?? 'default';

async function attempt(port: number, options: { exclusive?: boolean }): Promise<string> {
  try {
    const id = await registerCallback(['127.0.0.1', port], () => ({ statuscode: 200, message: String(process.pid) }), options);
    return `listening:${boundAddress(id)[1]}`;
  } catch (e) {
    return String((e as NodeJS.ErrnoException).code);
  }
}

if (cluster.isPrimary) {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const reports: unknown[] = [];
  const workers = [0, 1].map(() => cluster.fork({ REG_PORT: String(port) }));
  await new Promise<void>((resolve) => {
    for (const w of workers) {
      w.on('message', (m: unknown) => {
        reports.push(m);
        if (reports.length === 2) resolve();
      });
    }
  });
  const pids: number[] = [];
  for (let i = 0; i < 40; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
      pids.push(Number(await r.text()));
    } catch (e) {
      pids.push(-1);
    }
  }
  process.stdout.write(`${JSON.stringify({ port, reports, pids, workerPids: workers.map((w) => w.process.pid) })}\n`);
  for (const w of workers) w.kill();
} else {
  const port = Number(process.env['REG_PORT']);
  const options = mode === 'true' ? { exclusive: true } : {};
  const first = await attempt(port, options);
  const second = first.startsWith('listening') ? await attempt(port, options) : null;
  process.send!({ pid: process.pid, first, second });
}
