// The job protocol behind nginx with its defaults: proxy_buffering left on,
// HTTP/1.1 upstream keep-alive. (The stream says X-Accel-Buffering: no;
// this nginx also passed events on at once with that field set to yes,
// so the test proves the outcome, not which of the two made it.) runJob through nginx must see each event
// when it happens (before the run's next step), and a JSON long poll
// through nginx must wait and wake.
import t from 'tap';
import { runJob } from '../src/jobs/index.js';
import { nginxSkip as skip, startNginx } from './helpers/nginx.js';
import { gate, getJson, post, serve, until } from './helpers/jobs-common.js';


t.test('behind nginx (proxy_buffering on): events arrive one by one, the long poll waits', { skip, timeout: 60_000 }, async (t) => {
  const steps = Array.from({ length: 4 }, () => gate());
  const s = await serve(t, { run: async (a, job) => {
    if (a === 'poll') { await steps[3]!.promise; await job.progress('late'); return 'polled'; }
    for (let i = 0; i < 3; i++) { await steps[i]!.promise; await job.progress({ step: i + 1 }); }
    return 'done';
  } });

  const nginx = await startNginx(t, (port) => `
  upstream backend { server 127.0.0.1:${s.port}; keepalive 8; }
  server {
    listen 127.0.0.1:${port};
    # proxy_buffering is on (the default); proxy_read_timeout is 60 s (the default).
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
`, { workerConnections: 64, prefix: 'repy-http-nginx-jobs-' });
  const base = `${nginx.base}/runs/`;

  const seen: number[] = [];
  const result = runJob(base, 'stream', { onProgress: (p) => seen.push(p.id) });
  t.ok(await until(() => seen.length === 1, 10_000), 'queued arrives through nginx at once');
  for (let i = 0; i < 3; i++) {
    steps[i]!.open();
    if (i < 2) t.ok(await until(() => seen.length === i + 2, 10_000), `event ${i + 2} arrives before the next step`);
  }
  t.equal(await result, 'done');
  t.same(seen, [1, 2, 3, 4]);

  const id = (await post(base, 'poll')).body.id as string;
  const started = Date.now();
  const polling = getJson(`${base}${id}?wait=20`, { 'Last-Event-ID': '1' });
  await new Promise((r) => setTimeout(r, 300));
  steps[3]!.open();
  const r = await polling;
  t.equal(r.status, 200);
  t.same(r.body.map((e: { state: string }) => e.state), ['running']);
  t.ok(Date.now() - started >= 300, 'it waited for the event');
  t.notMatch(nginx.errorLog(), /\[(error|crit|alert|emerg)\]/, 'nginx logged no error');
});
