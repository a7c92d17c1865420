/**
 * The collector half of the reliable stream (docs/0001-protocol.md): sequenced agent messages are queued, written in
 * group-committed batches — every concern's rows and the per-agent cursors in ONE transaction, so a crash between
 * them leaves neither (docs/0016-postgres.md) — and only then acknowledged. A sequence already accepted is ignored; a jump forward is recorded as a gap.
 */
import { lastSeqOf, OutpostError, type SequencedMessage, type SequencedType } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { Gap, StreamStore } from './store.js';

/**
 * The furthest one message may move an agent's cursor forward: 2^32 sequence numbers, more than an agent sending a
 * message every millisecond for seven weeks, or ten a second for thirteen years, could have lost. A legitimate jump
 * (an announced gap, an outbox lost with its disk) is far shorter. A longer one is refused: accepting it would move
 * the cursor past every number the agent will really send next, and each of those would be acknowledged as a
 * resend and dropped.
 */
export const MAX_SEQ_JUMP = 2 ** 32;

/** The side of a connection the stream needs: its agent, its cursor, and a way to acknowledge or drop it. */
export interface StreamPeer {
  readonly agentId: string;
  /** Highest sequence accepted on this connection (queued or committed). */
  cursor: number;
  ack(seq: number): void;
  fail(err: OutpostError): void;
}

interface Queued {
  peer: StreamPeer;
  msg: SequencedMessage;
}

/** One committed-to-be message of a sink's type, with the agent it came from. */
export interface SinkItem<T extends SequencedType> {
  agentId: string;
  msg: Extract<SequencedMessage, { type: T }>;
}

/**
 * What a sink's reactions to the rows it stored go through: `afterCommit(fn)` runs `fn` once the batch committed and
 * its agents were acknowledged — never when the batch rolls back (its resend reacts then). Detection, raising an
 * incident, telling an agent: anything that takes another lock or leaves the database.
 */
export interface SinkReactions {
  afterCommit(fn: () => Promise<void> | void): void;
}

/**
 * Where a concern's sequenced messages go. It runs inside the batch's transaction (its SqlDb calls join it; a store
 * still on the raw SQLite handle nests as a savepoint), must be idempotent by (agent, seq), because a batch that
 * failed is resent whole, and awaits nothing but the database: the transaction stays short, and a sink that waited
 * inside it on a service's own lock whose holder waits for the database would never finish (docs/0016-postgres.md,
 * "Reactions after the commit"). Reactions go through `reactions.afterCommit`.
 */
export type StreamSink<T extends SequencedType> = (
  items: SinkItem<T>[],
  now: number,
  reactions: SinkReactions,
) => Promise<void>;

type AnySink = (
  items: { agentId: string; msg: SequencedMessage }[],
  now: number,
  reactions: SinkReactions,
) => Promise<void>;

type Reaction = () => Promise<void> | void;

/** Counters the metrics endpoint reads. */
export interface StreamCounters {
  committed: number;
  duplicates: number;
  batches: number;
  gaps: number;
}

/** What StreamIngest is built from (one options object, not positional arguments). */
export interface StreamIngestInit {
  store: StreamStore;
  clock: Clock;
  logger: Logger;
  maxBatch?: number;
}

/** Batches, commits and acknowledges sequenced agent messages. */
export class StreamIngest {
  #queue: Queued[] = [];
  /** Peers whose duplicate-only messages still need an ack after the current flush. */
  #ackOnly = new Set<StreamPeer>();
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  readonly counters: StreamCounters = { committed: 0, duplicates: 0, batches: 0, gaps: 0 };
  /** Committed cursor per agent, kept for agents seen since start so acks need no read. */
  readonly #committed = new Map<string, number>();
  /** Highest sequence each peer submitted and had queued, ahead of `peer.cursor` (moved by the flush). */
  readonly #submitted = new WeakMap<StreamPeer, number>();

  readonly #sinks = new Map<string, AnySink>();

  private readonly store: StreamStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly maxBatch: number;
  constructor(init: StreamIngestInit) {
    const { store, clock, logger, maxBatch = 5000 } = init;
    this.store = store;
    this.clock = clock;
    this.logger = logger;
    this.maxBatch = maxBatch;
  }

  /** Routes one sequenced message type to the concern that stores it (one sink per type). */
  registerSink<T extends Exclude<SequencedType, 'stream.gap'>>(type: T, sink: StreamSink<T>): void {
    if (this.#sinks.has(type)) throw new Error(`a stream sink for ${type} is already registered`);
    this.#sinks.set(type, sink as unknown as AnySink);
  }

  /** The committed cursor of an agent (0 before its first message). */
  async cursorOf(agentId: string): Promise<number> {
    const known = this.#committed.get(agentId);
    if (known !== undefined) return known;
    const cursor = await this.store.cursor(agentId);
    this.#committed.set(agentId, cursor);
    return cursor;
  }

  /**
   * Accepts one sequenced message from an authenticated peer; throws OUTPOST_E_BAD_MESSAGE (nothing accepted, nothing
   * acknowledged) past the sequence space or more than MAX_SEQ_JUMP ahead of the peer's cursor.
   */
  submit(peer: StreamPeer, msg: SequencedMessage): void {
    // Each field is in range, but a message may still move the cursor where the agent's next numbers cannot follow:
    // past the last safe sequence number, or further than any agent could have gone. Every message after it would
    // be acknowledged as a resend and dropped. (Compared by subtraction: seq, count and the cursor are safe
    // integers, and so are their differences, while seq + count - 1 may round back into the safe range.)
    const span = msg.type === 'stream.gap' ? msg.count - 1 : 0;
    const base = Math.max(peer.cursor, this.#submitted.get(peer) ?? 0);
    const ahead = msg.seq - base;
    if (span > Number.MAX_SAFE_INTEGER - msg.seq)
      throw new OutpostError('OUTPOST_E_BAD_MESSAGE', {
        message: `${msg.type} ${msg.seq} runs past the largest sequence number`,
        details: { type: msg.type, seq: msg.seq },
      });
    if (ahead > MAX_SEQ_JUMP || span > MAX_SEQ_JUMP - ahead)
      throw new OutpostError('OUTPOST_E_BAD_MESSAGE', {
        message: `${msg.type} ${msg.seq} jumps more than ${MAX_SEQ_JUMP} sequence numbers past ${base}`,
        details: { type: msg.type, seq: msg.seq, cursor: base },
      });
    const last = lastSeqOf(msg);
    if (last <= peer.cursor) {
      // Already accepted (a resend after reconnect): acknowledge again so the agent can drop it, store nothing.
      this.counters.duplicates++;
      this.#ackOnly.add(peer);
      this.#schedule();
      return;
    }
    this.#submitted.set(peer, Math.max(base, last));
    this.#queue.push({ peer, msg });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#flushing) return;
    while (this.#queue.length > 0 || this.#ackOnly.size > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      const ackOnly = this.#ackOnly;
      this.#ackOnly = new Set();
      this.#flushing = this.#flush(batch, ackOnly);
      await this.#flushing;
      this.#flushing = undefined;
    }
  }

  /** Resolves when everything submitted so far is committed and acknowledged (used by shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#queue.length > 0 || this.#ackOnly.size > 0 || this.#flushing || this.#scheduled) {
      await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    }
  }

  async #flush(batch: Queued[], ackOnly: Set<StreamPeer>): Promise<void> {
    const accepted: { item: Queued; gap?: Gap }[] = [];
    for (const item of batch) {
      const { peer, msg } = item;
      // Re-check against the peer's cursor: a batch may hold a resend of a message queued earlier in it.
      if (lastSeqOf(msg) <= peer.cursor) {
        this.counters.duplicates++;
        ackOnly.add(peer);
        continue;
      }
      if (msg.type !== 'stream.gap' && !this.#sinks.has(msg.type)) {
        // Validated but unroutable: a collector built without that concern. Refuse rather than acknowledge and lose.
        peer.fail(new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: `no stream sink for ${msg.type}` }));
        continue;
      }
      let jump: Gap | undefined;
      if (msg.seq > peer.cursor + 1) {
        jump = {
          agentId: peer.agentId,
          fromSeq: peer.cursor + 1,
          count: msg.seq - peer.cursor - 1,
          reason: 'unannounced',
        };
        this.logger.warn(
          { agentId: peer.agentId, expected: peer.cursor + 1, got: msg.seq },
          'stream jumped forward; recording a gap',
        );
      }
      peer.cursor = lastSeqOf(msg);
      accepted.push(jump ? { item, gap: jump } : { item });
    }
    const acks = new Map<StreamPeer, number>();
    const reactions: Reaction[] = [];
    const several = new Set(accepted.map((a) => a.item.peer.agentId)).size > 1;
    if (!(await this.#commit(accepted, acks, reactions, !several)) && several) {
      // One agent's message that a concern cannot store must not cost every other agent of the batch its
      // connection: each agent's part is committed on its own (sinks are idempotent by agent and seq, so what the
      // failed attempt stored is not stored twice), and only the agents whose part still fails are dropped.
      this.logger.warn({ messages: accepted.length }, 'stream batch failed; committing it agent by agent');
      const byAgent = new Map<string, typeof accepted>();
      for (const a of accepted) {
        const list = byAgent.get(a.item.peer.agentId) ?? [];
        if (list.length === 0) byAgent.set(a.item.peer.agentId, list);
        list.push(a);
      }
      for (const part of byAgent.values()) await this.#commit(part, acks, reactions, true);
    }
    for (const peer of ackOnly) if (!acks.has(peer)) acks.set(peer, this.#committed.get(peer.agentId) ?? 0);
    for (const [peer, seq] of acks) peer.ack(seq);
    // In order, one batch after the other (flushes never overlap): detection sees an agent's samples in sequence.
    for (const react of reactions) {
      try {
        await react();
      } catch (err) {
        this.logger.error({ err }, 'reaction to a committed stream batch failed');
      }
    }
  }

  /**
   * Stores accepted messages (one sink call per type) and advances their agents' cursors in one commit. On success
   * their peers' acknowledgements go into `acks`; on failure nothing is acknowledged and, when `dropOnFailure`, the
   * peers are dropped so their agents resend after reconnecting.
   */
  async #commit(
    accepted: { item: Queued; gap?: Gap }[],
    acks: Map<StreamPeer, number>,
    reactions: Reaction[],
    dropOnFailure: boolean,
  ): Promise<boolean> {
    const byType = new Map<string, { agentId: string; msg: SequencedMessage }[]>();
    const gaps: Gap[] = [];
    const cursors = new Map<string, number>();
    for (const { item, gap } of accepted) {
      const { peer, msg } = item;
      if (gap) gaps.push(gap);
      if (msg.type === 'stream.gap') {
        gaps.push({ agentId: peer.agentId, fromSeq: msg.seq, count: msg.count, reason: msg.reason });
      } else {
        const list = byType.get(msg.type) ?? [];
        if (list.length === 0) byType.set(msg.type, list);
        list.push({ agentId: peer.agentId, msg });
      }
      cursors.set(peer.agentId, Math.max(cursors.get(peer.agentId) ?? 0, lastSeqOf(msg)));
    }
    try {
      const now = this.clock.now();
      // Reactions of an attempt that rolls back are dropped with it (the resend, or the agent-by-agent retry, reacts).
      const pending: Reaction[] = [];
      const sinkReactions: SinkReactions = { afterCommit: (fn) => void pending.push(fn) };
      await this.store.atomically(async () => {
        for (const [type, items] of byType) await this.#sinks.get(type)!(items, now, sinkReactions);
        if (cursors.size || gaps.length) await this.store.commit(cursors, gaps, now);
      });
      reactions.push(...pending);
    } catch (err) {
      const agents = [...cursors.keys()].slice(0, 20);
      for (const agentId of cursors.keys()) this.#committed.delete(agentId);
      if (!dropOnFailure) {
        this.logger.warn({ err, messages: accepted.length, agents }, 'stream commit failed');
        return false;
      }
      this.logger.error({ err, messages: accepted.length, agents }, 'stream commit failed');
      const failed = new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
      for (const { item } of accepted) item.peer.fail(failed);
      return false;
    }
    this.counters.committed += accepted.length;
    this.counters.batches++;
    this.counters.gaps += gaps.length;
    for (const [agentId, seq] of cursors)
      this.#committed.set(agentId, Math.max(this.#committed.get(agentId) ?? 0, seq));
    for (const { item } of accepted) acks.set(item.peer, this.#committed.get(item.peer.agentId) ?? item.peer.cursor);
    return true;
  }
}
