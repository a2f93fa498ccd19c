// Reads tap's output (base reporter) and prints one plain line:
// "N passed, N failed" (", N skipped" when some were), counting assertions.
// Exits 1 when the summary is missing or reports failures.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const lines = text.split('\n').filter((l) => /^\s*Asserts:/.test(l));
const last = lines.at(-1);
if (!last) {
  console.log('no tap summary found');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const num = (word) => Number((last.match(new RegExp(`(\\d+) ${word}`)) ?? [0, 0])[1]);
const passed = num('pass');
const failed = num('fail');
const skipped = num('skip') + num('todo');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
