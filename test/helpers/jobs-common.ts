/**
 * Shared by the jobs tests: a job resource on its own server (port 0), a
 * gate a run can wait on, and a reader of `text/event-stream` text.
 */
import type { Test } from 'tap';
import { registerCallback, stopCallback, boundAddress, open, type ServerOptions } from '../../src/index.js';
import { jobResource, type JobResource, type JobResourceOptions } from '../../src/jobs/index.js';

export interface Served {
  jobs: JobResource;
  id: number;
  port: number;
  /** `http://127.0.0.1:port/runs/` */
  base: string;
  errors: Array<{ err: unknown; job: string | null }>;
  stopped: boolean;
  stop(): Promise<void>;
}

/** A job resource at `/runs/` on a fresh server; stopped at the end of the test. */
export async function serve(t: Test, options: Partial<JobResourceOptions> & Pick<JobResourceOptions, 'run'>, server: ServerOptions = {}): Promise<Served> {
  const errors: Served['errors'] = [];
  const jobs = jobResource({ prefix: '/runs/', onError: (err, job) => errors.push({ err, job }), heartbeat: 0, ...options });
  const id = await registerCallback(['127.0.0.1', 0], jobs.callback, { onError: null, ...server });
  const port = boundAddress(id)[1];
  const s: Served = {
    jobs, id, port, base: `http://127.0.0.1:${port}/runs/`, errors, stopped: false,
    async stop() {
      if (s.stopped) return;
      s.stopped = true;
      await jobs.stop();
      await stopCallback(id);
    },
  };
  t.teardown(() => s.stop());
  return s;
}

/** A promise with its resolve function, for runs that wait for the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}

export interface WireEvent { id?: string; event?: string; data?: string }

/** The events of `text/event-stream` text (LF line ends, as the server writes them); comments skipped. */
export function parseSse(text: string): WireEvent[] {
  const out: WireEvent[] = [];
  for (const block of text.split('\n\n')) {
    const e: WireEvent = {};
    let any = false;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 2);
      if (name === 'data') e.data = e.data === undefined ? value : e.data + '\n' + value;
      else if (name === 'id' || name === 'event') e[name] = value;
      any = true;
    }
    if (any) out.push(e);
  }
  return out;
}

/** POSTs `args` as JSON; the status, Location and parsed body (redirects not followed). */
export async function post(url: string, args: unknown, headers: Record<string, string> = {}): Promise<{ status: number; location: string | undefined; body: any; headers: Record<string, string> }> {
  const res = await open(url, {
    postdata: JSON.stringify(args), followRedirects: false,
    httpheaders: { 'Content-Type': 'application/json', ...headers },
  });
  const text = (await res.read()).toString('utf8');
  return { status: res.statuscode, location: res.headers['Location'], body: text === '' ? null : JSON.parse(text), headers: res.headers };
}

/** GET with `Accept: text/event-stream`, read to the end of the stream. */
export async function sseAll(url: string, headers: Record<string, string> = {}): Promise<{ status: number; events: WireEvent[]; headers: Record<string, string> }> {
  const res = await open(url, { httpheaders: { Accept: 'text/event-stream', ...headers } });
  const text = (await res.read()).toString('utf8');
  return { status: res.statuscode, events: parseSse(text), headers: res.headers };
}

/** A JSON GET (a long poll when the run has nothing new). */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Record<string, string> }> {
  const res = await open(url, { httpheaders: headers });
  const text = (await res.read()).toString('utf8');
  return { status: res.statuscode, body: text === '' ? null : JSON.parse(text), headers: res.headers };
}

/** Polls `check` every 10 ms until it is true or `ms` pass; resolves with the last result. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
