/**
 * The outbox's in-memory bookkeeping: the unacknowledged messages in sequence order, the collector's cursor (the
 * last acknowledged number), and the gaps that stand for messages dropped when the outbox was full or lost to a
 * corrupt log. It never touches the disk; the outbox writes the records that replay it.
 */
import { lastSeqOf, type SequencedMessage, type StreamGap } from '@outpost/shared';

/** A pending message and its serialised size. */
interface Entry {
  msg: SequencedMessage;
  bytes: number;
}

const sizeOf = (msg: SequencedMessage): number => Buffer.byteLength(JSON.stringify(msg));

/** Pending messages after the cursor, with their byte total and the count of data messages dropped. */
export class PendingQueue {
  #entries: Entry[] = [];
  #pendingBytes = 0;
  #acked = 0;
  #droppedTotal = 0;

  get length(): number {
    return this.#entries.length;
  }
  get pendingBytes(): number {
    return this.#pendingBytes;
  }
  /** The last sequence number the collector acknowledged. */
  get acked(): number {
    return this.#acked;
  }
  get droppedTotal(): number {
    return this.#droppedTotal;
  }
  /** The pending messages in order (for compaction). */
  messages(): SequencedMessage[] {
    return this.#entries.map((e) => e.msg);
  }
  /** The end of the newest pending message's range (undefined when nothing is pending). */
  lastPendingSeq(): number | undefined {
    const last = this.#entries.at(-1);
    return last ? lastSeqOf(last.msg) : undefined;
  }

  /** Adds a message at the tail; returns its size in bytes. */
  push(msg: SequencedMessage): number {
    const bytes = sizeOf(msg);
    this.#entries.push({ msg, bytes });
    this.#pendingBytes += bytes;
    return bytes;
  }

  /** Keeps the queue contiguous after a replay: holes (corrupt lines) become gaps, duplicates go. */
  normalise(nextSeq: number): void {
    const out: Entry[] = [];
    let expected = this.#acked + 1;
    const gap = (seq: number, count: number): Entry => {
      const msg: StreamGap = { type: 'stream.gap', seq, count, reason: 'outbox_corrupt' };
      return { msg, bytes: sizeOf(msg) };
    };
    for (const e of this.#entries.sort((a, b) => a.msg.seq - b.msg.seq)) {
      if (lastSeqOf(e.msg) < expected) continue; // duplicate after a drop record
      if (e.msg.seq > expected) out.push(gap(expected, e.msg.seq - expected));
      out.push(e);
      expected = lastSeqOf(e.msg) + 1;
    }
    // Everything after the ack was lost: announce it so the collector's cursor can move on.
    if (expected < nextSeq && nextSeq - 1 > this.#acked && out.length === 0)
      out.push(gap(expected, nextSeq - expected));
    this.#entries = out;
    this.#pendingBytes = out.reduce((n, e) => n + e.bytes, 0);
  }

  /** The collector committed everything ≤ seq: those entries go, a gap it partly covers keeps its tail. */
  ack(seq: number): void {
    if (seq <= this.#acked) return;
    this.#acked = seq;
    while (this.#entries.length > 0) {
      const head = this.#entries[0]!;
      const last = lastSeqOf(head.msg);
      if (last <= seq) {
        this.#entries.shift();
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

  /** Messages seq..seq+count-1 were dropped: they leave, and one gap at the head stands for them all. */
  drop(seq: number, count: number): void {
    const end = seq + count - 1;
    let dropped = 0;
    const isDataUpToEnd = (e: Entry | undefined) =>
      e !== undefined && e.msg.type !== 'stream.gap' && lastSeqOf(e.msg) <= end;
    while (isDataUpToEnd(this.#entries[0])) {
      const e = this.#entries.shift()!;
      this.#pendingBytes -= e.bytes;
      dropped++;
    }
    // Also drop data entries right after an existing head gap.
    const head = this.#entries[0];
    if (head?.msg.type === 'stream.gap') {
      while (this.#entries.length > 1 && isDataUpToEnd(this.#entries[1])) {
        const e = this.#entries.splice(1, 1)[0]!;
        this.#pendingBytes -= e.bytes;
        dropped++;
      }
      const g = head.msg;
      const newEnd = Math.max(g.seq + g.count - 1, end);
      head.msg = { ...g, count: newEnd - g.seq + 1 };
    } else if (end > this.#acked) {
      const from = Math.max(seq, this.#acked + 1);
      const gap: StreamGap = { type: 'stream.gap', seq: from, count: end - from + 1, reason: 'outbox_full' };
      const entry = { msg: gap, bytes: sizeOf(gap) };
      this.#entries.unshift(entry);
      this.#pendingBytes += entry.bytes;
    }
    this.#droppedTotal += dropped;
  }

  /**
   * Drops the oldest data entries until one more entry of `bytes` fits the bounds; returns the dropped range (for
   * the log's drop record) or undefined when it already fit.
   */
  makeRoom(bytes: number, maxEntries: number, maxBytes: number): { from: number; to: number } | undefined {
    let from = -1;
    let to = -1;
    while (this.#entries.length + 1 > maxEntries || this.#pendingBytes + bytes > maxBytes) {
      const idx = this.#entries[0]?.msg.type === 'stream.gap' ? 1 : 0;
      const victim = this.#entries[idx];
      if (!victim) break;
      if (from < 0) from = victim.msg.seq;
      to = lastSeqOf(victim.msg);
      this.drop(victim.msg.seq, to - victim.msg.seq + 1);
      if (this.#entries.length <= 1 && this.#entries[0]?.msg.type === 'stream.gap') break;
    }
    return from > 0 ? { from, to } : undefined;
  }

  /** Unacked messages whose range ends after `afterSeq`, in order, at most `limit`. */
  pendingAfter(afterSeq: number, limit: number): SequencedMessage[] {
    const out: SequencedMessage[] = [];
    for (const e of this.#entries) {
      if (out.length >= limit) break;
      if (lastSeqOf(e.msg) > afterSeq) out.push(e.msg);
    }
    return out;
  }
}
