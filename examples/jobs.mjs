// Long runs with repy-http/jobs: a job resource that "works" for a few
// seconds and reports progress, and its client runJob.
//
//   npm run build && node examples/jobs.mjs          # runs the demo, then keeps serving for curl
//   npm run build && node examples/jobs.mjs --once   # runs the demo and exits
//   PORT=8080 node examples/jobs.mjs
//
// Stop it with Ctrl-C: jobs.stop() cancels the running runs (watchers get
// their `canceled` event), then stopCallback closes the server.

import { registerCallback, stopCallback, boundAddress } from '../dist/index.js';
import { jobResource, runJob, JobCanceledError, JobError } from '../dist/jobs/index.js';

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
});

const jobs = jobResource({
  prefix: '/runs/',
  // args is the POSTed JSON: { "steps": n, "fail": bool }
  run: async (args, job) => {
    const steps = Math.min(Number(args?.steps ?? 5), 100);
    for (let i = 1; i <= steps; i++) {
      await sleep(300, job.signal);          // the work; rejects when DELETE or stop() cancels the run
      await job.progress({ done: i, of: steps });
    }
    if (args?.fail) throw new Error('this message stays on the server (onError)');
    return { answer: 42, steps };
  },
  ttl: 60_000,                               // a finished run can be read for a minute
  onError: (err, id) => console.error(`  [server] run ${id} failed: ${err.message}`),
});

const id = await registerCallback(['127.0.0.1', Number(process.env.PORT ?? 0)], jobs.callback);
const base = `http://127.0.0.1:${boundAddress(id)[1]}/runs/`;
console.log(`job resource at ${base}\n`);

const progress = ({ id, state, value }) => console.log(`  event ${id} ${state} ${JSON.stringify(value)}`);

console.log('1. a run that succeeds:');
console.log('  result:', await runJob(base, { steps: 3 }, { onProgress: progress }));

console.log('2. a run that fails:');
try {
  await runJob(base, { steps: 1, fail: true }, { onProgress: progress });
} catch (e) {
  if (!(e instanceof JobError)) throw e;
  console.log(`  ${e.code}:`, e.value);
}

console.log('3. a run we stop waiting for (the client DELETEs it):');
try {
  await runJob(base, { steps: 10 }, { onProgress: progress, signal: AbortSignal.timeout(700) });
} catch (e) {
  console.log(`  ${e.name}: ${e.message}`);
}

console.log('4. a run canceled by someone else (DELETE):');
try {
  await runJob(base, { steps: 10 }, {
    onProgress: progress,
    onCreated: ({ url }) => setTimeout(() => fetch(url, { method: 'DELETE' }), 500),
  });
} catch (e) {
  if (!(e instanceof JobCanceledError)) throw e;
  console.log(`  ${e.code}:`, e.value);
}

async function shutdown() {
  await jobs.stop();
  await stopCallback(id);
}

if (process.argv.includes('--once')) {
  await shutdown();
} else {
  console.log(`
try it with curl:
  curl -i ${base} -H 'Content-Type: application/json' -d '{"steps":5}'        # 201, Location: /runs/ID
  curl -N ${base}ID -H 'Accept: text/event-stream'                           # the events, live
  curl -N ${base}ID -H 'Accept: text/event-stream' -H 'Last-Event-ID: 2'     # resume after event 2
  curl '${base}ID?last-event-id=2&wait=10'                                   # JSON, a long poll
  curl -I ${base}ID                                                          # exists? 200 / 404
  curl -X DELETE ${base}ID                                                   # cancel: 202 / 409 / 404
stop: Ctrl-C`);
  const stop = () => shutdown().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
