/**
 * Parent side of test/helpers/faults-server.ts: forks it with --expose-gc and
 * the TypeScript loader, and calls its commands over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Stats } from './faults-server.js';

export type { Stats };

export class ServerProcess {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  stderr = '';
  exit: { code: number | null; signal: string | null } | null = null;

  private constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    child.on('message', (m: { seq: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.seq);
      if (p === undefined) return;
      this.pending.delete(m.seq);
      if (m.error !== undefined) p.reject(new Error(`server process: ${m.error}`));
      else p.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      for (const p of this.pending.values()) p.reject(new Error(`server process exited (${code ?? signal}): ${this.stderr.slice(-2000)}`));
      this.pending.clear();
    });
  }

  /** Forks the server process and waits until it is ready. */
  static async spawn(): Promise<ServerProcess> {
    const child = fork(fileURLToPath(new URL('./faults-server.ts', import.meta.url)), [], {
      execArgv: ['--expose-gc', '--import', '@tapjs/typescript/import'],
      // Type-checking belongs to tsc, not to the start-up of this child.
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const sp = new ServerProcess(child);
    await new Promise<void>((resolve, reject) => {
      sp.pending.set(0, { resolve: () => resolve(), reject });
    });
    return sp;
  }

  call<T = unknown>(cmd: string, arg?: unknown): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      if (this.exit !== null) {
        reject(new Error(`server process exited: ${this.stderr.slice(-2000)}`));
        return;
      }
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ seq, cmd, arg });
    });
  }

  start(options: object): Promise<{ id: number; port: number }> {
    return this.call('start', options);
  }

  stop(id: number): Promise<{ ms: number }> {
    return this.call('stop', { id });
  }

  stats(): Promise<Stats> {
    return this.call('stats');
  }

  heap(): Promise<NodeJS.MemoryUsage> {
    return this.call('heap');
  }

  sockets(): Promise<number> {
    return this.call('sockets');
  }

  async kill(): Promise<void> {
    if (this.exit !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    await gone;
  }
}
