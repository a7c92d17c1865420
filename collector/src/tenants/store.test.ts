/** The tenants store on SQLite and PostgreSQL: names unique whatever their case, lists in name order, ids lists. */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { type Client, type Site, TenantsStore, tenantsMigrations } from './store.js';

const client = (id: string, name: string, createdAt = 1): Client => ({ id, name, createdAt });
const site = (id: string, clientId: string, name: string): Site => ({
  id,
  clientId,
  name,
  timezone: 'Europe/Paris',
  createdAt: 7,
});

describeStores('tenants store', tenantsMigrations, (db) => {
  it('stores a client once per name whatever its case, and finds it by any case', async () => {
    const s = new TenantsStore(db());
    expect(await s.insertClient(client('cl_1', 'Acme Corp', 100))).toBe(true);
    expect(await s.insertClient(client('cl_2', 'ACME corp'))).toBe(false);
    expect(await s.insertClient(client('cl_1', 'Other'))).toBe(false);
    expect(await s.clientByName('acme CORP')).toEqual({ id: 'cl_1', name: 'Acme Corp', createdAt: 100 });
    expect(await s.client('cl_1')).toEqual({ id: 'cl_1', name: 'Acme Corp', createdAt: 100 });
    expect(await s.client('cl_2')).toBeUndefined();
    expect(await s.clientByName('Acme')).toBeUndefined();
  });

  it('lists clients by name ignoring case, all or only the ids asked for', async () => {
    const s = new TenantsStore(db());
    for (const [id, name] of [
      ['cl_1', 'delta'],
      ['cl_2', 'Bravo'],
      ['cl_3', 'alpha'],
      ['cl_4', 'Charlie'],
    ] as const)
      await s.insertClient(client(id, name));
    expect((await s.listClients()).map((c) => c.name)).toEqual(['alpha', 'Bravo', 'Charlie', 'delta']);
    expect((await s.listClients(['cl_4', 'cl_1', 'cl_none'])).map((c) => c.id)).toEqual(['cl_4', 'cl_1']);
    expect(await s.listClients([])).toEqual([]);
    // An id that looks like SQL or JSON is data, never code.
    expect(await s.listClients(["cl_1') OR ('1'='1", '"]'])).toEqual([]);
  });

  it('keeps site names unique per client whatever their case, and lists them by name', async () => {
    const s = new TenantsStore(db());
    await s.insertClient(client('cl_1', 'One'));
    await s.insertClient(client('cl_2', 'Two'));
    expect(await s.insertSite(site('si_1', 'cl_1', 'Paris Office'))).toBe(true);
    expect(await s.insertSite(site('si_2', 'cl_1', 'PARIS office'))).toBe(false);
    expect(await s.insertSite(site('si_3', 'cl_2', 'paris office'))).toBe(true);
    expect(await s.insertSite(site('si_4', 'cl_1', 'annex'))).toBe(true);
    expect(await s.siteByName('cl_1', 'paris OFFICE')).toEqual(site('si_1', 'cl_1', 'Paris Office'));
    expect(await s.site('si_3')).toEqual(site('si_3', 'cl_2', 'paris office'));
    expect((await s.listSites('cl_1')).map((x) => x.id)).toEqual(['si_4', 'si_1']);
    expect(await s.listSites('cl_none')).toEqual([]);
  });

  it('stores one of many clients created at once under the same name (the unique index decides)', async () => {
    const s = new TenantsStore(db());
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => s.insertClient(client(`cl_${i}`, i % 2 ? 'Same Name' : 'same name'))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await s.listClients()).toHaveLength(1);
  });
});
