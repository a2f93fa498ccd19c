/**
 * Raw-socket exchanges for server tests: write exact bytes over node:net and
 * collect every byte the server sends back, until it closes the connection,
 * until a predicate says the reply is complete, or until a timeout.
 *
 * @example
 * const reply = await rawExchange(port, 'GET / HTTP/1.0\r\n\r\n', { timeoutMs: 2000 });
 * const two = await rawExchange(port, req, { timeoutMs: 2000, until: (d) => countResponses(d) === 2 });
 */
import { connect } from 'node:net';

export interface RawOptions {
  /** Give up after this many milliseconds and resolve with what arrived (default 5000). */
  timeoutMs?: number;
  /** Stop (and close our side) as soon as this returns true for the bytes received so far. */
  until?: (received: Buffer) => boolean;
  /** Host to connect to (default 127.0.0.1). */
  host?: string;
  /** Half-close our side (send FIN) after writing (default false, as the original tests did). */
  end?: boolean;
}

/** How a raw exchange ended. */
export interface RawResult {
  /** Every byte the server sent. */
  data: Buffer;
  /** The server closed (FIN or reset) before `until` matched or the timeout. */
  closed: boolean;
  /** `until` matched. */
  matched: boolean;
  /** The timeout fired first. */
  timedOut: boolean;
  /** The socket saw an error (e.g. ECONNRESET); its code. */
  error: string | null;
}

/**
 * Like {@link rawExchange} but tells how the exchange ended.
 */
export function rawExchangeDetailed(port: number, bytes: string | Uint8Array, options: RawOptions = {}): Promise<RawResult> {
  const { timeoutMs = 5000, until, host = '127.0.0.1', end = false } = options;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    let error: string | null = null;
    const sock = connect({ host, port });
    const finish = (how: 'closed' | 'matched' | 'timedOut'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), closed: how === 'closed', matched: how === 'matched', timedOut: how === 'timedOut', error });
    };
    const timer = setTimeout(() => finish('timedOut'), timeoutMs);
    sock.on('connect', () => {
      sock.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
      if (end) sock.end();
    });
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (until !== undefined && until(Buffer.concat(chunks))) finish('matched');
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    sock.on('close', () => finish('closed'));
  });
}

/**
 * Sends `bytes` (a string is sent as latin1) to 127.0.0.1:`port` and resolves
 * with everything the server sent back once it closes the connection, once
 * `until(received)` is true, or once `timeoutMs` passed (never rejects).
 */
export async function rawExchange(port: number, bytes: string | Uint8Array, options: RawOptions = {}): Promise<Buffer> {
  return (await rawExchangeDetailed(port, bytes, options)).data;
}

/** One HTTP/1.x response taken apart (see {@link splitResponses}). */
export interface RawResponse {
  /** e.g. `HTTP/1.1 200 OK`. */
  statusLine: string;
  /** e.g. `1.1`. */
  version: string;
  status: number;
  reason: string;
  /** Field lines in wire order. */
  headers: [string, string][];
  /** The content, de-chunked when chunked. */
  body: Buffer;
  /** The content as it was on the wire (chunk framing included). */
  wireBody: Buffer;
  chunked: boolean;
  /** Trailer fields of a chunked response. */
  trailers: [string, string][];
  /** Framing: Content-Length, chunked, none (no content by rule) or close-delimited. */
  framing: 'length' | 'chunked' | 'none' | 'close';
  /** The whole message arrived (a close-delimited one counts as complete). */
  complete: boolean;
}

/** The single value of a field (case-insensitive), undefined when absent; throws when repeated. */
export function field(r: RawResponse, name: string): string | undefined {
  const hits = r.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase());
  if (hits.length > 1) throw new Error(`field ${name} appears ${hits.length} times`);
  return hits[0]?.[1];
}

function splitFields(text: string): [string, string][] {
  return text.length === 0 ? [] : text.split('\r\n').map((line) => {
    const c = line.indexOf(':');
    return [line.slice(0, c), line.slice(c + 1).trim()] as [string, string];
  });
}

/**
 * Splits the bytes a server sent into responses. `noBody(i)` says whether the
 * i-th final response answers a HEAD request. 1xx, 204 and 304 have no
 * content; otherwise chunked, then Content-Length, else close-delimited.
 * An incomplete last response is returned with `complete: false`.
 */
export function splitResponses(data: Buffer, noBody: (index: number) => boolean = () => false): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  let finals = 0;
  while (pos < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd === -1) {
      out.push({
        statusLine: data.subarray(pos).toString('latin1'), version: '', status: 0, reason: '', headers: [], body: Buffer.alloc(0),
        wireBody: Buffer.alloc(0), chunked: false, trailers: [], framing: 'none', complete: false,
      });
      break;
    }
    const head = data.subarray(pos, headEnd).toString('latin1');
    const nl = head.indexOf('\r\n');
    const statusLine = nl === -1 ? head : head.slice(0, nl);
    const m = /^HTTP\/(\d\.\d) (\d{3}) ?(.*)$/.exec(statusLine);
    const headers = splitFields(nl === -1 ? '' : head.slice(nl + 2));
    const status = m ? Number(m[2]) : 0;
    const r: RawResponse = {
      statusLine, version: m?.[1] ?? '', status, reason: m?.[3] ?? '', headers, body: Buffer.alloc(0), wireBody: Buffer.alloc(0),
      chunked: false, trailers: [], framing: 'none', complete: true,
    };
    const bodyStart = headEnd + 4;
    pos = bodyStart;
    const te = headers.find(([n]) => n.toLowerCase() === 'transfer-encoding')?.[1];
    const cl = headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
    const interim = status >= 100 && status < 200;
    if (interim || status === 204 || status === 304 || noBody(finals)) {
      r.framing = 'none';
    } else if (te !== undefined && /chunked\s*$/i.test(te)) {
      r.framing = 'chunked';
      r.chunked = true;
      const parts: Buffer[] = [];
      let p = bodyStart;
      r.complete = false;
      for (;;) {
        const le = data.indexOf('\r\n', p, 'latin1');
        if (le === -1) break;
        const size = parseInt(data.subarray(p, le).toString('latin1').split(';')[0]!, 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          const te2 = data.indexOf('\r\n\r\n', le, 'latin1');
          const blank = data.subarray(le + 2, le + 4).toString('latin1') === '\r\n';
          if (blank) {
            p = le + 4;
          } else if (te2 !== -1) {
            r.trailers = splitFields(data.subarray(le + 2, te2).toString('latin1'));
            p = te2 + 4;
          } else break;
          r.complete = true;
          break;
        }
        if (le + 2 + size + 2 > data.length) break;
        parts.push(data.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      r.body = Buffer.concat(parts);
      r.wireBody = data.subarray(bodyStart, r.complete ? p : data.length);
      pos = r.complete ? p : data.length;
    } else if (cl !== undefined) {
      r.framing = 'length';
      const n = Number(cl);
      r.body = data.subarray(bodyStart, Math.min(data.length, bodyStart + n));
      r.wireBody = r.body;
      r.complete = r.body.length === n;
      pos = bodyStart + r.body.length;
    } else {
      r.framing = 'close';
      r.body = data.subarray(bodyStart);
      r.wireBody = r.body;
      pos = data.length;
    }
    if (!interim) finals++;
    out.push(r);
    if (!r.complete) break;
  }
  return out;
}

/** An `until` predicate: `n` complete final (non-1xx) responses have arrived. */
export function responsesComplete(n: number, noBody?: (index: number) => boolean): (received: Buffer) => boolean {
  return (received) => splitResponses(received, noBody).filter((r) => r.complete && (r.status < 100 || r.status >= 200)).length >= n;
}
