// Moving "money" between two accounts exactly once over plain HTTP, with a
// client that may be killed at any moment (issue #12, docs/exactly-once.md).
//
//   npm run build && node examples/transfer.mjs        # the demo: kills the client again and again
//   node --import @tapjs/typescript/import examples/transfer.mjs   # the same from src/, without building
//   node examples/transfer.mjs bank                    # the bank alone (PORT, default 8080)
//   node examples/transfer.mjs client ID [BANK_URL]    # one transfer; kill it (Ctrl-C, kill -9), run it again
//
// The bank: `idempotent` with a `fileStore`, and a ledger (its own
// "database", one JSON line per entry) in which every entry carries the
// Idempotency-Key it was made under: the callback looks the key up first, so
// an entry is never made twice, even if the bank dies between writing it
// and storing its response. The client: `resumable`, so a rerun replays the
// journal (the transfer id, the keys, the answers) and continues.
//
// The demo runs the bank, then runs the client and kills it with SIGKILL
// after a random few milliseconds, again and again until one run finishes,
// and prints the ledger: one debit, one credit, A = 90, B = 10, whatever the
// number of kills.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The built package (dist/); the sources on the TypeScript loader (its children get the same flags) or when
// there is no dist/ (test/certified-crash.test.ts runs this file next to a transpiled src/).
const onLoader = process.execArgv.some((a) => a.includes('typescript'));
const lib = !onLoader && existsSync(new URL('../dist/index.js', import.meta.url)) ? '../dist/' : '../src/';
const { registerCallback, boundAddress, json } = await import(new URL(`${lib}index.js`, import.meta.url).href);
const { idempotent, idempotencyKey, fileStore } = await import(new URL(`${lib}idempotency/index.js`, import.meta.url).href);
const { resumable } = await import(new URL(`${lib}certified/index.js`, import.meta.url).href);

const self = fileURLToPath(import.meta.url);
const data = process.env.TRANSFER_DATA ?? join(tmpdir(), 'repy-http-transfer');
mkdirSync(data, { recursive: true });
const ledgerPath = join(data, 'ledger.jsonl');

function ledger() {
  try {
    return readFileSync(ledgerPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}
const balance = (account) => ledger().filter((e) => e.account === account).reduce((sum, e) => sum + e.change, account === 'A' ? 100 : 0);

/** The bank: POST /accounts/:name/debit|credit with { amount, transfer }. */
async function bank(port) {
  const store = fileStore(join(data, 'idempotency.journal'));
  await store.opened;
  const app = idempotent(async (req) => {
    const [, , account, op] = req.path.split('/');
    if (!['A', 'B'].includes(account) || !['debit', 'credit'].includes(op)) return json({ error: 'no such account or operation' }, 404);
    const { amount, transfer } = JSON.parse((await req.datastream.read()).toString());
    const key = idempotencyKey(req);
    const done = ledger().find((e) => e.key === key);
    if (done) return json(done.answer, 201); // committed before: the same answer
    if (op === 'debit' && balance(account) < amount) return json({ error: 'insufficient funds' }, 422);
    const change = op === 'debit' ? -amount : amount;
    const answer = { account, op, amount, transfer, balance: balance(account) + change };
    appendFileSync(ledgerPath, JSON.stringify({ key, account, change, transfer, answer }) + '\n'); // entry and key in one write
    return json(answer, 201);
  }, { store, required: true });
  const id = await registerCallback(['127.0.0.1', port], app);
  console.log(`bank listening on http://127.0.0.1:${boundAddress(id)[1]}`);
}

/** One resumable transfer of 10 from A to B. */
async function client(id, base) {
  console.log('started');
  const receipt = await resumable(join(data, `transfer-${id}.journal`), async (ctx) => {
    const transfer = await ctx.persist(() => randomUUID()); // the same id on every rerun
    const body = JSON.stringify({ amount: 10, transfer });
    const headers = { 'Content-Type': 'application/json' };
    const debit = await ctx.request(`${base}/accounts/A/debit`, { postdata: body, headers });
    if (debit.statuscode !== 201) return { transfer, failed: JSON.parse(debit.body) };
    const credit = await ctx.request(`${base}/accounts/B/credit`, { postdata: body, headers });
    return { transfer, debit: JSON.parse(debit.body), credit: JSON.parse(credit.body) };
  }, { requestDefaults: { attempts: 10, baseDelay: 20 } });
  console.log(JSON.stringify(receipt));
}

/** Runs this file as a child; resolves with its exit (and its first line of output, when `untilLine`). */
function run(args, untilLine = false) {
  const child = spawn(process.execPath, [...process.execArgv, self, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TRANSFER_DATA: data } });
  let out = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
  child.stdout.on('data', (d) => (out += d));
  if (!untilLine) return { child, exited };
  const line = new Promise((resolve) => child.stdout.on('data', () => out.includes('\n') && resolve(out.split('\n')[0])));
  return { child, exited, line };
}

/** What the demo's journal holds so far, for the progress lines. */
function journalSteps() {
  try {
    const kinds = readFileSync(join(data, 'transfer-demo.journal'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l.slice(0, l.lastIndexOf('\t'))).t);
    return kinds.length === 0 ? 'nothing' : kinds.join(', ');
  } catch {
    return 'nothing';
  }
}

async function demo() {
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const b = run(['bank', '0'], true);
  const base = (await b.line).replace('bank listening on ', '');
  console.log(`bank at ${base}; data in ${data}`);
  let kills = 0;
  for (let round = 0; ; round++) {
    const c = run(['client', 'demo', base], true);
    // The first 8 runs are killed at a random moment of their work (it takes a few ms), the 9th is left alone.
    let timer = null;
    if (round < 8) void c.line.then(() => (timer = setTimeout(() => c.child.kill('SIGKILL'), Math.random() * 15)));
    const { code, signal, out } = await c.exited;
    if (timer !== null) clearTimeout(timer);
    if (signal === 'SIGKILL') {
      kills++;
      console.log(`run ${round + 1}: killed; the journal holds ${journalSteps()}`);
      continue;
    }
    if (code !== 0) throw new Error(`the client failed (exit ${code})`);
    console.log(`finished after ${kills} kill(s): ${out.split('\n')[1]}`);
    break;
  }
  b.child.kill();
  const entries = ledger();
  console.log(`ledger: ${entries.map((e) => `${e.account} ${e.change > 0 ? '+' : ''}${e.change}`).join(', ')}; A = ${balance('A')}, B = ${balance('B')}`);
  if (entries.length !== 2 || balance('A') !== 90 || balance('B') !== 10) {
    console.error('NOT exactly once!');
    process.exitCode = 1;
  }
}

const [mode = 'demo', arg, url] = process.argv.slice(2);
if (mode === 'bank') await bank(Number(arg ?? process.env.PORT ?? 8080));
else if (mode === 'client') await client(arg ?? 'one', url ?? 'http://127.0.0.1:8080');
else await demo();
