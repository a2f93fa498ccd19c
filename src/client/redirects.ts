/**
 * Redirects: the loop of `open` that follows 301/302/303/307/308 by
 * calling {@link sendOnce} again, with the method and fields rewritten
 * (RFC 9110 §15.4), bounded by `maxRedirects`, each target checked by the
 * `allow` option.
 *
 * @module
 */

import type { RawHeader } from '../parser/parser.js';
import { HttpForbiddenError, HttpRedirectError } from './errors.js';
import type { Resolved } from './options.js';
import { addressOf, parseHttpUrl, type Prepared } from './request.js';
import type { HttpResponse } from './response.js';
import { sendOnce } from './send-once.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Fields not sent to another origin (scheme, host or port) after a redirect. */
const CREDENTIAL_FIELDS = new Set(['authorization', 'cookie', 'proxy-authorization', 'host']);
/** Fields that describe the request content, dropped when a redirect drops the content. */
const CONTENT_FIELDS = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);

/** The Location field's value (first field line), decoded as UTF-8 when it is. */
function locationOf(raw: RawHeader[]): string | null {
  const f = raw.find(([n]) => n.toLowerCase() === 'location');
  if (f === undefined) return null;
  const bytes = Buffer.from(f[1], 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : f[1];
}

/** The request to send after a redirect (RFC 9110 §15.4, and the Fetch standard's method rewrite). */
function redirected(prev: Prepared, status: number, location: string, redirects: number, o: Resolved): Prepared {
  let next: URL;
  try {
    next = new URL(location, prev.url);
  } catch (e) {
    throw new HttpRedirectError('ERR_REDIRECT_LOCATION', `Redirect ${status} has an invalid Location ${JSON.stringify(location)} (${prev.url})`, prev.url, location, status, redirects, e);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new HttpRedirectError('ERR_REDIRECT_SCHEME', `Redirect ${status} to ${JSON.stringify(next.href)}: only http: and https: can be followed`, prev.url, location, status, redirects);
  }
  if (prev.secure && next.protocol === 'http:' && !o.allowDowngrade) {
    // What was private over TLS must not be replayed in the clear (the request, its content, its fields).
    throw new HttpRedirectError('ERR_REDIRECT_DOWNGRADE', `Redirect ${status} from https: to ${JSON.stringify(next.href)} refused: it would send the request unencrypted (allowDowngrade: true permits it)`, prev.url, location, status, redirects);
  }
  if (next.protocol === 'https:' && o.proxy !== null) {
    throw new HttpRedirectError('ERR_REDIRECT_SCHEME', `Redirect ${status} to ${JSON.stringify(next.href)}: https through a proxy is not supported`, prev.url, location, status, redirects);
  }
  next.hash = '';
  next.username = '';
  next.password = '';
  let u: ReturnType<typeof parseHttpUrl>;
  try {
    u = parseHttpUrl(next.href);
  } catch (e) {
    throw new HttpRedirectError('ERR_REDIRECT_LOCATION', `Redirect ${status} to an unusable URL ${JSON.stringify(next.href)}: ${(e as Error).message}`, prev.url, location, status, redirects, e);
  }
  // 303 → GET (HEAD stays HEAD); 301/302 after POST → GET, as browsers do; 307/308 keep method and content.
  const toGet = (status === 303 && prev.method !== 'HEAD') || ((status === 301 || status === 302) && prev.method === 'POST');
  // An origin is scheme, host and port (RFC 6454): http → https on the same host is another origin too.
  const sameOrigin = u.secure === prev.secure && u.hostname === prev.hostname && u.port === prev.port;
  const fields = prev.fields.filter(([n]) => {
    const lower = n.toLowerCase();
    if (!sameOrigin && CREDENTIAL_FIELDS.has(lower)) return false;
    if (toGet && CONTENT_FIELDS.has(lower)) return false;
    return true;
  });
  return {
    ...addressOf(u, u.query),
    method: toGet ? 'GET' : prev.method,
    body: toGet ? null : prev.body,
    fields,
  };
}

function checkAllowed(o: Resolved, p: Prepared, redirect: boolean): void {
  if (o.allow === null) return;
  if (!o.allow({ url: p.url, hostname: p.hostname, port: p.port, redirect, secure: p.secure })) throw new HttpForbiddenError(p.url, p.hostname, p.port, redirect);
}

/**
 * Sends `req`, then follows redirects until a response that is not one (or
 * is one without Location, or `followRedirects` is off), which it resolves
 * with. Each hop is one {@link sendOnce}; the redirect responses are closed.
 */
export async function fetchFollowingRedirects(req: Prepared, o: Resolved, deadline: number): Promise<HttpResponse> {
  const firstHost = req.hostname;
  // `servername` names the first URL's host (to reach it by address): another host is verified as itself.
  const otherHost: Resolved = o.tls.servername === null ? o : { ...o, tls: { ...o.tls, servername: null } };
  for (let redirects = 0; ; redirects++) {
    checkAllowed(o, req, redirects > 0);
    const res = await sendOnce(req, req.hostname === firstHost ? o : otherHost, deadline, redirects);
    if (!o.followRedirects || !REDIRECTS.has(res.statuscode)) return res;
    const location = locationOf(res.rawheaders);
    if (location === null) return res; // a redirect without Location is an ordinary response
    res.close();
    if (redirects >= o.maxRedirects) {
      throw new HttpRedirectError('ERR_TOO_MANY_REDIRECTS', `More than ${o.maxRedirects} redirects (the last from ${req.url} to ${JSON.stringify(location)})`, req.url, location, res.statuscode, redirects);
    }
    req = redirected(req, res.statuscode, location, redirects, o);
  }
}
