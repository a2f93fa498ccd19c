/**
 * repy-http/sessions in a real browser (issue #13): headless Chromium plays
 * guess-the-number, a multi-step form posted back to one session function
 * whose local variables (the secret, the bounds, the guesses) are the game's
 * state. A small script served through the static bypass plays: it reads
 * the bounds the session rendered and submits the midpoint, until the
 * session says it was right. Two browser contexts (two profiles, so two
 * cookie jars) play at the same time: each final page shows its own
 * session's secret and its own guesses, never the other's.
 */
import t from 'tap';
import { boundAddress, body, parseQuery, registerCallback, stopCallback, type ResponseDict } from '../src/index.js';
import { sessions, type Session } from '../src/sessions/index.js';
import { chromiumDumpDom, findBinary } from './helpers/peers-common.js';

const chromium = findBinary(['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);
const skip = chromium === null ? 'Chromium is not installed (.ci/run installs it with apt-get install chromium)' : false;

const html = (inner: string): ResponseDict => ({
  statuscode: 200,
  headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
  message: `<!doctype html><html><head><meta charset="utf-8"><title>guess</title></head><body>${inner}</body></html>`,
});

// The player: the midpoint of the bounds the page shows, submitted as a form.
const PLAYER = `document.addEventListener('DOMContentLoaded', () => {
  const f = document.getElementById('f');
  if (f === null) return;
  f.elements.g.value = String(Math.floor((Number(f.dataset.lo) + Number(f.dataset.hi)) / 2));
  f.submit();
});
`;

/** The binary search the player makes for `secret`. */
function expectedGuesses(secret: number): number[] {
  const out: number[] = [];
  let lo = 1;
  let hi = 100;
  for (;;) {
    const g = Math.floor((lo + hi) / 2);
    out.push(g);
    if (g === secret) return out;
    if (g < secret) lo = g + 1;
    else hi = g - 1;
  }
}

t.test('headless Chromium plays guess-the-number; a second browser context has its own game', { skip, timeout: 90_000 }, async (t) => {
  const secrets = [37, 82];
  const started: { id: string; secret: number }[] = [];
  const requests: string[] = [];
  const errors: unknown[] = [];

  const game = async (session: Session): Promise<void> => {
    const secret = secrets[started.length % secrets.length]!;
    started.push({ id: session.id, secret });
    let req = await session.next();
    let lo = 1;
    let hi = 100;
    const guesses: number[] = [];
    let hint = 'I am thinking of a number from 1 to 100.';
    for (;;) {
      req = await session.next(html(
        `<p id="hint">${hint}</p><p id="tries">${guesses.join(' ')}</p>` +
        `<form id="f" method="POST" action="/guess" data-lo="${lo}" data-hi="${hi}"><input name="g"><button>Guess</button></form>` +
        '<script src="/play.js"></script>',
      ));
      const g = Number(parseQuery(await body.text(req, { limit: 100 }))['g']);
      if (!Number.isInteger(g)) {
        hint = 'That was not a number.';
        continue;
      }
      guesses.push(g);
      if (g === secret) break;
      if (g < secret) lo = Math.max(lo, g + 1);
      else hi = Math.min(hi, g - 1);
      hint = g < secret ? `Higher than ${g}.` : `Lower than ${g}.`;
    }
    await session.next(html(`<p id="result" data-session="${session.id}">Got it: ${secret} in ${guesses.length} guesses: ${guesses.join(',')}</p>`));
  };

  const app = sessions(game, {
    onError: (e) => errors.push(e),
    staticCallback: (req) => (req.path === '/play.js'
      ? { statuscode: 200, headers: { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' }, message: PLAYER }
      : { statuscode: 404, headers: { 'Content-Type': 'text/plain' }, message: 'no\n' }),
  });
  const logged = (req: Parameters<typeof app.callback>[0]) => {
    requests.push(`${req.verb} ${req.path}`);
    return app.callback(req);
  };
  const id = await registerCallback(['127.0.0.1', 0], logged, { onError: (e) => errors.push(e) });
  t.teardown(async () => {
    await stopCallback(id);
    await app.close();
  });
  const url = `http://127.0.0.1:${boundAddress(id)[1]}/`;

  const browse = async (): Promise<{ dom: string; ok: boolean; detail: string }> => {
    // Virtual time runs while the page navigates form after form; the DOM is dumped at the end.
    const r = await chromiumDumpDom(chromium!, url, { timeoutMs: 60_000, args: ['--virtual-time-budget=20000'] });
    return { dom: r.stdout, ok: r.code === 0 && !r.timedOut, detail: `exit ${r.code}, ${(r.ms / 1000).toFixed(1)} s ${r.code === 0 ? '' : r.stderr.slice(-1500)}` };
  };

  // Two browser contexts at once: their requests interleave on the server.
  const [one, two] = await Promise.all([browse(), browse()]);
  t.ok(one.ok, `first Chromium: ${one.detail}`);
  t.ok(two.ok, `second Chromium: ${two.detail}`);
  t.equal(started.length, 2, 'two sessions: one per browser context (the script and favicon requests made none)');
  t.not(started[0]!.id, started[1]!.id);

  const results = [one.dom, two.dom].map((dom) => {
    const m = /<p id="result" data-session="([A-Za-z0-9_-]{22})">Got it: (\d+) in (\d+) guesses: ([\d,]+)<\/p>/.exec(dom);
    return m === null ? null : { id: m[1]!, secret: Number(m[2]), count: Number(m[3]), guesses: m[4]!.split(',').map(Number) };
  });
  t.ok(results[0] !== null && results[1] !== null, `both final pages show the result:\n${one.dom.slice(0, 600)}\n${two.dom.slice(0, 600)}`);
  const [r0, r1] = results;
  if (r0 === null || r1 === null || r0 === undefined || r1 === undefined) return;
  const found = [r0, r1];
  t.not(r0.id, r1.id, 'each context was answered by its own session');
  for (const r of found) {
    const mine = started.find((s) => s.id === r.id);
    t.ok(mine !== undefined, 'the final page came from a session the server started');
    t.equal(r.secret, mine?.secret, 'the page shows its own session\'s secret');
    t.same(r.guesses, expectedGuesses(r.secret), `the guesses ${r.guesses.join(',')} are the binary search for ${r.secret}: each step saw the bounds its session kept`);
    t.equal(r.count, r.guesses.length);
  }
  t.same(new Set(found.map((r) => r.secret)), new Set(secrets), 'the two contexts played two different games');
  const posts = requests.filter((r) => r === 'POST /guess').length;
  t.equal(posts, expectedGuesses(37).length + expectedGuesses(82).length, `${posts} form posts in all, none lost or doubled`);
  t.ok(requests.filter((r) => r === 'GET /play.js').length >= 2, 'the player script came through the static bypass');
  t.same(errors, [], 'no error reported');
  t.comment(`Chromium: two contexts, games for ${found.map((r) => `${r.secret} in ${r.count}`).join(' and ')} guesses; ${requests.length} requests`);
});
