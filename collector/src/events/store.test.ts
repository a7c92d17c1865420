/** The events store on SQLite and PostgreSQL: stored once per (agent, seq), listed in order, data kept as sent. */
import type { StreamEvent } from '@outpost/shared';
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { EventsStore, eventsMigrations } from './store.js';

const ev = (seq: number, data: StreamEvent['data'] = { seq }): StreamEvent => ({
  type: 'stream.event',
  seq,
  time: 1000 + seq,
  kind: 'agent.started',
  data,
});

describeStores('events store', eventsMigrations, (db) => {
  it('stores a batch once, counting only new (agent, seq) pairs, and keeps agents apart', async () => {
    const events = new EventsStore(db());
    const batch = [1, 2, 3].map((s) => ({ agentId: 'ag_1', msg: ev(s) }));
    expect(await events.insertBatch(batch, 50)).toBe(3);
    expect(await events.insertBatch([...batch, { agentId: 'ag_1', msg: ev(4) }], 60)).toBe(1);
    expect(await events.insertBatch([{ agentId: 'ag_2', msg: ev(1) }], 70)).toBe(1);
    expect(await events.count('ag_1')).toEqual({ total: 4, distinctSeq: 4 });
    expect(await events.count('ag_2')).toEqual({ total: 1, distinctSeq: 1 });
    expect(await events.count('ag_none')).toEqual({ total: 0, distinctSeq: 0 });
  });

  it('lists after a sequence, in order, up to a limit, with the data as the agent sent it', async () => {
    const events = new EventsStore(db());
    const odd = { text: "it's ?\u00e9\u{1F600}", n: 2 ** 53 - 1, flag: true, none: null };
    await events.insertBatch(
      [5, 3, 4, 1, 2].map((s) => ({ agentId: 'ag_1', msg: ev(s, s === 3 ? odd : { seq: s }) })),
      99,
    );
    const page = await events.list('ag_1', 1, 3);
    expect(page.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(page[1]).toEqual({ agentId: 'ag_1', seq: 3, time: 1003, kind: 'agent.started', data: odd, receivedAt: 99 });
    expect(await events.list('ag_1', 5, 10)).toEqual([]);
  });
});
