// The two denial-of-service shapes of issue #8, measured against node:http in
// one run: (1) CPU per byte of a field line made of long SP/HTAB runs, (2) the
// memory a 1-byte-chunk upload costs the server. Each case runs in a fresh
// child process so that its RSS growth is its own.
//
//   node bench/dos.mjs            # both
//   node bench/dos.mjs time       # only the field-line timings
//   node bench/dos.mjs memory     # only the 1-byte-chunk uploads
//
// Output: one table per part; ratios are ours over node:http.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const which = process.argv[2] ?? 'all';

// ------------------------------------------------------------- child side

async function startServer(kind, options) {
  const net = await import('node:net');
  if (kind === 'node') {
    const http = await import('node:http');
    const srv = http.createServer({ maxHeaderSize: 16384, requestTimeout: 0, headersTimeout: 0 }, async (req, res) => {
      if (options.wait) await new Promise((r) => setTimeout(r, options.wait));
      if (options.hold) await new Promise(() => {});
      let n = 0;
      if (options.read === 'iterate' || options.read === 'all') for await (const c of req) n += c.length;
      res.end(String(n));
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    return { port: srv.address().port, stop: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(r); }) };
  }
  const { registerCallback, stopCallback, boundAddress } = await import('../dist/index.js');
  const id = await registerCallback(['127.0.0.1', 0], async (req) => {
    if (options.wait) await new Promise((r) => setTimeout(r, options.wait));
    if (options.hold) await new Promise(() => {}); // never answers: the request stays in memory
    let n = 0;
    if (options.read === 'all') n = (await req.datastream.read()).length;
    else if (options.read === 'iterate') for await (const c of req.datastream) n += c.length;
    return { statuscode: 200, message: String(n) };
  }, options.server ?? {});
  void net;
  return { port: boundAddress(id)[1], stop: () => stopCallback(id) };
}

/** Sends `head` bytes on a new connection; resolves with ms until the first byte of the answer. */
async function timeHead(port, head) {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let t0 = 0;
    s.on('connect', () => { t0 = performance.now(); s.write(head); });
    s.once('data', () => { resolve(performance.now() - t0); s.destroy(); });
    s.on('error', reject);
  });
}

/** Uploads `total` content bytes as chunks of `size` on `conns` connections; resolves with peak RSS growth. */
async function upload(port, conns, total, size, stallMs = 0) {
  const net = await import('node:net');
  const chunk = Buffer.from(`${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`);
  const per = Math.ceil(total / size);
  const batch = Buffer.concat(Array(Math.max(1, Math.floor(65536 / chunk.length))).fill(chunk));
  const perBatch = batch.length / chunk.length;
  const one = () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let answer = '';
    s.on('data', (d) => { answer += d.toString('latin1'); });
    s.on('close', () => resolve(answer.split(' ')[1] ?? 'closed'));
    s.on('error', () => {});
    s.on('connect', async () => {
      s.write('POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      let sent = 0;
      while (sent < per && !s.destroyed) {
        const n = Math.min(perBatch, per - sent);
        const ok = s.write(n === perBatch ? batch : batch.subarray(0, n * chunk.length));
        sent += n;
        if (!ok) {
          // Blocked by backpressure: wait, or give up after stallMs (the server holds what it holds).
          const stalled = await new Promise((r) => {
            const t = stallMs > 0 ? setTimeout(() => r(true), stallMs) : null;
            const go = () => { if (t) clearTimeout(t); s.off('drain', go); s.off('close', go); r(false); };
            s.on('drain', go);
            s.on('close', go);
          });
          if (stalled) break;
        }
      }
      if (!s.destroyed) s.end('0\r\n\r\n');
    });
  });
  return Promise.all(Array.from({ length: conns }, one));
}

async function child(spec) {
  const srvSide = await startServer(spec.kind, spec);
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  process.send({ port: srvSide.port });
  process.on('message', async () => {
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    process.send({ rssMiB: (peak - rss0) / 2 ** 20 });
    await srvSide.stop();
    process.exit(0);
  });
}

// ------------------------------------------------------------ parent side

/** Starts a server child for `spec`, runs `attack(port)` from this process, returns its result and the child's peak RSS growth. */
function run(spec, attack) {
  return new Promise((resolve) => {
    const p = fork(SELF, ['child', JSON.stringify(spec)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result;
    p.on('message', async (m) => {
      if (m.port !== undefined) {
        const t0 = performance.now();
        result = await attack(m.port);
        result.ms = performance.now() - t0;
        p.send('done');
      } else resolve({ ...result, rssMiB: m.rssMiB });
    });
    p.on('exit', (code) => { if (code !== 0) resolve(null); });
  });
}

/** Median of 3 times to the answer, for each N. */
async function timeHeads(port, shape, sizes) {
  const times = [];
  for (const n of sizes) {
    const head = shape === 'valid'
      ? `GET / HTTP/1.1\r\nHost: x\r\nX-A: x${' '.repeat(n)}y\r\n\r\n`
      : `GET / HTTP/1.1\r\nHost: x\r\nX-A:${' '.repeat(n)}\x00\r\n\r\n`;
    const runs = [];
    for (let k = 0; k < 3; k++) runs.push(await timeHead(port, head));
    runs.sort((a, b) => a - b);
    times.push(runs[1]);
  }
  return { times };
}

/** Opens `conns` connections, each sending `perConn` pipelined heads of `fields` tiny fields; waits until all are sent, then a moment. */
async function heads(port, conns, perConn, fields) {
  const net = await import('node:net');
  const head = `GET /${'p'.repeat(8)} HTTP/1.1\r\nHost: x\r\n${'a:b\r\n'.repeat(fields)}\r\n`;
  const bytes = Buffer.from(head.repeat(perConn), 'latin1');
  const sockets = [];
  for (let k = 0; k < conns; k++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    await new Promise((r) => s.on('connect', r));
    s.write(bytes);
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, 1500));
  for (const s of sockets) s.destroy();
  return { bytesPerConn: bytes.length };
}

async function main() {
  if (which === 'child') return child(JSON.parse(process.argv[3]));
  if (which === 'all' || which === 'time') {
    console.log('Field line with N spaces: time to the answer (ms, median of 3)');
    console.log('| case | N | repy-http | node:http |');
    console.log('| --- | --- | --- | --- |');
    for (const [shape, sizes] of [['bad', [1000, 2000, 3000, 16000]], ['valid', [16000]]]) {
      const ours = await run({ kind: 'repy' }, (port) => timeHeads(port, shape, sizes));
      const theirs = await run({ kind: 'node' }, (port) => timeHeads(port, shape, sizes));
      sizes.forEach((n, k) => console.log(`| ${shape === 'bad' ? 'spaces then NUL' : 'x, spaces, y'} | ${n} | ${ours?.times[k]?.toFixed(1)} | ${theirs?.times[k]?.toFixed(1)} |`));
    }
  }
  if (which === 'all' || which === 'heads') {
    console.log('\nHeads held in flight: peak RSS growth of the server process per connection (KiB)');
    console.log('| case | repy-http | node:http |');
    console.log('| --- | --- | --- |');
    for (const [conns, perConn, fields] of [[1000, 16, 100], [1000, 1, 1]]) {
      const spec = { hold: true, server: { maxConnections: 100000 } };
      const attack = (port) => heads(port, conns, perConn, fields);
      const ours = await run({ kind: 'repy', ...spec }, attack);
      const theirs = await run({ kind: 'node', ...spec }, attack);
      const cell = (r) => (r === null ? '—' : `${((r.rssMiB * 1024) / conns).toFixed(1)}`);
      console.log(`| ${conns} conns × ${perConn} pipelined heads × ${fields} fields (${ours?.bytesPerConn} B sent per conn) | ${cell(ours)} | ${cell(theirs)} |`);
    }
  }
  if (which === 'all' || which === 'memory') {
    console.log('\n1-byte-chunk uploads: peak RSS growth of the server process (MiB)');
    console.log('| case | repy-http | node:http |');
    console.log('| --- | --- | --- |');
    const cases = [
      ['read(), maxBodySize 4 MiB, 1-byte chunks, 4 MiB', { read: 'all', server: { maxBodySize: 4 * 2 ** 20 }, conns: 1, total: 4 * 2 ** 20 + 1, size: 1 }],
      ['read(), maxBodySize 4 MiB, 16-byte chunks', { read: 'all', server: { maxBodySize: 4 * 2 ** 20 }, conns: 1, total: 4 * 2 ** 20 + 16, size: 16 }],
      ['read(), defaults, 1-byte chunks, 8 MiB', { read: 'all', conns: 1, total: 8 * 2 ** 20, size: 1 }],
      ['for await, defaults, 1-byte chunks, 4 MiB', { read: 'iterate', conns: 1, total: 4 * 2 ** 20, size: 1 }],
      ['50 conns, 200 000 1-byte chunks, not read for 3 s', { read: 'none', wait: 3000, conns: 50, total: 200_000, size: 1, stallMs: 2000 }],
    ];
    for (const [name, spec] of cases) {
      const attack = async (port) => ({ statuses: [...new Set(await upload(port, spec.conns, spec.total, spec.size, spec.stallMs))] });
      const ours = await run({ kind: 'repy', ...spec }, attack);
      const theirs = await run({ kind: 'node', ...spec }, attack);
      const cell = (r) => (r === null ? '—' : `${r.rssMiB.toFixed(1)} (${r.ms.toFixed(0)} ms, ${r.statuses.join('/')})`);
      console.log(`| ${name} | ${cell(ours)} | ${cell(theirs)} |`);
    }
  }
}

await main();
