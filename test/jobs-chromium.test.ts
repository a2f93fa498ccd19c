// A real browser on the job protocol (issue #11): a page in headless
// Chromium opens an EventSource on a run, the server ends the stream
// mid-run (a clean server-side disconnect), the browser reconnects by
// itself with Last-Event-ID, and the page must have seen every event
// exactly once, in order, up to the terminal one. It reports what it saw
// with a POST, which the test waits for.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { body, header, registerCallback, route, stopCallback, boundAddress, type ResponseDict, type RequestDict } from '../src/index.js';
import { jobResource } from '../src/jobs/index.js';
import { findBinary, HEADLESS_CHROMIUM_FLAGS, startPeer } from './helpers/peers-common.js';
import { gate, post, until } from './helpers/jobs-common.js';

const chromium = findBinary(['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);
const skip = chromium === null ? 'Chromium is not installed (.ci/run installs it: apt-get install chromium)' : false;

const PAGE = (run: string) => `<!doctype html><meta charset="utf-8"><title>jobs</title>
<script>
const seen = [];
const es = new EventSource('/runs/${run}');
for (const type of ['queued', 'running', 'success', 'error', 'canceled', 'dropped']) {
  es.addEventListener(type, (e) => {
    seen.push({ id: e.lastEventId, type, data: JSON.parse(e.data) });
    fetch('/seen?id=' + e.lastEventId); // tells the test how far the page got
    if (type === 'success' || type === 'error' || type === 'canceled') {
      es.close();
      fetch('/report', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(seen) });
    }
  });
}
</script>`;

t.test('EventSource in Chromium: a server-side disconnect mid-run, a reconnection, no event twice', { skip, timeout: 60_000 }, async (t) => {
  const steps = Array.from({ length: 6 }, () => gate());
  const jobs = jobResource({
    prefix: '/runs/', heartbeat: 0,
    run: async (_a, job) => {
      for (let i = 0; i < steps.length; i++) {
        await steps[i]!.promise;
        await job.progress({ step: i + 1 });
      }
      return 'finished';
    },
  });
  /** The streams the browser opened: the Last-Event-ID each sent, and a way to end it from the server side. */
  const streams: Array<{ lastEventId: string | undefined; cut: () => void }> = [];
  const report = gate<unknown>();

  /**
   * Wraps a stream response: first a `retry: 100` field (so that the
   * browser reconnects after 0.1 s, not its default 3 s), then the
   * resource's chunks, until the test cuts it: the iterator returns and
   * the server ends the response cleanly, as a server restart would.
   */
  function cuttable(req: RequestDict, res: ResponseDict): ResponseDict {
    const inner = (res.message as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const cut = gate<IteratorResult<Uint8Array>>();
    streams.push({ lastEventId: header(req, 'last-event-id'), cut: () => cut.open({ done: true, value: undefined }) });
    let first = true;
    const message: AsyncIterableIterator<Uint8Array> = {
      async next() {
        if (first) {
          first = false;
          return { done: false, value: Buffer.from('retry: 100\n\n') };
        }
        const r = await Promise.race([inner.next(), cut.promise]);
        if (r.done === true) await inner.return?.();
        return r;
      },
      async return() {
        await inner.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return { ...res, message };
  }

  let run = '';
  let pageAt = '';
  const app = route({
    '/runs/': async (req) => {
      const res = await jobs.callback(req);
      return req.verb === 'GET' && res.statuscode === 200 && res.message !== undefined && typeof res.message === 'object' && Symbol.asyncIterator in (res.message as object)
        ? cuttable(req, res)
        : res;
    },
    '/page': () => ({ statuscode: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, message: PAGE(run) }),
    '/seen': (req) => {
      pageAt = req.querydict?.['id'] ?? '';
      return { statuscode: 204 };
    },
    '/report': async (req) => {
      report.open(await body.json(req));
      return { statuscode: 204 };
    },
  });
  const id = await registerCallback(['127.0.0.1', 0], app, { onError: null });
  t.teardown(async () => {
    await jobs.stop();
    await stopCallback(id);
  });
  const port = boundAddress(id)[1];
  run = (await post(`http://127.0.0.1:${port}/runs/`, null)).body.id as string;

  const profile = mkdtempSync(join(tmpdir(), 'repy-http-chromium-'));
  t.teardown(() => rmSync(profile, { recursive: true, force: true }));
  // HOME in the temp dir too (startPeer passes this process's env): nothing of the browser's lands in the real one.
  const home = process.env['HOME'];
  process.env['HOME'] = profile;
  const browser = startPeer(t, chromium!, [
    ...HEADLESS_CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0',
    `http://127.0.0.1:${port}/page`,
  ]);
  if (home === undefined) delete process.env['HOME'];
  else process.env['HOME'] = home;

  t.ok(await until(() => streams.length === 1, 30_000), `the page opened the stream ${browser.output().slice(-500)}`);
  t.equal(streams[0]!.lastEventId, undefined, 'the first connection sends no Last-Event-ID');
  steps[0]!.open();
  steps[1]!.open();
  t.ok(await until(() => pageAt === '3', 10_000), 'the page got events 1-3');
  streams[0]!.cut(); // end the stream from the server side
  t.ok(await until(() => streams.length === 2, 10_000), 'the browser reconnected by itself');
  t.equal(streams[1]!.lastEventId, '3', 'with the id of the last event it received');
  steps[2]!.open();
  t.ok(await until(() => pageAt === '4', 10_000), 'the page got event 4');
  streams[1]!.cut(); // and once more, right after an event
  t.ok(await until(() => streams.length === 3, 10_000), 'reconnected again');
  t.equal(streams[2]!.lastEventId, '4');
  for (const s of steps.slice(3)) s.open();

  const seen = (await report.promise) as Array<{ id: string; type: string; data: unknown }>;
  t.same(seen.map((e) => `${e.id} ${e.type}`), [
    '1 queued', '2 running', '3 running', '4 running', '5 running', '6 running', '7 running', '8 success',
  ], 'every event once, in order, across two server-side disconnects');
  t.same(seen.at(-1)!.data, 'finished');
});
