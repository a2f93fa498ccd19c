/**
 * The measured side of test/dos-memory.test.ts (issue #8): a process of its
 * own (`node --expose-gc`, forked with IPC, run as plain JavaScript
 * transpiled by the test) so that its RSS is the cost of one attack and
 * nothing else: not the test runner's, not the attacking sockets'.
 *
 * The spec comes as JSON in argv[2]; the parent drives the child with IPC:
 *   { role: 'server', kind: 'repy' | 'node', read, waitMs }
 *     listens on 127.0.0.1:0 (repy-http with default options, or node:http
 *     for the throughput comparison) and sends `{ type: 'ready', port }`.
 *     The callback waits `waitMs`, then reads the request content as `read`
 *     says ('all': `await datastream.read()`, 'iterate': `for await`,
 *     'none': not at all) and answers 200 with the number of bytes read.
 *     `{ cmd: 'start' }` takes the memory baseline → `{ type: 'started' }`;
 *     `{ cmd: 'report' }` → `{ type: 'report', mem, faults }`, then it exits.
 *   { role: 'client', mode: 'getString' | 'slow', ... }
 *     sends `{ type: 'ready' }`; `{ cmd: 'start', port }` takes the baseline
 *     and fetches http://127.0.0.1:port/ with the project's client
 *     ('getString'; or 'slow': `open`, wait `waitMs` without reading, then
 *     `read(readSize)` with a pause of `readPauseMs` after each), sends
 *     `{ type: 'result', bytes, error, mem, paused, faults }` and exits.
 *
 * Memory is measured from a baseline taken after gc() when the parent says
 * start: the peak RSS, sampled every 5 ms and completed by the kernel's
 * high-water mark (`resourceUsage().maxRSS`, exact whenever the attack set a
 * new maximum for the process), and the sampled peaks of heapUsed and
 * arrayBuffers.
 */
import type { AddressInfo } from 'node:net';

export type ServerSpec = { role: 'server'; kind: 'repy' | 'node'; read: 'all' | 'iterate' | 'none'; waitMs?: number };
export type ClientSpec = { role: 'client'; mode: 'getString' | 'slow'; waitMs?: number; readSize?: number; readPauseMs?: number };
/** Commands from the parent. */
export type Command = { cmd: 'start'; port?: number } | { cmd: 'report' };
export type ChildSpec = ServerSpec | ClientSpec;

/** Peak growth over the baseline, in bytes. */
export interface MemReport {
  /** RSS at the baseline. */
  rss0: number;
  /** Peak RSS growth (the larger of the sampled peak and the kernel's high-water mark when it moved). */
  rss: number;
  /** Peak RSS growth as sampled every 5 ms. */
  rssSampled: number;
  /** Peak growth of V8's used heap (sampled). */
  heapUsed: number;
  /** Peak growth of memory held by ArrayBuffers / Buffers (sampled). */
  arrayBuffers: number;
  /** Samples taken (a starved event loop takes few). */
  samples: number;
}

/** Things that must not happen: they are reported, and the test asserts there are none. */
export interface Faults {
  uncaught: string[];
  unhandled: string[];
  /** repy-http's onError calls (callback failures). */
  onError: string[];
}

const faults: Faults = { uncaught: [], unhandled: [], onError: [] };
process.on('uncaughtException', (e) => faults.uncaught.push(String(e?.stack ?? e)));
process.on('unhandledRejection', (e) => faults.unhandled.push(String((e as Error)?.stack ?? e)));
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function gcHard(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let k = 0; k < 3; k++) gc();
}

/** Samples memory every 5 ms from a baseline taken now (after a full gc). */
class Sampler {
  private readonly rss0: number;
  private readonly heap0: number;
  private readonly ab0: number;
  private readonly maxRss0: number;
  private peakRss: number;
  private peakHeap: number;
  private peakAb: number;
  private samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    gcHard();
    const m = process.memoryUsage();
    this.rss0 = this.peakRss = m.rss;
    this.heap0 = this.peakHeap = m.heapUsed;
    this.ab0 = this.peakAb = m.arrayBuffers;
    this.maxRss0 = process.resourceUsage().maxRSS * 1024;
    this.timer = setInterval(() => this.sample(), 5);
  }

  sample(): void {
    const m = process.memoryUsage();
    this.samples++;
    if (m.rss > this.peakRss) this.peakRss = m.rss;
    if (m.heapUsed > this.peakHeap) this.peakHeap = m.heapUsed;
    if (m.arrayBuffers > this.peakAb) this.peakAb = m.arrayBuffers;
  }

  /** The peaks so far, sampling on. */
  snapshot(): MemReport {
    this.sample();
    // ru_maxrss only moves when the process sets a new maximum; if it moved,
    // that maximum was reached during the attack, and it is exact.
    const maxRss = process.resourceUsage().maxRSS * 1024;
    const peak = maxRss > this.maxRss0 ? Math.max(maxRss, this.peakRss) : this.peakRss;
    return {
      rss0: this.rss0,
      rss: peak - this.rss0,
      rssSampled: this.peakRss - this.rss0,
      heapUsed: this.peakHeap - this.heap0,
      arrayBuffers: this.peakAb - this.ab0,
      samples: this.samples,
    };
  }

  stop(): MemReport {
    clearInterval(this.timer);
    return this.snapshot();
  }
}

async function server(spec: ServerSpec): Promise<void> {
  let port: number;
  let stop: () => Promise<void>;
  if (spec.kind === 'node') {
    const http = await import('node:http');
    const srv = http.createServer(async (req, res) => {
      if (spec.waitMs) await sleep(spec.waitMs);
      let n = 0;
      if (spec.read !== 'none') for await (const c of req) n += (c as Buffer).length;
      res.end(String(n));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as AddressInfo).port;
    stop = () => new Promise((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  } else {
    const { registerCallback, boundAddress, stopCallback } = await import('../../src/server/server.js');
    const id = await registerCallback(['127.0.0.1', 0], async (req) => {
      if (spec.waitMs) await sleep(spec.waitMs);
      let n = 0;
      if (spec.read === 'all') n = (await req.datastream.read()).length;
      else if (spec.read === 'iterate') for await (const c of req.datastream) n += c.length;
      return { statuscode: 200, message: String(n) };
    }, { onError: (e) => faults.onError.push(String((e as Error)?.stack ?? e)) });
    port = boundAddress(id)[1];
    stop = () => stopCallback(id);
  }
  let sampler: Sampler | null = null;
  process.on('message', (m: Command) => {
    if (m.cmd === 'start') {
      sampler = new Sampler();
      process.send!({ type: 'started' });
    } else if (m.cmd === 'report' && sampler !== null) {
      const mem = sampler.stop();
      process.send!({ type: 'report', mem, faults }, () => {
        void stop().finally(() => process.exit(0));
      });
    }
  });
  process.send!({ type: 'ready', port });
}

async function client(spec: ClientSpec): Promise<void> {
  const { open, getString } = await import('../../src/client/client.js');
  const port = await new Promise<number>((resolve) => {
    process.on('message', (m: Command) => {
      if (m.cmd === 'start' && m.port !== undefined) resolve(m.port);
    });
    process.send!({ type: 'ready' });
  });
  const url = `http://127.0.0.1:${port}/`;
  const options = { timeout: 20_000 };
  const sampler = new Sampler();
  let bytes = -1;
  let error: string | null = null;
  let paused: MemReport | null = null;
  try {
    if (spec.mode === 'getString') bytes = (await getString(url, options)).length;
    else {
      const res = await open(url, options);
      // Not reading: the client buffers its high-water mark, then stops reading the socket.
      await sleep(spec.waitMs ?? 0);
      paused = sampler.snapshot();
      bytes = 0;
      for (;;) {
        const b = await res.read(spec.readSize ?? 65536);
        if (b.length === 0) break;
        bytes += b.length;
        if (spec.readPauseMs) await sleep(spec.readPauseMs);
      }
      res.close();
    }
  } catch (e) {
    error = String((e as Error)?.stack ?? e);
  }
  const mem = sampler.stop();
  process.send!({ type: 'result', bytes, error, mem, paused, faults }, () => process.exit(0));
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
if (spec.role === 'server') await server(spec);
else await client(spec);
