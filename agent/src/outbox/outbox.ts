/**
 * The agent's durable outbox for the reliable stream (docs/0001-protocol.md). Pure JavaScript on node:fs so it
 * bundles into the single executable: an append-only log of CRC-checked lines.
 *
 *   <crc32 hex> {"op":"append","msg":{…seq…}}   a numbered message
 *   <crc32 hex> {"op":"ack","seq":N}            the collector committed everything ≤ N
 *   <crc32 hex> {"op":"drop","seq":S,"count":C} S..S+C-1 were dropped because the outbox was full
 *
 * A message is written (and, by default, fdatasync'ed in a group commit) before its sequence number is returned,
 * so a sequence number is never handed out twice, even after SIGKILL. A torn or corrupt line is skipped.
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
import { crc32 } from 'node:zlib';
import { lastSeqOf, OutpostError, type SequencedBody, type SequencedMessage, type StreamGap } from '@outpost/shared';

/** Outbox settings. */
export interface OutboxOptions {
  dir: string;
  maxEntries?: number | undefined;
  maxBytes?: number | undefined;
  fsync?: boolean | undefined;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void } | undefined;
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

type Record_ =
  | { op: 'append'; msg: SequencedMessage }
  | { op: 'ack'; seq: number }
  | { op: 'drop'; seq: number; count: number };

interface Entry {
  msg: SequencedMessage;
  bytes: number;
}

const encodeLine = (rec: Record_): string => {
  const json = JSON.stringify(rec);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
};

function decodeLine(line: string): Record_ | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return undefined;
  try {
    const rec = JSON.parse(json) as Record_;
    if (rec.op === 'append' && typeof rec.msg?.seq === 'number') return rec;
    if ((rec.op === 'ack' || rec.op === 'drop') && Number.isSafeInteger(rec.seq)) return rec;
  } catch {
    // A CRC collision on garbage is astronomically unlikely; treat it like any corrupt line.
  }
  return undefined;
}

/** The durable outbox. */
export class Outbox {
  readonly #file: string;
  readonly #dir: string;
  #fd: number;
  #fileBytes: number;
  #acked = 0;
  #nextSeq = 1;
  #queue: Entry[] = [];
  #pendingBytes = 0;
  #droppedTotal = 0;
  #liveBytes = 0;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #fsync: boolean;
  readonly #logger: OutboxOptions['logger'];
  /** Lines waiting for the next group commit, and the promises waiting on it. */
  #batch: string[] = [];
  #batchWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #flushScheduled = false;
  #waiters = new Set<() => void>();
  #closed = false;

  private constructor(dir: string, options: OutboxOptions) {
    this.#dir = dir;
    this.#file = join(dir, 'outbox.log');
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.#fsync = options.fsync ?? true;
    this.#logger = options.logger;
    this.#fd = -1;
    this.#fileBytes = 0;
  }

  /** Opens (creating if needed) the outbox in `dir` and replays its log. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(options.dir, options);
    outbox.#load();
    return outbox;
  }

  #io<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_OUTBOX', {
        cause,
        message: `Outbox ${what} failed for ${this.#file}: ${(cause as Error).message}`,
        details: { file: this.#file },
      });
    }
  }

  #load(): void {
    this.#io('open', () => mkdirSync(this.#dir, { recursive: true, mode: 0o700 }));
    let text = '';
    try {
      text = readFileSync(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#io('read', () => {
          throw err;
        });
    }
    let goodBytes = 0;
    let offset = 0;
    let corrupt = 0;
    let maxSeq = 0;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const isLast = i === lines.length - 1;
      const lineBytes = Buffer.byteLength(line) + (isLast ? 0 : 1);
      offset += lineBytes;
      if (isLast && line === '') break;
      const rec = isLast ? undefined : decodeLine(line); // an unterminated last line is a torn write
      if (!rec) {
        corrupt++;
        continue;
      }
      goodBytes = offset;
      this.#apply(rec);
      maxSeq = Math.max(
        maxSeq,
        rec.op === 'append' ? lastSeqOf(rec.msg) : rec.op === 'drop' ? rec.seq + rec.count - 1 : rec.seq,
      );
    }
    this.#nextSeq = Math.max(maxSeq, this.#acked) + 1;
    if (corrupt > 0)
      this.#logger?.warn({ file: this.#file, corruptLines: corrupt }, 'outbox had torn or corrupt lines; skipped them');
    this.#normalise();
    this.#fd = this.#io('open', () => openSync(this.#file, 'a+', 0o600));
    if (corrupt > 0) {
      // Rewrite so the corrupt lines cannot confuse the next replay (and an unterminated tail is not appended to).
      this.#compactNow();
    } else {
      this.#fileBytes = goodBytes;
    }
  }

  #apply(rec: Record_): void {
    switch (rec.op) {
      case 'append':
        if (lastSeqOf(rec.msg) > this.#acked) this.#push(rec.msg);
        return;
      case 'ack':
        this.#ackInMemory(rec.seq);
        return;
      case 'drop':
        this.#dropInMemory(rec.seq, rec.count);
        return;
    }
  }

  #push(msg: SequencedMessage): void {
    const bytes = Buffer.byteLength(JSON.stringify(msg));
    this.#queue.push({ msg, bytes });
    this.#pendingBytes += bytes;
    this.#liveBytes += bytes;
  }

  /** Keeps the queue contiguous: replay may leave holes (corrupt lines); they become gaps. */
  #normalise(): void {
    const out: Entry[] = [];
    let expected = this.#acked + 1;
    for (const e of this.#queue.sort((a, b) => a.msg.seq - b.msg.seq)) {
      if (lastSeqOf(e.msg) < expected) continue; // duplicate after a drop record
      if (e.msg.seq > expected) {
        const gap: StreamGap = {
          type: 'stream.gap',
          seq: expected,
          count: e.msg.seq - expected,
          reason: 'outbox_corrupt',
        };
        out.push({ msg: gap, bytes: Buffer.byteLength(JSON.stringify(gap)) });
      }
      out.push(e);
      expected = lastSeqOf(e.msg) + 1;
    }
    if (expected < this.#nextSeq && this.#nextSeq - 1 > this.#acked && out.length === 0) {
      // Everything after the ack was lost: announce it so the collector's cursor can move on.
      const gap: StreamGap = {
        type: 'stream.gap',
        seq: expected,
        count: this.#nextSeq - expected,
        reason: 'outbox_corrupt',
      };
      out.push({ msg: gap, bytes: Buffer.byteLength(JSON.stringify(gap)) });
    }
    this.#queue = out;
    this.#pendingBytes = out.reduce((n, e) => n + e.bytes, 0);
  }

  #ackInMemory(seq: number): void {
    if (seq <= this.#acked) return;
    this.#acked = seq;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const last = lastSeqOf(head.msg);
      if (last <= seq) {
        this.#queue.shift();
        this.#pendingBytes -= head.bytes;
        continue;
      }
      if (head.msg.type === 'stream.gap' && head.msg.seq <= seq) {
        // Partly covered gap: keep only its uncovered tail.
        const trimmed: StreamGap = { ...head.msg, seq: seq + 1, count: last - seq };
        head.msg = trimmed;
      }
      break;
    }
  }

  #dropInMemory(seq: number, count: number): void {
    const end = seq + count - 1;
    let dropped = 0;
    while (
      this.#queue.length > 0 &&
      this.#queue[0]!.msg.type !== 'stream.gap' &&
      lastSeqOf(this.#queue[0]!.msg) <= end
    ) {
      const e = this.#queue.shift()!;
      this.#pendingBytes -= e.bytes;
      dropped++;
    }
    // Also drop data entries right after an existing head gap.
    if (this.#queue[0]?.msg.type === 'stream.gap') {
      const gap = this.#queue[0];
      while (
        this.#queue.length > 1 &&
        this.#queue[1]!.msg.type !== 'stream.gap' &&
        lastSeqOf(this.#queue[1]!.msg) <= end
      ) {
        const e = this.#queue.splice(1, 1)[0]!;
        this.#pendingBytes -= e.bytes;
        dropped++;
      }
      const g = gap.msg as StreamGap;
      const newEnd = Math.max(g.seq + g.count - 1, end);
      gap.msg = { ...g, count: newEnd - g.seq + 1 };
    } else if (end > this.#acked) {
      const from = Math.max(seq, this.#acked + 1);
      const gap: StreamGap = { type: 'stream.gap', seq: from, count: end - from + 1, reason: 'outbox_full' };
      const entry = { msg: gap, bytes: Buffer.byteLength(JSON.stringify(gap)) };
      this.#queue.unshift(entry);
      this.#pendingBytes += entry.bytes;
    }
    this.#droppedTotal += dropped;
  }

  /** Numbers and durably stores one message; resolves with the message as stored (seq set). */
  async append(body: SequencedBody): Promise<SequencedMessage> {
    if (this.#closed)
      throw new OutpostError('OUTPOST_E_OUTBOX', { message: 'Outbox is closed', details: { file: this.#file } });
    const msg = { ...body, seq: this.#nextSeq } as SequencedMessage;
    this.#nextSeq = lastSeqOf(msg) + 1;
    const bytes = Buffer.byteLength(JSON.stringify(msg));
    this.#makeRoom(bytes);
    this.#queue.push({ msg, bytes });
    this.#pendingBytes += bytes;
    this.#liveBytes += bytes;
    await this.#write(encodeLine({ op: 'append', msg }));
    for (const w of this.#waiters) w();
    return msg;
  }

  /** Drops the oldest unacknowledged data entries until one more entry of `bytes` fits. */
  #makeRoom(bytes: number): void {
    const dataCount = () => this.#queue.length;
    if (dataCount() + 1 <= this.#maxEntries && this.#pendingBytes + bytes <= this.#maxBytes) return;
    let from = -1;
    let to = -1;
    while (dataCount() + 1 > this.#maxEntries || this.#pendingBytes + bytes > this.#maxBytes) {
      const idx = this.#queue[0]?.msg.type === 'stream.gap' ? 1 : 0;
      const victim = this.#queue[idx];
      if (!victim) break;
      if (from < 0) from = victim.msg.seq;
      to = lastSeqOf(victim.msg);
      this.#dropInMemory(victim.msg.seq, to - victim.msg.seq + 1);
      if (this.#queue.length <= 1 && this.#queue[0]?.msg.type === 'stream.gap') break;
    }
    if (from > 0) {
      this.#batch.push(encodeLine({ op: 'drop', seq: from, count: to - from + 1 }));
      this.#logger?.warn({ from, to, droppedTotal: this.#droppedTotal }, 'outbox full: dropped the oldest messages');
    }
  }

  /** Queues a line for the next group commit and waits for it. */
  #write(line: string): Promise<void> {
    this.#batch.push(line);
    return new Promise((resolve, reject) => {
      this.#batchWaiters.push({ resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
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
      this.#io('write', () => {
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

  /** Unacked messages whose range ends after `afterSeq`, in order, at most `limit`. */
  pendingAfter(afterSeq: number, limit: number): SequencedMessage[] {
    const out: SequencedMessage[] = [];
    for (const e of this.#queue) {
      if (out.length >= limit) break;
      if (lastSeqOf(e.msg) > afterSeq) out.push(e.msg);
    }
    return out;
  }

  /**
   * The collector committed everything ≤ seq. An ack is not fsync'ed: losing one only causes a resend. An ack past
   * the last number this outbox issued is refused like a welcome cursor past it (`syncWithCollector`): it would drop
   * messages the collector never received.
   */
  async ack(seq: number): Promise<void> {
    this.#checkCursor(seq, 'stream.ack');
    if (seq <= this.#acked) return;
    const before = this.#queue.length;
    this.#ackInMemory(seq);
    this.#liveBytes = this.#pendingBytes;
    await this.#writeNoSync(encodeLine({ op: 'ack', seq }));
    if (before > 0 && this.#fileBytes > Math.max(1024 * 1024, 4 * this.#liveBytes)) this.#compactNow();
  }

  #writeNoSync(line: string): Promise<void> {
    // Joins the current group commit if one is pending; otherwise a plain write.
    if (this.#flushScheduled) return this.#write(line);
    const buf = Buffer.from(line);
    this.#io('write', () => writeSync(this.#fd, buf));
    this.#fileBytes += buf.length;
    return Promise.resolve();
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
        if (this.#queue.length > 0 && lastSeqOf(this.#queue[this.#queue.length - 1]!.msg) > afterSeq) {
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

  /** Rewrites the log with only the live state (tmp file, fsync, rename, fsync the directory). */
  #compactNow(): void {
    const tmp = `${this.#file}.tmp`;
    // The queue is contiguous from acked + 1, so the ack record plus the entries restore nextSeq exactly.
    const text = [encodeLine({ op: 'ack', seq: this.#acked })]
      .concat(
        this.#queue.map((e) =>
          e.msg.type === 'stream.gap'
            ? encodeLine({ op: 'drop', seq: e.msg.seq, count: e.msg.count })
            : encodeLine({ op: 'append', msg: e.msg }),
        ),
      )
      .join('');
    this.#io('compact', () => {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.#file);
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
      this.#fd = openSync(this.#file, 'a+', 0o600);
    });
    this.#fileBytes = Buffer.byteLength(text);
    this.#liveBytes = this.#pendingBytes;
  }

  stats(): OutboxStats {
    return {
      pending: this.#queue.length,
      pendingBytes: this.#pendingBytes,
      acked: this.#acked,
      nextSeq: this.#nextSeq,
      droppedTotal: this.#droppedTotal,
      fileBytes: this.#fileBytes,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    if (this.#fd >= 0) this.#io('close', () => closeSync(this.#fd));
    this.#fd = -1;
  }

  /** Bytes on disk (for tests of compaction). */
  get fileSize(): number {
    try {
      return statSync(this.#file).size;
    } catch {
      // No file yet: nothing written.
      return 0;
    }
  }
}
