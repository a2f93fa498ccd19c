/**
 * `idempotent(callback, options)`: the server side of
 * draft-ietf-httpapi-idempotency-key-header. A request with an
 * `Idempotency-Key` runs the callback once; its response is stored and
 * replayed, byte for byte, to every retry with the same key and the same
 * content (`Idempotent-Replayed: true`), without calling the callback again.
 *
 * | request | answer |
 * | --- | --- |
 * | new key | the callback's response (stored unless 5xx/408/409/429) |
 * | same key, same content, done | the stored response + `Idempotent-Replayed: true` |
 * | same key, same content, still running | 409 + `Retry-After: 1` |
 * | same key, other content (or query) | 422 |
 * | bad key (empty, > 255, not a string or token, two fields) | 400 |
 * | no key, `required: true` | 400 |
 * | store failing or full | 503 + `Retry-After: 1` (reported to `onError`) |
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { withRequest } from '../server/compose.js';
import { reportToStderr } from '../server/options.js';
import { DataStream, type RequestDict } from '../server/request.js';
import type { ResponseDict, ResponseMessage } from '../server/response.js';
import type { Callback } from '../server/server.js';
import { ValueError } from '../errors.js';
import { parseKeyField } from './key.js';
import { memoryStore } from './memory-store.js';
import type { IdempotencyStore, StoredResponse } from './store.js';

/** Options of {@link idempotent}. */
export interface IdempotencyOptions {
  /** Where keys and responses are kept; default a new `memoryStore()` (per wrapped callback). */
  store?: IdempotencyStore;
  /** How long a response is replayed (ms); default 24 h. After it, the key is new again. */
  ttl?: number;
  /** How long a lock (a request in flight) holds before it counts as abandoned (ms); default 5 min. */
  lockTimeout?: number;
  /** Refuse requests of `methods` without a key (400); default false: they run as usual. */
  required?: boolean;
  /** The methods keys apply to; default POST and PATCH. Other methods pass through untouched. */
  methods?: readonly string[];
  /** The caller's identity (e.g. the authenticated user), so that two callers' keys never collide. */
  scope?: (req: RequestDict) => string | Promise<string>;
  /** Most bytes of a streamed response that are buffered to be stored; default 1 MiB. Past it the response is streamed on, not stored, and the key released. */
  maxStoredBody?: number;
  /** Where store failures go (the request gets a 503); default: stderr, like the server's own `onError`. `null`: nowhere. */
  onError?: ((err: unknown, req: RequestDict | null) => void) | null;
}

/** The defaults of {@link IdempotencyOptions}. */
export const IDEMPOTENCY_DEFAULTS = Object.freeze({
  ttl: 24 * 60 * 60 * 1000,
  lockTimeout: 5 * 60 * 1000,
  methods: Object.freeze(['POST', 'PATCH']) as readonly string[],
  maxStoredBody: 1024 * 1024,
});

/** The request's parsed key, set on the copy handed to the callback. */
const KEY = Symbol('repy-http.idempotencyKey');

/** Statuses that mean "not done, try again": not stored, the key is released (like a throw). */
function releases(status: number): boolean {
  return status >= 500 || status === 408 || status === 409 || status === 429;
}

const PROBLEM = 'application/problem+json';

/** An RFC 9457 problem response. */
function problem(status: number, title: string, detail: string, extra: Record<string, string> = {}): ResponseDict {
  return { statuscode: status, headers: { 'Content-Type': PROBLEM, ...extra }, message: JSON.stringify({ title, detail }) + '\n' };
}

/**
 * The request's `Idempotency-Key`: on the request a wrapped callback
 * receives, the key `idempotent` accepted; on any other request, the
 * field parsed as `idempotent` would (null when absent or invalid). A
 * callback whose effect lives in its own database stores this key in the
 * same transaction as the effect, and looks it up first: that makes the
 * effect exactly-once even if the process dies between the effect and the
 * store's record (docs/exactly-once.md).
 *
 * @example
 * const app = idempotent(async (req) => {
 *   const key = idempotencyKey(req);          // 'order-7f3a'
 *   const done = db.findTransfer(key);         // committed before? answer the same
 *   if (done) return json(done, 201);
 *   return json(db.transfer(key, await body.json(req)), 201); // key and effect in one transaction
 * });
 */
export function idempotencyKey(req: RequestDict): string | null {
  const own = (req as unknown as Record<symbol, unknown>)[KEY];
  if (typeof own === 'string') return own;
  const lines = keyLines(req);
  if (lines.length !== 1) return null;
  const p = parseKeyField(lines[0]!);
  return 'key' in p ? p.key : null;
}

function keyLines(req: RequestDict): string[] {
  const out: string[] = [];
  for (const [n, v] of req.rawheaders) if (n.length === 15 && n.toLowerCase() === 'idempotency-key') out.push(v);
  return out;
}

function checkOptions(o: IdempotencyOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('idempotent(callback, options): options must be an object');
  const known = ['store', 'ttl', 'lockTimeout', 'required', 'methods', 'scope', 'maxStoredBody', 'onError'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new ValueError(`unknown option ${JSON.stringify(k)}`);
  for (const name of ['ttl', 'lockTimeout', 'maxStoredBody'] as const) {
    const v = o[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`options.${name} must be a number`);
    if (!(v > 0)) throw new ValueError(`options.${name} must be positive`);
  }
  if (o.store !== undefined) {
    for (const m of ['begin', 'complete', 'release', 'get'] as const) {
      if (typeof (o.store as unknown as Record<string, unknown>)?.[m] !== 'function') throw new TypeError(`options.store must implement ${m}()`);
    }
  }
  if (o.methods !== undefined && (!Array.isArray(o.methods) || o.methods.some((m) => typeof m !== 'string'))) throw new TypeError('options.methods must be an array of strings');
  if (o.scope !== undefined && typeof o.scope !== 'function') throw new TypeError('options.scope must be a function');
  if (o.onError !== undefined && o.onError !== null && typeof o.onError !== 'function') throw new TypeError('options.onError must be a function or null');
  if (o.required !== undefined && typeof o.required !== 'boolean') throw new TypeError('options.required must be a boolean');
}

/**
 * Wraps `callback` so that requests with an `Idempotency-Key` take effect
 * once (see the module comment for every answer). The callback receives a
 * copy of the request whose `datastream` holds the content already read
 * (it was needed for the fingerprint) and whose key `idempotencyKey(req)`
 * returns.
 *
 * A callback that throws, or answers 5xx (or 408, 409, 429), releases the
 * key: a retry runs it again. Those answers say that the request did not
 * take effect (or may be retried), and storing them would turn a passing
 * failure (a database restart) into a permanent one for that key.
 *
 * Throws TypeError / ValueError for bad options.
 *
 * @example
 * import { registerCallback, json } from 'repy-http';
 * import { idempotent, fileStore } from 'repy-http/idempotency';
 * const app = idempotent(async (req) => json({ id: createOrder(await req.datastream.read()) }, 201),
 *   { store: fileStore('./orders.journal'), required: true });
 * await registerCallback(['127.0.0.1', 8080], app);
 */
export function idempotent(callback: Callback, options: IdempotencyOptions = {}): Callback {
  if (typeof callback !== 'function') throw new TypeError('idempotent(callback, options): callback must be a function');
  checkOptions(options);
  const store = options.store ?? memoryStore();
  const ttl = options.ttl ?? IDEMPOTENCY_DEFAULTS.ttl;
  const lockTimeout = options.lockTimeout ?? IDEMPOTENCY_DEFAULTS.lockTimeout;
  const methods = new Set(options.methods ?? IDEMPOTENCY_DEFAULTS.methods);
  const maxStoredBody = options.maxStoredBody ?? IDEMPOTENCY_DEFAULTS.maxStoredBody;
  const onError = options.onError === undefined ? reportToStderr : options.onError;
  const report = (err: unknown, req: RequestDict): void => {
    try {
      onError?.(err, req);
    } catch {
      // a failing reporter must not turn a 503 into a 500
    }
  };

  return async (req: RequestDict): Promise<ResponseDict> => {
    if (!methods.has(req.verb)) return callback(req);
    const lines = keyLines(req);
    if (lines.length === 0) {
      if (options.required === true) return problem(400, 'Idempotency-Key is required', `${req.verb} requests to this resource need an Idempotency-Key field.`);
      return callback(req);
    }
    if (lines.length > 1) return problem(400, 'Invalid Idempotency-Key', 'one Idempotency-Key field only');
    const parsed = parseKeyField(lines[0]!);
    if ('error' in parsed) return problem(400, 'Invalid Idempotency-Key', parsed.error);
    const key = parsed.key;

    // The fingerprint needs the content; the callback then reads it from a copy.
    const content = await req.datastream.read();
    const fingerprint = createHash('sha256').update(req.querystr ?? '').update('\0').update(content).digest('hex');
    const scope = options.scope === undefined ? '' : String(await options.scope(req));
    const storeKey = JSON.stringify([scope, req.verb, req.path, key]);

    let begun;
    try {
      begun = await store.begin(storeKey, fingerprint, lockTimeout);
    } catch (e) {
      report(e, req);
      return problem(503, 'Idempotency store unavailable', 'try again later', { 'Retry-After': '1' });
    }
    if (begun.state !== 'acquired') {
      if (begun.fingerprint !== fingerprint) {
        return problem(422, 'Idempotency-Key reused', 'this key was used for a request with other content; use a new key for a new request');
      }
      if (begun.state === 'in-flight') {
        return problem(409, 'Request in progress', 'a request with this Idempotency-Key is still being processed', { 'Retry-After': '1' });
      }
      return replay(begun.response);
    }

    const token = begun.token;
    const release = (): Promise<unknown> => store.release(storeKey, token).catch((e: unknown) => report(e, req));
    const stream = new DataStream(Infinity, () => {});
    stream.push(content);
    stream.end(req.datastream.trailers);
    let res: ResponseDict;
    try {
      res = await callback(withRequest(req, { datastream: stream, [KEY]: key }));
    } catch (e) {
      await release();
      throw e;
    }
    if (res === null || typeof res !== 'object' || typeof res.statuscode !== 'number' || releases(res.statuscode)) {
      await release();
      return res; // the server validates it (an invalid dictionary is its 500)
    }
    let buffered: { body: Buffer } | { partial: ResponseMessage };
    try {
      buffered = await bufferMessage(res.message, maxStoredBody);
    } catch (e) {
      await release();
      throw e;
    }
    if ('partial' in buffered) {
      await release();
      return { ...res, message: buffered.partial };
    }
    const stored: StoredResponse = {
      statuscode: res.statuscode,
      statusmsg: typeof res.statusmsg === 'string' ? res.statusmsg : null,
      headers: storedHeaders(res.headers),
      body: buffered.body,
    };
    try {
      await store.complete(storeKey, token, fingerprint, stored, ttl);
    } catch (e) {
      // The effect happened and the answer exists: send it (a client that
      // gets it does not retry), but it could not be made durable.
      report(e, req);
      await release();
    }
    return { ...res, message: buffered.body };
  };
}

/** The stored response as a response dictionary, marked as a replay. */
function replay(r: StoredResponse): ResponseDict {
  const out: ResponseDict = { statuscode: r.statuscode, headers: { ...r.headers, 'Idempotent-Replayed': 'true' }, message: r.body };
  if (r.statusmsg !== null) out.statusmsg = r.statusmsg;
  return out;
}

/** The callback's fields as stored: strings or arrays of strings; null and undefined left out. */
function storedHeaders(h: ResponseDict['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (h === null || typeof h !== 'object') return out;
  for (const [name, v] of Object.entries(h)) {
    if (v === undefined || v === null) continue;
    out[name] = Array.isArray(v) ? v.map(String) : String(v);
  }
  return out;
}

type Chunk = string | Uint8Array;

/** The `message` as an async iterator of chunks, in the order the server checks its types; and how to close it. */
function chunksOf(m: Exclude<ResponseMessage, string | Uint8Array | null | undefined>): AsyncIterator<Chunk> {
  const obj = m as unknown as Record<PropertyKey, unknown>;
  if (typeof obj[Symbol.asyncIterator] === 'function') return (m as AsyncIterable<Chunk>)[Symbol.asyncIterator]();
  if (typeof obj.read === 'function') {
    const file = m as { read(n: number): Chunk | Promise<Chunk>; close?(): unknown };
    return (async function* () {
      try {
        for (;;) {
          const c = await file.read(65536);
          if (c.length === 0) return;
          yield c;
        }
      } finally {
        await file.close?.();
      }
    })();
  }
  const it = (m as Iterable<Chunk>)[Symbol.iterator]();
  return { next: async () => it.next(), return: async () => (it.return?.(), { done: true, value: undefined }) };
}

/**
 * Reads a `message` into one Buffer, up to `limit` bytes. Past the limit
 * (or for content that is not a string, bytes or a stream: the server will
 * refuse it) the message is handed back to be streamed on as it is: the
 * chunks already read, then the rest.
 */
async function bufferMessage(m: ResponseMessage, limit: number): Promise<{ body: Buffer } | { partial: ResponseMessage }> {
  if (m === null || m === undefined) return { body: Buffer.alloc(0) };
  if (typeof m === 'string') return { body: Buffer.from(m, 'utf8') };
  if (m instanceof Uint8Array) return { body: Buffer.from(m.buffer, m.byteOffset, m.byteLength) };
  if (typeof m !== 'object') return { partial: m };
  const it = chunksOf(m);
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const r = await it.next();
    if (r.done === true) return { body: Buffer.concat(chunks, size) };
    const c = r.value;
    if (typeof c !== 'string' && !(c instanceof Uint8Array)) {
      chunks.push(c as never);
      break; // not content: let the server refuse it
    }
    const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    chunks.push(b);
    size += b.length;
    if (size > limit) break;
  }
  const destroy = (m as { destroy?: () => void }).destroy;
  return {
    partial: (async function* () {
      try {
        yield* chunks;
        for (;;) {
          const r = await it.next();
          if (r.done === true) return;
          yield r.value;
        }
      } finally {
        await it.return?.();
        if (typeof destroy === 'function') destroy.call(m);
      }
    })(),
  };
}
