/**
 * The content of a message as its reader sees it, shared by the server's
 * `datastream` and the client's response: a queue of chunks fed by the
 * connection, read with `read(n)` or async iteration, with backpressure
 * (`full` tells the feeder to pause; `onDemand` tells it the reader waits).
 *
 * @module
 */

import type { RawHeader } from '../parser/parser.js';
import { RepyHttpError } from '../errors.js';

/**
 * Pieces at least this long that fill at least half of their backing
 * memory are queued as they are (no copy): the common case of a large
 * upload, where each socket read is one piece.
 */
const KEEP_VIEW_MIN = 4096;
/** The size of the slabs that smaller pieces are copied into. */
const SLAB_SIZE = 16 * 1024;
/** The smallest slab (a short body costs a short slab). */
const SLAB_MIN = 256;

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
  /** Closed pieces, oldest first; the open slab region (if any) follows them. */
  protected chunks: Buffer[] = [];
  protected buffered = 0;
  protected ended = false;
  protected error: Error | null = null;
  private waiter: { want: number; resolve: () => void } | null = null;
  // The slab: a buffer this queue owns, into which small pieces are copied.
  // `slab[slabStart..slabEnd)` holds bytes not yet closed into `chunks`.
  private slab: Buffer | null = null;
  private slabStart = 0;
  private slabEnd = 0;
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

  /**
   * The feeder delivers content bytes. A piece is kept as the view it is
   * only when it is large and fills at least half of the memory it pins;
   * anything else (a 1-byte chunk of a chunked upload is a view that pins a
   * whole 64 KiB socket read, and costs ~100 bytes of heap on its own) is
   * copied into a slab this queue owns. So `buffered` is, within a factor
   * of two, the memory the queue really holds (issue #8).
   */
  push(data: Buffer): void {
    const n = data.length;
    if (n === 0) return;
    if (n >= KEEP_VIEW_MIN && n * 2 >= data.buffer.byteLength) {
      this.closeSlab();
      this.chunks.push(data);
    } else {
      this.copyIn(data);
    }
    this.buffered += n;
    this.wake();
  }

  /** Copies `data` into the slab, starting new slabs as they fill. */
  private copyIn(data: Buffer): void {
    let from = 0;
    while (from < data.length) {
      if (this.slab === null || this.slabEnd === this.slab.length) {
        this.closeSlab();
        // Slabs grow with what is buffered: a short body costs a short slab,
        // a long one SLAB_SIZE per slab (one Buffer object per 16 KiB).
        this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_MIN, Math.min(SLAB_SIZE, Math.max(data.length - from, this.buffered))));
        this.slabStart = 0;
        this.slabEnd = 0;
      }
      const k = data.copy(this.slab, this.slabEnd, from);
      this.slabEnd += k;
      from += k;
    }
  }

  /** Moves the open slab region into `chunks` (later copies go after it). */
  private closeSlab(): void {
    if (this.slab !== null && this.slabEnd > this.slabStart) {
      this.chunks.push(this.slab.subarray(this.slabStart, this.slabEnd));
      this.slabStart = this.slabEnd;
    }
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
    this.slab = null;
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
    this.closeSlab();
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
      if (this.waiter !== null) throw new RepyHttpError('ERR_READ_PENDING', 'a read is already pending');
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

  /**
   * Iterates the content chunk by chunk. A hand-written iterator rather
   * than an async generator: a chunk that is already buffered is handed
   * over without the generator's extra promise hops (an upload is one
   * chunk per socket read).
   */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: async (): Promise<IteratorResult<Buffer>> => {
        if (this.buffered === 0) await this.waitFor(1);
        if (this.buffered > 0) {
          this.closeSlab();
          return { done: false, value: this.take(this.chunks[0]!.length) };
        }
        if (this.error !== null) throw this.error;
        return { done: true, value: undefined };
      },
    };
  }
}
