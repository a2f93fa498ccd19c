/**
 * Composing callbacks: `withRequest` (a changed copy of a request that keeps
 * `signal`, `setTimeout` and `datastream`), `compose` (middleware around a
 * callback) and `route` (a small prefix router).
 *
 * Pure functions over callbacks: nothing here touches a socket.
 *
 * @example
 * import { registerCallback, compose, route, withRequest, type Middleware } from 'repy-http';
 * const logged: Middleware = (next) => async (req) => {
 *   const res = await next(req);
 *   console.log(req.verb, req.path, res.statuscode);
 *   return res;
 * };
 * const app = compose(logged)(route({
 *   '/jobs/': { callback: jobs, strip: true },   // jobs sees '/1' for '/jobs/1'
 *   '/api': api,                                 // '/api', '/api/...', not '/apix'
 * }));
 * await registerCallback(['127.0.0.1', 8080], app);
 *
 * @module
 */

import type { RequestDict } from './request.js';
import type { ResponseDict } from './response.js';
import type { Callback } from './server.js';

/**
 * A middleware takes the next callback and returns a callback that may look
 * at or change the request (see {@link withRequest}), answer by itself, or
 * call `next` and look at or change its response.
 *
 * @example
 * const requireToken: Middleware = (next) => (req) =>
 *   req.headers.Authorization === 'Bearer s3cret' ? next(req) : { statuscode: 401, message: 'no\n' };
 */
export type Middleware = (next: Callback) => Callback;

/**
 * A copy of `req` with some fields replaced or added, for passing on to the
 * next callback. The copy keeps every own property of `req` as it is: the
 * `signal` getter (still lazy: no AbortController is made until someone
 * reads it), `setTimeout` and the hidden control object, so `signal`,
 * `setTimeout` and `datastream` of the copy are those of the original
 * request. `req` itself is not changed.
 *
 * Changing `path` does not re-derive `querystr`/`querydict` (pass them too).
 * A plain `{ ...req, path }` works as well, but reads `req.signal` while
 * copying, which makes the request's AbortController at once.
 *
 * @example
 * const lower: Middleware = (next) => (req) => next(withRequest(req, { path: req.path.toLowerCase() }));
 * const withUser: Middleware = (next) => (req) => next(withRequest(req, { user: 'ann' }));
 */
export function withRequest<R extends RequestDict, O extends Partial<RequestDict> & object>(req: R, overrides: O): Omit<R, keyof O> & O {
  if (req === null || typeof req !== 'object') throw new TypeError('withRequest(req, overrides): req must be a request dictionary');
  if (overrides === null || typeof overrides !== 'object') throw new TypeError('withRequest(req, overrides): overrides must be an object');
  const out = Object.create(Object.getPrototypeOf(req) as object | null) as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(req)) {
    const d = Object.getOwnPropertyDescriptor(req, key)!;
    // A plain field is assigned: an ordinary property, and an object shape
    // V8 builds fast (defining every field made each copy cost ~6 µs, now ~2).
    // Not an own `__proto__`: assigning it would set the prototype.
    if (d.writable === true && d.enumerable === true && d.configurable === true && key !== '__proto__') out[key] = d.value;
    else {
      // Getters (the lazy `signal`), hidden and frozen fields: as they are,
      // but writable and configurable so overrides (and later wrappers) can replace them.
      d.configurable = true;
      if ('value' in d) d.writable = true;
      Object.defineProperty(out, key, d);
    }
  }
  for (const key of Reflect.ownKeys(overrides)) {
    const d = Object.getOwnPropertyDescriptor(overrides, key)!;
    if (!d.enumerable) continue;
    // defineProperty, not assignment: replaces the `signal` getter too, and an own `__proto__` key stays a plain key.
    Object.defineProperty(out, key, { value: (overrides as Record<PropertyKey, unknown>)[key], writable: true, enumerable: true, configurable: true });
  }
  return out as unknown as Omit<R, keyof O> & O;
}

/**
 * Wraps a callback in middlewares; the first middleware is the outermost
 * (it sees the request first and the response last).
 * `compose()(cb)` is `cb`. Throws `TypeError` when a middleware is not a
 * function or does not return one.
 *
 * A middleware that throws or rejects is like a callback that does: the
 * server answers 500, reports the error to `onError` and keeps serving.
 *
 * @example
 * const app = compose(timing, auth, cors)(handler); // timing(auth(cors(handler)))
 * await registerCallback(['127.0.0.1', 8080], app);
 */
export function compose(...middlewares: Middleware[]): (callback: Callback) => Callback {
  middlewares.forEach((m, i) => {
    if (typeof m !== 'function') throw new TypeError(`compose: middleware ${i} is not a function`);
  });
  return (callback: Callback): Callback => {
    if (typeof callback !== 'function') throw new TypeError('compose(...)(callback): callback must be a function');
    let cb = callback;
    for (let i = middlewares.length - 1; i >= 0; i--) {
      const next: unknown = middlewares[i]!(cb);
      if (typeof next !== 'function') throw new TypeError(`compose: middleware ${i} did not return a callback`);
      cb = next as Callback;
    }
    return cb;
  };
}

/** A route of {@link route}: the callback, and whether it sees the path without the prefix. */
export interface Route {
  callback: Callback;
  /**
   * Pass the path with the prefix (less its trailing `/`) taken off, as if
   * the callback were mounted there: `/jobs/` or `/jobs` turns `/jobs/1`
   * into `/1` and `/jobs` into `/`. Default false: the path as sent.
   */
  strip?: boolean;
}

/** `route`'s default fallback: 404 with a short text. */
export function notFound(_req: RequestDict): ResponseDict {
  return { statuscode: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, message: 'Not Found\n' };
}

interface CompiledRoute {
  /** The prefix as given. */
  prefix: string;
  /** The prefix without its trailing `/` (what `strip` takes off; '' for '/'). */
  base: string;
  callback: Callback;
  strip: boolean;
}

/**
 * The origin-form path a request is routed on: the path itself, or for an
 * absolute-form target (`http://host/x`, RFC 9112 §3.2.2) its path part
 * (`/` when it has none); null for `*` and authority-form (CONNECT).
 */
function routingPath(path: string): string | null {
  if (path.startsWith('/')) return path;
  const scheme = path.indexOf('://');
  if (scheme <= 0) return null;
  const slash = path.indexOf('/', scheme + 3);
  return slash === -1 ? '/' : path.slice(slash);
}

function matches(path: string, r: CompiledRoute): boolean {
  if (!path.startsWith(r.prefix)) return false;
  // `/jobs/` (ending in /) matches all below it; `/jobs` also needs a segment boundary next.
  return r.prefix.endsWith('/') || path.length === r.prefix.length || path.charCodeAt(r.prefix.length) === 0x2f;
}

/**
 * A prefix router. Each key of `table` is a path prefix starting with `/`;
 * the longest prefix that matches the request's path wins, else `fallback`
 * (default: a 404, {@link notFound}) gets the request.
 *
 * Prefixes match on path-segment boundaries, byte for byte (case-sensitive,
 * undecoded):
 * - `/jobs/` matches `/jobs/` and everything below (`/jobs/1`), not `/jobs`;
 * - `/jobs` matches `/jobs`, `/jobs/` and everything below, not `/jobsx`;
 * - `/` matches every origin-form path.
 *
 * An absolute-form target (`GET http://host/jobs/1`) is routed on its path
 * part; `*` (OPTIONS) and authority-form (CONNECT) go to `fallback`.
 * The query is not part of the match. Dot-segments and percent-encoding are
 * not normalized: `/jobs/../admin` goes to `/jobs/`'s callback, which must
 * not map the path onto files without normalizing it.
 *
 * The routed callback gets the request itself (same `path`), or with
 * `strip: true` a {@link withRequest} copy whose `path` lacks the prefix.
 * Throws `TypeError` for a bad table.
 *
 * @example
 * const app = route({
 *   '/jobs/': jobsCallback,                        // sees '/jobs/1'
 *   '/api/': { callback: apiCallback, strip: true }, // sees '/v1/x' for '/api/v1/x'
 * }, (req) => ({ statuscode: 404, message: `no ${req.path}\n` }));
 */
export function route(table: Readonly<Record<string, Callback | Route>>, fallback: Callback = notFound): Callback {
  if (table === null || typeof table !== 'object') throw new TypeError('route(table, fallback): table must be an object of prefix → callback');
  if (typeof fallback !== 'function') throw new TypeError('route(table, fallback): fallback must be a function');
  const routes: CompiledRoute[] = [];
  for (const prefix of Object.keys(table)) {
    if (!prefix.startsWith('/')) throw new TypeError(`route: prefix ${JSON.stringify(prefix)} must start with "/"`);
    const entry = table[prefix] as unknown;
    let callback: unknown;
    let strip = false;
    if (typeof entry === 'function') callback = entry;
    else if (entry !== null && typeof entry === 'object') {
      callback = (entry as Route).callback;
      strip = (entry as Route).strip === true;
    }
    if (typeof callback !== 'function') throw new TypeError(`route: the route for ${JSON.stringify(prefix)} must be a callback or { callback, strip }`);
    routes.push({ prefix, base: prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, callback: callback as Callback, strip });
  }
  routes.sort((a, b) => b.prefix.length - a.prefix.length);
  return (req) => {
    const path = routingPath(req.path);
    if (path !== null) {
      for (const r of routes) {
        if (!matches(path, r)) continue;
        if (!r.strip) return r.callback(req);
        return r.callback(withRequest(req, { path: path.length === r.base.length ? '/' : path.slice(r.base.length) }));
      }
    }
    return fallback(req);
  };
}
