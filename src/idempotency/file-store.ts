/**
 * `fileStore(path)`: the memory store made durable. Every completed
 * response is appended to a journal ({@link Journal}) and synced before
 * `complete` resolves, so before the response leaves: a response the client
 * saw is replayed after a crash and a restart. Locks (requests in flight)
 * are not journaled: after a crash nobody is running them any more, and the
 * next request with the key runs the callback again (docs/exactly-once.md
 * explains when that can repeat an effect, and the pattern that prevents it).
 *
 * On open the journal is read back (expired records skipped, a torn last
 * record dropped). It is compacted (rewritten with the live records only)
 * when it is over `compactBytes` and more than twice the size of what is
 * live. One process per file: the file is not locked against a second one.
 *
 * @module
 */

import { ValueError } from '../errors.js';
import { Journal } from './journal.js';
import { MemoryStore, responseSize, type MemoryStoreOptions } from './memory-store.js';
import type { BeginResult, StoredRecord, StoredResponse } from './store.js';

/** Options of {@link fileStore}: the memory bounds, plus when to compact. */
export interface FileStoreOptions extends MemoryStoreOptions {
  /** Journal size (bytes) below which it is never compacted; default 1 MiB. */
  compactBytes?: number;
}

/** What the store found when it opened its journal. */
export interface FileStoreOpened {
  /** Live records loaded. */
  records: number;
  /** Bytes of a torn last record that were dropped (0: none). */
  droppedBytes: number;
}

/** A journal line of the file store. */
interface JournalRecord {
  k: string;
  f: string;
  e: number;
  s: number;
  m: string | null;
  h: Record<string, string | string[]>;
  b: string;
}

function toRecord(key: string, fingerprint: string, expiresAt: number, r: StoredResponse): JournalRecord {
  return { k: key, f: fingerprint, e: expiresAt, s: r.statuscode, m: r.statusmsg, h: r.headers, b: r.body.toString('base64') };
}

function isRecord(v: unknown): v is JournalRecord {
  const r = v as JournalRecord;
  return typeof v === 'object' && v !== null && typeof r.k === 'string' && typeof r.f === 'string' && typeof r.e === 'number' &&
    typeof r.s === 'number' && typeof r.b === 'string' && typeof r.h === 'object' && r.h !== null;
}

/**
 * The durable store; see the module comment. `opened` resolves once the
 * journal was read (every method waits for it), or rejects with why it
 * could not be (`JournalCorruptError`, EACCES...).
 *
 * @example
 * const store = new FileStore('./idempotency.journal');
 * const { records, droppedBytes } = await store.opened;
 */
export class FileStore extends MemoryStore {
  /** Resolves once the journal is loaded; rejects if it cannot be. */
  readonly opened: Promise<FileStoreOpened>;
  readonly compactBytes: number;
  private journal: Journal | null = null;
  private compacting = false;
  /** Records being appended: not in memory yet, but part of any compaction's snapshot. */
  private readonly appending = new Set<JournalRecord>();

  constructor(readonly path: string, options: FileStoreOptions = {}) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('fileStore(path): path must be a non-empty string');
    const { compactBytes, ...memory } = options ?? {};
    super(memory);
    if (compactBytes !== undefined && (typeof compactBytes !== 'number' || !(compactBytes >= 0))) throw new ValueError('options.compactBytes must be a non-negative number');
    this.compactBytes = compactBytes ?? 1024 * 1024;
    this.opened = this.load();
    this.opened.catch(() => {}); // reported by every method that waits for it
  }

  private async load(): Promise<FileStoreOpened> {
    const { journal, records, droppedBytes } = await Journal.open(this.path);
    this.journal = journal;
    const now = Date.now();
    for (const r of records) {
      if (!isRecord(r) || r.e <= now) continue;
      const response: StoredResponse = { statuscode: r.s, statusmsg: r.m ?? null, headers: r.h, body: Buffer.from(r.b, 'base64') };
      this.put(r.k, { fingerprint: r.f, expiresAt: r.e, response, size: responseSize(r.k, response) });
    }
    return { records: this.size, droppedBytes };
  }

  override async begin(key: string, fingerprint: string, lockTimeout: number): Promise<BeginResult> {
    await this.opened;
    return super.begin(key, fingerprint, lockTimeout);
  }

  /** Journals the response and syncs it, then stores it in memory. */
  override async complete(key: string, token: string, fingerprint: string, response: StoredResponse, ttl: number): Promise<boolean> {
    await this.opened;
    if (!this.holds(key, token)) return false;
    const expiresAt = Date.now() + ttl;
    const record = toRecord(key, fingerprint, expiresAt, response);
    // Until it is in memory, a compaction's snapshot takes it from here.
    this.appending.add(record);
    try {
      await this.journal!.append(record);
      // Synchronously after the sync: the lock may have lapsed meanwhile, but the record is on disk, so keep it.
      this.dropLock(key, token);
      this.put(key, { fingerprint, expiresAt, response, size: responseSize(key, response) });
    } finally {
      this.appending.delete(record);
    }
    this.maybeCompact();
    return true;
  }

  override async release(key: string, token: string): Promise<boolean> {
    await this.opened;
    return super.release(key, token);
  }

  override async get(key: string): Promise<StoredRecord | null> {
    await this.opened;
    return super.get(key);
  }

  /** Bytes of the journal file. */
  get journalBytes(): number {
    return this.journal?.size ?? 0;
  }

  /** Rewrites the journal with the live records only; resolves once done. */
  async compact(): Promise<void> {
    await this.opened;
    await this.journal!.rewrite(() => {
      const now = Date.now();
      const live: JournalRecord[] = [...this.appending];
      for (const [k, d] of this.entries()) if (d.expiresAt > now) live.push(toRecord(k, d.fingerprint, d.expiresAt, d.response));
      return live;
    });
  }

  private maybeCompact(): void {
    const j = this.journal!;
    if (this.compacting || j.size < this.compactBytes || j.size < 2 * this.bytes) return;
    this.compacting = true;
    // In the background: the response need not wait. A failure leaves the old journal, which is still whole.
    this.compact().catch(() => {}).finally(() => (this.compacting = false));
  }

  override async close(): Promise<void> {
    await this.opened.catch(() => {});
    await this.journal?.close();
    await super.close();
  }
}

/**
 * A durable store: records in memory (bounded like `memoryStore`) and in
 * an fsynced append-only journal at `path`, read back on start.
 *
 * @example
 * import { idempotent, fileStore } from 'repy-http/idempotency';
 * const store = fileStore('./var/idempotency.journal');
 * await store.opened; // fail fast on a corrupt or unreadable journal
 * await registerCallback(['127.0.0.1', 8080], idempotent(handler, { store }));
 */
export function fileStore(path: string, options: FileStoreOptions = {}): FileStore {
  return new FileStore(path, options);
}
