// One base class with a stable `code` for every error of the package (docs/errors.md).
import t from 'tap';
import * as index from '../src/index.js';

const {
  RepyHttpError, HttpParseError, ValueError, KeyError, IndexError, InvalidResponseError, ClientGoneError, RequestTimeoutError,
  HttpClientError, HttpConnectionError, HttpTimeoutError, HttpBrokenServerError, HttpResponseTooLargeError, HttpRedirectError,
  HttpForbiddenError,
} = index;

t.test('every error class extends RepyHttpError and has its code and name', async (t) => {
  const cases: [Error & { code: string }, string, string][] = [
    [new HttpParseError('BARE_CR', 3), 'HttpParseError', 'BARE_CR'],
    [new ValueError('v'), 'ValueError', 'ERR_VALUE'],
    [new ValueError('v', 'ERR_INVALID_URL'), 'ValueError', 'ERR_INVALID_URL'],
    [new KeyError('k'), 'KeyError', 'ERR_UNKNOWN_ID'],
    [new IndexError('i'), 'IndexError', 'ERR_INDEX'],
    [new InvalidResponseError('r'), 'InvalidResponseError', 'ERR_INVALID_RESPONSE'],
    [new ClientGoneError('g'), 'ClientGoneError', 'ERR_CLIENT_GONE'],
    [new RequestTimeoutError('ERR_BODY_TIMEOUT', 'b'), 'RequestTimeoutError', 'ERR_BODY_TIMEOUT'],
    [new HttpClientError('ERR_X', 'm', 'http://x/'), 'HttpClientError', 'ERR_X'],
    [new HttpConnectionError('m', 'http://x/', 'x', 80, Object.assign(new Error('e'), { code: 'ECONNREFUSED' })), 'HttpConnectionError', 'ECONNREFUSED'],
    [new HttpTimeoutError('ETIMEDOUT_IDLE', 5, 'http://x/'), 'HttpTimeoutError', 'ETIMEDOUT_IDLE'],
    [new HttpBrokenServerError('STATUS_LINE_INVALID', 0, 'm', 'http://x/'), 'HttpBrokenServerError', 'STATUS_LINE_INVALID'],
    [new HttpResponseTooLargeError(10, 'http://x/'), 'HttpResponseTooLargeError', 'ERR_RESPONSE_TOO_LARGE'],
    [new HttpRedirectError('ERR_TOO_MANY_REDIRECTS', 'm', 'http://x/', '/', 302, 5), 'HttpRedirectError', 'ERR_TOO_MANY_REDIRECTS'],
    [new HttpForbiddenError('http://x/', 'x', 80, false), 'HttpForbiddenError', 'ERR_HOST_NOT_ALLOWED'],
  ];
  for (const [err, name, code] of cases) {
    t.ok(err instanceof RepyHttpError, `${name} instanceof RepyHttpError`);
    t.ok(err instanceof Error, `${name} instanceof Error`);
    t.equal(err.name, name);
    t.equal(err.code, code, `${name} code`);
    t.equal(typeof err.message, 'string');
  }
  t.ok(new HttpTimeoutError('ETIMEDOUT_IDLE', 5, 'http://x/') instanceof HttpClientError, 'client errors keep their base');
  t.notOk(new ValueError('v') instanceof HttpClientError, 'argument errors are not client errors');
  t.notOk(new ValueError('v') instanceof TypeError);
  t.equal(new RepyHttpError('ERR_SERVER_STOPPING', 'server stopping').code, 'ERR_SERVER_STOPPING');
});
