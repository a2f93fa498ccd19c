/**
 * The response as `open` returns it: status and fields as properties, the
 * content read on demand from a {@link ResponseBody} that the exchange
 * (src/client/send-once.ts) feeds.
 *
 * @module
 */

import { ValueError } from '../errors.js';
import type { RawHeader, ResponseHead } from '../parser/parser.js';
import { headersObject } from '../message/headers.js';
import { ContentQueue } from '../message/content.js';

/** Buffered, unread response content above which the socket is no longer read. */
const HIGH_WATER_MARK = 64 * 1024;

/**
 * The response content as it arrives (the shared ContentQueue). Unlike the
 * server's DataStream, an error does not drop what was buffered: the bytes
 * that arrived before it are read first, then the error.
 */
export class ResponseBody extends ContentQueue {
  constructor(onDemand: () => void) {
    super(HIGH_WATER_MARK, onDemand, true);
  }

  /** True once the content ended and every byte of it was read: nothing left to drop, nobody waiting. */
  get drained(): boolean {
    return this.ended && this.buffered === 0;
  }

  /** The response was closed: drop everything; reads reject with `err`. */
  discard(err: Error): void {
    this.drop();
    this.ended = false;
    this.error = err;
    this.wake();
  }
}

/** What a response needs from the exchange that produced it. */
export interface ResponseSource {
  /** The content as it arrives. */
  readonly body: ResponseBody;
  /** Stops the exchange: closes the connection. */
  destroy(): void;
}

/**
 * A response, as `open` returns it once the final status line and header
 * section have arrived: the status and fields as properties, the content
 * read on demand (the socket is not read faster than the content is
 * consumed).
 *
 * @example
 * const res = await open('http://127.0.0.1:8080/');
 * res.httpstatus;   // ['HTTP/1.1', 200, 'OK']
 * for await (const chunk of res) process.stdout.write(chunk);
 */
export class HttpResponse implements AsyncIterable<Buffer> {
  /** `[protocol, status code, reason phrase]`, e.g. `['HTTP/1.1', 200, 'OK']`. */
  readonly httpstatus: readonly [protocol: string, code: number, reason: string];
  /** The status code. */
  readonly statuscode: number;
  /** Canonical field name → value, repeats joined with `, ` (Cookie with `; `), the shape of the server's request dictionary; read repeated Set-Cookie lines from `rawheaders`. */
  readonly headers: Record<string, string>;
  /** Every field line `[name, value]` in wire order and case. */
  readonly rawheaders: RawHeader[];
  /** The URL that answered (after redirects), without fragment or userinfo. */
  readonly url: string;
  /** How many redirects were followed to get here. */
  readonly redirects: number;
  private readonly exchange: ResponseSource;
  private closedFlag = false;
  private queue: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(head: ResponseHead, exchange: ResponseSource, url: string, redirects: number) {
    this.httpstatus = Object.freeze([`HTTP/1.${head.versionMinor}`, head.status, head.reason] as const);
    this.statuscode = head.status;
    this.headers = headersObject(head.rawHeaders);
    this.rawheaders = head.rawHeaders;
    this.exchange = exchange;
    this.url = url;
    this.redirects = redirects;
  }

  /** Trailer fields of a chunked response (canonical names), filled once the content was read to its end. */
  get trailers(): Record<string, string> {
    return headersObject(this.exchange.body.trailers);
  }

  /** Trailer field lines `[name, value]` as received. */
  get rawtrailers(): RawHeader[] {
    return this.exchange.body.trailers;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Reads `limit` bytes of content (fewer only at the end), or the whole
   * rest without a limit (`undefined` or `null`). Resolves with an empty
   * Buffer at the end, and for `read(0)`. Reads are served in call order.
   * Rejects with ValueError 'I/O operation on closed file' after `close()`,
   * TypeError for a limit that is not an integer, ValueError for a negative
   * one, and the exchange's error (timeout, broken server, too large...)
   * when the content cannot be read.
   */
  read(limit?: number | null): Promise<Buffer> {
    const p = this.queue.then(() => {
      if (this.closedFlag) throw new ValueError('I/O operation on closed file', 'ERR_CLOSED');
      if (limit !== undefined && limit !== null) {
        if (typeof limit !== 'number' || !Number.isInteger(limit)) throw new TypeError('Expected an integer or null for read() limit');
        if (limit < 0) throw new ValueError('read() limit must not be negative');
      }
      return this.exchange.body.read(limit ?? undefined);
    });
    this.queue = p.then(() => undefined, () => undefined);
    return p;
  }

  /**
   * Closes the connection and drops unread content. Idempotent. Pending
   * reads reject with ValueError. (A pooled connection whose content was
   * read to its end went back to the pool at that end: nothing is closed.)
   */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    // After the whole content was read (getString) nothing is dropped and no read waits: no error to
    // make (capturing its stack was a measurable part of a kept-alive request). Later reads see closedFlag.
    if (!this.exchange.body.drained) this.exchange.body.discard(new ValueError('I/O operation on closed file', 'ERR_CLOSED'));
    this.exchange.destroy();
  }

  /** The content chunk by chunk, as it arrives. Leaving the loop early closes the response. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.closedFlag) throw new ValueError('I/O operation on closed file', 'ERR_CLOSED');
    let finished = false;
    try {
      for await (const chunk of this.exchange.body) yield chunk;
      // close() in the loop's body once the content was all read: the loop still ends with the error.
      if (this.closedFlag) throw new ValueError('I/O operation on closed file', 'ERR_CLOSED');
      finished = true;
    } finally {
      if (!finished) this.close();
    }
  }
}

