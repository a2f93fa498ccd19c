// Reads `npm test`'s output and prints one plain line:
// "N passed, N failed" (", N skipped" when some were), counting assertions.
// Exits 1 when the summary is missing or reports failures.
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
// `npm test` on a pipe (scripts/run-tests.mjs) ends with tap's `# { total: N, pass: N, fail: N, … }`;
// tap's own terminal reporter with `Asserts:  N pass  N fail …`.
const objectLine = text.split('\n').filter((l) => /^# \{ total: \d+/.test(l)).at(-1);
const assertsLine = text.split('\n').filter((l) => /^\s*Asserts:/.test(l)).at(-1);
const last = objectLine ?? assertsLine;
if (!last) {
  console.log('no tap summary found');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const num = (word) => Number((last.match(objectLine ? new RegExp(`${word}: (\\d+)`) : new RegExp(`(\\d+) ${word}`)) ?? [0, 0])[1]);
const passed = num('pass');
const failed = num('fail');
const skipped = num('skip') + num('todo');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
