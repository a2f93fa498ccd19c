// A cluster of hello-world workers for bench/cluster.mjs, in its own process:
//
//   node bench/cluster-server.mjs <ours|node> <workers>
//
// ours: repy-http/cluster's serveCluster (module mode: every worker imports
// this file and registers its default export). node: node:cluster with
// node:http workers (the workers run this file again). Both answer the 12-byte
// body of bench/server.mjs. Prints `{"ready":true,"port":N,"pid":N}` once every
// worker listens; `exit` on stdin (or stdin closing) stops the cluster.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';

const BODY = 'Hello World\n';
const IDLE_MS = 600_000;

/** The repy-http callback (what module-mode workers import). */
export default function hello() {
  return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: BODY };
}

const main = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
const [kind, count] = process.argv.slice(2);
const workers = Number(count);

function ready(port) {
  process.stdout.write(`${JSON.stringify({ ready: true, port, pid: process.pid })}\n`);
}

function onStdin(stop) {
  let stopping = false;
  const exit = async () => {
    if (stopping) return;
    stopping = true;
    const t = setTimeout(() => process.exit(0), 5000);
    await stop();
    clearTimeout(t);
    process.exit(0);
  };
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => line.trim() === 'exit' && void exit());
  rl.on('close', () => void exit());
}

if (main && kind === 'ours') {
  const { serveCluster } = await import('../dist/cluster/index.js');
  const h = await serveCluster({
    workers, address: ['127.0.0.1', 0], module: fileURLToPath(import.meta.url), signals: false,
    serverOptions: { maxBodySize: 1 << 20, maxConnections: 20_000, keepAliveTimeout: IDLE_MS, stopIdleTimeout: 0 },
  });
  ready(h.address[1]);
  onStdin(() => h.stop());
} else if (main && kind === 'node') {
  if (cluster.isPrimary) {
    const forked = Array.from({ length: workers }, () => cluster.fork());
    let port = 0;
    await Promise.all(forked.map((w) => new Promise((resolve) => w.once('listening', (a) => resolve((port = a.port))))));
    ready(port);
    onStdin(() => Promise.all(forked.map((w) => new Promise((resolve) => { w.once('exit', resolve); w.kill(); }))));
  } else {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
      res.end(BODY);
    });
    server.keepAliveTimeout = IDLE_MS;
    server.headersTimeout = IDLE_MS + 1000;
    server.requestTimeout = 0;
    // Port 0 in every worker: node:cluster shares one port among them (the first one's).
    server.listen(0, '127.0.0.1');
  }
} else if (main) {
  console.error('usage: node bench/cluster-server.mjs <ours|node> <workers>');
  process.exit(2);
}
