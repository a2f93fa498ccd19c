/**
 * Sessions behind nginx (issue #14): the shipped configuration
 * (examples/deploy/nginx-sessions.conf, ports replaced by free ones) in
 * front of three real backend processes (examples/deploy/session-backend.mjs,
 * from the built dist/). 50 clients with their own cookies each keep their
 * session across 20 requests, spread over the backends; one backend is
 * then killed: its clients' sessions start again on another backend with a
 * new cookie naming it, and every other client's session carries on.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nginxSkip, startNginx } from './helpers/nginx.js';
import { redisSkip, startRedis } from './helpers/redis-server.js';

const root = resolve(import.meta.dirname, '..');
const built = existsSync(join(root, 'dist', 'sessions', 'index.js'));
const skip = nginxSkip !== false
  ? nginxSkip
  : !built ? 'dist/ not built (npm run build; CI builds before testing)' : false;

interface Answer { home: string; pid: number; session: string; visits: number }

/** Starts one backend; resolves with its port once it listens. */
async function backend(t: Test, home: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; port: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME_NAME: home, HOST: '127.0.0.1', PORT: '0', ...extraEnv };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, [join(root, 'examples', 'deploy', 'session-backend.mjs')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const port = await new Promise<number>((res, rej) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m !== null) res(Number(m[1]));
    });
    child.on('exit', (code) => rej(new Error(`backend ${home} exited ${code}: ${out}`)));
  });
  return { child, port };
}

/** Three backends (with `env`) and nginx running the shipped configuration in front of them. */
async function deployment(t: Test, env: NodeJS.ProcessEnv = {}): Promise<{ base: string; backends: Array<{ child: ChildProcess; port: number }> }> {
  const homes = ['b1', 'b2', 'b3'];
  const backends = await Promise.all(homes.map((h) => backend(t, h, env)));

  let shipped = readFileSync(join(root, 'examples', 'deploy', 'nginx-sessions.conf'), 'utf8');
  homes.forEach((_, i) => (shipped = shipped.replaceAll(`127.0.0.1:${8081 + i}`, `127.0.0.1:${backends[i]!.port}`)));
  const { base } = await startNginx(t, (port, dir) => {
    const conf = shipped.replaceAll('listen 127.0.0.1:8080;', `listen 127.0.0.1:${port};`);
    t.notMatch(conf, /:808[0-3]\b/, 'every port of the shipped file was replaced');
    writeFileSync(join(dir, 'sessions.conf'), conf);
    return `  include ${dir}/sessions.conf;`;
  }, { workerConnections: 1024, prefix: 'repy-http-deploy-' });
  return { base, backends };
}

t.test('sessions behind nginx: each session stays home; a dead home restarts only its own', { skip, timeout: 90_000 }, async (t) => {
  const homes = ['b1', 'b2', 'b3'];
  const { base, backends } = await deployment(t);
  /** One client: a cookie jar of one cookie. */
  class Client {
    cookie = '';
    async get(path: string): Promise<Answer & { status: number; setCookie: string | null }> {
      const res = await fetch(base + path, { headers: this.cookie === '' ? {} : { Cookie: this.cookie }, signal: AbortSignal.timeout(15_000) });
      const set = res.headers.getSetCookie()[0] ?? null;
      if (set !== null) this.cookie = set.slice(0, set.indexOf(';'));
      const body = (await res.json()) as Answer;
      return { ...body, status: res.status, setCookie: set };
    }
  }

  const clients = Array.from({ length: 50 }, () => new Client());
  const homeOf = new Map<Client, string>();
  const problems: string[] = [];
  await Promise.all(clients.map(async (c, i) => {
    for (let n = 1; n <= 20; n++) {
      const a = await c.get(`/step/${n}`);
      if (n === 1) {
        homeOf.set(c, a.home);
        if (a.setCookie === null || !a.setCookie.startsWith(`sid=${a.home}.`)) problems.push(`client ${i}: first cookie ${a.setCookie} does not name ${a.home}`);
      } else if (a.setCookie !== null) problems.push(`client ${i} step ${n}: a new cookie ${a.setCookie}`);
      if (a.status !== 200 || a.visits !== n || a.home !== homeOf.get(c)) {
        problems.push(`client ${i} step ${n}: ${a.status} visits ${a.visits} at ${a.home} (home ${homeOf.get(c)})`);
      }
    }
  }));
  t.same(problems, [], '50 clients × 20 requests: every request reached its session at its home');
  const perHome = homes.map((h) => [...homeOf.values()].filter((x) => x === h).length);
  t.ok(perHome.every((n) => n > 0), `new sessions spread over every backend (round-robin): ${perHome.join(' / ')}`);

  // Kill b2: its sessions restart elsewhere, the others are untouched.
  const victim = backends[1]!.child;
  victim.kill('SIGKILL');
  await new Promise((r) => victim.once('exit', r));
  const after = await Promise.all(clients.map(async (c) => [c, await c.get('/after')] as const));
  let restarted = 0;
  let carried = 0;
  for (const [c, a] of after) {
    const home = homeOf.get(c)!;
    if (home === 'b2') {
      restarted++;
      t.ok(a.status === 200 && a.visits === 1 && a.home !== 'b2', `a b2 session starts again elsewhere (${a.home}, visit ${a.visits})`);
      t.ok(a.setCookie?.startsWith(`sid=${a.home}.`), 'with a new cookie naming its new home');
    } else {
      carried++;
      if (!(a.status === 200 && a.visits === 21 && a.home === home && a.setCookie === null)) t.fail(`a ${home} session was disturbed: ${JSON.stringify(a)}`);
    }
  }
  t.equal(restarted + carried, 50);
  t.ok(carried > 0 && restarted > 0, `${restarted} sessions of the killed backend restarted, ${carried} others carried on at visit 21`);

  // And the restarted ones now stay at their new home.
  const again = await Promise.all(clients.filter((c) => homeOf.get(c) === 'b2').map((c) => c.get('/again')));
  t.ok(again.every((a) => a.visits === 2 && a.home !== 'b2'), 'the restarted sessions stay at their new home');
});

t.test('behind the same nginx, with Redis: idempotency and jobs work through any backend', { skip: skip || redisSkip, timeout: 90_000 }, async (t) => {
  const redis = await startRedis(t);
  const dir = mkdtempSync(join(tmpdir(), 'repy-http-deploy-effects-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const effects = join(dir, 'effects.log');
  writeFileSync(effects, '');
  const { base } = await deployment(t, { REDIS_URL: redis.url, EFFECTS_FILE: effects });
  const count = (key: string): number => readFileSync(effects, 'utf8').split('\n').filter((l) => l.startsWith(`"${key}" `)).length;
  const pay = async (key: string, amount: string): Promise<{ status: number; replayed: boolean; home: string }> => {
    const res = await fetch(`${base}/pay`, { method: 'POST', body: amount, headers: { 'Idempotency-Key': `"${key}"` }, signal: AbortSignal.timeout(15_000) });
    const body = (await res.json()) as { home?: string };
    return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', home: body.home ?? '' };
  };

  // Cookie-less requests go round-robin: the retries land on other backends.
  const answers: Array<{ status: number; replayed: boolean; home: string }> = [];
  for (let i = 0; i < 6; i++) answers.push(await pay('k-seq', '10'));
  t.equal(count('k-seq'), 1, 'six POSTs with one key through nginx: one effect');
  t.same(answers.map((a) => [a.status, a.replayed]), [[201, false], ...Array.from({ length: 5 }, () => [201, true])], 'then five replays');
  t.ok(answers.every((a) => a.home === answers[0]!.home), `every replay is the first answer (made on ${answers[0]!.home})`);
  const storm = await Promise.all(Array.from({ length: 30 }, () => pay('k-storm', '5')));
  t.equal(count('k-storm'), 1, `30 concurrent POSTs with one key over 3 backends: one effect (${storm.map((a) => a.status).join(' ')})`);

  // A run started through nginx, read through nginx (any backend) until it ends.
  const post = await fetch(`${base}/runs/`, { method: 'POST', body: '{"steps":4,"delay":60}', headers: { 'Content-Type': 'application/json' } });
  t.equal(post.status, 201);
  const location = post.headers.get('location')!;
  let events: Array<{ id: number; state: string }> = [];
  let last = 0;
  for (let i = 0; i < 40 && events.at(-1)?.state !== 'success'; i++) {
    const res = await fetch(`${base}${location}?wait=5`, { headers: { 'Last-Event-ID': String(last) } });
    const batch = (await res.json()) as Array<{ id: number; state: string }>;
    events = events.concat(batch);
    last = events.at(-1)?.id ?? last;
  }
  t.same(events.map((e) => e.id), [1, 2, 3, 4, 5, 6], 'long polls through nginx (round-robin) see every event once, in order');
  t.equal(events.at(-1)?.state, 'success');

  const long = await fetch(`${base}/runs/`, { method: 'POST', body: '{"steps":1000,"delay":20}', headers: { 'Content-Type': 'application/json' } });
  const longAt = long.headers.get('location')!;
  const del = await fetch(`${base}${longAt}`, { method: 'DELETE' });
  t.equal(del.status, 202, 'DELETE through nginx (whichever backend) is accepted');
  const final = (await (await fetch(`${base}${longAt}?wait=0`)).json()) as Array<{ state: string }>;
  t.equal(final.at(-1)?.state, 'canceled', 'and the run, wherever it runs, ends canceled');
});
