/**
 * The recorder behind the inspector: turns the raw traffic the server's
 * `onRaw` tap reports (reads and writes per connection) into exchanges — a
 * request's bytes, what each byte is, the request dictionary the callback
 * received, the response's bytes — with bounded memory: at most `history`
 * exchanges are kept, at most `maxBytes` bytes of each request and of each
 * response (the rest is counted, not kept).
 *
 * It finds where each request ends by running its own `RequestParser` over
 * the connection's bytes (the server's parser is not exposed: the tap costs
 * nothing when the inspector is off), and where each response ends with a
 * `ResponseParser` over what the server wrote. Both only run while
 * inspecting.
 *
 * @module
 */

import { RequestParser, ResponseParser, messageRanges, type ParserOptions, type RangesOutcome } from '../parser/index.js';
import type { RawTraffic } from '../server/tap.js';
import type { RequestDict } from '../server/request.js';

/** One request and its response, as the page shows it. */
export interface ExchangeRecord {
  /** Increasing number (1, 2, …). */
  id: number;
  /** The connection's number (from the tap): exchanges of one keep-alive connection share it. */
  connection: number;
  /** Position on its connection (1 = first request). */
  sequence: number;
  remote: string;
  /** When its first byte arrived (ms since the epoch). */
  started: number;
  /** `receiving`, `received` (waiting for the response), `answered`, `rejected` (the parser refused it), `cut` (the connection closed first). */
  state: 'receiving' | 'received' | 'answered' | 'rejected' | 'cut';
  request: RecordedBytes & { outcome: RangesOutcome | null };
  /** The request dictionary (without its stream and functions), once the callback was called. */
  dict: Record<string, unknown> | null;
  response: (RecordedBytes & { outcome: RangesOutcome | null }) | null;
}

/** Bytes kept for a record: the first `maxBytes` of them, and how many there were. */
export interface RecordedBytes {
  bytes: Uint8Array;
  total: number;
  truncated: boolean;
}

/** Options of {@link Recorder}. */
export interface RecorderOptions {
  /** Exchanges kept (default 100); older ones are dropped. */
  history?: number;
  /** Bytes kept per request and per response (default 64 KiB). */
  maxBytes?: number;
  /** The server's parser options, if not the defaults, so that both parsers agree. */
  parser?: ParserOptions;
  /** Requests whose target starts with this are the inspector's own: not recorded. */
  hidePrefix?: string;
}

/** Bytes collected up to a cap. */
class Capped {
  private parts: Buffer[] = [];
  kept = 0;
  total = 0;
  constructor(private readonly cap: number) {}
  add(b: Uint8Array): void {
    this.total += b.length;
    const room = this.cap - this.kept;
    if (room <= 0 || b.length === 0) return;
    const part = Buffer.from(b.subarray(0, Math.min(room, b.length))); // a copy: the caller may reuse its buffer
    this.parts.push(part);
    this.kept += part.length;
  }
  take(): RecordedBytes {
    return { bytes: Buffer.concat(this.parts), total: this.total, truncated: this.total > this.kept };
  }
}

interface Pending {
  record: ExchangeRecord;
  hidden: boolean;
  method: string;
  http09: boolean;
  input: Capped;
  output: Capped | null;
}

/** One connection's trackers. */
class ConnectionTrack {
  readonly parser: RequestParser;
  /** Bytes pushed into `parser` so far: the offset of the next read's first byte. */
  pushed = 0;
  incoming: Pending | null = null;
  /** Requests whose response has not ended, oldest first. */
  readonly unanswered: Pending[] = [];
  /** The response parser of `unanswered[0]`. */
  responseParser: ResponseParser | null = null;
  /** Bytes pushed into `responseParser`. */
  responsePushed = 0;
  /** The response head last parsed was an interim (1xx) one. */
  interim = false;
  /** The input was rejected or the output could not be followed: stop splitting. */
  inputDone = false;
  outputLost = false;
  /** The connection switched protocols: no more HTTP on it. */
  upgraded = false;
  sequence = 0;
  constructor(
    readonly id: number,
    readonly remote: string,
    options: ParserOptions,
  ) {
    this.parser = new RequestParser(options);
  }
}

/**
 * Records exchanges from raw traffic and request dictionaries; tells a
 * listener about each new or changed record.
 *
 * @example
 * const rec = new Recorder({ history: 50 });
 * rec.onRecord = (r) => console.log(r.id, r.state);
 * await registerCallback(addr, (req) => { rec.sawRequest(req); return app(req); }, { onRaw: rec.tap });
 */
export class Recorder {
  private readonly historyLimit: number;
  private readonly maxBytes: number;
  private readonly parserOptions: ParserOptions;
  private readonly hidePrefix: string | null;
  private readonly connections = new Map<number, ConnectionTrack>();
  private readonly byRemote = new Map<string, ConnectionTrack>();
  private nextId = 1;
  /** The kept exchanges, oldest first. */
  readonly history: ExchangeRecord[] = [];
  /** Called when a record is added or changes. */
  onRecord: ((record: ExchangeRecord) => void) | null = null;

  constructor(options: RecorderOptions = {}) {
    this.historyLimit = positive('history', options.history, 100);
    this.maxBytes = positive('maxBytes', options.maxBytes, 64 * 1024);
    this.parserOptions = { ...options.parser };
    delete this.parserOptions.trace;
    this.hidePrefix = options.hidePrefix ?? null;
  }

  /** Connections being followed (each holds at most one request's and one response's kept bytes). */
  get openConnections(): number {
    return this.connections.size;
  }

  /** The `onRaw` server option. */
  readonly tap = (t: RawTraffic): void => {
    if (t.kind === 'open') {
      const c = new ConnectionTrack(t.connection, `${t.remoteAddress}:${t.remotePort}`, this.parserOptions);
      this.connections.set(t.connection, c);
      this.byRemote.set(c.remote, c);
      return;
    }
    const c = this.connections.get(t.connection);
    if (c === undefined) return;
    if (t.kind === 'in') this.input(c, t.bytes);
    else if (t.kind === 'out') this.output(c, t.bytes);
    else if (t.kind === 'end') this.ended(c);
    else this.closed(c);
  };

  /** A request for the inspector's own page: the same test as the page's (its path is the prefix or under it). */
  private hidden(target: string): boolean {
    if (this.hidePrefix === null) return false;
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    return path === this.hidePrefix || path.startsWith(`${this.hidePrefix}/`);
  }

  /** The callback was called with `req` (in the order of its connection's requests). */
  sawRequest(req: RequestDict): void {
    const c = this.byRemote.get(`${req.remoteipstr}:${req.remoteportnum}`);
    const p = c?.unanswered.find((x) => x.record.dict === null && x.record.state !== 'rejected');
    if (p === undefined) return;
    p.record.dict = plainDict(req);
  }

  // ------------------------------------------------------------ input side

  private input(c: ConnectionTrack, bytes: Uint8Array): void {
    if (c.inputDone) return; // after a rejection the server reads and drops
    const chunkStart = c.pushed;
    c.pushed += bytes.length;
    c.parser.push(bytes);
    let from = 0; // next byte of `bytes` not yet given to a record
    for (;;) {
      const ev = c.parser.next();
      if (ev.type === 'partial') break;
      if (ev.type === 'data') continue;
      if (ev.type === 'head') {
        const p = this.begin(c);
        p.method = ev.head.method;
        p.http09 = ev.head.version === '0.9';
        p.hidden = this.hidden(ev.head.target);
        continue;
      }
      const p = this.begin(c);
      if (ev.type === 'error') {
        p.input.add(bytes.subarray(from));
        from = bytes.length;
        c.inputDone = true;
        p.record.state = 'rejected';
        this.finishRequest(p, false);
        break;
      }
      // 'end': the request's last byte is at the parser's offset.
      const end = c.parser.offset - chunkStart;
      p.input.add(bytes.subarray(from, end));
      from = end;
      p.record.state = 'received';
      this.finishRequest(p, false);
      c.incoming = null;
      if (c.parser.upgraded) {
        // CONNECT or Upgrade: what follows is another protocol's, not requests (RFC 9110 §9.3.6, §7.8).
        c.inputDone = true;
        c.upgraded = true;
        return;
      }
    }
    if (from < bytes.length && !(c.inputDone && c.incoming === null)) this.begin(c).input.add(bytes.subarray(from));
  }

  /** The request receiving bytes, made when its first byte arrives. */
  private begin(c: ConnectionTrack): Pending {
    if (c.incoming !== null) return c.incoming;
    const record: ExchangeRecord = {
      id: 0, connection: c.id, sequence: ++c.sequence, remote: c.remote, started: Date.now(),
      state: 'receiving', request: { bytes: new Uint8Array(0), total: 0, truncated: false, outcome: null }, dict: null, response: null,
    };
    const p: Pending = { record, hidden: false, method: 'GET', http09: false, input: new Capped(this.maxBytes), output: null };
    c.incoming = p;
    c.unanswered.push(p);
    return p;
  }

  /** The request's bytes are complete (or as complete as they will be): work out their ranges. */
  private finishRequest(p: Pending, eof: boolean): void {
    const got = p.input.take();
    const outcome = messageRanges(got.bytes, { ...this.parserOptions, eof: eof && !got.truncated });
    p.record.request = { ...got, outcome };
    if (!p.hidden && p.record.id === 0) {
      p.record.id = this.nextId++;
      this.history.push(p.record);
      if (this.history.length > this.historyLimit) this.history.shift();
    }
    this.changed(p);
  }

  // ----------------------------------------------------------- output side

  private output(c: ConnectionTrack, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    let p = c.unanswered[0];
    if (p === undefined && c.upgraded) return; // the tunnel's bytes, after the answer to the switch
    if (p === undefined) {
      // An answer to a request whose head never ended (408, 400 at EOF): record what arrived.
      p = this.begin(c);
    }
    p.output ??= new Capped(this.maxBytes);
    if (c.outputLost || p.http09) {
      p.output.add(bytes);
      return;
    }
    if (c.responseParser === null) {
      c.responseParser = new ResponseParser({ maxBodySize: Infinity, maxHeaderSize: 1 << 20, maxHeaderCount: 10_000 });
      c.responsePushed = 0;
      if (p.method === 'HEAD' || p.method === 'CONNECT') c.responseParser.expectNoBody(p.method);
    }
    const rp = c.responseParser;
    const before = c.responsePushed;
    rp.push(bytes);
    c.responsePushed += bytes.length;
    for (;;) {
      const ev = rp.next();
      if (ev.type === 'partial') break;
      if (ev.type === 'data') continue;
      if (ev.type === 'head') {
        // An interim response (100 Continue) precedes the final one: both are this exchange's (RFC 9110 §15.2).
        c.interim = ev.head.status < 200 && ev.head.status !== 101;
        continue;
      }
      if (ev.type === 'end' && c.interim) continue;
      if (ev.type === 'error') {
        c.outputLost = true; // not a response we can follow: keep what comes, unsplit
        p.output.add(bytes);
        return;
      }
      const end = rp.offset - before;
      p.output.add(bytes.subarray(0, end));
      c.responseParser = null;
      this.answered(c, p);
      if (end < bytes.length) this.output(c, bytes.subarray(end));
      return;
    }
    p.output.add(bytes);
  }

  private answered(c: ConnectionTrack, p: Pending): void {
    c.unanswered.shift();
    if (c.incoming === p) {
      // Answered before its request ended (an error answer, or a response that did not wait for the content).
      c.incoming = null;
      if (p.record.request.outcome === null) this.finishRequest(p, false);
    }
    const got = p.output!.take();
    p.record.response = { ...got, outcome: p.http09 ? null : messageRanges(got.bytes, { kind: 'response', head: p.method === 'HEAD', maxBodySize: Infinity }) };
    if (p.record.state !== 'rejected') p.record.state = 'answered';
    this.changed(p);
  }

  /** The peer sent its last byte: a request cut short is what the server answers 400 UNEXPECTED_EOF (RFC 9112 §8). */
  private ended(c: ConnectionTrack): void {
    const p = c.incoming;
    if (p === null || c.inputDone || p.record.request.outcome !== null) return;
    c.inputDone = true;
    this.finishRequest(p, true);
    if (p.record.request.outcome!.error !== null) p.record.state = 'rejected';
    this.changed(p);
  }

  private closed(c: ConnectionTrack): void {
    this.connections.delete(c.id);
    if (this.byRemote.get(c.remote) === c) this.byRemote.delete(c.remote);
    for (const p of c.unanswered) {
      if (p.record.request.outcome === null) this.finishRequest(p, true);
      if (p.output !== null) {
        const got = p.output.take();
        p.record.response = { ...got, outcome: p.http09 ? null : messageRanges(got.bytes, { kind: 'response', maxBodySize: Infinity }) };
      }
      const refused = p.record.request.outcome!.error !== null && p.record.request.outcome!.error.code !== 'UNEXPECTED_EOF';
      if (p.record.state !== 'rejected') p.record.state = refused ? 'rejected' : p.output !== null && p.http09 ? 'answered' : 'cut';
      this.changed(p);
    }
    c.unanswered.length = 0;
  }

  private changed(p: Pending): void {
    if (p.hidden || p.record.id === 0) return;
    try {
      this.onRecord?.(p.record);
    } catch {
      // A listener's failure must not stop the recording.
    }
  }
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`inspector: options.${name} must be a positive integer`);
  return v;
}

/**
 * The request dictionary as plain data: no stream, no signal, no functions.
 *
 * @example plainDict(req) // { verb: 'GET', path: '/a', querystr: null, …, rawheaders: [['Host', 'x']], remoteportnum: 51234 }
 */
export function plainDict(req: RequestDict): Record<string, unknown> {
  return {
    verb: req.verb, path: req.path, querystr: req.querystr, querydict: req.querydict, version: req.version,
    headers: req.headers, rawheaders: req.rawheaders, httpdid: req.httpdid, remoteipstr: req.remoteipstr, remoteportnum: req.remoteportnum,
  };
}
