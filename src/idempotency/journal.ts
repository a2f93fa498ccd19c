/**
 * A durable append-only journal of JSON records, shared by `fileStore` (the
 * server's idempotency records) and `resumable` (the client's continuation).
 *
 * One record per line: `JSON <TAB> crc32-hex <LF>`. `JSON.stringify` never
 * emits a raw TAB or LF (control characters in strings are escaped), so the
 * last TAB of a line splits it without ambiguity. An append resolves only
 * once its bytes were written *and* `fdatasync`ed: a caller that waits for
 * it before answering (the server) or before sending (the client) knows the
 * record survives a crash of the process and of the machine.
 *
 * A process killed mid-`write` can leave a torn last record (power loss can
 * too, when the kernel had not written every block): a last line without
 * its LF, or whose checksum does not match. On open it is dropped and the
 * file truncated to the last whole record, since the append it belonged to
 * never resolved, so nobody acted on it. A bad record *followed by* good
 * ones cannot come from a torn append (appends are serialised and each is
 * synced before the next starts): that is corruption, and open refuses the
 * file ({@link JournalCorruptError}) rather than silently forgetting
 * records.
 *
 * Appends that arrive while a write is under way are written together and
 * synced once (group commit): 100 concurrent appends cost a few fsyncs, not
 * 100. `rewrite` (compaction) writes the live records to `path.tmp`, syncs
 * it, renames it over `path` and syncs the directory (POSIX rename is
 * atomic: a crash leaves either the old or the new journal).
 *
 * @example
 * const { journal, records } = await Journal.open('./state.journal');
 * await journal.append({ step: 1, value: 42 }); // on disk when this resolves
 *
 * @module
 */

import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { RepyHttpError } from '../errors.js';

/**
 * The journal file holds a bad record that is not the last one: disk
 * corruption or a file edited by hand, not a torn append. `code` is
 * `'ERR_JOURNAL_CORRUPT'`; `offset` is the byte offset of the bad line.
 *
 * @example err.code === 'ERR_JOURNAL_CORRUPT' && err.offset === 120
 */
export class JournalCorruptError extends RepyHttpError {
  override name = 'JournalCorruptError';
  declare readonly code: 'ERR_JOURNAL_CORRUPT';
  /** The journal's path. */
  readonly path: string;
  /** Byte offset of the first bad record. */
  readonly offset: number;
  constructor(path: string, offset: number, why: string) {
    super('ERR_JOURNAL_CORRUPT', `journal ${path} is corrupt at byte ${offset} (${why}); records after it are not torn appends, so it is not truncated`);
    this.path = path;
    this.offset = offset;
  }
}

/**
 * The journal cannot take more records: it was closed, or an earlier write
 * or sync failed (what reached the disk is then unknown, so nothing more is
 * appended after it). `code` is `'ERR_JOURNAL_CLOSED'`; `cause` is the
 * failure, if any.
 *
 * @example err.code === 'ERR_JOURNAL_CLOSED'
 */
export class JournalClosedError extends RepyHttpError {
  override name = 'JournalClosedError';
  declare readonly code: 'ERR_JOURNAL_CLOSED';
  constructor(path: string, cause?: unknown) {
    super('ERR_JOURNAL_CLOSED', `journal ${path} is closed${cause === undefined ? '' : ' after a failed write'}`, cause === undefined ? undefined : { cause });
  }
}

/** What {@link Journal.open} found. */
export interface JournalOpened {
  journal: Journal;
  /** The whole records, oldest first. */
  records: unknown[];
  /** Bytes of a torn last record that were dropped (0: none). */
  droppedBytes: number;
}

const TAB = 0x09;
const LF = 0x0a;

/** One line: the record, a TAB, its CRC-32 in hex, a LF. */
function encode(record: unknown): Buffer {
  const json = JSON.stringify(record);
  if (typeof json !== 'string') throw new TypeError('a journal record must be JSON-serialisable');
  const body = Buffer.from(json, 'utf8');
  return Buffer.concat([body, Buffer.from(`\t${crc32(body).toString(16)}\n`, 'latin1')]);
}

/** Parses one line (without its LF); null when its checksum or JSON is bad. */
function decode(line: Buffer): { value: unknown } | null {
  const tab = line.lastIndexOf(TAB);
  if (tab === -1) return null;
  const body = line.subarray(0, tab);
  if (line.subarray(tab + 1).toString('latin1') !== crc32(body).toString(16)) return null;
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return null;
  }
}

interface Pending {
  data: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * An open journal: `append` records, `rewrite` it with fewer, `close` it.
 * See the module comment for the format and the guarantees.
 *
 * @example
 * const { journal } = await Journal.open(path);
 * await journal.append({ k: 'a' });
 * await journal.close();
 */
export class Journal {
  /** Bytes in the file (whole records). */
  size: number;
  private queue: Pending[] = [];
  private busy: Promise<void> | null = null;
  private failed: JournalClosedError | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    size: number,
  ) {
    this.size = size;
  }

  /**
   * Opens (creating it if need be) the journal at `path` and reads its
   * records; a torn last record is dropped and cut off the file.
   * Rejects with {@link JournalCorruptError} for a bad record before the
   * last one, and with the file system's error (EACCES, EISDIR...).
   *
   * @example const { journal, records, droppedBytes } = await Journal.open('./a.journal');
   */
  static async open(path: string): Promise<JournalOpened> {
    const fh = await open(path, 'a+');
    try {
      const data = await fh.readFile();
      const records: unknown[] = [];
      let at = 0;
      while (at < data.length) {
        const lf = data.indexOf(LF, at);
        if (lf === -1) break; // no LF: a torn last record
        const rec = decode(data.subarray(at, lf));
        if (rec === null) {
          if (lf + 1 === data.length) break; // the last line is bad: torn
          throw new JournalCorruptError(path, at, 'bad checksum or JSON');
        }
        records.push(rec.value);
        at = lf + 1;
      }
      const droppedBytes = data.length - at;
      if (droppedBytes > 0) {
        await fh.truncate(at);
        await fh.datasync();
      }
      // A new (empty) file: its directory entry must be durable too, or a machine crash could lose the whole file.
      if (data.length === 0) await syncDir(dirname(path));
      return { journal: new Journal(path, fh, at), records, droppedBytes };
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  /**
   * Appends one record; resolves once it is written and synced. Appends
   * resolve in call order. Rejects with TypeError for a value JSON cannot
   * encode, and with {@link JournalClosedError} after `close` or after a
   * failed write (whose error is its `cause`).
   *
   * @example await journal.append({ step: 2, key: 'k-1' });
   */
  append(record: unknown): Promise<void> {
    if (this.failed !== null) return Promise.reject(this.failed);
    let data: Buffer;
    try {
      data = encode(record);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.busy ??= this.flush();
    });
  }

  /** Writes what is queued, one write and one sync per batch, until the queue is empty. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        const data = batch.length === 1 ? batch[0]!.data : Buffer.concat(batch.map((p) => p.data));
        await this.writeAll(data);
        await this.fh.datasync();
        this.size += data.length;
        for (const p of batch) p.resolve();
      } catch (e) {
        this.failed = new JournalClosedError(this.path, e);
        for (const p of [...batch, ...this.queue]) p.reject(this.failed);
        this.queue = [];
      }
    }
    this.busy = null;
  }

  private async writeAll(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.fh.write(data, off, data.length - off);
      off += bytesWritten;
    }
  }

  /**
   * Replaces the journal's content by `records` (compaction): written to
   * `path.tmp`, synced, renamed over `path`, the directory synced. Waits for
   * the appends under way; appends made meanwhile go to the new file. Pass a
   * function to take the snapshot once those appends are done, so that none
   * of them is lost by the rewrite.
   *
   * @example await journal.rewrite(liveRecords);
   */
  async rewrite(records: readonly unknown[] | (() => readonly unknown[])): Promise<void> {
    if (this.failed !== null) throw this.failed;
    while (this.busy !== null) await this.busy;
    // Hold appends until the new file is in place: they queue, and go to the new file after.
    let release!: () => void;
    this.busy = new Promise<void>((r) => (release = r));
    const tmp = `${this.path}.tmp`;
    try {
      // A function is asked for the records only now: every append before this point is on disk and in its result.
      const data = Buffer.concat((typeof records === 'function' ? records() : records).map(encode));
      const out = await open(tmp, 'w');
      try {
        await out.writeFile(data);
        await out.sync();
      } finally {
        await out.close();
      }
      await rename(tmp, this.path);
      await syncDir(dirname(this.path));
      const old = this.fh;
      this.fh = await open(this.path, 'a');
      this.size = data.length;
      await old.close().catch(() => {});
    } catch (e) {
      this.failed = new JournalClosedError(this.path, e);
      for (const p of this.queue) p.reject(this.failed);
      this.queue = [];
      throw e;
    } finally {
      this.busy = null;
      release();
      if (this.queue.length > 0) this.busy = this.flush();
    }
  }

  /** Waits for pending appends, then closes the file. Later appends reject. Idempotent. */
  async close(): Promise<void> {
    while (this.busy !== null) await this.busy;
    if (this.closed) return;
    this.closed = true;
    this.failed ??= new JournalClosedError(this.path);
    await this.fh.close().catch(() => {});
  }
}

/** fsync of a directory, so that a rename in it is durable (POSIX). */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
