/**
 * The parser's public classes and types under their former module path
 * (src/server, src/client, src/message, the CLI and the tests import
 * `parser/parser.js`). The parser itself is split by concern: see index.ts
 * for the files and the order to read them in.
 *
 * @module
 */
export { RequestParser } from './request-parser.js';
export { ResponseParser } from './response-parser.js';
export { trimOWS } from './text.js';
export type { ParserOptions, RequestHead, ResponseHead, RawHeader, ParseEvent, TraceStep } from './types.js';
