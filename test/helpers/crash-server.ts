/**
 * Child of test/idempotency-crash.test.ts: a bank behind `idempotent` with
 * a `fileStore`, which kills itself with SIGKILL at the server failure point
 * named by CRASH_AT. Prints `port N` once listening.
 *
 *   JOURNAL: the fileStore's journal; LEDGER: the bank's own database (one
 *   line per effect, written in one append: effect and key together);
 *   PATTERN: 'naive' (the callback trusts the idempotency store alone) or
 *   'commit' (it commits the key with its effect and looks it up first);
 *   CRASH_AT: 'callback-start' | 'after-effect' | 'after-complete'.
 */
import { appendFileSync, readFileSync, writeSync } from 'node:fs';
import { boundAddress, compose, json, registerCallback } from '../../src/index.js';
import { fileStore, idempotencyKey, idempotent } from '../../src/idempotency/index.js';

const { JOURNAL, LEDGER, PATTERN, CRASH_AT } = process.env;

const crash = (point: string): void => {
  if (point === CRASH_AT) process.kill(process.pid, 'SIGKILL');
};

interface Entry { key: string | null; account: string; amount: number; answer: { balance: number; ref: string } }
const ledger = (): Entry[] => readFileSync(LEDGER!, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Entry);

const store = fileStore(JOURNAL!);
await store.opened;

const bank = idempotent(async (req) => {
  crash('callback-start');
  const { account, amount, ref } = JSON.parse((await req.datastream.read()).toString()) as { account: string; amount: number; ref: string };
  const key = idempotencyKey(req);
  if (PATTERN === 'commit') {
    // The key was committed with the effect: a request that already took effect gets the same answer.
    const done = ledger().find((e) => e.key === key);
    if (done !== undefined) return json(done.answer, 201);
  }
  const balance = 100 - ledger().filter((e) => e.account === account).reduce((a, e) => a + e.amount, 0) - amount;
  const entry: Entry = { key, account, amount, answer: { balance, ref } };
  appendFileSync(LEDGER!, JSON.stringify(entry) + '\n'); // one write: the effect and its key
  crash('after-effect');
  return json(entry.answer, 201);
}, { store });

// Outside `idempotent`: its promise resolves once the response is stored (and synced).
const app = compose((next) => async (req) => {
  const res = await next(req);
  crash('after-complete');
  return res;
})(bank);

const id = await registerCallback(['127.0.0.1', 0], app);
writeSync(1, `port ${boundAddress(id)[1]}\n`);
