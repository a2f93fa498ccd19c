/**
 * The content of a message as its reader sees it, shared by the server's
 * `datastream` and the client's response: a queue of chunks fed by the
 * connection, read with `read(n)` or async iteration, with backpressure
 * (`full` tells the feeder to pause; `onDemand` tells it the reader waits).
 *
 * @module
 */

import type { RawHeader } from './parser.js';

/**
 * `read(n)` resolves with exactly `min(n, rest)` bytes (waiting for them),
 * `read()` with the whole rest; both resolve with an empty Buffer at the end.
 * After `fail(err)`, reads reject with `err` — at once, or, when
 * `readBeforeError`, once the bytes that arrived before the error are read.
 *
 * @example
 * const q = new ContentQueue(65536, () => socket.resume(), false);
 * q.push(Buffer.from('abc')); q.end([]);
 * await q.read(2); // <Buffer 61 62>
 */
export class ContentQueue implements AsyncIterable<Buffer> {
  protected chunks: Buffer[] = [];
  protected buffered = 0;
  protected ended = false;
  protected error: Error | null = null;
  private waiter: { want: number; resolve: () => void } | null = null;
  /** Bytes handed to the reader so far. */
  bytesRead = 0;
  /** Trailer fields (chunked content), available once the content is read to its end. */
  trailers: RawHeader[] = [];

  /**
   * @param highWaterMark buffered bytes above which the feeder should pause
   * @param onDemand called when the reader waits for bytes
   * @param readBeforeError keep what arrived before an error readable
   */
  constructor(
    private readonly highWaterMark: number,
    private readonly onDemand: () => void,
    private readonly readBeforeError: boolean,
  ) {}

  /** True when the feeder should stop until the reader catches up. */
  get full(): boolean {
    return this.buffered >= Math.max(this.highWaterMark, this.waiter?.want ?? 0);
  }

  /** The feeder delivers content bytes. */
  push(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    this.wake();
  }

  /** The feeder signals the end of the content. */
  end(trailers: RawHeader[]): void {
    this.ended = true;
    this.trailers = trailers;
    this.wake();
  }

  /** The content is broken: reads reject with `err` (the first error wins). */
  fail(err: Error): void {
    if (this.ended || this.error !== null) return;
    this.error = err;
    if (!this.readBeforeError) this.drop();
    this.wake();
  }

  /** Drops what is buffered; returns how many bytes that was. */
  protected drop(): number {
    const dropped = this.buffered;
    this.chunks = [];
    this.buffered = 0;
    return dropped;
  }

  protected wake(): void {
    const w = this.waiter;
    if (w !== null && (this.buffered >= w.want || this.ended || this.error !== null)) {
      this.waiter = null;
      w.resolve();
    }
  }

  private take(n: number): Buffer {
    let out: Buffer;
    if (n >= this.buffered) {
      out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
    } else {
      const parts: Buffer[] = [];
      let need = n;
      while (need > 0) {
        const c = this.chunks[0]!;
        if (c.length <= need) {
          parts.push(c);
          this.chunks.shift();
          need -= c.length;
        } else {
          parts.push(c.subarray(0, need));
          this.chunks[0] = c.subarray(need);
          need = 0;
        }
      }
      out = parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
    }
    this.buffered -= out.length;
    this.bytesRead += out.length;
    return out;
  }

  /** Waits until `want` bytes are buffered, or the end, or an error. */
  private async waitFor(want: number): Promise<void> {
    while (this.error === null && !this.ended && this.buffered < want) {
      if (this.waiter !== null) throw new Error('a read is already pending');
      const p = new Promise<void>((resolve) => {
        this.waiter = { want, resolve };
      });
      this.onDemand();
      await p;
    }
  }

  /**
   * Reads `n` bytes (fewer only at the end, or just before an error), or the
   * whole rest without `n`. Resolves with an empty Buffer once the content
   * is exhausted.
   */
  async read(n?: number): Promise<Buffer> {
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new TypeError('read(n): n must be a non-negative integer');
    if (n === 0) return Buffer.alloc(0);
    await this.waitFor(n ?? Infinity);
    if (this.error !== null && (n === undefined || this.buffered === 0)) throw this.error;
    return this.take(n ?? this.buffered);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      await this.waitFor(1);
      if (this.buffered > 0) yield this.take(this.chunks[0]!.length);
      else if (this.error !== null) throw this.error;
      else return;
    }
  }
}
