// repy-http/jobs with real peers: the protocol as curl speaks it (-N for
// the stream, -I, -X DELETE, a long poll), Python's http.client reading
// the event stream line by line and long-polling, and a child process that
// must exit by itself after using a resource (no timer left behind).
import t from 'tap';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { JobContext } from '../src/jobs/index.js';
import { findBinary, run } from './helpers/peers-common.js';
import { gate, parseSse, post, serve, until } from './helpers/jobs-common.js';

const curl = findBinary(['curl']);
const python = findBinary(['python3']);

/** A run that does what its args say: `steps` progress events `delay` ms apart; `hang`: ignore the signal forever. */
async function scripted(args: unknown, job: JobContext): Promise<unknown> {
  const a = (args ?? {}) as { steps?: number; delay?: number; hang?: boolean };
  if (a.hang === true) return new Promise(() => {});
  for (let i = 1; i <= (a.steps ?? 0); i++) {
    await new Promise((r) => setTimeout(r, a.delay ?? 0));
    job.signal.throwIfAborted();
    await job.progress({ step: i });
  }
  return { steps: a.steps ?? 0 };
}

/** Splits `curl -i` / `-D -` output into status, lower-cased fields and body. */
function response(out: string): { status: number; headers: Record<string, string>; body: string } {
  const end = out.indexOf('\r\n\r\n');
  const lines = out.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { status: Number(lines[0]!.split(' ')[1]), headers, body: out.slice(end + 4) };
}

const c = (args: string[]) => run(curl!, ['-s', '--max-time', '20', ...args], { timeoutMs: 25_000 });

t.test('curl: POST, -N stream, -I, long poll, -X DELETE', { skip: curl === null ? 'curl is not installed (apt-get install curl)' : false }, async (t) => {
  const s = await serve(t, { run: scripted });
  const json = ['-H', 'Content-Type: application/json'];

  const created = response((await c(['-i', ...json, '-d', '{"steps":3,"delay":20}', s.base])).stdout);
  t.equal(created.status, 201);
  t.match(created.headers['location'], /^\/runs\/[A-Za-z0-9_-]{22}$/);
  const url = `http://127.0.0.1:${s.port}${created.headers['location']}`;

  const seeOther = response((await c(['-i', ...json, '-H', 'Accept: text/event-stream', '-d', '{}', s.base])).stdout);
  t.equal(seeOther.status, 303);

  // -N: the stream as it comes, ending by itself after the terminal event.
  const streamed = await c(['-N', '-H', 'Accept: text/event-stream', url]);
  t.equal(streamed.code, 0, 'curl ended: the server closed the stream');
  t.same(parseSse(streamed.stdout).map((e) => `${e.id} ${e.event} ${e.data}`), [
    '1 queued null', '2 running {"step":1}', '3 running {"step":2}', '4 running {"step":3}', '5 success {"steps":3}',
  ]);
  const resumed = await c(['-N', '-H', 'Accept: text/event-stream', '-H', 'Last-Event-ID: 3', url]);
  t.same(parseSse(resumed.stdout).map((e) => e.id), ['4', '5'], 'resume is exclusive');

  const head = response((await c(['-I', url])).stdout);
  t.equal(head.status, 200);
  t.equal(head.body, '');
  t.equal(response((await c(['-I', s.base + 'AAAAAAAAAAAAAAAAAAAAAA'])).stdout).status, 404);

  // JSON with the query argument (what longrun's README shows for curl).
  const list = JSON.parse((await c([`${url}?last-event-id=2`])).stdout) as Array<{ id: number }>;
  t.same(list.map((e) => e.id), [3, 4, 5]);

  // A long poll on a run that moves later: curl waits, then gets the event.
  const slow = JSON.parse((await c([...json, '-d', '{"steps":1,"delay":400}', s.base])).stdout).id as string;
  const poll = await c(['-H', 'Last-Event-ID: 1', `${s.base}${slow}?wait=10`]);
  t.same((JSON.parse(poll.stdout) as Array<{ state: string }>).map((e) => e.state), ['running']);
  t.ok(poll.ms >= 300, `curl waited ${Math.round(poll.ms)} ms for the event`);

  const hung = JSON.parse((await c([...json, '-d', '{"hang":true}', s.base])).stdout).id as string;
  const del = response((await c(['-i', '-X', 'DELETE', s.base + hung])).stdout);
  t.equal(del.status, 202);
  t.equal(response((await c(['-i', '-X', 'DELETE', s.base + hung])).stdout).status, 409);
  t.equal(response((await c(['-i', '-X', 'DELETE', s.base + 'AAAAAAAAAAAAAAAAAAAAAA'])).stdout).status, 404);
  const after = await c(['-N', '-H', 'Accept: text/event-stream', s.base + hung]);
  t.same(parseSse(after.stdout).map((e) => e.event), ['queued', 'canceled'], 'a run ignoring its signal is reported canceled');

  const bad = response((await c(['-i', '-H', 'Content-Type: text/plain', '-d', 'x', s.base])).stdout);
  t.equal(bad.status, 415);
});

t.test('curl -N receives each event when it happens, not at the end', { skip: curl === null ? 'curl is not installed' : false }, async (t) => {
  const steps = [gate(), gate(), gate()];
  const s = await serve(t, { run: async (_a, job) => { for (const g of steps) { await g.promise; await job.progress('x'); } return 'end'; } });
  const id = (await post(s.base, null)).body.id as string;
  const child = spawn(curl!, ['-s', '-N', '--max-time', '20', '-H', 'Accept: text/event-stream', s.base + id], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise((r) => child.on('close', r));
  t.ok(await until(() => parseSse(out).length === 1), 'queued arrives at once');
  for (let i = 0; i < steps.length; i++) {
    steps[i]!.open();
    // The last step's event and the success event leave together.
    t.ok(await until(() => parseSse(out).length >= i + 2), `event ${i + 2} arrives before the next step`);
    if (i < steps.length - 1) t.equal(parseSse(out).length, i + 2, 'and nothing more');
  }
  await exited;
  t.same(parseSse(out).map((e) => e.event), ['queued', 'running', 'running', 'running', 'success']);
});

const PY = String.raw`
import http.client, json, sys
port = int(sys.argv[1])
out = {}
def conn():
    return http.client.HTTPConnection('127.0.0.1', port, timeout=20)
c = conn()
c.request('POST', '/runs/', body=json.dumps({'steps': 3, 'delay': 50}), headers={'Content-Type': 'application/json', 'Accept': 'text/event-stream'})
r = c.getresponse(); r.read()
out['post'] = [r.status, r.getheader('Location')]
loc = r.getheader('Location')
# The event stream, read line by line as it arrives.
c.request('GET', loc, headers={'Accept': 'text/event-stream'})
r = c.getresponse()
out['sse_type'] = r.getheader('Content-Type')
events, cur = [], {}
while True:
    line = r.readline()
    if not line:
        break
    line = line.decode('utf-8').rstrip('\n')
    if line == '':
        if cur: events.append(cur)
        cur = {}
    elif not line.startswith(':'):
        k, _, v = line.partition(': ')
        cur[k] = v
out['sse'] = events
# Long poll after the last event: [] at once (the run is over).
c = conn()
c.request('GET', loc + '?wait=5', headers={'Last-Event-ID': events[-1]['id']})
r = c.getresponse()
out['after_end'] = json.loads(r.read())
c.request('GET', loc + '?wait=0', headers={'Last-Event-ID': '2'})
r = c.getresponse()
out['since2'] = [e['id'] for e in json.loads(r.read())]
c.request('HEAD', loc)
r = c.getresponse(); r.read()
out['head'] = r.status
# A run that hangs: a long poll wakes on the DELETE made on another connection.
c.request('POST', '/runs/', body='{"hang": true}', headers={'Content-Type': 'application/json'})
r = c.getresponse()
hung = json.loads(r.read())['id']
import threading
def cancel():
    import time; time.sleep(0.3)
    d = conn(); d.request('DELETE', '/runs/' + hung); out['delete'] = d.getresponse().status
threading.Thread(target=cancel).start()
c.request('GET', '/runs/' + hung + '?wait=10', headers={'Last-Event-ID': '1'})
r = c.getresponse()
out['woken'] = [e['state'] for e in json.loads(r.read())]
c.request('DELETE', '/runs/' + hung)
r = c.getresponse(); r.read()
out['delete_again'] = r.status
c.request('POST', '/runs/', body='{bad', headers={'Content-Type': 'application/json'})
r = c.getresponse(); r.read()
out['bad'] = r.status
print(json.dumps(out))
`;

t.test('Python http.client: POST 303, the stream line by line, long poll woken by DELETE, HEAD', { skip: python === null ? 'python3 is not installed' : false }, async (t) => {
  const s = await serve(t, { run: scripted });
  const r = await run(python!, ['-c', PY, String(s.port)], { timeoutMs: 30_000 });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  t.match(out['post'], [303, /^\/runs\/[A-Za-z0-9_-]{22}$/]);
  t.equal(out['sse_type'], 'text/event-stream');
  t.same(out['sse'], [
    { id: '1', event: 'queued', data: 'null' },
    { id: '2', event: 'running', data: '{"step":1}' },
    { id: '3', event: 'running', data: '{"step":2}' },
    { id: '4', event: 'running', data: '{"step":3}' },
    { id: '5', event: 'success', data: '{"steps":3}' },
  ]);
  t.same(out['after_end'], []);
  t.same(out['since2'], [3, 4, 5]);
  t.equal(out['head'], 200);
  t.equal(out['delete'], 202);
  t.same(out['woken'], ['canceled']);
  t.equal(out['delete_again'], 409);
  t.equal(out['bad'], 400);
});

const CHILD = `
import { registerCallback, stopCallback, boundAddress, open } from './src/index.ts';
import { jobResource } from './src/jobs/index.ts';
const jobs = jobResource({ prefix: '/runs/', heartbeat: 5000, run: async (a, job) => { await job.progress(1); return a; } });
const id = await registerCallback(['127.0.0.1', 0], jobs.callback);
const base = 'http://127.0.0.1:' + boundAddress(id)[1] + '/runs/';
const res = await open(base, { postdata: '{"x":1}', httpheaders: { 'Content-Type': 'application/json' } });
const job = JSON.parse((await res.read()).toString()).id;
const sse = await open(base + job, { httpheaders: { Accept: 'text/event-stream' } });
const text = (await sse.read()).toString();
const poll = await open(base + job + '?wait=0', {});
await poll.read();
await stopCallback(id);
console.log(JSON.stringify({ events: text.split('event: ').length - 1 }));
// No jobs.stop(): the finished run's reaping timer (ttl 600 s) must not hold the process.
`;

t.test('no timer is left behind: a process that used a resource exits by itself', async (t) => {
  const root = resolve(import.meta.dirname, '..');
  const started = Date.now();
  const r = await run('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--import', '@tapjs/typescript/import', '--input-type=module', '-e', CHILD], { timeoutMs: 60_000, cwd: root });
  t.equal(r.timedOut, false, 'exited on its own');
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { events: 3 });
  t.ok(Date.now() - started < 60_000);
});
