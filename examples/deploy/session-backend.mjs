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
//
// With REDIS_URL set, the shared-state routes are mounted too, on Redis, so
// that nginx may send them to any backend (round-robin, no cookie needed):
//   POST /pay    idempotent (Idempotency-Key), effects appended to EFFECTS_FILE
//   /runs/       a job resource; a run reports `steps` progress events
// SIGTERM / SIGINT stop the server (in-flight requests answered) and exit.

import { appendFileSync } from 'node:fs';

const { registerCallback, stopCallback, boundAddress, json, route } = await import('../../dist/index.js');
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

let callback = app.callback;
const closers = [];
if (process.env.REDIS_URL) {
  const { connectRedis, redisIdempotencyStore, redisJobStore } = await import('../../dist/redis/index.js');
  const { idempotent } = await import('../../dist/idempotency/index.js');
  const { jobResource } = await import('../../dist/jobs/index.js');
  const redis = await connectRedis(process.env.REDIS_URL);
  const effects = process.env.EFFECTS_FILE;
  const pay = idempotent(async (req) => {
    const amount = (await req.datastream.read()).toString();
    if (effects) appendFileSync(effects, `${req.headers['Idempotency-Key']} ${home} ${amount}\n`);
    return json({ paid: amount, home }, 201);
  }, { store: redisIdempotencyStore(redis) });
  const jobStore = redisJobStore(redis);
  const jobs = jobResource({
    prefix: '/runs/',
    store: jobStore,
    run: async ({ steps = 3, delay = 50 } = {}, job) => {
      for (let i = 1; i <= steps && !job.signal.aborted; i++) {
        await new Promise((r) => setTimeout(r, delay));
        await job.progress({ step: i, home });
      }
      return { ranOn: home };
    },
  });
  callback = route({ '/pay': pay, '/runs/': jobs.callback }, app.callback);
  closers.push(() => jobs.stop(), () => jobStore.close(), () => redis.close());
}

const id = await registerCallback([host, port], callback);
const [h, p] = boundAddress(id);
console.log(`session backend ${home} (pid ${process.pid}) listening on http://${h}:${p}/`);

const stop = async () => {
  for (const close of closers.slice(0, 1)) await close(); // the job resource first: it cancels its runs
  await stopCallback(id);
  await app.close();
  for (const close of closers.slice(1)) await close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
