/**
 * Fast client side for the fault tests: a strict incremental HTTP/1.x
 * response reader written independently of src/ (so the server's own parser
 * does not judge the server's output), and a keep-alive client that pipelines
 * requests and counts body bytes instead of keeping them (8 MiB responses,
 * 100 000+ requests).
 */
import { connect, type Socket } from 'node:net';

export interface WireResponse {
  status: number;
  version: string;
  /** Lower-cased field name → value (repeats joined with ', '). */
  headers: Record<string, string>;
  /** The first bytes of the content (at most `keepBody`), latin1. */
  body: string;
  /** Content bytes received in all. */
  bodyLength: number;
  chunked: boolean;
  /** The response said Connection: close (or is HTTP/1.0 without keep-alive). */
  close: boolean;
}

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5][0-9][0-9]) ([\t\x20-\x7e\x80-\xff]*)$/;
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;
const CHUNK_LINE = /^([0-9a-fA-F]{1,8})(;[^\r\n]*)?$/;

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_CRLF = 4;
const S_TRAILERS = 5;
const S_UNTIL_CLOSE = 6;
const S_BROKEN = 7;

/**
 * Strict incremental reader of a response stream: status line, field lines
 * (token names, no CR/LF/NUL in values), Content-Length or chunked framing,
 * or close-delimited content. Anything else is a protocol error.
 */
export class ResponseReader {
  readonly responses: WireResponse[] = [];
  error: string | null = null;
  /** Content bytes of the response being received (for progress). */
  partialBody = 0;
  /** Every content byte seen, complete responses or not. */
  totalBodyBytes = 0;
  private state = S_HEAD;
  private pending: Buffer = Buffer.alloc(0);
  private cur: WireResponse | null = null;
  private left = 0;

  constructor(
    private readonly keepBody = 256,
    private readonly onResponse?: (r: WireResponse) => void,
  ) {}

  /** Feeds received bytes. */
  push(data: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    this.pending = Buffer.alloc(0);
    let pos = 0;
    while (pos < buf.length && this.state !== S_BROKEN) {
      switch (this.state) {
        case S_HEAD: {
          const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
          if (end === -1) {
            if (buf.length - pos > 65536) return this.fail('response head larger than 64 KiB');
            this.pending = buf.subarray(pos);
            return;
          }
          this.startResponse(buf.toString('latin1', pos, end));
          pos = end + 4;
          break;
        }
        case S_LENGTH: {
          const n = Math.min(this.left, buf.length - pos);
          this.content(buf, pos, n);
          pos += n;
          this.left -= n;
          if (this.left === 0) this.complete();
          break;
        }
        case S_UNTIL_CLOSE: {
          this.content(buf, pos, buf.length - pos);
          pos = buf.length;
          break;
        }
        case S_CHUNK_SIZE:
        case S_TRAILERS: {
          const end = buf.indexOf('\r\n', pos, 'latin1');
          if (end === -1) {
            if (buf.length - pos > 4096) return this.fail('chunk-size or trailer line too long');
            this.pending = buf.subarray(pos);
            return;
          }
          const line = buf.toString('latin1', pos, end);
          pos = end + 2;
          if (this.state === S_TRAILERS) {
            if (line === '') this.complete();
            else if (!FIELD_LINE.test(line)) return this.fail(`bad trailer line ${JSON.stringify(line)}`);
            break;
          }
          const m = CHUNK_LINE.exec(line);
          if (m === null) return this.fail(`bad chunk-size line ${JSON.stringify(line)}`);
          this.left = parseInt(m[1]!, 16);
          this.state = this.left === 0 ? S_TRAILERS : S_CHUNK_DATA;
          break;
        }
        case S_CHUNK_DATA: {
          const n = Math.min(this.left, buf.length - pos);
          this.content(buf, pos, n);
          pos += n;
          this.left -= n;
          if (this.left === 0) this.state = S_CHUNK_CRLF;
          break;
        }
        case S_CHUNK_CRLF: {
          if (buf.length - pos < 2) {
            this.pending = buf.subarray(pos);
            return;
          }
          if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) return this.fail('chunk data not followed by CRLF');
          pos += 2;
          this.state = S_CHUNK_SIZE;
          break;
        }
      }
    }
  }

  /** The connection closed: a close-delimited response ends here. */
  end(): void {
    if (this.state === S_UNTIL_CLOSE) this.complete();
  }

  /** True when the stream stopped between responses (nothing half-received). */
  get atBoundary(): boolean {
    return this.state === S_HEAD && this.pending.length === 0;
  }

  private fail(msg: string): void {
    this.error ??= msg;
    this.state = S_BROKEN;
  }

  private content(buf: Buffer, pos: number, n: number): void {
    const r = this.cur!;
    if (r.body.length < this.keepBody) r.body += buf.toString('latin1', pos, pos + Math.min(n, this.keepBody - r.body.length));
    r.bodyLength += n;
    this.partialBody += n;
    this.totalBodyBytes += n;
  }

  private startResponse(head: string): void {
    const lines = head.split('\r\n');
    const m = STATUS_LINE.exec(lines[0]!);
    if (m === null) return this.fail(`bad status line ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const f = FIELD_LINE.exec(lines[i]!);
      if (f === null) return this.fail(`bad field line ${JSON.stringify(lines[i])}`);
      const k = f[1]!.toLowerCase();
      headers[k] = headers[k] === undefined ? f[2]! : `${headers[k]}, ${f[2]!}`;
    }
    const version = `1.${m[1]!}`;
    const conn = (headers['connection'] ?? '').toLowerCase();
    const close = conn.split(',').some((t) => t.trim() === 'close') || (version === '1.0' && !/keep-alive/.test(conn));
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    const status = Number(m[2]);
    this.cur = { status, version, headers, body: '', bodyLength: 0, chunked: false, close };
    this.partialBody = 0;
    if (status < 200) {
      // Interim response: no content, not counted.
      this.cur = null;
      return;
    }
    if (te !== undefined && cl !== undefined) return this.fail('both Transfer-Encoding and Content-Length');
    if (te !== undefined) {
      if (te.toLowerCase() !== 'chunked') return this.fail(`unexpected Transfer-Encoding ${te}`);
      this.cur.chunked = true;
      this.state = S_CHUNK_SIZE;
    } else if (cl !== undefined) {
      if (!/^[0-9]{1,15}$/.test(cl)) return this.fail(`bad Content-Length ${cl}`);
      this.left = Number(cl);
      this.state = S_LENGTH;
      if (this.left === 0) this.complete();
    } else if (status === 204 || status === 304) this.complete();
    else this.state = S_UNTIL_CLOSE;
  }

  private complete(): void {
    const r = this.cur!;
    this.cur = null;
    this.state = S_HEAD;
    this.partialBody = 0;
    this.responses.push(r);
    this.onResponse?.(r);
  }
}

/**
 * A keep-alive client connection for load: pipelines requests, reads
 * responses with {@link ResponseReader}, keeps only a prefix of each body.
 */
export class LoadClient {
  readonly socket: Socket;
  readonly reader: ResponseReader;
  closed = false;
  /** The socket saw an error (ECONNRESET, EPIPE, ...). */
  socketError: string | null = null;
  /** The server sent FIN. */
  ended = false;
  readonly ready: Promise<void>;
  private waiters: (() => void)[] = [];
  /** Responses handed out by {@link take} so far. */
  private taken = 0;

  constructor(port: number, keepBody = 256) {
    this.reader = new ResponseReader(keepBody, () => this.notify());
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.ready.catch(() => {});
    this.socket.on('data', (d: Buffer) => {
      this.reader.push(d);
      if (this.reader.error !== null) this.notify();
    });
    this.socket.on('end', () => {
      this.ended = true;
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.socketError ??= e.code ?? e.message;
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.reader.end();
      this.notify();
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Waits for `n` more responses (fewer if the connection closes first); rejects after `ms`. */
  async take(n: number, ms = 10_000): Promise<WireResponse[]> {
    const want = this.taken + n;
    const deadline = Date.now() + ms;
    while (this.reader.responses.length < want && !this.closed && this.reader.error === null) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} responses (have ${this.reader.responses.length - this.taken})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const out = this.reader.responses.slice(this.taken, want);
    this.taken += out.length;
    // Drop what was handed out: a long loop must not keep every response.
    if (this.taken > 1024) {
      this.reader.responses.splice(0, this.taken);
      this.taken = 0;
    }
    return out;
  }

  /** Complete responses received but not handed out by {@link take}. */
  get untaken(): number {
    return this.reader.responses.length - this.taken;
  }

  /** Waits until the connection is closed; rejects after `ms`. */
  async whenClosed(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the connection to close');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** A small deterministic PRNG (mulberry32): the same mix on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
