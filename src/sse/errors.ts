/**
 * The error of the Server-Sent Events add-on, with its stable codes.
 *
 * @module
 */

import { RepyHttpError } from '../errors.js';

/**
 * Something went wrong with an event stream. `code` is one of:
 *
 * | code | side | when |
 * | --- | --- | --- |
 * | `ERR_SSE_QUEUE_FULL` | server | the client fell more than `maxQueue` bytes behind; the stream was cut |
 * | `ERR_SSE_NO_CONTENT` | client | the server answered 204: it asks the client not to reconnect |
 * | `ERR_SSE_STATUS` | client | the server answered another status than 200 (`status` holds it) |
 * | `ERR_SSE_CONTENT_TYPE` | client | the response is not `text/event-stream` |
 * | `ERR_SSE_LINE_TOO_LONG` | client | a line was longer than `maxLineLength` |
 * | `ERR_SSE_EVENT_TOO_LARGE` | client | an event's data was larger than `maxEventSize` |
 *
 * @example
 * try { for await (const e of events(url)) use(e); }
 * catch (err) { if (err instanceof SseError && err.code === 'ERR_SSE_NO_CONTENT') done(); }
 */
export class SseError extends RepyHttpError {
  override name = 'SseError';
  /** The HTTP status, for `ERR_SSE_STATUS` and `ERR_SSE_NO_CONTENT`. */
  readonly status: number | undefined;
  constructor(code: string, message: string, options?: ErrorOptions & { status?: number }) {
    super(code, message, options);
    this.status = options?.status;
  }
}
