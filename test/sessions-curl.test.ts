/**
 * repy-http/sessions over real sockets with curl and its cookie jars
 * (issue #13): two clients keep separate state through a five-step
 * dialogue, interleaved; a forged, malformed or stale cookie gets a new
 * session and a new cookie, never the id it sent.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundAddress, registerCallback, stopCallback, text } from '../src/index.js';
import { sessions, isSessionId, type Session } from '../src/sessions/index.js';

const curlMissing = await new Promise<string | false>((resolve) => {
  execFile('curl', ['--version'], { timeout: 5000 }, (err) => resolve(err === null ? false : 'curl is not installed (apt-get install curl)'));
});

/** Runs curl -sS -i with the given args; resolves with status, head lines and body. */
function curl(args: string[]): Promise<{ code: number; status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', '--max-time', '10', ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err !== null) return reject(new Error(`curl failed: ${err.message} ${stderr}`));
      const end = stdout.indexOf('\r\n\r\n');
      const head = stdout.slice(0, end);
      resolve({ code: 0, status: Number(head.slice(9, 12)), head, body: stdout.slice(end + 4) });
    });
  });
}

/** The Set-Cookie lines of a head. */
const setCookies = (head: string): string[] =>
  head.split('\r\n').filter((l) => l.toLowerCase().startsWith('set-cookie:')).map((l) => l.slice(11).trim());

/** The sid a cookie jar file holds (Netscape format: name in column 6, value in 7). */
function jarSid(file: string): string | null {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const cols = line.split('\t');
    if (cols.length === 7 && cols[5] === 'sid') return cols[6]!;
  }
  return null;
}

/** A five-step dialogue: name, then three numbers, then the total. Local variables are the state. */
async function dialogue(session: Session): Promise<void> {
  let req = await session.next();
  req = await session.next(text(`step 1 (${session.id.length}): your name?\n`));
  const name = req.querydict?.['name'] ?? '?';
  const numbers: number[] = [];
  req = await session.next(text(`step 2: hello ${name}, a number?\n`));
  numbers.push(Number(req.querydict?.['n']));
  req = await session.next(text(`step 3: ${name} has ${numbers.join('+')}, another?\n`));
  numbers.push(Number(req.querydict?.['n']));
  req = await session.next(text(`step 4: ${name} has ${numbers.join('+')}, a last one?\n`));
  numbers.push(Number(req.querydict?.['n']));
  return void (await session.next(text(`step 5: ${name}'s total is ${numbers.reduce((a, b) => a + b, 0)}\n`)).then(
    (r) => session.next(text(`after: ${r.path}\n`)),
  ));
}

t.test('curl: two cookie jars, five steps each, interleaved', { skip: curlMissing }, async (t) => {
  const errors: unknown[] = [];
  const app = sessions(dialogue, { onError: (e) => errors.push(e) });
  const id = await registerCallback(['127.0.0.1', 0], app.callback);
  t.teardown(async () => {
    await stopCallback(id);
    await app.close();
  });
  const base = `http://127.0.0.1:${boundAddress(id)[1]}`;
  const dir = mkdtempSync(join(tmpdir(), 'repy-sessions-curl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const jarA = join(dir, 'a.txt');
  const jarB = join(dir, 'b.txt');
  const step = (jar: string, q: string) => curl(['-b', jar, '-c', jar, `${base}/step?${q}`]);

  const a1 = await step(jarA, 'x=1');
  const b1 = await step(jarB, 'x=1');
  t.equal(a1.body, 'step 1 (22): your name?\n');
  t.equal(b1.body, 'step 1 (22): your name?\n');
  const [ca] = setCookies(a1.head);
  t.match(ca, /^sid=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Lax$/, 'the cookie: 22 base64url chars, Path=/, HttpOnly, SameSite=Lax, no Max-Age');
  const sidA = jarSid(jarA);
  const sidB = jarSid(jarB);
  t.ok(isSessionId(sidA) && isSessionId(sidB) && sidA !== sidB, 'two different ids in the two jars');
  t.equal(app.sessions().length, 2);

  t.equal((await step(jarA, 'name=alice')).body, 'step 2: hello alice, a number?\n');
  t.equal((await step(jarB, 'name=bob')).body, 'step 2: hello bob, a number?\n');
  t.equal((await step(jarB, 'n=10')).body, 'step 3: bob has 10, another?\n');
  const a3 = await step(jarA, 'n=1');
  t.equal(a3.body, 'step 3: alice has 1, another?\n');
  t.same(setCookies(a3.head), [], 'no new cookie once the session is known');
  t.equal((await step(jarA, 'n=2')).body, 'step 4: alice has 1+2, a last one?\n');
  t.equal((await step(jarB, 'n=20')).body, 'step 4: bob has 10+20, a last one?\n');
  t.equal((await step(jarB, 'n=30')).body, "step 5: bob's total is 60\n");
  t.equal((await step(jarA, 'n=3')).body, "step 5: alice's total is 6\n");
  t.equal(jarSid(jarA), sidA, 'A kept its id throughout');
  t.equal(jarSid(jarB), sidB, 'B kept its id throughout');
  t.same(errors, []);
});

t.test('curl: a forged, malformed or stale cookie gets a new session and a new cookie', { skip: curlMissing }, async (t) => {
  const app = sessions(dialogue, { onError: null });
  const id = await registerCallback(['127.0.0.1', 0], app.callback);
  t.teardown(async () => {
    await stopCallback(id);
    await app.close();
  });
  const base = `http://127.0.0.1:${boundAddress(id)[1]}`;

  // A real session, two steps in.
  const first = await curl([`${base}/`]);
  const real = setCookies(first.head)[0]!.slice(4, 26);
  t.ok(isSessionId(real));
  t.equal((await curl(['-b', `sid=${real}`, `${base}/?name=eve`])).body, 'step 2: hello eve, a number?\n');

  for (const [what, cookie] of [
    ['forged, well-formed', 'sid=AAAAAAAAAAAAAAAAAAAAAA'],
    ['malformed', 'sid=admin'],
    ['too long', `sid=${real}x`],
    ['a real id in another cookie name', `other=${real}`],
  ] as const) {
    const r = await curl(['-b', cookie, `${base}/?name=mallory`]);
    t.equal(r.body, 'step 1 (22): your name?\n', `${what}: a new dialogue`);
    const fresh = setCookies(r.head);
    t.equal(fresh.length, 1, `${what}: a new Set-Cookie`);
    const sid = fresh[0]!.slice(4, 26);
    t.ok(isSessionId(sid) && sid !== real && !cookie.includes(sid), `${what}: a new id, not the one sent`);
  }
  // The real session was not disturbed.
  t.equal((await curl(['-b', `sid=${real}`, `${base}/?n=5`])).body, 'step 3: eve has 5, another?\n');

  // Stale: after the session ends (five steps and one more), its id names nothing.
  const steps = ['n=6', 'n=7', 'x=1'];
  for (const q of steps) await curl(['-b', `sid=${real}`, `${base}/?${q}`]);
  const last = await curl(['-b', `sid=${real}`, `${base}/end`]);
  t.equal(last.body, 'This session has ended. Reload to start again.\n', 'the function returned: the documented default answers the request in hand');
  const stale = await curl(['-b', `sid=${real}`, `${base}/again`]);
  t.equal(stale.body, 'step 1 (22): your name?\n', 'stale: a new dialogue');
  const sid = setCookies(stale.head)[0]?.slice(4, 26);
  t.ok(isSessionId(sid) && sid !== real, 'stale: a new id');
});
