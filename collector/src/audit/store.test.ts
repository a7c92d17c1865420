/** The audit store on SQLite and PostgreSQL: appended with increasing indexes, listed newest first, filtered. */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { type AuditInput, AuditStore, auditMigrations } from './store.js';

const event = (over: Partial<AuditInput> = {}): AuditInput => ({
  type: 'agent.revoke',
  code: 'OUTPOST_I_TEST',
  result: 'success',
  actor: { kind: 'user', id: 'us_1', name: 'Ann' },
  ...over,
});

describeStores('audit store', auditMigrations, (db) => {
  it('appends with increasing indexes and lists newest first, details as recorded', async () => {
    const audit = new AuditStore(db());
    const a = await audit.append(10, event({ clientId: 'cl_a', details: { why: "it's ?", n: 3 } }));
    const b = await audit.append(20, event({ clientId: 'cl_b', agentId: 'ag_1', result: 'denied' }));
    expect(b).toBeGreaterThan(a);
    const all = await audit.list({ limit: 10 });
    expect(all.map((e) => e.index)).toEqual([b, a]);
    expect(all[1]).toMatchObject({ time: 10, clientId: 'cl_a', details: { why: "it's ?", n: 3 }, agentId: null });
    expect(all[0]).toMatchObject({ result: 'denied', actor: { kind: 'user', id: 'us_1', name: 'Ann' } });
  });

  it('filters by clients, agent, type, time and index, and returns nothing for no client', async () => {
    const audit = new AuditStore(db());
    const ids: number[] = [];
    for (let i = 0; i < 6; i++)
      ids.push(
        await audit.append(
          i * 10,
          event({ clientId: `cl_${i % 3}`, agentId: i % 2 ? 'ag_odd' : null, type: `t${i % 2}` }),
        ),
      );
    const idx = async (q: Parameters<AuditStore['list']>[0]) => (await audit.list(q)).map((e) => e.index);
    expect(await idx({ clientIds: ['cl_0', 'cl_2'], limit: 10 })).toEqual([ids[5], ids[3], ids[2], ids[0]]);
    expect(await idx({ clientIds: [], limit: 10 })).toEqual([]);
    expect(await idx({ agentId: 'ag_odd', limit: 2 })).toEqual([ids[5], ids[3]]);
    expect(await idx({ type: 't0', since: 20, limit: 10 })).toEqual([ids[4], ids[2]]);
    expect(await idx({ beforeIndex: ids[2]!, limit: 10 })).toEqual([ids[1], ids[0]]);
  });

  it('refuses to edit or delete what was recorded', async () => {
    const audit = new AuditStore(db());
    await audit.append(1, event());
    await expect(db().run('UPDATE audit_log SET code = ?', ['x'])).rejects.toThrow(/append-only/);
    await expect(db().run('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
  });
});

describeStores('audit store, writers at once', auditMigrations, (db) => {
  it('gives every one of many concurrent appends its own index, and keeps them all', async () => {
    const audit = new AuditStore(db());
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => audit.append(i, event({ clientId: `cl_${i % 4}`, details: { i } }))),
    );
    expect(new Set(ids).size).toBe(40);
    const listed = await audit.list({ limit: 100 });
    expect(listed.map((e) => e.index).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect(listed.map((e) => e.details?.i).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );
  });
});
