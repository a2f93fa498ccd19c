/**
 * Seeded input generator for the fuzz and differential tests: VALID requests
 * (RFC 9110 / RFC 9112 conformant byte strings with the number of complete
 * messages they hold) and MUTATIONS of them (byte flips, inserted control and
 * non-ASCII bytes, deletions, repeated or case-changed framing fields, huge
 * numbers, whitespace around the colon, obs-fold, bare LF / CR, truncation).
 *
 * Apart from these, ATTACK shapes (issue #8, {@link attackAt}): long runs of
 * SP, HTAB, ";", "%" or "," in the places a parser scans with loops or
 * regular expressions, and chunked bodies of thousands of 1-byte chunks,
 * each buildable at any scale for the linearity and memory properties.
 *
 * Deterministic: input `i` of seed `s` is always the same bytes, whatever
 * else is generated ({@link inputAt}, {@link attackAt}), so a failure is
 * reproduced by `(seed, index)` alone. No dependencies.
 *
 * @example
 * for (const input of generate(1, 1000)) parseMessages(input.bytes);
 * inputAt(1, 417); // the same input as the 418th of generate(1, n)
 */

/** mulberry32: a small, fast 32-bit PRNG; good enough to pick bytes and shapes. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [a, b]. */
  range(a: number, b: number): number {
    return a + this.int(b - a + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of items) total += w;
    let r = this.float() * total;
    for (const [w, v] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1]![1];
  }

  /** A string of `n` characters drawn from `alphabet`. */
  str(alphabet: string, n: number): string {
    let s = '';
    for (let k = 0; k < n; k++) s += alphabet[this.int(alphabet.length)]!;
    return s;
  }
}

/** Mixes a seed and an index into an independent 32-bit seed (splitmix-style finaliser). */
export function mixSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca77) ^ 0x27d4eb2f) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** One generated input. */
export interface FuzzInput {
  bytes: Buffer;
  /** True when the bytes are a conformant request sequence (RFC 9110/9112) that must parse without error. */
  valid: boolean;
  /** What was generated: `valid:<features>` or `mut:<mutation>[+<mutation>...]`. */
  kind: string;
  /** Valid inputs only: complete messages the parser must report (without EOF). */
  messages: number;
  /** Valid inputs only: the last message switches protocols (CONNECT / Upgrade); bytes after it are not HTTP. */
  upgrade: boolean;
  /** The seed and index that reproduce this input through {@link inputAt}. */
  seed: number;
  index: number;
}

// ------------------------------------------------------------------ tables

const DIGIT = '0123456789';
const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const HEXDIG = '0123456789abcdefABCDEF';
/** RFC 9110 §5.6.2 tchar. */
export const TCHAR = `!#$%&'*+-.^_\`|~${DIGIT}${ALPHA}`;
/** RFC 3986 §2.3 unreserved. */
const UNRESERVED = `${ALPHA}${DIGIT}-._~`;
/** RFC 3986 §2.2 sub-delims. */
const SUB_DELIMS = "!$&'()*+,;=";
/** RFC 3986 §3.3 pchar (without pct-encoded, added separately). */
const PCHAR = `${UNRESERVED}${SUB_DELIMS}:@`;
/** RFC 3986 §3.4 query characters. */
const QCHAR = `${PCHAR}/?`;
/** VCHAR (%x21-7E). */
const VCHAR = (() => {
  let s = '';
  for (let b = 0x21; b <= 0x7e; b++) s += String.fromCharCode(b);
  return s;
})();
/** obs-text (%x80-FF), RFC 9110 §5.5: allowed in field values. */
const OBS_TEXT = (() => {
  let s = '';
  for (let b = 0x80; b <= 0xff; b++) s += String.fromCharCode(b);
  return s;
})();
/** qdtext without the quote and backslash (RFC 9110 §5.6.4), plus obs-text. */
const QDTEXT = `${VCHAR.replace(/["\\]/g, '')} \t${OBS_TEXT}`;

/** Methods of RFC 9110 §9 and registered extensions llhttp knows. */
const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH'] as const;
const KNOWN_EXTENSION_METHODS = ['PURGE', 'MKCOL', 'PROPFIND', 'PROPPATCH', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'LINK', 'UNLINK', 'QUERY', 'MKCALENDAR', 'BIND'] as const;
/** Field names this generator frames or switches with: random fields avoid them. */
const RESERVED_FIELDS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect', 'te', 'trailer', 'keep-alive', 'proxy-connection']);
const COMMON_FIELDS: readonly (readonly [string, (r: Rng) => string])[] = [
  ['User-Agent', (r) => `fuzz/${r.range(0, 9)}.${r.range(0, 99)} (${r.pick(['X11', 'Windows NT 10.0', 'Macintosh'])})`],
  ['Accept', (r) => r.pick(['*/*', 'text/html,application/xhtml+xml;q=0.9', 'application/json', 'image/avif,image/webp,*/*;q=0.8'])],
  ['Accept-Encoding', (r) => r.pick(['gzip, deflate, br', 'identity', '*'])],
  ['Accept-Language', (r) => r.pick(['en-US,en;q=0.5', 'de', 'fr-CH, fr;q=0.9, en;q=0.8'])],
  ['Cookie', (r) => `a=${r.str(UNRESERVED, r.range(1, 12))}; b=${r.str(DIGIT, r.range(1, 5))}`],
  ['Content-Type', (r) => r.pick(['text/plain', 'application/json; charset=utf-8', 'multipart/form-data; boundary=x'])],
  ['Authorization', (r) => `Basic ${Buffer.from(r.str(ALPHA, 8)).toString('base64')}`],
  ['Cache-Control', (r) => r.pick(['no-cache', 'max-age=0', 'no-store, no-transform'])],
  ['Referer', (r) => `http://example.com/${r.str(UNRESERVED, r.range(0, 10))}`],
  ['X-Forwarded-For', (r) => `${r.range(1, 254)}.${r.range(0, 255)}.${r.range(0, 255)}.${r.range(1, 254)}`],
  ['If-None-Match', (r) => `"${r.str(HEXDIG, 8)}"`],
  ['Range', (r) => `bytes=${r.range(0, 100)}-${r.range(101, 999)}`],
  ['Origin', () => 'http://example.com'],
  ['DNT', () => '1'],
];
const HOSTS = ['example.com', 'localhost', 'a.b.example', '127.0.0.1', '[::1]', '[2001:db8::7]', '[::ffff:10.0.0.1]', '[v7.abc]', 'xn--bcher-kva.example', 'h_1.test', 'ex%41mple.com', "a-b~c!$&'()*+,;=.test"] as const;

/** One request of a valid sequence, kept structured so mutations can act on fields. */
interface Msg {
  /** Empty lines before the request line (RFC 9112 §2.2: a server SHOULD ignore at least one). */
  leading: string;
  method: string;
  target: string;
  /** `HTTP/1.x`, or null for an HTTP/0.9 simple request. */
  version: string | null;
  /** Field lines: name, value, OWS before and after the value. */
  fields: Field[];
  /** The message body as sent (already chunk-encoded when chunked), latin1. */
  body: string;
  chunked: boolean;
  /** Chunked framing pieces (for chunk-size mutations): the body is rebuilt from them. */
  chunks: Chunk[];
  trailers: Field[];
  closes: boolean;
  upgrade: boolean;
}

interface Field {
  name: string;
  value: string;
  pre: string;
  post: string;
}

interface Chunk {
  size: string;
  ext: string;
  data: string;
}

// --------------------------------------------------------- valid requests

function token(r: Rng, min: number, max: number): string {
  return r.str(TCHAR, r.range(min, max));
}

function pct(r: Rng): string {
  return `%${r.str(HEXDIG, 2)}`;
}

function pathSegment(r: Rng): string {
  let s = '';
  const n = r.range(0, 10);
  for (let k = 0; k < n; k++) s += r.chance(0.08) ? pct(r) : r.str(PCHAR, 1);
  return s;
}

function originForm(r: Rng): string {
  let p = '';
  const segs = r.range(1, 4);
  for (let k = 0; k < segs; k++) p += `/${pathSegment(r)}`;
  if (r.chance(0.35)) {
    p += '?';
    const n = r.range(0, 14);
    for (let k = 0; k < n; k++) p += r.chance(0.08) ? pct(r) : r.str(QCHAR, 1);
  }
  return p;
}

function regName(r: Rng): string {
  const labels = r.range(1, 3);
  const out: string[] = [];
  for (let k = 0; k < labels; k++) out.push(r.str(`${ALPHA}${DIGIT}`, 1) + r.str(`${ALPHA}${DIGIT}-`, r.range(0, 8)) + r.str(`${ALPHA}${DIGIT}`, 1));
  return out.join('.');
}

function hostValue(r: Rng): string {
  const host = r.chance(0.6) ? r.pick(HOSTS) : regName(r);
  return r.chance(0.3) ? `${host}:${r.range(1, 65535)}` : host;
}

/** field-value: field-content with inner SP/HTAB, VCHAR and (rarely) obs-text; may be empty. */
function fieldValue(r: Rng): string {
  const n = r.weighted([[1, 0], [6, r.range(1, 12)], [2, r.range(13, 60)]] as const);
  let s = '';
  for (let k = 0; k < n; k++) {
    const edge = k === 0 || k === n - 1;
    const alphabet = r.weighted([
      [20, VCHAR],
      [edge ? 0 : 3, ' \t'],
      [1, OBS_TEXT],
    ] as const);
    s += r.str(alphabet, 1);
  }
  return s;
}

function ows(r: Rng, p: number): string {
  return r.chance(p) ? r.str(' \t', r.range(1, 3)) : '';
}

function fieldName(r: Rng): string {
  for (;;) {
    const name = r.chance(0.5) ? `X-${token(r, 1, 12)}` : token(r, 1, 16);
    if (!RESERVED_FIELDS.has(name.toLowerCase())) return name;
  }
}

function randomCase(r: Rng, s: string): string {
  let out = '';
  for (const ch of s) out += r.chance(0.5) ? ch.toUpperCase() : ch.toLowerCase();
  return out;
}

function framingName(r: Rng, canonical: string): string {
  return r.weighted([[8, canonical], [2, canonical.toLowerCase()], [1, canonical.toUpperCase()], [1, randomCase(r, canonical)]] as const);
}

function field(r: Rng, name: string, value: string): Field {
  return { name, value, pre: r.weighted([[8, ' '], [1, ''], [1, ows(r, 1)]] as const), post: ows(r, 0.08) };
}

function chunkExt(r: Rng): string {
  let s = '';
  const n = r.range(1, 3);
  for (let k = 0; k < n; k++) {
    s += `;${token(r, 1, 8)}`;
    if (r.chance(0.6)) {
      if (r.chance(0.5)) s += `=${token(r, 1, 8)}`;
      else {
        let q = '';
        const m = r.range(0, 10);
        for (let j = 0; j < m; j++) q += r.chance(0.1) ? `\\${r.str(`${VCHAR} \t${OBS_TEXT}`, 1)}` : r.str(QDTEXT, 1);
        s += `="${q}"`;
      }
    }
  }
  return s;
}

function bodyBytes(r: Rng, n: number): string {
  const binary = r.chance(0.3);
  let s = '';
  for (let k = 0; k < n; k++) s += binary ? String.fromCharCode(r.int(256)) : r.str(`${ALPHA}${DIGIT} \r\n{}":,`, 1);
  return s;
}

function sizeHex(r: Rng, n: number): string {
  let h = n.toString(16);
  if (r.chance(0.3)) h = h.toUpperCase();
  if (r.chance(0.1)) h = '0'.repeat(r.range(1, 3)) + h;
  return h;
}

function encodeChunks(chunks: Chunk[], trailers: Field[]): string {
  let s = '';
  for (const c of chunks) s += `${c.size}${c.ext}\r\n${c.data}${c.size.replace(/^0+/, '') === '' ? '' : '\r\n'}`;
  for (const t of trailers) s += `${t.name}:${t.pre}${t.value}${t.post}\r\n`;
  return `${s}\r\n`;
}

/** Builds one valid request. `last`: it may close the connection or switch protocols. */
function validMsg(r: Rng, last: boolean, features: Set<string>): Msg {
  const m: Msg = { leading: '', method: 'GET', target: '/', version: 'HTTP/1.1', fields: [], body: '', chunked: false, chunks: [], trailers: [], closes: false, upgrade: false };
  if (r.chance(0.03)) {
    m.leading = '\r\n';
    features.add('leading-crlf');
  }
  // HTTP/0.9 simple request (RFC 1945 §4.1): GET origin-form, no headers, closes.
  if (last && r.chance(0.04)) {
    m.target = originForm(r);
    m.version = null;
    m.closes = true;
    features.add('0.9');
    return m;
  }
  const minor = r.weighted([[72, 1], [24, 0], [4, r.range(2, 9)]] as const);
  m.version = `HTTP/1.${minor}`;
  if (minor === 0) features.add('1.0');
  if (minor > 1) features.add('1.x>1');
  const http11 = minor >= 1;

  m.method = r.weighted([
    [30, 'GET'],
    [14, 'POST'],
    [25, r.pick(STANDARD_METHODS)],
    [last && http11 ? 3 : 0, 'CONNECT'],
    [4, r.pick(KNOWN_EXTENSION_METHODS)],
    [4, 'ext'],
  ] as const);
  if (m.method === 'ext') {
    m.method = r.chance(0.5) ? token(r, 1, 10) : r.str('ABCDEFGHIJKLMNOPQRSTUVWXYZ-_', r.range(3, 10));
    features.add('ext-method');
  }

  // Target form (RFC 9112 §3.2).
  let authority = hostValue(r);
  if (m.method === 'CONNECT') {
    authority = `${r.chance(0.5) ? r.pick(HOSTS) : regName(r)}:${r.range(1, 65535)}`;
    m.target = authority;
    features.add('connect');
  } else if (m.method === 'OPTIONS' && r.chance(0.4)) {
    m.target = '*';
    features.add('asterisk');
  } else if (r.chance(0.12)) {
    m.target = `${r.pick(['http', 'https', 'HTTP'])}://${authority}${r.chance(0.9) ? originForm(r) : ''}`;
    features.add('absolute-form');
  } else m.target = originForm(r);

  const fields: Field[] = [];
  if (http11 || r.chance(0.5)) {
    const empty = m.method !== 'CONNECT' && !m.target.includes('://') && r.chance(0.03);
    fields.push(field(r, framingName(r, 'Host'), empty ? '' : authority));
    if (empty) features.add('empty-host');
  }
  const extra = r.weighted([[2, 0], [5, r.range(1, 4)], [2, r.range(5, 12)], [0.2, r.range(30, 90)]] as const);
  for (let k = 0; k < extra; k++) {
    if (r.chance(0.5)) {
      const [name, gen] = r.pick(COMMON_FIELDS);
      fields.push(field(r, name, gen(r)));
    } else fields.push(field(r, fieldName(r), fieldValue(r)));
  }
  if (fields.some((f) => /[\x80-\xff]/.test(f.value))) features.add('obs-text');

  // Connection management (RFC 9112 §9.3) and protocol switch (RFC 9110 §7.8).
  let closes = !http11;
  if (last && m.method !== 'CONNECT' && http11 && r.chance(0.06)) {
    fields.push(field(r, framingName(r, 'Connection'), r.pick(['Upgrade', 'upgrade', 'keep-alive, Upgrade'])));
    fields.push(field(r, framingName(r, 'Upgrade'), r.pick(['websocket', 'h2c', 'foo/2, bar'])));
    m.upgrade = true;
    features.add('upgrade');
  } else if (!http11) {
    if (!last || r.chance(0.5)) {
      closes = false;
      features.add('1.0-keep-alive');
      if (!last && r.chance(0.05)) {
        // RFC 9110 §7.8: a server MUST ignore Upgrade in an HTTP/1.0 request, so the next request follows.
        fields.push(field(r, framingName(r, 'Connection'), 'keep-alive, Upgrade'));
        fields.push(field(r, framingName(r, 'Upgrade'), 'websocket'));
        features.add('upgrade-in-1.0');
      } else fields.push(field(r, framingName(r, 'Connection'), r.pick(['keep-alive', 'Keep-Alive'])));
    }
  } else if (last && r.chance(0.2)) {
    fields.push(field(r, framingName(r, 'Connection'), r.pick(['close', 'Close', 'close, TE'])));
    closes = true;
    features.add('close');
  } else if (r.chance(0.1)) {
    fields.push(field(r, framingName(r, 'Connection'), 'keep-alive'));
  }
  if (m.method === 'CONNECT') m.upgrade = true;
  m.closes = closes;

  // Framing (RFC 9112 §6): none, Content-Length or chunked (HTTP/1.1 only, RFC 9112 §6.1).
  const framing = m.method === 'CONNECT' ? 'none' : r.weighted([[50, 'none'], [28, 'length'], [http11 ? 22 : 0, 'chunked']] as const);
  if (framing === 'length') {
    const n = r.weighted([[1, 0], [8, r.range(1, 40)], [2, r.range(41, 600)]] as const);
    m.body = bodyBytes(r, n);
    // A list of identical values is the one repeat RFC 9110 §8.6 allows; leading zeros are 1*DIGIT.
    const cl = r.weighted([[40, String(n)], [1, `${n}, ${n}`], [1, `00${n}`]] as const);
    fields.push(field(r, framingName(r, 'Content-Length'), cl));
    features.add('cl');
  } else if (framing === 'chunked') {
    m.chunked = true;
    const n = r.weighted([[1, 0], [6, r.range(1, 3)], [1, r.range(4, 10)]] as const);
    for (let k = 0; k < n; k++) {
      const size = r.weighted([[6, r.range(1, 20)], [2, r.range(21, 300)]] as const);
      m.chunks.push({ size: sizeHex(r, size), ext: r.chance(0.12) ? chunkExt(r) : '', data: bodyBytes(r, size) });
    }
    m.chunks.push({ size: r.chance(0.1) ? '000' : '0', ext: r.chance(0.08) ? chunkExt(r) : '', data: '' });
    if (r.chance(0.15)) {
      const t = r.range(1, 3);
      for (let k = 0; k < t; k++) m.trailers.push(field(r, fieldName(r), fieldValue(r)));
      features.add('trailers');
    }
    if (m.chunks.some((c) => c.ext !== '')) features.add('chunk-ext');
    fields.push(field(r, framingName(r, 'Transfer-Encoding'), r.weighted([[10, 'chunked'], [1, 'Chunked']] as const)));
    features.add('chunked');
  }
  if (http11 && r.chance(0.05)) {
    fields.push(field(r, framingName(r, 'Expect'), '100-continue'));
    features.add('expect');
  }
  // Field order is free (RFC 9110 §5.3 only orders same-name lines).
  for (let k = fields.length - 1; k > 0; k--) {
    const j = r.int(k + 1);
    [fields[k], fields[j]] = [fields[j]!, fields[k]!];
  }
  m.fields = fields;
  m.closes = m.closes && !m.upgrade;
  return m;
}

function serialize(m: Msg): string {
  if (m.version === null) return `${m.leading}${m.method} ${m.target}\r\n`;
  let s = `${m.leading}${m.method} ${m.target} ${m.version}\r\n`;
  for (const f of m.fields) s += `${f.name}:${f.pre}${f.value}${f.post}\r\n`;
  s += '\r\n';
  s += m.chunked ? encodeChunks(m.chunks, m.trailers) : m.body;
  return s;
}

/** A valid sequence of 1-4 requests (pipelined), the last possibly closing or switching protocols. */
function validSequence(r: Rng, features: Set<string>): { msgs: Msg[]; tunnel: string } {
  const count = r.weighted([[70, 1], [18, 2], [8, 3], [4, r.range(4, 6)]] as const);
  if (count > 1) features.add('pipelined');
  const msgs: Msg[] = [];
  for (let k = 0; k < count; k++) {
    const m = validMsg(r, k === count - 1, features);
    msgs.push(m);
    if (m.closes || m.upgrade) break;
  }
  const lastMsg = msgs[msgs.length - 1]!;
  const tunnel = lastMsg.upgrade && r.chance(0.7) ? bodyBytes(r, r.range(1, 40)) : '';
  return { msgs, tunnel };
}

// -------------------------------------------------------------- mutations

const HUGE_NUMBERS = ['99999999999999999999', '18446744073709551616', '9007199254740993', '1000000000000000', '4294967296', '2147483648', '999999999999999'];
const HUGE_HEX = ['ffffffffffffffffff', '10000000000000000', 'fffffffffffffff', '7fffffffffffffff', '100000000', '1000000000000', '0000000000000000000000001'];
const BAD_CL = ['+5', '-1', '0x5', '5 5', '5,6', '5, 6', '', ' ', '1e3', '5;', '٣', '5\x00', '0005', '5.0', ',5', '5,'];
const BAD_TE = ['gzip, chunked', 'chunked, gzip', 'chunked, chunked', 'identity', 'chunked;q=1', ',chunked', 'chunked,', ' chunked ', 'xchunked', 'chunked\x0b', '"chunked"', 'deflate', 'chunk', 'CHUNKED', 'gzip'];
const BAD_EXT = [';', '; a=b', ';a =b', ';a= b', ';a="', ';a="x\\', ';=b', ';a=b c', ';a;', ' ;a', '\t', ' ', ';a="\x7f"', ';a=\x80'];
const INSERT_BYTES: readonly (readonly [string, () => number])[] = [
  ['cr', () => 0x0d],
  ['lf', () => 0x0a],
  ['nul', () => 0x00],
  ['sp', () => 0x20],
  ['htab', () => 0x09],
];

/** A mutation of the structured sequence; returns its name, or null when it does not apply. */
type StructMutation = (r: Rng, msgs: Msg[]) => string | null;

function anyFieldMsg(r: Rng, msgs: Msg[]): Msg | null {
  const withFields = msgs.filter((m) => m.version !== null);
  return withFields.length === 0 ? null : r.pick(withFields);
}

function findField(m: Msg, lower: string): Field | undefined {
  return m.fields.find((f) => f.name.toLowerCase() === lower);
}

function insertField(r: Rng, m: Msg, f: Field): void {
  m.fields.splice(r.int(m.fields.length + 1), 0, f);
}

const STRUCT_MUTATIONS: readonly (readonly [number, string, StructMutation])[] = [
  [3, 'dup-framing', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const name = r.pick(['Content-Length', 'Transfer-Encoding', 'Host']);
    const existing = findField(m, name.toLowerCase());
    const same = r.chance(0.5) && existing !== undefined;
    let value: string;
    if (same) value = existing!.value;
    else if (name === 'Content-Length') value = String(r.range(0, 50));
    else if (name === 'Transfer-Encoding') value = 'chunked';
    else value = hostValue(r);
    insertField(r, m, field(r, framingName(r, name), value));
    return `dup-${name.toLowerCase()}${same ? '-same' : ''}`;
  }],
  [2, 'case-framing', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const f = m.fields.find((x) => RESERVED_FIELDS.has(x.name.toLowerCase()));
    if (!f) return null;
    f.name = randomCase(r, f.name);
    return 'case-framing';
  }],
  [2, 'drop-host', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const k = m.fields.findIndex((f) => f.name.toLowerCase() === 'host');
    if (k === -1) return null;
    m.fields.splice(k, 1);
    return 'drop-host';
  }],
  [2, 'cl-and-te', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    if (m.chunked) insertField(r, m, field(r, framingName(r, 'Content-Length'), String(r.range(0, 30))));
    else insertField(r, m, field(r, framingName(r, 'Transfer-Encoding'), 'chunked'));
    return 'cl-and-te';
  }],
  [3, 'huge-cl', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const v = r.pick(HUGE_NUMBERS);
    const f = findField(m, 'content-length');
    if (f) f.value = v;
    else insertField(r, m, field(r, 'Content-Length', v));
    return 'huge-cl';
  }],
  [3, 'huge-chunk', (r, msgs) => {
    const m = msgs.find((x) => x.chunked);
    if (!m || m.chunks.length === 0) return null;
    r.pick(m.chunks).size = r.pick(HUGE_HEX);
    return 'huge-chunk';
  }],
  [3, 'bad-cl', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const v = r.pick(BAD_CL);
    const f = findField(m, 'content-length');
    if (f) f.value = v;
    else insertField(r, m, field(r, 'Content-Length', v));
    return 'bad-cl';
  }],
  [3, 'bad-te', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const v = r.pick(BAD_TE);
    const f = findField(m, 'transfer-encoding');
    if (f) f.value = v;
    else insertField(r, m, field(r, 'Transfer-Encoding', v));
    return 'bad-te';
  }],
  [2, 'bad-chunk-ext', (r, msgs) => {
    const m = msgs.find((x) => x.chunked);
    if (!m || m.chunks.length === 0) return null;
    r.pick(m.chunks).ext = r.pick(BAD_EXT);
    return 'bad-chunk-ext';
  }],
  [2, 'bad-chunk-size', (r, msgs) => {
    const m = msgs.find((x) => x.chunked);
    if (!m || m.chunks.length === 0) return null;
    const c = r.pick(m.chunks);
    c.size = r.pick([` ${c.size}`, `${c.size} `, `0x${c.size}`, `-${c.size}`, `+${c.size}`, '', `${c.size}g`, String(Number.parseInt(c.size, 16) + 1)]);
    return 'bad-chunk-size';
  }],
  [3, 'ws-colon', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m || m.fields.length === 0) return null;
    const f = r.pick(m.fields);
    f.name += r.pick([' ', '\t', '  ']);
    return 'ws-before-colon';
  }],
  [2, 'obs-fold', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m || m.fields.length === 0) return null;
    const f = r.pick(m.fields);
    f.value += `\r\n${r.pick([' ', '\t', '  '])}${r.str(ALPHA, r.range(0, 6))}`;
    return 'obs-fold';
  }],
  [1, 'leading-ws-line', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m || m.fields.length === 0) return null;
    r.pick(m.fields).name = `${r.pick([' ', '\t'])}${r.pick(m.fields).name}`;
    return 'leading-ws-line';
  }],
  [2, 'bad-version', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    m.version = r.pick(['HTTP/2.0', 'HTTP/1.10', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1', 'HTTP/3.0', 'HTTP/0.9', 'HTTP/1.1\x00', 'HTTP/11', 'HTTP/1.a', 'HTTP /1.1', ' HTTP/1.1']);
    return 'bad-version';
  }],
  [2, 'bad-method', (r, msgs) => {
    const m = r.pick(msgs);
    m.method = r.pick(['', 'G ET', 'GET(', 'GE\x7fT', 'get', 'CONNECT', 'OPTIONS', 'PRI', 'M-SEARCH', '\x80GET', `${m.method} `]);
    return 'bad-method';
  }],
  [2, 'bad-target', (r, msgs) => {
    const m = r.pick(msgs);
    m.target = r.pick(['', '*', '/a b', '/a#frag', '/caf\xe9', 'example.com:80', '//x', '/\x7f', 'http:', 'a', '/%zz', '/"<>', `${m.target}\t`, 'http://[::1', 'x:1']);
    return 'bad-target';
  }],
  [1, 'h2-preface', (_r, msgs) => {
    msgs.unshift({ leading: '', method: 'PRI', target: '*', version: 'HTTP/2.0', fields: [], body: 'SM\r\n\r\n', chunked: false, chunks: [], trailers: [], closes: true, upgrade: false });
    return 'h2-preface';
  }],
  [1, 'many-fields', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const n = r.pick([99, 100, 101, 150]);
    for (let k = 0; k < n; k++) m.fields.push({ name: `X-${k}`, value: 'v', pre: ' ', post: '' });
    return `many-fields-${n}`;
  }],
  [1, 'long-line', (r, msgs) => {
    const m = r.pick(msgs);
    const n = r.pick([8170, 8192, 8200, 17000]);
    if (r.chance(0.5) || m.version === null) m.target = `/${'a'.repeat(n)}`;
    else m.fields.push({ name: 'X-Long', value: 'b'.repeat(n * 2), pre: ' ', post: '' });
    return `long-line-${n}`;
  }],
  [1, 'limit-edge', (r, msgs) => {
    // A request line or header section a few bytes around the default limits (8 KiB, 16 KiB).
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const d = r.range(-2, 2);
    if (r.chance(0.5)) {
      const rest = `${m.method}  ${m.version}`.length; // the line without the target
      m.target = `/${'t'.repeat(Math.max(0, 8192 + d - rest - 1))}`;
      return `limit-edge-line${d >= 0 ? '+' : ''}${d}`;
    }
    const lines = m.fields.reduce((n, f) => n + f.name.length + 1 + f.pre.length + f.value.length + f.post.length + 2, 0);
    const pad = 16384 + d - lines - 'X-Pad: \r\n'.length;
    if (pad < 0) return null;
    m.fields.push({ name: 'X-Pad', value: 'p'.repeat(pad), pre: ' ', post: '' });
    return `limit-edge-fields${d >= 0 ? '+' : ''}${d}`;
  }],
  [2, 'append-after-close', (r, msgs) => {
    const m = msgs[msgs.length - 1]!;
    if (!m.closes) return null;
    msgs.push(validMsg(r, true, new Set()));
    return 'after-close';
  }],
  [1, 'http10-te', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    m.version = 'HTTP/1.0';
    return 'http10';
  }],
  [1, 'upgrade-1.0', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    m.version = 'HTTP/1.0';
    m.fields.push(field(r, 'Connection', 'keep-alive, Upgrade'), field(r, 'Upgrade', 'websocket'));
    return 'upgrade-in-1.0';
  }],
  [1, 'expect-other', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    m.fields.push(field(r, 'Expect', r.pick(['100-continue, foo', 'foo', '', '100-Continue'])));
    return 'expect-other';
  }],
  [1, 'bad-host', (r, msgs) => {
    const m = anyFieldMsg(r, msgs);
    if (!m) return null;
    const v = r.pick(['a b', 'a/b', 'a@b', '[::1', 'a:b', 'a:80:80', '[zz]', 'a\x80', '::1', 'a,b', 'a?b', '%', 'a]']);
    const f = findField(m, 'host');
    if (f) f.value = v;
    else insertField(r, m, field(r, 'Host', v));
    return 'bad-host';
  }],
];

/** Byte-level mutations on the serialised bytes; `head` is the length of the first head (biases positions into it). */
function byteMutation(r: Rng, b: Buffer, head: number): { bytes: Buffer; name: string } {
  const pos = (): number => (r.chance(0.7) && head > 0 ? r.int(head + 1) : r.int(b.length + 1));
  const kind = r.weighted([
    [5, 'flip'],
    [8, 'insert'],
    [4, 'delete'],
    [3, 'truncate'],
    [3, 'bare-lf'],
    [2, 'bare-cr'],
    [1, 'dup-range'],
    [1, 'crlf-to-lfcr'],
  ] as const);
  switch (kind) {
    case 'flip': {
      if (b.length === 0) return { bytes: b, name: 'flip' };
      const out = Buffer.from(b);
      const k = Math.min(pos(), b.length - 1);
      out[k] = r.chance(0.5) ? out[k]! ^ (1 << r.int(8)) : r.int(256);
      return { bytes: out, name: 'flip' };
    }
    case 'insert': {
      const [name, gen] = r.weighted([
        [4, INSERT_BYTES[0]!], [4, INSERT_BYTES[1]!], [3, INSERT_BYTES[2]!], [3, INSERT_BYTES[3]!], [3, INSERT_BYTES[4]!],
        [3, ['high', () => 0x80 + r.int(128)] as const],
        [2, ['ctl', () => r.pick([0x01, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f])] as const],
        [1, ['crlf', () => -1] as const],
      ] as const);
      const k = pos();
      const ins = gen();
      const piece = ins === -1 ? Buffer.from('\r\n') : Buffer.from([ins]);
      return { bytes: Buffer.concat([b.subarray(0, k), piece, b.subarray(k)]), name: `insert-${name}` };
    }
    case 'delete': {
      const k = Math.min(pos(), Math.max(0, b.length - 1));
      const n = r.weighted([[4, 1], [1, r.range(2, 8)]] as const);
      return { bytes: Buffer.concat([b.subarray(0, k), b.subarray(k + n)]), name: 'delete' };
    }
    case 'truncate':
      return { bytes: b.subarray(0, r.int(b.length + 1)), name: 'truncate' };
    case 'bare-lf':
    case 'bare-cr':
    case 'crlf-to-lfcr': {
      const s = b.toString('latin1');
      const at: number[] = [];
      for (let k = s.indexOf('\r\n'); k !== -1; k = s.indexOf('\r\n', k + 2)) at.push(k);
      if (at.length === 0) return { bytes: b, name: kind };
      const repl = kind === 'bare-lf' ? '\n' : kind === 'bare-cr' ? '\r' : '\n\r';
      if (kind === 'bare-lf' && r.chance(0.3)) return { bytes: Buffer.from(s.replaceAll('\r\n', '\n'), 'latin1'), name: 'bare-lf-all' };
      const k = r.pick(at);
      return { bytes: Buffer.from(s.slice(0, k) + repl + s.slice(k + 2), 'latin1'), name: kind };
    }
    default: {
      const k = r.int(b.length + 1);
      const n = r.range(1, 24);
      return { bytes: Buffer.concat([b.subarray(0, k + n), b.subarray(k)]), name: 'dup-range' };
    }
  }
}

// -------------------------------------------------------------- the stream

/** Fraction of generated inputs that are valid (the rest are mutated). */
export const VALID_RATIO = 0.4;

/**
 * Input number `index` of seed `seed`: valid (about {@link VALID_RATIO}) or
 * mutated, independent of every other index.
 */
export function inputAt(seed: number, index: number): FuzzInput {
  const r = new Rng(mixSeed(seed, index));
  const features = new Set<string>();
  const { msgs, tunnel } = validSequence(r, features);
  if (r.chance(VALID_RATIO)) {
    const last = msgs[msgs.length - 1]!;
    const bytes = Buffer.from(msgs.map(serialize).join('') + tunnel, 'latin1');
    const kind = `valid:${features.size === 0 ? 'plain' : [...features].sort().join(',')}`;
    return { bytes, valid: true, kind, messages: msgs.length, upgrade: last.upgrade, seed, index };
  }
  // Mutated: 0-2 structural mutations, then 0-2 byte mutations (at least one in all).
  const names: string[] = [];
  const structural = r.weighted([[4, 0], [5, 1], [1, 2]] as const);
  for (let k = 0; k < structural; k++) {
    const [, , mutate] = r.weighted(STRUCT_MUTATIONS.map((m) => [m[0], m] as const));
    const name = mutate(r, msgs);
    if (name !== null) names.push(name);
  }
  for (const m of msgs) if (m.chunked) m.body = encodeChunks(m.chunks, m.trailers);
  let bytes: Buffer = Buffer.from(msgs.map(serialize).join('') + tunnel, 'latin1');
  const head = bytes.indexOf('\r\n\r\n');
  const bytewise = names.length === 0 ? r.weighted([[6, 1], [2, 2], [1, 3]] as const) : r.weighted([[3, 0], [2, 1]] as const);
  for (let k = 0; k < bytewise; k++) {
    const res = byteMutation(r, bytes, head === -1 ? bytes.length : head + 4);
    bytes = res.bytes;
    names.push(res.name);
  }
  return { bytes, valid: false, kind: `mut:${names.join('+')}`, messages: 0, upgrade: false, seed, index };
}

/** `count` inputs of `seed`, in index order. */
export function* generate(seed: number, count: number, start = 0): Generator<FuzzInput> {
  for (let i = start; i < start + count; i++) yield inputAt(seed, i);
}

/** A JS string literal of the bytes (latin1, escaped), for reports. */
export function jsString(b: Uint8Array): string {
  let s = "'";
  for (const byte of b) {
    if (byte === 0x0d) s += '\\r';
    else if (byte === 0x0a) s += '\\n';
    else if (byte === 0x09) s += '\\t';
    else if (byte === 0x27) s += "\\'";
    else if (byte === 0x5c) s += '\\\\';
    else if (byte < 0x20 || byte >= 0x7f) s += `\\x${byte.toString(16).padStart(2, '0')}`;
    else s += String.fromCharCode(byte);
  }
  return `${s}'`;
}

// ------------------------------------------------- attack shapes (issue #8)

/**
 * Where an attack shape puts its run: a field line (after the colon, inside
 * the value, before the colon), the request-target, a chunk-size line's
 * extensions, the Transfer-Encoding and Connection lists, a trailer field —
 * and `tiny-chunks`, a chunked body of thousands of 1–3 byte chunks.
 * {@link attackAt} cycles through them with the index, so any
 * {@link ATTACK_SHAPES}.length consecutive indices hold every shape.
 */
export const ATTACK_SHAPES = ['after-colon', 'value', 'name', 'target', 'chunk-ext', 'te-list', 'connection-list', 'trailer', 'tiny-chunks'] as const;
export type AttackShape = (typeof ATTACK_SHAPES)[number];

/** The runs: one character repeated (`ws`: SP and HTAB mixed at random). */
const RUNS = { sp: ' ', htab: '\t', ws: ' \t', semi: ';', pct: '%', comma: ',' } as const;
type RunName = keyof typeof RUNS;
const ALL_RUNS: readonly RunName[] = ['sp', 'htab', 'ws', 'semi', 'pct', 'comma'];
const WS_RUNS: readonly RunName[] = ['sp', 'htab', 'ws'];

/**
 * Per shape, the runs that give a conformant request when a valid end
 * follows (RFC 9110 §5.5 field-content takes all six inside a value; OWS
 * and BWS only SP and HTAB; a token takes "%", a path segment ";" and ",").
 * Other combinations claim nothing: they get the usual properties only.
 */
const VALID_RUNS: Record<Exclude<AttackShape, 'tiny-chunks'>, readonly RunName[]> = {
  'after-colon': ALL_RUNS,
  value: ALL_RUNS,
  name: ['pct'],
  target: ['semi', 'comma'],
  'chunk-ext': WS_RUNS,
  'te-list': WS_RUNS,
  'connection-list': WS_RUNS,
  trailer: ALL_RUNS,
};

/** Shapes whose run sits in a field value, where obs-text (0x80-0xFF) is allowed. */
const IN_VALUE = new Set<AttackShape>(['after-colon', 'value', 'te-list', 'connection-list', 'trailer']);

/** A bad byte after the run: NUL, bare LF, bare CR, DEL, another control, or 0x80+ where obs-text is not allowed. */
function badEnd(r: Rng, shape: AttackShape): { name: string; bytes: string } {
  return r.weighted([
    [3, { name: 'nul', bytes: '\x00' }],
    [3, { name: 'bare-lf', bytes: '\n' }],
    [3, { name: 'bare-cr', bytes: '\rz' }],
    [2, { name: 'del', bytes: '\x7f' }],
    [1, { name: 'ctl', bytes: String.fromCharCode(r.pick([0x01, 0x0b, 0x0c, 0x1b, 0x1f])) }],
    [IN_VALUE.has(shape) ? 0 : 2, { name: 'high', bytes: String.fromCharCode(r.range(0x80, 0xff)) }],
  ] as const);
}

/** One attack input: a {@link FuzzInput} plus what {@link attackAt} needs to rebuild it at another scale. */
export interface AttackInput extends FuzzInput {
  shape: AttackShape;
  /** The run's length in bytes (the chunk count for `tiny-chunks`) at this scale. */
  size: number;
  /** The size at scale 1: `size` is `max(1, round(unit * scale))`. */
  unit: number;
  scale: number;
  /** Decoded content bytes (`tiny-chunks`), else 0. */
  content: number;
}

/** A few ordinary field lines around the attack field. */
function plainFields(r: Rng, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) {
    const [name, gen] = r.pick(COMMON_FIELDS);
    s += `${name}: ${gen(r)}\r\n`;
  }
  return s;
}

/**
 * Attack input `index` of seed `seed` at `scale` (issue #8): a long run of
 * SP, HTAB, mixed SP/HTAB, ";", "%" or "," (a few hundred to 3000 bytes at
 * scale 1) placed by the shape, followed by a bad byte, by a valid end, or
 * by nothing (the input stops there); or, for `tiny-chunks`, a chunked
 * body of 1000–5000 chunks of 1 byte (or 1–3), with or without short
 * extensions. Everything but the run length (chunk count) is the same at
 * every scale, and the run of a smaller scale is a prefix of a larger
 * one's, so timing scale s against 8s measures how the parse grows.
 *
 * @example
 * attackAt(1, 0).kind; // 'attack:after-colon:sp:nul' or the like
 * attackAt(1, 0, 8).size === 8 * attackAt(1, 0).size (up to rounding)
 */
export function attackAt(seed: number, index: number, scale = 1): AttackInput {
  if (!(scale > 0)) throw new RangeError(`attackAt: scale must be positive, got ${scale}`);
  const r = new Rng(mixSeed(seed ^ 0x0a77ac00, index));
  const shape = ATTACK_SHAPES[index % ATTACK_SHAPES.length]!;
  // The run's own generator: the same bytes at every scale (a prefix of the longer run).
  const runRng = new Rng(r.u32());
  const method = shape === 'chunk-ext' || shape === 'te-list' || shape === 'trailer' || shape === 'tiny-chunks' ? 'POST' : r.pick(['GET', 'POST', 'PUT', 'OPTIONS']);
  const before = plainFields(r, r.range(0, 3));
  const after = plainFields(r, r.range(0, 2));
  const head = (target: string, fields: string): string => `${method} ${target} HTTP/1.1\r\nHost: example.com\r\n${before}${fields}${after}\r\n`;
  // A field line of the head, cut at the run: `lineStart` + run + end + "\r\n" + `headTail`.
  const lineStart = `${method} / HTTP/1.1\r\nHost: example.com\r\n${before}`;
  const headTail = `${after}\r\n`;
  const base = { seed, index, scale, messages: 0, upgrade: false, content: 0 };

  if (shape === 'tiny-chunks') {
    const unit = r.range(1000, 5000);
    const one = r.chance(0.5);
    const ext = r.weighted([[3, ''], [1, ';a'], [1, ';e=""']] as const);
    const binary = r.chance(0.3);
    const size = Math.max(1, Math.round(unit * scale));
    const parts: string[] = [];
    let content = 0;
    for (let k = 0; k < size; k++) {
      const n = one ? 1 : runRng.range(1, 3);
      let data = '';
      for (let j = 0; j < n; j++) data += binary ? String.fromCharCode(runRng.int(256)) : 'x';
      parts.push(`${n}${ext}\r\n${data}\r\n`);
      content += n;
    }
    const te = `Transfer-Encoding: chunked\r\n`;
    const bytes = Buffer.from(head('/upload', te) + parts.join('') + '0\r\n\r\n', 'latin1');
    // Valid within the default limits: 16 KiB of extensions a message (RFC 9112 §7.1.1 lets a server cap them).
    const valid = size * ext.length <= 16384;
    return { ...base, bytes, valid, messages: valid ? 1 : 0, kind: `attack:tiny-chunks:${one ? '1' : '1-3'}${ext === '' ? '' : `:ext${ext}`}`, shape, size, unit, content };
  }

  const runName = r.pick(ALL_RUNS);
  const unit = r.weighted([[3, r.range(200, 999)], [2, r.range(1000, 3000)]] as const);
  const end = r.weighted([[5, 'bad'], [3, 'valid'], [1, 'cut']] as const);
  const bad = badEnd(r, shape);
  const size = Math.max(1, Math.round(unit * scale));
  const alphabet = RUNS[runName];
  const run = alphabet.length === 1 ? alphabet.repeat(size) : runRng.str(alphabet, size);
  // `pre` + run + (the bad byte | a valid end | nothing) + `post`.
  let pre: string;
  let validEnd: string;
  let post: string;
  let body = '';
  const chunkedTe = 'Transfer-Encoding: chunked\r\n';
  const oneChunk = '1\r\nx\r\n0\r\n\r\n';
  switch (shape) {
    case 'after-colon':
      pre = `${lineStart}X-Attack:`;
      validEnd = r.pick(['y', '', '\xe9']);
      post = `\r\n${headTail}`;
      break;
    case 'value':
      pre = `${lineStart}X-Attack: ${r.pick(['x', 'text/plain', 'a=1'])}`;
      validEnd = r.pick(['y', '', '\xe9']);
      post = `\r\n${headTail}`;
      break;
    case 'name':
      pre = `${lineStart}X-Attack`;
      validEnd = '';
      post = `: v\r\n${headTail}`;
      break;
    case 'target':
      pre = `${method} /${r.pick(['', 'p', 'a/b'])}`;
      validEnd = r.pick(['q', '']);
      post = ` HTTP/1.1\r\nHost: example.com\r\n${before}${after}\r\n`;
      break;
    case 'chunk-ext': {
      const afterSemi = r.chance(0.4);
      pre = head('/', chunkedTe) + (afterSemi ? '1;' : '1');
      validEnd = afterSemi ? r.pick(['a', 'a=b']) : r.pick([';a', ';a=b', ';a="q"']);
      post = '\r\nx\r\n0\r\n\r\n';
      break;
    }
    case 'te-list': {
      const lead = r.chance(0.5);
      pre = lineStart + (lead ? 'Transfer-Encoding:' : 'Transfer-Encoding: chunked');
      validEnd = lead ? 'chunked' : '';
      post = `\r\n${headTail}`;
      body = oneChunk;
      break;
    }
    case 'connection-list':
      pre = `${lineStart}Connection: ${r.pick(['keep-alive', 'close', 'x-opt'])}`;
      validEnd = r.pick(['', ', x-other', ',te']);
      post = `\r\n${headTail}`;
      break;
    default: // trailer
      pre = head('/', chunkedTe) + `1\r\nx\r\n0\r\nX-Trailer: ${r.pick(['x', 'a;b'])}`;
      validEnd = r.pick(['y', '', '\xe9']);
      post = '\r\n\r\n';
  }
  let text: string;
  let endName: string;
  if (end === 'cut') {
    text = pre + run;
    endName = 'cut';
  } else if (end === 'valid') {
    text = pre + run + validEnd + post + body;
    endName = 'valid';
  } else {
    // te-list with the run first: the bad byte, then the coding (it is still one bad value).
    text = pre + run + bad.bytes + (shape === 'te-list' && validEnd !== '' ? validEnd : '') + post + body;
    endName = bad.name;
  }
  const valid = end === 'valid' && VALID_RUNS[shape].includes(runName);
  return { ...base, bytes: Buffer.from(text, 'latin1'), valid, messages: valid ? 1 : 0, kind: `attack:${shape}:${runName}:${endName}`, shape, size, unit };
}

/** `count` attack inputs of `seed` at scale 1, in index order. */
export function* generateAttacks(seed: number, count: number, start = 0): Generator<AttackInput> {
  for (let i = start; i < start + count; i++) yield attackAt(seed, i);
}
