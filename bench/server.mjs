// A benchmark server in its own process, so that it can be pinned to a core
// (`taskset -c 0 node bench/server.mjs ...`) and its memory measured alone.
//
//   node bench/server.mjs <ours|node|raw|ours-tls|node-tls> <hello|upload>
//
// The -tls kinds serve HTTPS with the key and certificate (PEM files) named
// by the BENCH_TLS_KEY and BENCH_TLS_CERT environment variables: repy-http's
// `tls` option against node:https (bench/tls.mjs).
// Prints one line `{"ready":true,"port":N,"pid":N}` once listening, then
// answers commands read from stdin, one per line:
//   mem   → `{"mem":{rss,heapUsed,heapTotal,external,arrayBuffers}}` (after a
//           full GC when started with --expose-gc)
//   cpu   → `{"cpu":{user,system}}`: process.cpuUsage(), microseconds
//   exit  → stops listening and exits (so that --cpu-prof writes its profile)
// It exits too when stdin closes (the parent died).
//
// Every contender answers the same 12-byte text body with Content-Type,
// Content-Length and Date, and keeps idle connections open for 10 minutes.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { createInterface } from 'node:readline';
import { registerCallback, boundAddress, stopCallback } from '../dist/index.js';

const [kind, app = 'hello'] = process.argv.slice(2);
const BODY = 'Hello World\n';
const IDLE_MS = 600_000;

const tlsFiles = () => ({ key: readFileSync(process.env.BENCH_TLS_KEY), cert: readFileSync(process.env.BENCH_TLS_CERT) });

async function startOurs(tls = null) {
  const hello = () => ({ statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: BODY });
  const upload = async (req) => {
    let n = 0;
    for await (const chunk of req.datastream) n += chunk.length;
    return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: `${n}\n` };
  };
  const id = await registerCallback(['127.0.0.1', 0], app === 'upload' ? upload : hello, {
    maxBodySize: Infinity,
    maxConnections: 20_000,
    keepAliveTimeout: IDLE_MS,
    // wrk drops a few connections mid-handshake when a run ends: reported on stderr by default, noise here.
    ...(tls !== null ? { tls, onError: null } : {}),
  });
  return { port: boundAddress(id)[1], close: () => stopCallback(id) };
}

async function startNode(tls = null) {
  const handler = (req, res) => {
    if (app === 'upload') {
      (async () => {
        let n = 0;
        for await (const chunk of req) n += chunk.length;
        const text = `${n}\n`;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
        res.end(text);
      })().catch(() => res.destroy());
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
    res.end(BODY);
  };
  const server = tls === null ? createHttpServer(handler) : createHttpsServer(tls, handler);
  server.keepAliveTimeout = IDLE_MS;
  server.headersTimeout = IDLE_MS + 1000;
  server.requestTimeout = 0;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

// The practical limit: no parsing at all, one canned response per "\r\n\r\n"
// seen (a terminator split across reads is found through a 3-byte carry).
async function startRaw() {
  const EMPTY = Buffer.alloc(0);
  const TERMINATOR = Buffer.from('\r\n\r\n', 'latin1');
  let response = EMPTY;
  const refresh = () => {
    response = Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: ${new Date().toUTCString()}\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
      'latin1',
    );
  };
  refresh();
  setInterval(refresh, 1000).unref();
  const sockets = new Set();
  const server = createNetServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    let tail = EMPTY; // the last bytes of a read that may begin a terminator
    socket.on('data', (chunk) => {
      const data = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
      let n = 0;
      let pos = 0;
      let i;
      while ((i = data.indexOf(TERMINATOR, pos)) !== -1) {
        n++;
        pos = i + 4;
      }
      const keep = Math.max(pos, data.length - 3);
      tail = keep < data.length ? Buffer.from(data.subarray(keep)) : EMPTY;
      if (n === 1) socket.write(response);
      else if (n > 1) socket.write(Buffer.concat(Array(n).fill(response)));
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

const starters = {
  ours: () => startOurs(),
  node: () => startNode(),
  raw: startRaw,
  'ours-tls': () => startOurs(tlsFiles()),
  'node-tls': () => startNode(tlsFiles()),
};
if (!(kind in starters)) {
  console.error(`usage: node bench/server.mjs <${Object.keys(starters).join('|')}> <hello|upload>`);
  process.exit(2);
}
const server = await starters[kind]();
process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid })}\n`);

let exiting = false;
async function exit() {
  if (exiting) return;
  exiting = true;
  const t = setTimeout(() => process.exit(0), 2000);
  await server.close();
  clearTimeout(t);
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'mem') {
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ mem: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers } })}\n`);
  } else if (cmd === 'cpu') {
    const c = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: { user: c.user, system: c.system } })}\n`);
  } else if (cmd === 'exit') void exit();
});
rl.on('close', () => void exit());
