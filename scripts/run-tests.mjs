#!/usr/bin/env node
// `npm test`: tap with its own reporter on a terminal; on a pipe or a file
// (CI logs) a readable log instead of tap's redrawn progress: one line per
// test file, a failing file's TAP output in full, the coverage table, and
// tap's closing `# { total, pass, fail }` line (.ci/count.mjs reads it).
// Arguments go to tap as they are (`npm test -- test/cli.test.ts`); a
// `--reporter` of your own turns this off.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const tap = fileURLToPath(new URL('../node_modules/.bin/tap', import.meta.url));
const plain = !process.stdout.isTTY && !args.some((a) => a.startsWith('--reporter'));
const child = spawn(tap, [...(plain ? ['--reporter=tap'] : []), ...args], {
  stdio: plain ? ['inherit', 'pipe', 'inherit'] : 'inherit',
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

if (plain) {
  let block = []; // the current file's lines
  const out = (line) => process.stdout.write(`${line}\n`);
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('# Subtest: ')) {
      block = [line];
      return;
    }
    const done = /^(not )?ok \d+ - (.*?)(?: # (.*))?$/.exec(line);
    if (done !== null) {
      if (done[1] !== undefined) {
        for (const l of block) out(l);
        out(line);
      } else out(`ok      ${done[2]}${done[3] ? `  (${done[3]})` : ''}`);
      block = [];
      return;
    }
    if (block.length > 0 && line.startsWith(' ')) block.push(line);
    else if (line !== '' && !line.startsWith('TAP version') && !/^1\.\.\d+$/.test(line)) out(line);
  });
}
