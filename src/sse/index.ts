/**
 * `repy-http/sse`: Server-Sent Events (WHATWG HTML §9.2) over the
 * `(req) => response` callback.
 *
 * @example
 * import { eventStream, lastEventId } from 'repy-http/sse';
 * const s = eventStream(req);
 * s.send({ id: 1, event: 'hello', data: 'world' });
 * return s.response;
 *
 * @module
 */

export { eventStream, lastEventId, SseError, type EventStream, type EventStreamOptions } from './event-stream.js';
export { formatEvent, formatComment, type SseEvent } from './format.js';
