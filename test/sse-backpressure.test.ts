// repy-http/sse backpressure (issue #11): a client that stops reading while
// the server sends as fast as it may. Run in a child process with
// --expose-gc so that the server's heap and RSS are measured alone.
import t from 'tap';
import { spawn } from 'node:child_process';

function child(mode: string, ms: number): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' };
  delete env['NODE_OPTIONS'];
  const c = spawn(process.execPath, ['--expose-gc', '--import', '@tapjs/typescript/import', 'test/helpers/sse-backpressure-child.ts', mode, String(ms)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.kill();
      reject(new Error(`child did not finish: ${out}`));
    }, 60_000);
    c.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`child exited ${code}: ${out}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

const MB = 1024 * 1024;

t.test('await send(): the producer is held back, memory stays bounded', async (t) => {
  const r = await child('await', 2000);
  t.comment(JSON.stringify(r));
  t.equal(r['stalled'], true, 'the producer waits in send()');
  // The kernel's socket buffers take a few MB on loopback; the rest waits in the producer.
  t.ok((r['accepted'] as number) < 64 * MB, `accepted ${((r['accepted'] as number) / MB).toFixed(1)} MB in 2 s, then stalled`);
  t.ok((r['peakQueued'] as number) <= 64 * 1024 + 2048, 'the queue stays under highWaterMark plus one event');
  t.ok((r['heapDelta'] as number) < 8 * MB, `heap grew ${((r['heapDelta'] as number) / MB).toFixed(2)} MB`);
  t.ok((r['rssDelta'] as number) < 48 * MB, `RSS grew ${((r['rssDelta'] as number) / MB).toFixed(2)} MB`);
  t.same(r['errors'], []);
});

t.test('a producer that does not wait: cut at maxQueue, ERR_SSE_QUEUE_FULL reported', async (t) => {
  const r = await child('flood', 5000);
  t.comment(JSON.stringify(r));
  t.equal(r['closed'], true, 'the stream closed');
  t.ok((r['closedAfter'] as number) < 4000, 'promptly, not at writeTimeout (60 s)');
  t.same(r['errors'], ['ERR_SSE_QUEUE_FULL'], 'reported to onError');
  t.equal(r['clientClosed'], true, 'the connection was closed');
  t.equal(r['cleanEnd'], false, 'cut, not ended cleanly with the last chunk');
  t.ok((r['offered'] as number) > 1024 * 1024, 'the kernel buffers filled first: the reader had stopped');
  t.ok((r['peakQueued'] as number) <= 64 * 1024 + 2048, 'the queue never held more than maxQueue plus one event');
  t.ok((r['heapDelta'] as number) < 8 * MB, `heap grew ${((r['heapDelta'] as number) / MB).toFixed(2)} MB`);
});
