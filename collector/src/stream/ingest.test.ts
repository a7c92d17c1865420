import type { OutpostError, SequencedMessage } from '@outpost/shared';
import pino from 'pino';
import { beforeEach, expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { EventsStore, eventsMigrations } from '../events/index.js';
import { MAX_SEQ_JUMP, StreamIngest } from './ingest.js';
import { StreamStore, streamMigrations } from './store.js';

class Peer {
  cursor = 0;
  acks: number[] = [];
  failures: OutpostError[] = [];
  constructor(readonly agentId: string) {}
  ack(seq: number) {
    this.acks.push(seq);
  }
  fail(err: OutpostError) {
    this.failures.push(err);
  }
}

const ev = (seq: number): SequencedMessage => ({ type: 'stream.event', seq, time: 1, kind: 'test', data: { seq } });
const metrics = (seq: number): SequencedMessage => ({
  type: 'metrics.batch',
  seq,
  samples: [{ time: 1, values: { 'cpu.total_pct': 1 } }],
});

describeStores('stream ingest', [...streamMigrations, ...eventsMigrations], (db) => {
  let events: EventsStore;
  let stream: StreamStore;
  let ingest: StreamIngest;
  beforeEach(() => {
    events = new EventsStore(db());
    stream = new StreamStore(db());
    ingest = new StreamIngest({ store: stream, clock: { now: () => 42 }, logger: pino({ level: 'silent' }) });
    ingest.registerSink('stream.event', async (items, now) => {
      await events.insertBatch(items, now);
    });
  });

  // Found by test/security/protocol-fuzz: a schema-valid gap (seq and count each at most 2^53-1) ran the cursor past
  // 2^53-1, after which every later message of the agent was acknowledged as a resend and silently dropped.
  it('refuses a gap that runs past the largest safe sequence number, and changes nothing', async () => {
    const p = new Peer('ag_1');
    ingest.submit(p, ev(1));
    const gap = { type: 'stream.gap', seq: 2, count: Number.MAX_SAFE_INTEGER, reason: 'outbox_full' } as const;
    expect(() => ingest.submit(p, gap)).toThrow(expect.objectContaining({ code: 'OUTPOST_E_BAD_MESSAGE' }));
    ingest.submit(p, ev(2));
    await ingest.idle();
    expect(await stream.cursor('ag_1')).toBe(2);
    expect(await events.count('ag_1')).toEqual({ total: 2, distinctSeq: 2 });
    // Reaching the last number in one gap is refused too (issue 17): nothing could follow it.
    expect(() => ingest.submit(p, { ...gap, seq: 3, count: Number.MAX_SAFE_INTEGER - 2 })).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_BAD_MESSAGE' }),
    );
  });

  // Issue 17: an event with seq 2^53-1 was accepted (as an unannounced jump), and then every message the agent really
  // sent next (3, 4…) was acknowledged as a resend and dropped.
  it('refuses a message that jumps further than any agent could have gone, and keeps storing what follows', async () => {
    const p = new Peer('ag_1');
    for (let s = 1; s <= 2; s++) ingest.submit(p, ev(s));
    await ingest.idle();
    for (const seq of [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, 3 + MAX_SEQ_JUMP])
      expect(() => ingest.submit(p, ev(seq))).toThrow(expect.objectContaining({ code: 'OUTPOST_E_BAD_MESSAGE' }));
    const gap = { type: 'stream.gap', seq: 3, count: MAX_SEQ_JUMP + 1, reason: 'outbox_full' } as const;
    expect(() => ingest.submit(p, gap)).toThrow(expect.objectContaining({ code: 'OUTPOST_E_BAD_MESSAGE' }));
    for (let s = 3; s <= 5; s++) ingest.submit(p, ev(s));
    await ingest.idle();
    expect(await events.count('ag_1')).toEqual({ total: 5, distinctSeq: 5 });
    expect(p.acks.at(-1)).toBe(5);
    expect(await stream.gaps('ag_1')).toEqual([]);
    // The longest jump allowed is recorded as a gap, as any other.
    ingest.submit(p, { ...gap, seq: 6, count: MAX_SEQ_JUMP - 1 }); // to 5 + MAX_SEQ_JUMP - 1
    ingest.submit(p, ev(5 + MAX_SEQ_JUMP));
    await ingest.idle();
    expect(p.acks.at(-1)).toBe(5 + MAX_SEQ_JUMP);
    expect(await events.count('ag_1')).toEqual({ total: 6, distinctSeq: 6 });
  });

  it('a message one agent sent that a concern cannot store costs only that agent its connection', async () => {
    // A sink that fails on one agent's message (a concern's bug, or input it did not expect).
    ingest.registerSink('metrics.batch', async (items) => {
      if (items.some((i) => i.agentId === 'ag_bad')) throw new Error('cannot store this');
    });
    const good = new Peer('ag_good');
    const bad = new Peer('ag_bad');
    const other = new Peer('ag_other');
    for (let s = 1; s <= 3; s++) {
      ingest.submit(good, ev(s));
      ingest.submit(bad, s === 2 ? metrics(s) : ev(s));
      ingest.submit(other, metrics(s));
    }
    await ingest.idle();
    expect(good.failures).toEqual([]);
    expect(other.failures).toEqual([]);
    expect(good.acks.at(-1)).toBe(3);
    expect(other.acks.at(-1)).toBe(3);
    expect(await stream.cursor('ag_good')).toBe(3);
    expect(await stream.cursor('ag_other')).toBe(3);
    expect(await events.count('ag_good')).toEqual({ total: 3, distinctSeq: 3 });
    // The failing agent is dropped with nothing acknowledged, to resend after it reconnects.
    expect(bad.failures.map((f) => f.code)).toContain('OUTPOST_E_INTERNAL');
    expect(bad.acks).toEqual([]);
    expect(await stream.cursor('ag_bad')).toBe(0);
  });

  it("runs sinks' reactions after the batch committed and was acknowledged, and never for a batch that rolled back", async () => {
    const seen: string[] = [];
    let fail = true;
    ingest.registerSink('metrics.batch', async (items, _now, reactions) => {
      // The reaction reads what the batch wrote: it must see it committed, from outside the transaction.
      reactions.afterCommit(async () => {
        seen.push(
          `react:${items.map((i) => i.msg.seq).join(',')}:${db().inTransaction()}:${await stream.cursor('ag_1')}`,
        );
      });
      if (fail) throw new Error('storage failed');
    });
    const p = new Peer('ag_1');
    const ack = p.ack.bind(p);
    p.ack = (seq) => {
      seen.push(`ack:${seq}`);
      ack(seq);
    };
    ingest.submit(p, metrics(1));
    await ingest.idle();
    expect(seen).toEqual([]);
    expect(p.failures.map((f) => f.code)).toEqual(['OUTPOST_E_INTERNAL']);
    fail = false;
    const again = new Peer('ag_1');
    again.ack = p.ack;
    ingest.submit(again, metrics(1));
    await ingest.idle();
    expect(seen).toEqual(['ack:1', 'react:1:false:1']);
  });

  it('commits, advances the cursor, then acknowledges the highest contiguous sequence', async () => {
    const p = new Peer('ag_1');
    for (let s = 1; s <= 5; s++) ingest.submit(p, ev(s));
    await ingest.idle();
    expect(await events.count('ag_1')).toEqual({ total: 5, distinctSeq: 5 });
    expect(await stream.cursor('ag_1')).toBe(5);
    expect(p.acks.at(-1)).toBe(5);
  });

  it('ignores a resend of what it already stored, and acknowledges it again', async () => {
    const p = new Peer('ag_1');
    for (let s = 1; s <= 3; s++) ingest.submit(p, ev(s));
    await ingest.idle();
    // Reconnect: a new peer starts from the committed cursor and the agent resends 2..4.
    const again = new Peer('ag_1');
    again.cursor = await ingest.cursorOf('ag_1');
    for (const s of [2, 3, 4]) ingest.submit(again, ev(s));
    await ingest.idle();
    expect(await events.count('ag_1')).toEqual({ total: 4, distinctSeq: 4 });
    expect(again.acks.at(-1)).toBe(4);
    expect(ingest.counters.duplicates).toBe(2);
  });

  it('stores nothing twice even when two connections of one agent overlap', async () => {
    const a = new Peer('ag_1');
    const b = new Peer('ag_1');
    for (let s = 1; s <= 3; s++) {
      ingest.submit(a, ev(s));
      ingest.submit(b, ev(s));
    }
    await ingest.idle();
    expect(await events.count('ag_1')).toEqual({ total: 3, distinctSeq: 3 });
  });

  it('records an announced gap and an unannounced jump', async () => {
    const p = new Peer('ag_1');
    ingest.submit(p, ev(1));
    ingest.submit(p, { type: 'stream.gap', seq: 2, count: 3, reason: 'outbox_full' });
    ingest.submit(p, ev(5));
    ingest.submit(p, ev(9));
    await ingest.idle();
    expect(await stream.gaps('ag_1')).toEqual([
      { agentId: 'ag_1', fromSeq: 2, count: 3, reason: 'outbox_full' },
      { agentId: 'ag_1', fromSeq: 6, count: 3, reason: 'unannounced' },
    ]);
    expect(await stream.cursor('ag_1')).toBe(9);
    expect(p.acks.at(-1)).toBe(9);
  });

  it('acknowledges nothing and drops the connection when the commit fails', async () => {
    const p = new Peer('ag_1');
    await db().exec('ALTER TABLE agent_events RENAME TO agent_events_away');
    try {
      ingest.submit(p, ev(1));
      await ingest.idle();
    } finally {
      await db().exec('ALTER TABLE agent_events_away RENAME TO agent_events');
    }
    expect(p.acks).toEqual([]);
    expect(p.failures[0]?.code).toBe('OUTPOST_E_INTERNAL');
    expect(await stream.cursor('ag_1')).toBe(0);
  });

  // Issue 20: the rows a batch stored and the cursors that acknowledge them are one transaction. A failure after the
  // events were written and before the cursors (a later sink, a crash) leaves neither: the agent resends, and the
  // resend is stored once. (Before, the events committed alone and only idempotence saved the resend.)
  it('commits the rows of a batch and its cursors together or not at all', async () => {
    let fail = true;
    ingest.registerSink('metrics.batch', async () => {
      if (fail) throw new Error('storage failed after the events were written');
    });
    const p = new Peer('ag_1');
    ingest.submit(p, ev(1));
    ingest.submit(p, ev(2));
    ingest.submit(p, metrics(3));
    await ingest.idle();
    expect(new Set(p.failures.map((f) => f.code))).toEqual(new Set(['OUTPOST_E_INTERNAL']));
    expect(p.acks).toEqual([]);
    expect(await events.count('ag_1')).toEqual({ total: 0, distinctSeq: 0 });
    expect(await stream.cursor('ag_1')).toBe(0);
    // The agent reconnects and resends all three: stored once, acknowledged.
    fail = false;
    const again = new Peer('ag_1');
    again.cursor = await ingest.cursorOf('ag_1');
    for (const m of [ev(1), ev(2), metrics(3)]) ingest.submit(again, m);
    await ingest.idle();
    expect(again.acks.at(-1)).toBe(3);
    expect(await events.count('ag_1')).toEqual({ total: 2, distinctSeq: 2 });
    expect(await stream.cursor('ag_1')).toBe(3);
  });
});

describeStores('stream store', streamMigrations, (db) => {
  it('moves a cursor forward only, and records each gap once', async () => {
    const stream = new StreamStore(db());
    expect(await stream.cursor('ag_1')).toBe(0);
    await stream.commit(new Map([['ag_1', 7]]), [{ agentId: 'ag_1', fromSeq: 3, count: 2, reason: 'outbox_full' }], 1);
    await stream.commit(new Map([['ag_1', 5]]), [{ agentId: 'ag_1', fromSeq: 3, count: 9, reason: 'again' }], 2);
    expect(await stream.cursor('ag_1')).toBe(7);
    expect(await stream.gaps('ag_1')).toEqual([{ agentId: 'ag_1', fromSeq: 3, count: 2, reason: 'outbox_full' }]);
    await stream.commit(
      new Map([
        ['ag_1', 2 ** 40],
        ['ag_2', 1],
      ]),
      [],
      3,
    );
    expect(await stream.cursor('ag_1')).toBe(2 ** 40);
    expect(await stream.cursor('ag_2')).toBe(1);
  });
});
