/**
 * Mappers: which session a request belongs to. Continuity's "pluggable
 * mapper": the policy of how hits are associated with sessions is the
 * user's, the queueing and reaping are the library's.
 *
 * A mapper reads a key from the request (`find`); when no live session has
 * that key, the sessions app makes a new id ({@link newSessionId}) and asks
 * the mapper for the new session's key and how to tell the client
 * (`create`: a Set-Cookie for the cookie mapper). A key that names no live
 * session is never reused as an id: a forged or stale cookie gets a new
 * session with a new id and a new cookie.
 *
 * @module
 */

import { withRequest } from '../server/compose.js';
import { cookies, setCookie, type CookieAttributes } from '../server/helpers.js';
import type { RequestDict } from '../server/request.js';
import { isSessionId } from './id.js';

/**
 * How requests map to sessions. The built-in ones are made by
 * {@link cookieMapper}, {@link queryMapper}, {@link pathMapper},
 * {@link peerMapper} and {@link keyMapper}; a custom one implements this.
 *
 * @example
 * const byHeader: SessionMapper = {
 *   find: (req) => req.headers['X-Session'] ?? null,
 *   create: (_req, id) => ({ key: id }),     // the client learns session.id from the page
 * };
 */
export interface SessionMapper {
  /** The key this request names, or null when it names none (no cookie, a malformed one). */
  find(req: RequestDict): string | null;
  /**
   * A new session with id `id` starts with this request: its key, and the
   * Set-Cookie field value to add to the answer of this request (if any).
   * `found` is what `find` returned for this request.
   */
  create(req: RequestDict, id: string, found: string | null): { key: string; setCookie?: string | null };
  /** When true, a request for which `find` returns null is answered 400 and starts no session. */
  requireKey?: boolean;
  /** The request as the session sees it (the path mapper strips the id); default: as it is. */
  view?(req: RequestDict): RequestDict;
  /** The session with this key has ended (the cookie mapper's per-browser count with `pathSession`). */
  removed?(key: string): void;
}

/**
 * The options of {@link cookieMapper}.
 *
 * @example cookieMapper({ name: 'sid', secure: true, pathSession: true })
 */
export interface CookieMapperOptions {
  /** The cookie's name (default `'sid'`); a token. */
  name?: string;
  /** Send the cookie with `Secure` (only over HTTPS; default false). */
  secure?: boolean;
  /** `Path` (default `'/'`). */
  path?: string;
  /** `SameSite` (default `'Lax'`: sent on top-level navigations from other sites, not on their sub-requests). */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** `Domain` (default none: this host only). */
  domain?: string;
  /**
   * Several sessions per browser, one per path (Continuity's
   * `path_session`): the cookie names the browser, and the key is the
   * cookie plus the request's path (without the query), so `/` and `/push`
   * are two sessions of one browser. Default false.
   */
  pathSession?: boolean;
}

/**
 * The default mapper: a cookie (default `sid`) holds the session id, 128
 * random bits, sent `HttpOnly; SameSite=Lax; Path=/` (and `Secure` when
 * asked), without `Max-Age`: a browser-session cookie (RFC 6265 §4.1). A
 * cookie that is malformed or names no live session is treated as no
 * cookie: a new session, a new id, a new Set-Cookie.
 *
 * @example sessions(fn, { mapper: cookieMapper({ name: 'game', secure: true }) })
 */
export function cookieMapper(options: CookieMapperOptions = {}): SessionMapper {
  const name = options.name ?? 'sid';
  const attrs: CookieAttributes = {
    path: options.path ?? '/',
    httpOnly: true,
    sameSite: options.sameSite ?? 'Lax',
    ...(options.secure === true ? { secure: true } : {}),
    ...(options.domain !== undefined ? { domain: options.domain } : {}),
  };
  setCookie(name, 'x', attrs); // TypeError now for a bad name or attribute, not at the first request
  const cookieOf = (req: RequestDict): string | null => {
    const v = cookies(req)[name];
    return isSessionId(v) ? v : null;
  };
  if (options.pathSession !== true) {
    return {
      find: cookieOf,
      create: (_req, id) => ({ key: id, setCookie: setCookie(name, id, attrs) }),
    };
  }
  // With pathSession the cookie names the browser; a browser is known while
  // one of its sessions lives (a stale or forged cookie gets a new one).
  const browsers = new Map<string, number>();
  const pathOf = (req: RequestDict): string => req.path;
  return {
    find(req) {
      const sid = cookieOf(req);
      return sid === null ? null : `${sid} ${pathOf(req)}`; // a path has no SP (RFC 9112 §3.2)
    },
    create(req, id) {
      const sid = cookieOf(req);
      const browser = sid !== null && browsers.has(sid) ? sid : id;
      browsers.set(browser, (browsers.get(browser) ?? 0) + 1);
      return { key: `${browser} ${pathOf(req)}`, setCookie: browser === id ? setCookie(name, id, attrs) : null };
    },
    removed(key) {
      const browser = key.slice(0, key.indexOf(' '));
      const n = (browsers.get(browser) ?? 1) - 1;
      if (n <= 0) browsers.delete(browser);
      else browsers.set(browser, n);
    },
  };
}

/**
 * The id in a query parameter (default `sid`): for clients without cookies.
 * The session puts `?sid=${session.id}` into its links and forms itself.
 * The id then shows in logs and Referer fields: prefer the cookie.
 *
 * @example sessions(fn, { mapper: queryMapper('s') })   // GET /step?s=q3bY0b8jT4eV2xk1Gm9s_A
 */
export function queryMapper(name = 'sid'): SessionMapper {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('queryMapper: the parameter name must be a non-empty string');
  return {
    find: (req) => {
      const v = req.querydict?.[name];
      return isSessionId(v) ? v : null;
    },
    create: (_req, id) => ({ key: id }),
  };
}

/** The first path segment of `path` when it has the shape of an id, else null. */
function idSegment(path: string): string | null {
  if (path.charCodeAt(0) !== 47 /* / */) return null;
  const end = path.indexOf('/', 1);
  const seg = end === -1 ? path.slice(1) : path.slice(1, end);
  return isSessionId(seg) ? seg : null;
}

/**
 * The id as the first path segment: `/<id>/rest`. The session sees the path
 * without it (`/rest`, or `/`), and builds its links as `/${session.id}/…`.
 * A first segment that is not an id's shape is part of the path.
 *
 * @example sessions(fn, { mapper: pathMapper() })   // GET /q3bY0b8jT4eV2xk1Gm9s_A/step2
 */
export function pathMapper(): SessionMapper {
  return {
    find: (req) => idSegment(req.path),
    create: (_req, id) => ({ key: id }),
    view(req) {
      const seg = idSegment(req.path);
      if (seg === null) return req;
      const rest = req.path.slice(1 + seg.length);
      return withRequest(req, { path: rest === '' ? '/' : rest });
    },
  };
}

/**
 * One session per peer address (`req.remoteipstr`): for a kiosk or a
 * command-line client. Every client behind one NAT or proxy shares it.
 *
 * @example sessions(fn, { mapper: peerMapper() })
 */
export function peerMapper(): SessionMapper {
  return {
    find: (req) => req.remoteipstr,
    create: (req) => ({ key: req.remoteipstr }),
  };
}

/**
 * The key is whatever `key(req)` returns (an API key, a user name from an
 * authentication header): an unknown key starts a session for that key.
 * `null` or `undefined` means the request names no session: it is answered
 * 400 (and never starts one, so a key-less flood cannot fill the registry).
 *
 * @example sessions(fn, { key: (req) => req.headers['X-Api-Key'] ?? null })
 */
export function keyMapper(key: (req: RequestDict) => string | null | undefined): SessionMapper {
  if (typeof key !== 'function') throw new TypeError('keyMapper: key must be a function (req) => string | null');
  return {
    find: (req) => {
      const k = key(req);
      if (k === null || k === undefined) return null;
      if (typeof k !== 'string') throw new TypeError(`key(req) must return a string, null or undefined, got ${typeof k}`);
      return k;
    },
    create: (_req, _id, found) => ({ key: found! }),
    requireKey: true,
  };
}

