/**
 * repy-http: a strict HTTP/0.9–1.1 server and parser on raw node:net sockets,
 * with the API of Seattle Testbed's httpserver.repy.
 *
 * @example
 * import { registerCallback, stopCallback } from 'repy-http';
 * const id = await registerCallback(['127.0.0.1', 8080], (req) => ({ statuscode: 200, message: req.path }));
 * await stopCallback(id);
 *
 * @module
 */

export { registerCallback, stopCallback, boundAddress, type Callback } from './server/server.js';
export { SERVER_DEFAULTS, type ServerOptions, type ServerTlsOptions } from './server/options.js';
export { DataStream, LazyAbort, type RequestDict, type PeerCertificate } from './server/request.js';
export { canonicalName, headersObject } from './message/headers.js';
export { compose, route, withRequest, notFound, type Middleware, type Route } from './server/compose.js';
export { prepareResponse, httpDate, type ResponseDict, type ResponseMessage, type FileLike } from './server/response.js';
export { ClientGoneError, RequestTimeoutError, TlsHandshakeError, type RequestTimeoutCode, type TlsHandshakeCode } from './server/errors.js';
export {
  RequestParser, ResponseParser, trimOWS,
  type ParserOptions, type RequestHead, type ResponseHead, type RawHeader, type ParseEvent,
} from './parser/parser.js';
export { parseMessages, type ParseOutcome, type ParsedMessage, type ParseMessagesOptions } from './parser/inspect.js';
export { parseQuery, decodeComponentLenient } from './message/url.js';
export {
  quote, quotePlus, unquote, unquotePlus, unquoteToBytes, quoteParameters, unquoteParameters, urlsplit, type SplitUrl,
} from './message/url.js';
export { open, getString, saveFile } from './client/client.js';
export { HttpResponse } from './client/response.js';
export { CLIENT_DEFAULTS, type OpenOptions, type AllowRule, type AllowTarget, type PemInput } from './client/options.js';
export { ConnectionPool, POOL_DEFAULTS, type ConnectionPoolOptions } from './client/pool.js';
export {
  HttpClientError, HttpConnectionError, HttpTimeoutError, HttpBrokenServerError, HttpResponseTooLargeError,
  HttpRedirectError, HttpForbiddenError, type HttpTimeoutCode, type BrokenServerCode, type RedirectCode,
} from './client/errors.js';
export { DEFAULT_LIMITS, STATUS_REASONS, TOKEN, FIELD_VALUE, TARGET } from './parser/constants.js';
export {
  RepyHttpError, HttpParseError, PARSE_ERRORS, ValueError, KeyError, IndexError, InvalidResponseError, type ParseErrorCode,
} from './errors.js';
export { header, json, text, redirect, body, BodyError, bodyErrors, BODY_LIMIT, cookies, setCookie, type BodyErrorCode, type BodyOptions, type CookieAttributes } from './server/helpers.js';
