/**
 * The rollouts store on SQLite and PostgreSQL: a rollout and its planned agents written together (or not at all),
 * read back as written, the driver's views (active rollouts, a wave in order, agents in flight, counts), and saves
 * of the mutable fields.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { type RolloutAgent, type RolloutRecord, RolloutsStore, rolloutsMigrations } from './store.js';

const rollout = (id: string, createdAt: number, o: Partial<RolloutRecord> = {}): RolloutRecord => ({
  id,
  kind: 'rollout',
  version: '1.1.0',
  rollbackOf: null,
  target: JSON.stringify({ tag: 'ring-test' }),
  options: { bakeMs: 60_000, deadlineMs: 600_000, maxConcurrent: 50, jitterMs: 0, haltCount: 2, haltPercent: null },
  waves: ['ring', 'canary', '25%', 'all'],
  state: 'running',
  wave: 0,
  waveStartedAt: createdAt,
  waveDoneAt: null,
  forgiven: 0,
  haltReason: null,
  createdBy: 'us_1',
  createdAt,
  updatedAt: createdAt,
  finishedAt: null,
  ...o,
});

const agent = (rolloutId: string, n: number, wave: number, position: number, o: Partial<RolloutAgent> = {}) =>
  ({
    rolloutId,
    agentId: `ag_${n}`,
    clientId: 'cl_1',
    siteId: 'si_1',
    platform: 'linux-x64',
    wave,
    position,
    fromVersion: '1.0.0',
    state: 'pending',
    assignmentId: null,
    notBefore: null,
    assignedAt: null,
    deadlineAt: null,
    finishedAt: null,
    code: null,
    reason: null,
    attempts: 0,
    ...o,
  }) satisfies RolloutAgent;

describeStores('rollouts store', rolloutsMigrations, (db) => {
  it('writes a rollout with its agents and reads both back as written', async () => {
    const s = new RolloutsStore(db());
    const r = rollout('ro_1', 100);
    const agents = [agent('ro_1', 3, 1, 0), agent('ro_1', 1, 0, 1), agent('ro_1', 2, 0, 0)];
    await s.create(r, agents);
    expect(await s.rollout('ro_1')).toEqual(r);
    expect(await s.rollout('ro_none')).toBeUndefined();
    expect((await s.agents('ro_1')).map((a) => a.agentId)).toEqual(['ag_2', 'ag_1', 'ag_3']);
    expect((await s.wave('ro_1', 0)).map((a) => a.agentId)).toEqual(['ag_2', 'ag_1']);
    expect(await s.wave('ro_1', 1)).toEqual([agent('ro_1', 3, 1, 0)]);
  });

  it('writes nothing of a rollout whose agents cannot all be written', async () => {
    const s = new RolloutsStore(db());
    // The same agent twice breaks the primary key on the second row.
    await expect(s.create(rollout('ro_1', 100), [agent('ro_1', 1, 0, 0), agent('ro_1', 1, 0, 1)])).rejects.toThrow();
    expect(await s.rollout('ro_1')).toBeUndefined();
    expect(await s.agents('ro_1')).toEqual([]);
  });

  it('lists newest first, and the active ones: not terminal, or with agents still in flight', async () => {
    const s = new RolloutsStore(db());
    await s.create(rollout('ro_run', 100), [agent('ro_run', 1, 0, 0)]);
    await s.create(rollout('ro_done', 200, { state: 'completed' }), [agent('ro_done', 1, 0, 0, { state: 'healthy' })]);
    await s.create(rollout('ro_abort', 300, { state: 'aborted' }), [agent('ro_abort', 1, 0, 0, { state: 'updating' })]);
    await s.create(rollout('ro_halt', 400, { state: 'halted' }), []);
    expect((await s.list(10)).map((r) => r.id)).toEqual(['ro_halt', 'ro_abort', 'ro_done', 'ro_run']);
    expect((await s.list(1)).map((r) => r.id)).toEqual(['ro_halt']);
    expect((await s.active()).map((r) => r.id)).toEqual(['ro_run', 'ro_abort', 'ro_halt']);
  });

  it('saves the rollout and its agents, one or many at once, and counts agents per wave and state', async () => {
    const s = new RolloutsStore(db());
    const r = rollout('ro_1', 100);
    await s.create(r, [agent('ro_1', 1, 0, 0), agent('ro_1', 2, 0, 1), agent('ro_1', 3, 1, 0)]);
    const halted = { ...r, state: 'halted' as const, haltReason: '2 of 2 failed', forgiven: 1, updatedAt: 150 };
    await s.save(halted);
    expect(await s.rollout('ro_1')).toEqual(halted);

    const assigned = agent('ro_1', 1, 0, 0, {
      state: 'assigned',
      assignmentId: 'as_1',
      assignedAt: 110,
      deadlineAt: 2 ** 42,
      attempts: 1,
    });
    await s.saveAgent(assigned);
    expect((await s.inFlight('ro_1')).map((a) => a.agentId)).toEqual(['ag_1']);
    await s.saveAgents([
      { ...assigned, state: 'failed', code: 'OUTPOST_E_UPDATE_VERIFY', reason: "it's ?", finishedAt: 120 },
      agent('ro_1', 2, 0, 1, { state: 'updating', attempts: 2 }),
    ]);
    await s.saveAgents([]);
    expect((await s.wave('ro_1', 0))[0]).toEqual({
      ...assigned,
      state: 'failed',
      code: 'OUTPOST_E_UPDATE_VERIFY',
      reason: "it's ?",
      finishedAt: 120,
    });
    expect((await s.inFlight('ro_1')).map((a) => a.agentId)).toEqual(['ag_2']);
    expect(await s.counts('ro_1')).toEqual([
      { wave: 0, state: 'failed', n: 1 },
      { wave: 0, state: 'updating', n: 1 },
      { wave: 1, state: 'pending', n: 1 },
    ]);
  });
});
