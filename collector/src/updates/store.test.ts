/**
 * The updates store on SQLite and PostgreSQL: an assignment stored once per id, the latest unexpired one per agent,
 * statuses stored once per (agent, seq) with only the new ones handed back, and an agent's history newest first.
 */
import type { UpdateStatus } from '@outpost/shared';
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { type Assignment, UpdatesStore, updatesMigrations } from './store.js';

const assignment = (id: string, createdAt: number, o: Partial<Assignment> = {}): Assignment => ({
  id,
  agentId: 'ag_1',
  version: '1.1.0',
  createdAt,
  expiresAt: createdAt + 1_000,
  ...o,
});

const status = (seq: number, o: Partial<UpdateStatus> = {}): UpdateStatus => ({
  type: 'update.status',
  seq,
  time: 100 + seq,
  assignmentId: 'as_1',
  phase: 'swapped',
  from: '1.0.0',
  to: '1.1.0',
  ...o,
});

describeStores('updates store', updatesMigrations, (db) => {
  it('stores an assignment once per id and finds the latest unexpired one of an agent', async () => {
    const s = new UpdatesStore(db());
    expect(await s.insertAssignment(assignment('as_1', 100), 'us_1')).toBe(true);
    expect(await s.insertAssignment(assignment('as_1', 500, { version: '9.9.9' }), null)).toBe(false);
    expect(await s.insertAssignment(assignment('as_2', 300, { version: '1.2.0' }), null)).toBe(true);
    expect(await s.insertAssignment(assignment('as_3', 900, { agentId: 'ag_2' }), null)).toBe(true);
    expect(await s.latestAssignment('ag_1', 1_000)).toEqual(assignment('as_2', 300, { version: '1.2.0' }));
    expect(await s.latestAssignment('ag_1', 1_300)).toBeUndefined();
    expect(await s.latestAssignment('ag_3', 0)).toBeUndefined();
  });

  it('stores statuses once per (agent, seq), hands back only the new ones, and lists them newest first', async () => {
    const s = new UpdatesStore(db());
    const first = await s.insertStatuses(
      [
        { agentId: 'ag_1', msg: status(1) },
        { agentId: 'ag_1', msg: status(2, { phase: 'refused', code: 'OUTPOST_E_X', reason: "it's ?" }) },
      ],
      50,
    );
    expect(first.map((x) => x.seq)).toEqual([1, 2]);
    const healthy = status(3, { phase: 'healthy' });
    delete healthy.assignmentId;
    const again = await s.insertStatuses(
      [
        { agentId: 'ag_1', msg: status(2) },
        { agentId: 'ag_1', msg: healthy },
        { agentId: 'ag_2', msg: status(1) },
      ],
      60,
    );
    expect(again.map((x) => [x.agentId, x.seq])).toEqual([
      ['ag_1', 3],
      ['ag_2', 1],
    ]);
    const history = await s.statuses('ag_1', 10);
    expect(history.map((x) => x.seq)).toEqual([3, 2, 1]);
    expect(history[1]).toEqual({
      agentId: 'ag_1',
      seq: 2,
      time: 102,
      assignmentId: 'as_1',
      phase: 'refused',
      from: '1.0.0',
      to: '1.1.0',
      code: 'OUTPOST_E_X',
      reason: "it's ?",
    });
    expect(history[0]?.assignmentId).toBeNull();
    expect((await s.statuses('ag_1', 1)).map((x) => x.seq)).toEqual([3]);
  });

  it("stores a batch of statuses whole or not at all inside the caller's transaction", async () => {
    const s = new UpdatesStore(db());
    await expect(
      db().transaction(async () => {
        await s.insertStatuses([{ agentId: 'ag_1', msg: status(1) }], 50);
        throw new Error('the batch failed after the statuses');
      }),
    ).rejects.toThrow('the batch failed');
    expect(await s.statuses('ag_1', 10)).toEqual([]);
    expect((await s.insertStatuses([{ agentId: 'ag_1', msg: status(1) }], 50)).map((x) => x.seq)).toEqual([1]);
  });
});
