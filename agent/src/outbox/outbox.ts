/**
 * The agent's durable outbox for the reliable stream (docs/0001-protocol.md). Pure JavaScript on node:fs so it
 * bundles into the single executable. The line format is format.ts, the file and its group commit journal.ts, the
 * pending messages and the collector's cursor queue.ts; this module numbers messages, replays the log at start,
 * bounds the outbox (dropping the oldest into a gap), compacts, and wakes the sender (backpressure).
 *
 * A message is written (and, by default, fdatasync'ed in a group commit) before its sequence number is returned,
 * so a sequence number is never handed out twice, even after SIGKILL. A torn or corrupt line is skipped.
 */
import { lastSeqOf, OutpostError, type SequencedBody, type SequencedMessage } from '@outpost/shared';
import { compactedLog, encodeLine, type LogRecord, parseLog } from './format.js';
import { Journal, type JournalLogger } from './journal.js';
import { PendingQueue } from './queue.js';

/** Outbox settings. */
export interface OutboxOptions {
  dir: string;
  maxEntries?: number | undefined;
  maxBytes?: number | undefined;
  fsync?: boolean | undefined;
  logger?: JournalLogger | undefined;
}

/** Figures for `status` and heartbeats. */
export interface OutboxStats {
  pending: number;
  pendingBytes: number;
  acked: number;
  nextSeq: number;
  droppedTotal: number;
  fileBytes: number;
}

/** The durable outbox. */
export class Outbox {
  readonly #journal: Journal;
  readonly #queue = new PendingQueue();
  #nextSeq = 1;
  /** Bytes of the messages appended since the last compaction or ack (the log's live share). */
  #liveBytes = 0;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #logger: OutboxOptions['logger'];
  #waiters = new Set<() => void>();
  #closed = false;

  private constructor(options: OutboxOptions) {
    this.#journal = new Journal(options.dir, options.fsync ?? true, options.logger);
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.#logger = options.logger;
  }

  /** Opens (creating if needed) the outbox in `dir` and replays its log. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(options);
    outbox.#load();
    return outbox;
  }

  #load(): void {
    const { records, corrupt, goodBytes } = parseLog(this.#journal.read());
    let maxSeq = 0;
    for (const rec of records) {
      this.#apply(rec);
      maxSeq = Math.max(
        maxSeq,
        rec.op === 'append' ? lastSeqOf(rec.msg) : rec.op === 'drop' ? rec.seq + rec.count - 1 : rec.seq,
      );
    }
    this.#nextSeq = Math.max(maxSeq, this.#queue.acked) + 1;
    if (corrupt > 0)
      this.#logger?.warn(
        { file: this.#journal.file, corruptLines: corrupt },
        'outbox had torn or corrupt lines; skipped them',
      );
    this.#queue.normalise(this.#nextSeq);
    this.#journal.openForAppend(goodBytes);
    // Rewrite so the corrupt lines cannot confuse the next replay (and an unterminated tail is not appended to).
    if (corrupt > 0) this.#compactNow();
  }

  #apply(rec: LogRecord): void {
    switch (rec.op) {
      case 'append':
        if (lastSeqOf(rec.msg) > this.#queue.acked) this.#liveBytes += this.#queue.push(rec.msg);
        return;
      case 'ack':
        this.#queue.ack(rec.seq);
        return;
      case 'drop':
        this.#queue.drop(rec.seq, rec.count);
        return;
    }
  }

  /** Numbers and durably stores one message; resolves with the message as stored (seq set). */
  async append(body: SequencedBody): Promise<SequencedMessage> {
    if (this.#closed)
      throw new OutpostError('OUTPOST_E_OUTBOX', {
        message: 'Outbox is closed',
        details: { file: this.#journal.file },
      });
    const msg = { ...body, seq: this.#nextSeq } as SequencedMessage;
    this.#nextSeq = lastSeqOf(msg) + 1;
    this.#makeRoom(Buffer.byteLength(JSON.stringify(msg)));
    this.#liveBytes += this.#queue.push(msg);
    await this.#journal.write(encodeLine({ op: 'append', msg }));
    for (const w of this.#waiters) w();
    return msg;
  }

  /** Drops the oldest unacknowledged data entries until one more entry of `bytes` fits; logs the drop record. */
  #makeRoom(bytes: number): void {
    const dropped = this.#queue.makeRoom(bytes, this.#maxEntries, this.#maxBytes);
    if (!dropped) return;
    const { from, to } = dropped;
    this.#journal.enqueue(encodeLine({ op: 'drop', seq: from, count: to - from + 1 }));
    this.#logger?.warn(
      { from, to, droppedTotal: this.#queue.droppedTotal },
      'outbox full: dropped the oldest messages',
    );
  }

  /** Unacked messages whose range ends after `afterSeq`, in order, at most `limit`. */
  pendingAfter(afterSeq: number, limit: number): SequencedMessage[] {
    return this.#queue.pendingAfter(afterSeq, limit);
  }

  /**
   * The collector committed everything ≤ seq. An ack is not fsync'ed: losing one only causes a resend. An ack past
   * the last number this outbox issued is refused like a welcome cursor past it (`syncWithCollector`): it would drop
   * messages the collector never received.
   */
  async ack(seq: number): Promise<void> {
    this.#checkCursor(seq, 'stream.ack');
    if (seq <= this.#queue.acked) return;
    const before = this.#queue.length;
    this.#queue.ack(seq);
    this.#liveBytes = this.#queue.pendingBytes;
    await this.#journal.writeNoSync(encodeLine({ op: 'ack', seq }));
    if (before > 0 && this.#journal.fileBytes > Math.max(1024 * 1024, 4 * this.#liveBytes)) this.#compactNow();
  }

  /**
   * At every welcome: ack up to the collector's cursor. A cursor past the last number this outbox ever issued cannot
   * be a commit of ours (a stolen or broken collector, or a lost outbox file): it is a protocol error and nothing is
   * acknowledged or trimmed, so no stored message is lost for it (docs/0001-protocol.md, "Reliable stream").
   */
  async syncWithCollector(lastSeq: number): Promise<void> {
    this.#checkCursor(lastSeq, 'collector.welcome');
    await this.ack(lastSeq);
  }

  /** Throws OUTPOST_E_BAD_MESSAGE for a collector cursor past the last sequence number this outbox issued. */
  #checkCursor(seq: number, from: 'collector.welcome' | 'stream.ack'): void {
    const lastIssued = this.#nextSeq - 1;
    if (seq > lastIssued)
      throw new OutpostError('OUTPOST_E_BAD_MESSAGE', {
        message: `The collector's ${from} announces stream cursor ${seq}, past the last sequence number this agent issued (${lastIssued}); nothing was acknowledged`,
        details: { from, collectorLastSeq: seq, lastIssued, pending: this.#queue.length },
      });
  }

  /** Resolves when an entry with range end > afterSeq is pending; rejects when `signal` aborts. */
  waitForPendingAfter(afterSeq: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if ((this.#queue.lastPendingSeq() ?? Number.NEGATIVE_INFINITY) > afterSeq) {
          done();
          resolve();
        }
      };
      const onAbort = () => {
        done();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const done = () => {
        this.#waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(check);
      check();
    });
  }

  /** Rewrites the log with only the live state. */
  #compactNow(): void {
    this.#journal.replace(compactedLog(this.#queue.acked, this.#queue.messages()));
    this.#liveBytes = this.#queue.pendingBytes;
  }

  stats(): OutboxStats {
    return {
      pending: this.#queue.length,
      pendingBytes: this.#queue.pendingBytes,
      acked: this.#queue.acked,
      nextSeq: this.#nextSeq,
      droppedTotal: this.#queue.droppedTotal,
      fileBytes: this.#journal.fileBytes,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#journal.close();
  }

  /** Bytes on disk (for tests of compaction). */
  get fileSize(): number {
    return this.#journal.size();
  }
}
