/**
 * `repy-http/parser`: the strict, incremental HTTP/0.9–1.1 parser on its
 * own. Pure: no socket, no `node:` module beyond Buffer.
 *
 * @example
 * import { RequestParser } from 'repy-http/parser';
 * const p = new RequestParser();
 * p.push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
 * p.next(); // { type: 'head', head: { method: 'GET', target: '/', ... } }
 *
 * @module
 */
export {
  RequestParser, ResponseParser, trimOWS,
  type ParserOptions, type RequestHead, type ResponseHead, type RawHeader, type ParseEvent, type TraceStep,
} from './parser.js';
export { parseMessages, type ParseOutcome, type ParsedMessage, type ParseMessagesOptions } from './inspect.js';
export { DEFAULT_LIMITS, STATUS_REASONS, TOKEN, FIELD_VALUE, TARGET } from './constants.js';
export { HttpParseError, PARSE_ERRORS, type ParseErrorCode } from '../errors.js';
