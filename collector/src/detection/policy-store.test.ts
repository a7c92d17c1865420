/** The stored policies on SQLite and PostgreSQL: one per scope whoever writes it, updated and removed by id. */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { PolicyStore, type StoredPolicy } from './policy-store.js';
import { detectionMigrations } from './store.js';

const policy = (id: string, scope: string, at: number, over: Partial<StoredPolicy> = {}): StoredPolicy => ({
  id,
  scope,
  clientId: scope === 'default' ? null : 'cl_1',
  siteId: scope.startsWith('site:') ? scope.slice(5) : null,
  document: JSON.stringify({ rules: [{ metric: 'cpu.total_pct', above: 90 }], note: "it's ?" }),
  createdAt: at,
  createdBy: 'us_1',
  updatedAt: at,
  updatedBy: 'us_1',
  ...over,
});

describeStores('detection policy store', detectionMigrations, (db) => {
  it('lists policies oldest first with every field as written', async () => {
    const store = new PolicyStore(db());
    const site = policy('po_2', 'site:si_1', 20);
    expect(await store.insert(site)).toBe(true);
    expect(await store.insert(policy('po_1', 'default', 10))).toBe(true);
    expect(await store.insert(policy('po_3', 'client:cl_1', 20))).toBe(true);
    const all = await store.list();
    expect(all.map((p) => p.id)).toEqual(['po_1', 'po_2', 'po_3']);
    expect(all[1]).toEqual(site);
  });

  it('refuses a second policy for a scope or an id, and keeps the first', async () => {
    const store = new PolicyStore(db());
    expect(await store.insert(policy('po_1', 'client:cl_1', 10))).toBe(true);
    expect(await store.insert(policy('po_2', 'client:cl_1', 11, { document: '{}' }))).toBe(false);
    expect(await store.insert(policy('po_1', 'client:cl_2', 12))).toBe(false);
    const all = await store.list();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id: 'po_1', scope: 'client:cl_1', createdAt: 10 });
  });

  it('lets exactly one of many writers racing for one scope win', async () => {
    const store = new PolicyStore(db());
    const wins = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.insert(policy(`po_${i}`, 'site:si_9', 100 + i))),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    const all = await store.list();
    expect(all).toHaveLength(1);
    expect(all[0]!.id).toBe(`po_${wins.indexOf(true)}`);
  });

  it('updates and removes by id, saying whether the policy was there', async () => {
    const store = new PolicyStore(db());
    await store.insert(policy('po_1', 'default', 10));
    expect(await store.update('po_1', '{"rules":[]}', 30, 'us_2')).toBe(true);
    expect(await store.update('po_none', '{}', 30, 'us_2')).toBe(false);
    expect((await store.list())[0]).toMatchObject({
      document: '{"rules":[]}',
      createdAt: 10,
      createdBy: 'us_1',
      updatedAt: 30,
      updatedBy: 'us_2',
    });
    expect(await store.remove('po_1')).toBe(true);
    expect(await store.remove('po_1')).toBe(false);
    expect(await store.list()).toEqual([]);
  });
});
