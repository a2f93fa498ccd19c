// Guess-the-number with repy-http/sessions: one async function per visitor,
// and `await session.next(page)` where a CGI script would have to save its
// state and return. The secret, the bounds and the guesses are plain local
// variables; the cookie only says whose function a request wakes up.
//
//   node examples/guess.mjs                 # builds dist/ if needed, listens on 127.0.0.1:8080
//   HOST=0.0.0.0 PORT=0 node examples/guess.mjs
//
// Open the URL it prints in two browsers (or a private window): two games.
// GET /sessions.json lists the live sessions (bypassing them, like a static file).
// Ctrl-C stops the server and ends every game (their `finally` blocks run).

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../dist/sessions/index.js', import.meta.url))) {
  console.log('building dist/ first (tsc -p tsconfig.build.json) ...');
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit', cwd: root });
}
const { registerCallback, stopCallback, boundAddress, body, parseQuery, json } = await import('../dist/index.js');
const { sessions, isStaticPath, SessionExpiredError } = await import('../dist/sessions/index.js');

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const page = (inner) => ({
  statuscode: 200,
  headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
  message: `<!doctype html><html><head><meta charset="utf-8"><title>Guess the number</title></head><body>${inner}</body></html>\n`,
});

/** Shows `html` with a one-field form and resolves with what was typed in. */
async function ask(session, html) {
  const req = await session.next(page(`${html}
    <form method="POST" action="/"><input name="answer" autofocus> <button>OK</button></form>`));
  const fields = req.verb === 'POST' ? parseQuery(await body.text(req, { limit: 1024 })) : {};
  return (fields.answer ?? '').trim();
}

let games = 0;
const app = sessions(async (session) => {
  const n = ++games;
  console.log(`game ${n}: session ${session.id.slice(0, 6)}… started`);
  try {
    await session.next(); // the first request of this browser
    let name = await ask(session, '<h1>Guess the number</h1><p>Your name?</p>');
    if (name === '') name = 'stranger';
    for (;;) {
      const secret = 1 + Math.floor(Math.random() * 100);
      const guesses = [];
      let hint = `Hello ${escape(name)}! I am thinking of a number from 1 to 100.`;
      for (;;) {
        const answer = await ask(session, `<p>${hint}</p><p>Guesses so far: ${guesses.join(', ') || 'none'}</p>`);
        const guess = Number(answer);
        if (!Number.isInteger(guess)) {
          hint = `"${escape(answer)}" is not a whole number.`;
          continue;
        }
        guesses.push(guess);
        if (guess === secret) break;
        hint = guess < secret ? `Higher than ${guess}.` : `Lower than ${guess}.`;
      }
      const again = await ask(session,
        `<p>${escape(name)}, you got it: <b>${secret}</b> in ${guesses.length} guesses.</p><p>Play again? (yes/no)</p>`);
      if (again.toLowerCase() !== 'yes') return page(`<p>Bye, ${escape(name)}!</p><p><a href="/">New game</a></p>`);
    }
  } catch (err) {
    if (!(err instanceof SessionExpiredError)) throw err; // a real bug: a 500 for this request, reported
    console.log(`game ${n}: ${err.message}`);
  } finally {
    console.log(`game ${n}: over`);
  }
}, {
  reapAfter: 10 * 60_000,
  isStatic: (req) => req.path === '/sessions.json' || isStaticPath(req.path),
  staticCallback: (req) => (req.path === '/sessions.json'
    ? json(app.sessions().map((s) => ({ ...s, id: `${s.id.slice(0, 6)}…` })))
    : { statuscode: 404, headers: { 'Content-Type': 'text/plain' }, message: 'Not Found\n' }),
});

const id = await registerCallback([host, port], app.callback);
const [h, p] = boundAddress(id);
console.log(`guess-the-number on http://${h.includes(':') ? `[${h}]` : h}:${p}/  (Ctrl-C to stop)`);

let stopping = false;
async function stop(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: stopping`);
  await Promise.all([stopCallback(id), app.close()]);
  console.log('stopped');
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
