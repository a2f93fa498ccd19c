/**
 * `repy-http/parser`: the strict, incremental HTTP/0.9–1.1 parser on its
 * own. Pure: no socket, no `node:` module beyond Buffer.
 *
 * A reader learns HTTP/1.1 from this folder in this order:
 * - constants.ts: which bytes each ABNF rule allows (tables);
 * - head.ts: start line and field lines, byte by byte (RFC 9112 §2–§5);
 * - patterns.ts, fast-path.ts: the same grammar over a whole head at once;
 * - framing.ts: how long the body is (RFC 9112 §6.3);
 * - chunked.ts: the chunked transfer coding (RFC 9112 §7.1);
 * - target.ts: request-target forms and Host (RFC 9112 §3.2);
 * - message-parser.ts: input, events, and the message states;
 * - request-parser.ts, response-parser.ts: the two kinds of message;
 * - inspect.ts: whole-buffer helpers for tests and the CLI;
 * - ranges.ts: what each byte of a message is (for the inspector page).
 *
 * @example
 * import { RequestParser } from 'repy-http/parser';
 * const p = new RequestParser();
 * p.push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
 * p.next(); // { type: 'head', head: { method: 'GET', target: '/', ... } }
 *
 * @module
 */
export { RequestParser } from './request-parser.js';
export { ResponseParser } from './response-parser.js';
export { trimOWS } from './text.js';
export type { ParserOptions, RequestHead, ResponseHead, RawHeader, ParseEvent, TraceStep } from './types.js';
export { parseMessages, type ParseOutcome, type ParsedMessage, type ParseMessagesOptions } from './inspect.js';
export { messageRanges, RANGE_RULES, ERROR_RULES, type ByteRange, type RangeKind, type RangesOutcome } from './ranges.js';
export { DEFAULT_LIMITS, STATUS_REASONS, TOKEN, FIELD_VALUE, TARGET } from './constants.js';
export { HttpParseError, PARSE_ERRORS, type ParseErrorCode } from '../errors.js';
