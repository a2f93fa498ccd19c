// Every client timer holds the process open: a `lookup` that never calls back
// (nothing else pending) must still end in HttpTimeoutError, not in a silent
// exit with an unsettled top-level await (exit code 13). Each case runs in a
// plain child process: tap's NODE_OPTIONS are dropped (they are not needed
// and hold handles of their own), the TypeScript loader is given explicitly.
import t from 'tap';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const script = resolve(import.meta.dirname, 'helpers', 'client-timers-child.ts');

function child(which: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('env', ['-u', 'NODE_OPTIONS', 'TS_NODE_TRANSPILE_ONLY=1', process.execPath, '--import', '@tapjs/typescript/import', script, which],
      { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout: stdout.trim(), stderr });
      });
  });
}

for (const [which, code] of [['connect', 'ETIMEDOUT_CONNECT'], ['total', 'ETIMEDOUT_TOTAL'], ['idle', 'ETIMEDOUT_IDLE']] as const) {
  t.test(`${which} timeout fires with nothing else keeping the process alive`, async (t) => {
    const r = await child(which);
    t.same({ code: r.code, stdout: r.stdout }, { code: 0, stdout: code }, r.stderr);
  });
}
