/**
 * Whole-buffer helpers on top of the incremental parser: feed a byte string
 * (optionally a few bytes at a time) and get every message back as plain
 * data. Used by the tests, the conformance harness and the `parse` CLI.
 *
 * @module
 */

import type { HttpParseError } from '../errors.js';
import { RequestParser } from './request-parser.js';
import { ResponseParser } from './response-parser.js';
import type { ParserOptions, RawHeader, RequestHead, ResponseHead } from './types.js';

/** One message as {@link parseMessages} reports it. */
export interface ParsedMessage {
  /** The request or response head, once complete. */
  head: RequestHead | ResponseHead;
  /** Decoded content. */
  body: Buffer;
  /** Trailer fields (chunked only). */
  trailers: RawHeader[];
  /** True once the whole message was received. */
  complete: boolean;
}

/** What {@link parseMessages} made of a byte string. */
export interface ParseOutcome {
  messages: ParsedMessage[];
  /** The rejection, or null. */
  error: HttpParseError | null;
  /** Bytes consumed. */
  consumed: number;
  /** True when the parser stopped at a protocol switch (CONNECT, Upgrade, 101). */
  upgraded: boolean;
  /** True when the parser is waiting for more bytes in the middle of a message. */
  partial: boolean;
}

/** Options of {@link parseMessages}: the parser's options plus how to feed it. */
export interface ParseMessagesOptions extends ParserOptions {
  /** `'request'` (default) or `'response'`. */
  kind?: 'request' | 'response';
  /** Feed this many bytes at a time (default: all at once). */
  split?: number;
  /** Feed the bytes in pieces ending at these offsets (overrides `split`). */
  splitAt?: number[];
  /** Signal end of stream after the bytes. */
  eof?: boolean;
  /** Response parsing: the request was HEAD (no content). */
  head?: boolean;
  /** Called with every event, e.g. to trace the parse (`offset` = bytes consumed after it). */
  onEvent?: (event: { type: string; offset: number; [k: string]: unknown }) => void;
}

/**
 * Parses every message in `bytes`.
 *
 * @example
 * const r = parseMessages(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
 * r.messages[0].head.method; // 'GET'
 * r.error; // null
 */
export function parseMessages(bytes: Uint8Array, options: ParseMessagesOptions = {}): ParseOutcome {
  const parser = options.kind === 'response' ? new ResponseParser(options) : new RequestParser(options);
  if (options.head && parser instanceof ResponseParser) parser.expectNoBody('HEAD');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const cuts: number[] = [];
  if (options.splitAt) cuts.push(...options.splitAt.filter((c) => c > 0 && c < buf.length));
  else if (options.split && options.split > 0) for (let k = options.split; k < buf.length; k += options.split) cuts.push(k);
  cuts.push(buf.length);
  const out: ParseOutcome = { messages: [], error: null, consumed: 0, upgraded: false, partial: false };
  let current: { head: RequestHead | ResponseHead; body: Buffer[]; trailers: RawHeader[]; complete: boolean } | null = null;
  const drain = (): boolean => {
    for (;;) {
      const ev = parser.next();
      if (ev.type === 'partial') return true;
      options.onEvent?.({ ...ev, offset: parser.offset, state: parser.state });
      if (ev.type === 'error') {
        out.error = ev.error;
        return false;
      }
      if (ev.type === 'head') {
        current = { head: ev.head, body: [], trailers: [], complete: false };
        out.messages.push(current as unknown as ParsedMessage);
      } else if (ev.type === 'data') current!.body.push(Buffer.from(ev.data));
      else {
        current!.trailers = ev.trailers;
        current!.complete = true;
        current = null;
      }
    }
  };
  let from = 0;
  let ok = true;
  for (const cut of cuts) {
    if (cut > from) parser.push(buf.subarray(from, cut));
    from = cut;
    ok = drain();
    if (!ok || parser.upgraded) break;
  }
  if (ok && options.eof && !parser.upgraded) {
    parser.finish();
    drain();
  }
  for (const m of out.messages) (m as { body: Buffer | Buffer[] }).body = Buffer.concat(m.body as unknown as Buffer[]);
  out.consumed = out.error ? out.error.offset : parser.offset;
  out.upgraded = parser.upgraded;
  out.partial = out.error === null && !parser.upgraded && !parser.idle && !parser.done;
  return out;
}
