/**
 * Streamed messages are coalesced (issue #15): small chunks produced without
 * waiting for I/O leave as few large HTTP chunks, while a producer that
 * waits between pieces still has each piece on the wire before it makes the
 * next; the content is intact either way, and backpressure still holds.
 */
import t from 'tap';
import { Client, serve } from './helpers/wire.js';
import { parseMessages } from '../src/parser/inspect.js';

/** The chunk-size lines of a chunked body (the HTTP chunks the server wrote). */
function chunkSizes(raw: Buffer): number[] {
  const text = raw.toString('latin1');
  let i = text.indexOf('\r\n\r\n') + 4;
  const sizes: number[] = [];
  for (;;) {
    const eol = text.indexOf('\r\n', i);
    if (eol === -1) return sizes;
    const size = parseInt(text.slice(i, eol), 16);
    sizes.push(size);
    if (size === 0) return sizes;
    i = eol + 2 + size + 2;
  }
}

t.test('10 000 small chunks produced at once leave as a few large HTTP chunks, intact', async (t) => {
  const pieces = Array.from({ length: 10_000 }, (_, i) => `piece ${i}\n`);
  const { port } = await serve(t, () => ({
    statuscode: 200,
    message: (async function* () {
      for (const p of pieces) yield p;
    })(),
  }));
  const c = new Client(port);
  await c.ready;
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const raw = await c.until((b) => b.includes('\r\n0\r\n\r\n'), 10_000);
  const sizes = chunkSizes(raw);
  const msg = parseMessages(raw, { kind: 'response' });
  t.equal(msg.messages[0]?.body?.toString(), pieces.join(''), 'the content is every piece, in order');
  t.ok(sizes.length - 1 <= 20, `${sizes.length - 1} HTTP chunks for 10 000 pieces (${pieces.join('').length} bytes)`);
  t.ok(sizes.slice(0, -2).every((s) => s >= 16 * 1024), 'each but the last at least 16 KiB');
  c.socket.destroy();
});

t.test('a producer that waits between pieces: each piece is on the wire before the next is made', async (t) => {
  let made = 0;
  const seenBefore: number[] = [];
  let client: Client | null = null;
  const { port } = await serve(t, () => ({
    statuscode: 200,
    message: (async function* () {
      for (let i = 0; i < 5; i++) {
        if (i > 0) {
          // Wait (real I/O) until the client has the previous piece.
          const want = `step ${i - 1};`;
          await client!.until((b) => b.includes(want), 5000);
          seenBefore.push(i - 1);
        }
        made++;
        yield `step ${i};`;
      }
    })(),
  }));
  client = new Client(port);
  await client.ready;
  client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const raw = await client.until((b) => b.includes('\r\n0\r\n\r\n'), 10_000);
  t.same(seenBefore, [0, 1, 2, 3], 'every piece reached the client while the producer waited: nothing held back');
  t.equal(made, 5);
  t.equal(chunkSizes(raw).length, 6, 'five HTTP chunks and the last');
  client.socket.destroy();
});

t.test('HTTP/1.0 (close-delimited) and a declared Content-Length are coalesced the same way', async (t) => {
  const body = 'x'.repeat(50_000);
  const { port } = await serve(t, (req) => ({
    statuscode: 200,
    headers: req.path === '/cl' ? { 'Content-Length': String(body.length) } : {},
    message: (async function* () {
      for (let i = 0; i < body.length; i += 10) yield body.slice(i, i + 10);
    })(),
  }));
  for (const [path, version] of [['/cl', '1.1'], ['/close', '1.0']] as const) {
    const c = new Client(port);
    await c.ready;
    c.write(`GET ${path} HTTP/${version}\r\nHost: x\r\n\r\n`);
    const raw = await c.until((b) => b.length >= b.indexOf('\r\n\r\n') + 4 + body.length && b.includes('\r\n\r\n'), 10_000);
    t.equal(raw.subarray(raw.indexOf('\r\n\r\n') + 4).toString(), body, `${path}: intact`);
    c.socket.destroy();
  }
});
