/**
 * `withInspector`: wraps a callback so that every request it answers can be
 * watched live on a page at `/_inspect/` — its raw bytes, what the parser
 * made of each byte, the request dictionary, the response bytes.
 *
 * Why a path and not a second port: the page then has the same origin as
 * nothing else but the server it inspects, needs no second listener (nor a
 * second address to keep private), and works wherever the server is
 * reachable, behind the same proxy; a second port would also make the
 * page's own requests invisible, which they are anyway: requests under the
 * prefix are served by the inspector and never recorded.
 *
 * @module
 */

import type { Callback } from '../server/server.js';
import type { RequestDict } from '../server/request.js';
import type { ResponseDict } from '../server/response.js';
import type { RawTap } from '../server/tap.js';
import { RANGE_RULES, type ParserOptions } from '../parser/index.js';
import { eventStream, type EventStream } from '../sse/index.js';
import { loadAssets } from './assets.js';
import { Recorder, type ExchangeRecord, type RecorderOptions } from './recorder.js';

/** Options of {@link withInspector}. */
export interface InspectorOptions extends Omit<RecorderOptions, 'hidePrefix'> {
  /** Where the page is served (default `/_inspect`): `${path}/` is the page, `${path}/events` the feed. */
  path?: string;
  /** Where the compiled parser modules are (default: found beside the package's dist/). */
  parserDir?: string;
  /** The server's parser options when they are not the defaults (both parsers must agree). */
  parser?: ParserOptions;
}

/** What {@link withInspector} returns. */
export interface Inspector {
  /** The wrapped callback: register this. */
  callback: Callback;
  /** The `onRaw` server option: pass it to `registerCallback`. */
  onRaw: RawTap;
  /** The recorded exchanges and their listener. */
  recorder: Recorder;
  /** Ends the open event streams (e.g. before `stopCallback`, so that it need not wait for them). */
  close(): void;
}

/**
 * The strict Content-Security-Policy of every inspector response: only the
 * page's own files, no inline script or style, no framing, no forms, no
 * plugins. Request bytes are shown with `textContent` only; the policy is
 * the second wall if that ever failed.
 *
 * @example INSPECTOR_CSP.startsWith("default-src 'self'") // true
 */
export const INSPECTOR_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'Content-Security-Policy': INSPECTOR_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * A record as the page receives it on the feed: the bytes in base64.
 *
 * @example JSON.stringify(recordJson(insp.recorder.history[0])) // '{"id":1,…,"request":{"base64":"R0VUIC8…","total":78,…}}'
 */
export function recordJson(r: ExchangeRecord): Record<string, unknown> {
  const bytes = (b: { bytes: Uint8Array; total: number; truncated: boolean; outcome: unknown } | null): unknown =>
    b === null ? null : { base64: Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.length).toString('base64'), total: b.total, truncated: b.truncated, outcome: b.outcome };
  return { ...r, request: bytes(r.request), response: bytes(r.response) };
}

/**
 * Wraps `callback` with the inspector. Register the returned `callback`
 * with the returned `onRaw`; open `http://HOST:PORT/_inspect/` in a browser.
 * Everything a request carries (cookies, credentials) is shown to whoever
 * opens the page: listen on a loopback address.
 *
 * @example
 * import { registerCallback } from 'repy-http';
 * import { withInspector } from 'repy-http/inspector';
 * const insp = withInspector((req) => ({ statuscode: 200, headers: {}, message: `hi ${req.path}\n` }));
 * await registerCallback(['127.0.0.1', 8080], insp.callback, { onRaw: insp.onRaw });
 * // open http://127.0.0.1:8080/_inspect/
 */
export function withInspector(callback: Callback, options: InspectorOptions = {}): Inspector {
  if (typeof callback !== 'function') throw new TypeError('withInspector(callback): callback must be a function');
  const prefix = options.path ?? '/_inspect';
  if (!prefix.startsWith('/') || prefix.endsWith('/') || prefix.length < 2) throw new TypeError('inspector: options.path must start with / and not end with /');
  const recorder = new Recorder({ ...options, hidePrefix: prefix });
  const { files, parserFound } = loadAssets(options.parserDir);
  const streams = new Set<EventStream>();
  recorder.onRecord = (r) => {
    if (streams.size === 0) return;
    const data = JSON.stringify(recordJson(r));
    for (const s of streams) void s.send({ event: 'exchange', data });
  };

  const page = (req: RequestDict): ResponseDict => {
    if (req.path === prefix) return { statuscode: 308, headers: { Location: `${prefix}/`, ...SECURITY_HEADERS }, message: '' };
    const name = req.path === `${prefix}/` ? 'index.html' : req.path.slice(prefix.length + 1);
    if (name === 'events') {
      const s = eventStream(req, { heartbeat: 15_000, headers: SECURITY_HEADERS });
      streams.add(s);
      void s.closed.then(() => streams.delete(s));
      void s.send({ event: 'hello', data: JSON.stringify({ parserFound, history: recorder.history.length, rules: RANGE_RULES }) });
      for (const r of recorder.history) void s.send({ event: 'exchange', data: JSON.stringify(recordJson(r)) });
      return s.response;
    }
    const f = files.get(name);
    if (f === undefined || (req.verb !== 'GET' && req.verb !== 'HEAD')) {
      return { statuscode: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }, message: 'not found\n' };
    }
    return { statuscode: 200, headers: { 'Content-Type': f.type, ...SECURITY_HEADERS }, message: f.body };
  };

  const wrapped: Callback = (req) => {
    if (req.path === prefix || req.path.startsWith(`${prefix}/`)) return page(req);
    recorder.sawRequest(req);
    return callback(req);
  };
  return {
    callback: wrapped,
    onRaw: recorder.tap,
    recorder,
    close() {
      for (const s of streams) s.close();
    },
  };
}
