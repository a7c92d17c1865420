/**
 * The outbox's log file: appends with a group commit (every line queued in the same tick shares one write and one
 * fdatasync), plain writes for records whose loss only causes a resend, and atomic compaction (tmp file, fsync,
 * rename, fsync the directory). Every failure is an OUTPOST_E_OUTBOX naming the file.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';

/** Where the journal logs what it could not do (optional). */
export type JournalLogger = { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };

/** The append-only log file of one outbox directory. */
export class Journal {
  readonly file: string;
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #logger: JournalLogger | undefined;
  #fd = -1;
  #fileBytes = 0;
  /** Lines waiting for the next group commit, and the promises waiting on it. */
  #batch: string[] = [];
  #batchWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #flushScheduled = false;

  constructor(dir: string, fsync: boolean, logger: JournalLogger | undefined) {
    this.#dir = dir;
    this.file = join(dir, 'outbox.log');
    this.#fsync = fsync;
    this.#logger = logger;
  }

  /** Bytes the log holds as far as this journal wrote them (drives compaction). */
  get fileBytes(): number {
    return this.#fileBytes;
  }

  /** Runs a file operation, wrapping its failure as OUTPOST_E_OUTBOX. */
  io<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_OUTBOX', {
        cause,
        message: `Outbox ${what} failed for ${this.file}: ${(cause as Error).message}`,
        details: { file: this.file },
      });
    }
  }

  /** Creates the directory if needed and reads the whole log ('' when there is none yet). */
  read(): string {
    this.io('open', () => mkdirSync(this.#dir, { recursive: true, mode: 0o700 }));
    try {
      return readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.io('read', () => {
          throw err;
        });
      return '';
    }
  }

  /** Opens the log for appending; `goodBytes` is the size of what replay accepted. */
  openForAppend(goodBytes: number): void {
    this.#fd = this.io('open', () => openSync(this.file, 'a+', 0o600));
    this.#fileBytes = goodBytes;
  }

  /** Adds a line to the next group commit without waiting for it. */
  enqueue(line: string): void {
    this.#batch.push(line);
  }

  /** Queues a line for the next group commit and waits until it is written (and synced). */
  write(line: string): Promise<void> {
    this.#batch.push(line);
    return new Promise((resolve, reject) => {
      this.#batchWaiters.push({ resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Writes a line without a sync; joins the current group commit if one is pending. */
  writeNoSync(line: string): Promise<void> {
    if (this.#flushScheduled) return this.write(line);
    const buf = Buffer.from(line);
    this.io('write', () => writeSync(this.#fd, buf));
    this.#fileBytes += buf.length;
    return Promise.resolve();
  }

  /** Writes the pending group commit now. */
  flush(): void {
    this.#flushScheduled = false;
    const lines = this.#batch;
    const waiters = this.#batchWaiters;
    this.#batch = [];
    this.#batchWaiters = [];
    if (lines.length === 0) {
      for (const w of waiters) w.resolve();
      return;
    }
    try {
      const buf = Buffer.from(lines.join(''));
      this.io('write', () => {
        let off = 0;
        while (off < buf.length) off += writeSync(this.#fd, buf, off);
        if (this.#fsync) fdatasyncSync(this.#fd);
      });
      this.#fileBytes += buf.length;
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }

  /** Replaces the log by `text` atomically (tmp file, fsync, rename, fsync the directory) and reopens it. */
  replace(text: string): void {
    const tmp = `${this.file}.tmp`;
    this.io('compact', () => {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
      try {
        const dfd = openSync(this.#dir, 'r');
        try {
          fsyncSync(dfd);
        } finally {
          closeSync(dfd);
        }
      } catch (err) {
        // Directories cannot be fsync'ed on every platform (Windows); the rename is still atomic there.
        this.#logger?.info?.({ err: (err as Error).message }, 'directory fsync not supported');
      }
      if (this.#fd >= 0) closeSync(this.#fd);
      this.#fd = openSync(this.file, 'a+', 0o600);
    });
    this.#fileBytes = Buffer.byteLength(text);
  }

  /** Writes what is pending and closes the file. */
  close(): void {
    this.flush();
    if (this.#fd >= 0) this.io('close', () => closeSync(this.#fd));
    this.#fd = -1;
  }

  /** Bytes on disk (for tests of compaction). */
  size(): number {
    try {
      return statSync(this.file).size;
    } catch {
      // No file yet: nothing written.
      return 0;
    }
  }
}
