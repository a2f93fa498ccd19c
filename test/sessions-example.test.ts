/**
 * examples/guess.mjs runs with one command and plays a whole game over
 * real sockets: a name, a binary search guided by its hints, "no" to
 * another game; SIGTERM then stops the server and ends the games (their
 * finally blocks log "over"). Uses the built dist/ as the example does
 * (CI builds before testing); skipped when it is not built.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { open } from '../src/index.js';

const root = resolve(import.meta.dirname, '..');
const built = existsSync(resolve(root, 'dist', 'sessions', 'index.js'));

t.test('examples/guess.mjs: a whole game, then a clean stop', { skip: built ? false : 'dist/ not built (npm run build)', timeout: 60_000 }, async (t) => {
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, 'examples/guess.mjs'], {
    cwd: root, env: { ...process.env, HOST: '127.0.0.1', PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  for (let i = 0; i < 200 && !/http:\/\/127\.0\.0\.1:\d+\//.test(out); i++) await new Promise((r) => setTimeout(r, 25));
  const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
  t.ok(url, `the example printed its URL: ${out}`);
  if (url === undefined) return;

  let cookie = '';
  const say = async (answer?: string): Promise<string> => {
    const res = await open(url, {
      httpheaders: cookie === '' ? {} : { Cookie: cookie },
      ...(answer === undefined ? {} : { postdata: { answer } }),
      timeout: 10_000,
    });
    const set = res.rawheaders.find(([n]) => n.toLowerCase() === 'set-cookie')?.[1];
    if (set !== undefined) cookie = set.slice(0, set.indexOf(';'));
    return (await res.read()).toString();
  };
  t.match(await say(), /Your name\?/);
  t.match(cookie, /^sid=[A-Za-z0-9_-]{22}$/);
  let page = await say('Ada');
  t.match(page, /Hello Ada! I am thinking of a number from 1 to 100\./);
  let lo = 1;
  let hi = 100;
  let tries = 0;
  while (!page.includes('you got it')) {
    const g = Math.floor((lo + hi) / 2);
    page = await say(String(g));
    tries++;
    if (page.includes(`Higher than ${g}.`)) lo = g + 1;
    else if (page.includes(`Lower than ${g}.`)) hi = g - 1;
    else t.match(page, /you got it/);
    if (tries > 8) break;
  }
  t.match(page, new RegExp(`you got it: <b>\\d+</b> in ${tries} guesses`), `won in ${tries} guesses`);
  t.ok(tries <= 7, 'a binary search needs at most 7 guesses for 1..100');
  t.match(await say('no'), /Bye, Ada!/);
  t.match(await say(), /Your name\?/, 'the game ended: the next request starts a new one');
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(out, /game 1: over[\s\S]*game 2: the sessions app is closing[\s\S]*game 2: over[\s\S]*stopped/);
});
