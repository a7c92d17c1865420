/**
 * The inventory store's async transaction on a real SQLite file: all of a batch or none of it, and two transactions
 * never interleave (the second starts once the first has committed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, migrate, openDatabase } from '../db/index.js';
import { InventoryStore, inventoryMigrations } from './store.js';

const device = (id: string) => ({
  id,
  clientId: 'cl_a',
  siteId: 'st_a',
  currentAgentId: `ag_${id}`,
  ...{ hostname: id, manufacturer: '', model: '', serial: '', hwUuid: '', machineId: '', macs: [] },
  ...{ virtual: false, biosDate: '', firstSeen: 1, lastReport: 1 },
});

describe('InventoryStore.transaction', () => {
  let dir: string;
  let db: Db;
  let store: InventoryStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-inventory-store-'));
    db = openDatabase(join(dir, 'i.db'));
    migrate(db, inventoryMigrations);
    store = new InventoryStore(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps nothing of a transaction whose work fails, and commits the next one', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.insertDevice(device('dv_1'));
        await tx.upsertRows('dv_1', 'cpu', [{ key: 'k', data: '{}' }], 1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(db.inTransaction).toBe(false);
    expect(await store.devices({})).toEqual([]);
    expect(await store.rows('dv_1', 'cpu')).toEqual([]);
    await store.transaction(async (tx) => tx.insertDevice(device('dv_2')));
    expect((await store.devices({})).map((d) => d.id)).toEqual(['dv_2']);
  });

  it('runs transactions one after the other, never interleaved', async () => {
    const order: string[] = [];
    const work = (name: string) =>
      store.transaction(async (tx) => {
        order.push(`${name} begin`);
        await tx.insertDevice(device(name));
        await new Promise((r) => setTimeout(r, 20)); // a slow step: the other transaction must wait for it
        await tx.mapAgent(`ag_${name}`, name, 1);
        order.push(`${name} end`);
      });
    await Promise.all([work('dv_a'), work('dv_b')]);
    expect(order).toEqual(['dv_a begin', 'dv_a end', 'dv_b begin', 'dv_b end']);
    expect((await store.agentDevice('ag_dv_b'))?.deviceId).toBe('dv_b');
  });
});
