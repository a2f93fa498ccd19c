/**
 * repy-http/sse against real peers (issue #11):
 * - curl -N prints each event as it is sent (the next one is sent only
 *   once curl has printed the previous one), and curl -I gets the head;
 * - Python's http.client reads the stream line by line;
 * - headless Chromium: a page's EventSource receives events, the server
 *   ends the connection mid-stream twice, the browser reconnects with
 *   Last-Event-ID, and the page's collected ids have no gap and no repeat;
 * - nginx in front with proxy_buffering left on: each event arrives when
 *   it is sent (the response says X-Accel-Buffering: no); a control
 *   stream that lets nginx buffer is measured and reported beside it.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { eventStream, EventStreamParser, lastEventId } from '../src/sse/index.js';
import { chromiumDumpDom, findBinary, killGroup, loggingServer, run, sleep, within } from './helpers/peers-common.js';
import { nginxSkip, startNginx } from './helpers/nginx.js';

const curl = findBinary(['curl']);
const python = findBinary(['python3']);
const chromium = findBinary(['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);

/** Resolves when `cond()` holds (polling), or false after `ms`. */
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

t.test('curl -N sees each event as it is sent; curl -I gets the head', { skip: curl === null ? 'curl is not installed' : false, timeout: 30_000 }, async (t) => {
  let out = '';
  const gates: boolean[] = [];
  const srv = await loggingServer(t, (req) => {
    const s = eventStream(req, { heartbeat: 0 });
    void (async () => {
      for (let i = 1; i <= 3; i++) {
        await s.send({ id: i, event: 'step', data: `step ${i}` });
        // The next event only once curl has printed this one: proves no buffering anywhere.
        gates.push(await waitFor(() => out.includes(`data: step ${i}\n`), 5000));
      }
      s.close();
    })();
    return s.response;
  });
  const child = spawn(curl!, ['-sN', `${srv.base}/events`], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await within(new Promise<number | null>((r) => child.on('close', (c) => r(c))), 10_000);
  killGroup(child, 'SIGKILL');
  t.equal(code, 0, 'curl ended when the stream ended');
  t.same(gates, [true, true, true], 'curl printed each event before the next was sent');
  t.equal(out, ': stream open\n\n' + [1, 2, 3].map((i) => `id: ${i}\nevent: step\ndata: step ${i}\n\n`).join(''));
  const head = await run(curl!, ['-sI', `${srv.base}/events`], { timeoutMs: 10_000 });
  t.equal(head.code, 0);
  t.match(head.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(head.stdout, /content-type: text\/event-stream/i);
  t.match(head.stdout, /x-accel-buffering: no/i);
  t.same(srv.errors, []);
});

const PY = String.raw`
import http.client, json, sys
port = int(sys.argv[1])
c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
c.request('GET', '/events', headers={'Accept': 'text/event-stream', 'Last-Event-ID': '2'})
r = c.getresponse()
print(json.dumps({'status': r.status, 'type': r.getheader('Content-Type'), 'te': r.getheader('Transfer-Encoding')}), flush=True)
events, data, eid = [], [], ''
while True:
    line = r.readline()
    if not line:
        break
    line = line.decode('utf-8').rstrip('\r\n')
    if line == '':
        if data:
            events.append({'id': eid, 'data': '\n'.join(data)})
        data = []
        continue
    if line.startswith(':'):
        continue
    field, _, value = line.partition(':')
    if value.startswith(' '):
        value = value[1:]
    if field == 'data':
        data.append(value)
    elif field == 'id':
        eid = value
print(json.dumps(events), flush=True)
`;

t.test('Python http.client reads the stream', { skip: python === null ? 'python3 is not installed' : false, timeout: 30_000 }, async (t) => {
  const srv = await loggingServer(t, (req) => {
    const s = eventStream(req, { heartbeat: 20 });
    const since = Number(lastEventId(req) ?? 0);
    void (async () => {
      for (let i = since + 1; i <= 5; i++) {
        await sleep(30); // heartbeats in between, which Python must skip
        await s.send({ id: i, data: `line one ${i}\nline two ü😀` });
      }
      s.close();
    })();
    return s.response;
  });
  const r = await run(python!, ['-c', PY, String(srv.port)], { timeoutMs: 20_000 });
  t.equal(r.code, 0, r.stderr);
  const [head, events] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(head, { status: 200, type: 'text/event-stream', te: 'chunked' });
  t.same(events, [3, 4, 5].map((i) => ({ id: String(i), data: `line one ${i}\nline two ü😀` })));
  t.same(srv.errors, []);
});

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>waiting</title></head><body>
<script>
const ids = [];
const es = new EventSource('/events');
es.addEventListener('tick', (e) => {
  ids.push(e.lastEventId + '=' + e.data);
  if (ids.length === 10) {
    es.close();
    document.title = 'ids ' + ids.join(',');
    fetch('/done?ids=' + encodeURIComponent(ids.join(',')));
  }
});
</script>
<script src="/wait.js"></script>
</body></html>
`;

t.test('Chromium EventSource: reconnects with Last-Event-ID, no event twice, none missing', { skip: chromium === null ? 'Chromium is not installed' : false, timeout: 60_000 }, async (t) => {
  let done: (ids: string) => void = () => {};
  const finished = new Promise<string>((r) => (done = r));
  const connections: (string | undefined)[] = [];
  const srv = await loggingServer(t, async (req) => {
    if (req.path === '/') return { statuscode: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, message: PAGE };
    if (req.path === '/wait.js') {
      // Holds the page's load event (and so --dump-dom) until the page has its ten events.
      await within(finished, 30_000);
      return { statuscode: 200, headers: { 'Content-Type': 'text/javascript' }, message: '/* done */\n' };
    }
    if (req.path === '/done') {
      done(req.querydict?.['ids'] ?? '');
      return { statuscode: 204 };
    }
    if (req.path !== '/events') return { statuscode: 404, message: '' };
    const since = Number(lastEventId(req) ?? 0);
    connections.push(req.headers['Last-Event-Id']);
    const s = eventStream(req, { retry: 100, heartbeat: 0 });
    // Each connection sends the next few events then ends mid-stream (4, then 3, then the rest).
    const upTo = since < 4 ? 4 : since < 7 ? 7 : 10;
    void (async () => {
      for (let i = since + 1; i <= upTo; i++) {
        await s.send({ id: i, event: 'tick', data: `e${i}` });
        await sleep(10);
      }
      if (upTo < 10) s.close();
    })();
    return s.response;
  });
  const r = await chromiumDumpDom(chromium!, `${srv.base}/`, { timeoutMs: 45_000 });
  t.ok(!r.timedOut, `Chromium finished (${(r.ms / 1000).toFixed(1)} s)`);
  const want = Array.from({ length: 10 }, (_, i) => `${i + 1}=e${i + 1}`).join(',');
  t.equal(await within(finished, 1000), want, 'the page received ids 1..10, each once, in order');
  t.match(r.stdout, `<title>ids ${want}</title>`, 'and says so in its DOM');
  t.same(connections, [undefined, '4', '7'], 'three connections: the reconnections sent Last-Event-ID');
  t.match(srv.log.find((e) => e.path === '/events')?.headers['Accept'] ?? '', /text\/event-stream/);
  t.same(srv.errors, []);
});

t.test('nginx with proxy_buffering on: events arrive one by one', { skip: nginxSkip, timeout: 40_000 }, async (t) => {
  const GAP = 250;
  const sentAt = new Map<string, number[]>();
  const srv = await loggingServer(t, (req) => {
    // /buffered lets nginx buffer (the control): X-Accel-Buffering: yes.
    const buffered = req.path === '/buffered';
    const s = eventStream(req, { heartbeat: 0, ...(buffered ? { headers: { 'X-Accel-Buffering': 'yes' } } : {}) });
    const times: number[] = [];
    sentAt.set(req.path, times);
    void (async () => {
      for (let i = 1; i <= 5; i++) {
        await s.send({ id: i, data: `event ${i}` });
        times.push(Date.now());
        await sleep(GAP);
      }
      s.close();
    })();
    return s.response;
  });
  // proxy_buffering is left at its default (on).
  const nginx = await startNginx(t, (port) => `
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${srv.port}; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_read_timeout 10s; }
  }
`, { workerConnections: 64, prefix: 'repy-http-nginx-sse-' });
  const nport = nginx.port;

  /** Reads `path` through nginx with a raw socket; the arrival time of each event. */
  const arrivals = (path: string): Promise<{ id: string; at: number }[]> =>
    new Promise((resolve) => {
      const got: { id: string; at: number }[] = [];
      const parser = new EventStreamParser();
      let inBody = false;
      let head = Buffer.alloc(0);
      const sock = connect(nport, '127.0.0.1', () => sock.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
      sock.on('data', (d: Buffer) => {
        if (!inBody) {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end === -1) return;
          inBody = true;
          d = head.subarray(end + 4);
        }
        // HTTP/1.0 to nginx: the body is close-delimited, the bytes are the stream itself.
        for (const m of parser.push(d)) got.push({ id: m.id, at: Date.now() });
      });
      sock.on('error', () => {});
      sock.on('close', () => resolve(got));
    });

  const live = await arrivals('/live');
  const control = await arrivals('/buffered');
  t.same(live.map((e) => e.id), ['1', '2', '3', '4', '5']);
  t.same(control.map((e) => e.id), ['1', '2', '3', '4', '5']);
  const lags = live.map((e, i) => e.at - sentAt.get('/live')![i]!);
  t.comment(`through nginx, each event's delay after it was sent (ms): ${lags.join(' ')}`);
  t.ok(lags.every((l) => l < GAP * 0.8), 'each event arrived before the next was sent');
  t.ok(live[4]!.at - live[0]!.at >= GAP * 3, `spread over ${live[4]!.at - live[0]!.at} ms, not all at the end`);
  const controlLags = control.map((e, i) => e.at - sentAt.get('/buffered')![i]!);
  // Not asserted: this nginx passes small reads on at once even when it
  // may buffer; the header matters where it would not (gzip, larger
  // proxy buffers, other versions), and costs nothing where it does not.
  t.comment(`control (X-Accel-Buffering: yes), delays (ms): ${controlLags.join(' ')}`);
  t.same(srv.errors, []);
});
