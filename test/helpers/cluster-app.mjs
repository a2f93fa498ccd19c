// The callback the cluster tests serve in every worker (module mode): it
// answers with the worker's pid, so that a client sees which process
// answered; /slow?ms=N answers after N ms (a request in flight during a
// stop). When the worker exits it prints how many requests it answered
// (`{"served":N,"pid":P}` on stdout), so that the test can count them.
// CLUSTER_APP_FAIL=1 makes the import fail (a worker that cannot start).
import { writeSync } from 'node:fs';

if (process.env.CLUSTER_APP_FAIL === '1') throw new Error('cluster-app: failing on purpose (CLUSTER_APP_FAIL=1)');

let served = 0;
// CLUSTER_APP_QUIET=1: nothing on stdout (when the primary is the tap test process itself).
if (process.env.CLUSTER_APP_QUIET !== '1') process.on('exit', () => writeSync(1, `${JSON.stringify({ served, pid: process.pid })}\n`));

export default async function callback(req) {
  if (req.path === '/slow') {
    const ms = Number(req.querydict?.ms ?? 200);
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
  served++;
  return { statuscode: 200, headers: { 'Content-Type': 'text/plain' }, message: `${process.pid}\n` };
}
