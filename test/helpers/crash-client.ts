/**
 * Child of test/certified-crash.test.ts: a resumable "transfer" (two
 * persisted values, a debit, then a credit that depends on the debit's
 * answer) against the test's server. It kills itself with SIGKILL at the
 * failure point named by CRASH_AT (after CRASH_DELAY ms, if set: the request
 * is then in flight), and prints every point it passes, then the result.
 *
 *   JOURNAL: the journal's path; BASE: http://127.0.0.1:PORT/SCENARIO
 */
import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import { resumable } from '../../src/certified/index.js';

const { JOURNAL, BASE, CRASH_AT, CRASH_DELAY } = process.env;

const die = (): void => void process.kill(process.pid, 'SIGKILL');

function trace(point: string): void {
  writeSync(1, `point ${point}\n`); // synchronous: on stdout before a kill
  if (point !== CRASH_AT) return;
  if (CRASH_DELAY === undefined) die();
  else setTimeout(die, Number(CRASH_DELAY));
}

const result = await resumable(JOURNAL!, async (ctx) => {
  const ref = await ctx.persist(() => randomUUID());
  const note = await ctx.persist(() => `started at ${Date.now()} by ${process.pid}`);
  const debit = await ctx.request(`${BASE}/debit`, { postdata: JSON.stringify({ account: 'A', amount: 10, ref }) });
  const d = JSON.parse(debit.body) as { balance: number; ref: string };
  const credit = await ctx.request(`${BASE}/credit`, { postdata: JSON.stringify({ account: 'B', amount: 10, ref, after: d.balance }) });
  return { ref, note, debit: d, credit: JSON.parse(credit.body) as unknown, statuses: [debit.statuscode, credit.statuscode] };
}, { trace, requestDefaults: { baseDelay: 5, maxDelay: 50, attempts: 20, maxTime: 20_000 } });
writeSync(1, `result ${JSON.stringify(result)}\n`);
