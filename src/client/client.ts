/**
 * The HTTP client: `open` (repy's `httpretrieve_open`), `getString`
 * (`httpretrieve_get_string`) and `saveFile` (`httpretrieve_save_file`).
 *
 * One HTTP/1.1 request per connection (`Connection: close`) unless the
 * `keepAlive` option lends connections from a {@link ConnectionPool}, over raw
 * node:net sockets (node:tls for `https:`, the certificate verified by
 * default), the response read by the same strict incremental
 * {@link ResponseParser} the CLI and the tests use. Every wait is bounded
 * (connect, idle and total timeouts), the response content is bounded
 * (`maxResponseSize`), redirects are bounded, never downgrade from https to
 * http unless allowed, and can be confined to an allow-list of hosts.
 *
 * docs/client.md describes every option, every error, and the differences
 * from httpretrieve.repy.
 *
 * @example
 * const res = await open('http://127.0.0.1:8080/hello', { querydata: { q: 'a b' } });
 * res.statuscode;            // 200
 * res.headers['Content-Type'];
 * const body = await res.read();
 * res.close();
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { open as openFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ValueError } from '../errors.js';
import { resolveOptions, type OpenOptions } from './options.js';
import { fetchFollowingRedirects } from './redirects.js';
import { prepare } from './request.js';
import type { HttpResponse } from './response.js';

export * from './errors.js';
export { HttpResponse } from './response.js';
export { ConnectionPool, POOL_DEFAULTS, type ConnectionPoolOptions } from './pool.js';
export { CLIENT_DEFAULTS, type AllowRule, type AllowTarget, type OpenOptions, type PemInput } from './options.js';

/**
 * `httpretrieve_open`: sends one HTTP/1.1 request and resolves with the
 * {@link HttpResponse} once the final response head has arrived (interim 1xx
 * responses are skipped; redirects are followed). The content is then read
 * with `read()` or `for await`.
 *
 * Rejects with TypeError / ValueError for bad arguments (before connecting),
 * HttpForbiddenError, HttpConnectionError, HttpTimeoutError,
 * HttpBrokenServerError, HttpResponseTooLargeError or HttpRedirectError:
 * see docs/client.md.
 *
 * @example
 * const res = await open('http://127.0.0.1:8080/form', { postdata: { first: '1st' }, timeout: 5000 });
 * const text = (await res.read()).toString('utf8');
 */
export async function open(url: string, options: OpenOptions | null = {}): Promise<HttpResponse> {
  options ??= {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object');
  const o = resolveOptions(options);
  const req = prepare(url, options);
  const deadline = Date.now() + o.totalTimeout;
  return fetchFollowingRedirects(req, o, deadline);
}

/**
 * `httpretrieve_get_string`: the whole content as a string (UTF-8; invalid
 * sequences become U+FFFD), whatever the status code. The connection is
 * closed in every case (with `keepAlive`, given back to the pool once the
 * content was read to its end).
 *
 * @example const text = await getString('http://127.0.0.1:8080/', { timeout: 5000 });
 */
export async function getString(url: string, options: OpenOptions | null = {}): Promise<string> {
  const res = await open(url, options);
  try {
    return (await res.read()).toString('utf8');
  } finally {
    res.close();
  }
}

/**
 * `httpretrieve_save_file`: writes the content to `filename`, whatever the
 * status code. The content goes to a temporary file in the same directory,
 * which is renamed over `filename` only once everything arrived: a failed
 * download never truncates or replaces an existing file, and leaves no
 * temporary file behind. Resolves with the number of bytes written.
 *
 * @example await saveFile('http://127.0.0.1:8080/data.bin', './data.bin');
 */
export async function saveFile(url: string, filename: string, options: OpenOptions | null = {}): Promise<number> {
  if (typeof filename !== 'string') throw new TypeError('filename must be a string');
  if (filename.length === 0) throw new ValueError('filename must not be empty');
  const res = await open(url, options);
  const tmp = join(dirname(filename), `.${basename(filename)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fh: Awaited<ReturnType<typeof openFile>> | null = null;
  let written = 0;
  try {
    fh = await openFile(tmp, 'wx');
    for await (const chunk of res) {
      await fh.write(chunk);
      written += chunk.length;
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, filename);
    return written;
  } catch (e) {
    if (fh !== null) await fh.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  } finally {
    res.close();
  }
}
