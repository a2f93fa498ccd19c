// One backend process of the "sessions behind nginx" deployment
// (docs/deploy.md). Its `home` goes into every session id it makes
// (`b2.q3bY…`), and nginx's map on $cookie_sid sends that session's
// requests back here (examples/deploy/nginx-sessions.conf).
//
//   npm run build
//   HOME_NAME=b1 PORT=8081 node examples/deploy/session-backend.mjs &
//   HOME_NAME=b2 PORT=8082 node examples/deploy/session-backend.mjs &
//   HOME_NAME=b3 PORT=8083 node examples/deploy/session-backend.mjs &
//   nginx -c "$PWD/examples/deploy/nginx.conf"   (an http block that includes nginx-sessions.conf)
//
// Each answer is JSON: which process answered, the session id and how many
// requests this session has seen: a counter that lives in a local variable
// of the session's function, so it survives only on its home process.
// SIGTERM / SIGINT stop the server (in-flight requests answered) and exit.

const { registerCallback, stopCallback, boundAddress, json } = await import('../../dist/index.js');
const { sessions } = await import('../../dist/sessions/index.js');

const home = process.env.HOME_NAME ?? 'b1';
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8081);

const app = sessions(async (session) => {
  let req = await session.next();
  for (let visits = 1; ; visits++) {
    req = await session.next(json({ home, pid: process.pid, session: session.id, visits, path: req.path }));
  }
}, { home, reapAfter: 10 * 60_000 });

const id = await registerCallback([host, port], app.callback);
const [h, p] = boundAddress(id);
console.log(`session backend ${home} (pid ${process.pid}) listening on http://${h}:${p}/`);

const stop = async () => {
  await stopCallback(id);
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
