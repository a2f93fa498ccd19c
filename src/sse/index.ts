/**
 * `repy-http/sse`: Server-Sent Events (WHATWG HTML §9.2) over the
 * `(req) => response` callback, and a client that reads them.
 *
 * @example
 * import { eventStream, lastEventId, events } from 'repy-http/sse';
 * // server
 * const s = eventStream(req);
 * s.send({ id: 1, event: 'hello', data: 'world' });
 * return s.response;
 * // client
 * for await (const e of events('http://127.0.0.1:8080/feed')) console.log(e.data);
 *
 * @module
 */

export { eventStream, lastEventId, type EventStream, type EventStreamOptions } from './event-stream.js';
export { SseError } from './errors.js';
export { formatEvent, formatComment, prepareEvent, type PreparedEvent, type SseEvent } from './format.js';
export { EventStreamParser, type EventStreamParserOptions, type SseMessage } from './parse.js';
export { events, type EventsOptions } from './client.js';
