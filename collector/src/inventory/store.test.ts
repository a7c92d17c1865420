/**
 * InventoryStore on SQLite and on PostgreSQL: a transaction keeps all of its work or none, and a reader outside never
 * sees half of one; devices, rows, probe states, change history, staged parts and shared identifiers read back as
 * written, in byte order where ordered; upserts keep `first_seen`; an agent's last sequence never moves back.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { type DeviceRecord, InventoryStore, inventoryMigrations, STAGING_TTL_MS } from './store.js';

const device = (id: string, over: Partial<DeviceRecord> = {}): DeviceRecord => ({
  id,
  clientId: 'cl_a',
  siteId: 'st_a',
  currentAgentId: `ag_${id}`,
  ...{ hostname: id, manufacturer: '', model: '', serial: '', hwUuid: '', machineId: '', macs: [] },
  ...{ virtual: false, biosDate: '', firstSeen: 1, lastReport: 1 },
  ...over,
});

/** Resolves once `check` holds, polled (no fixed sleep), or fails after a deadline. */
async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describeStores('InventoryStore', inventoryMigrations, (db) => {
  it('keeps nothing of a transaction whose work fails, and commits the next one', async () => {
    const store = new InventoryStore(db());
    await expect(
      store.transaction(async (tx) => {
        await tx.insertDevice(device('dv_1'));
        await tx.upsertRows('dv_1', 'cpu', [{ key: 'k', data: '{}' }], 1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(db().inTransaction()).toBe(false);
    expect(await store.devices({})).toEqual([]);
    expect(await store.rows('dv_1', 'cpu')).toEqual([]);
    await store.transaction(async (tx) => tx.insertDevice(device('dv_2')));
    expect((await store.devices({})).map((d) => d.id)).toEqual(['dv_2']);
  });

  it('joins the transaction it is called in: rolled back with it', async () => {
    const store = new InventoryStore(db());
    await expect(
      db().transaction(async () => {
        await store.transaction(async (tx) => tx.insertDevice(device('dv_1')));
        await store.stage('ag', 's1', 1, 'body', 10);
        throw new Error('the batch failed after the inventory sink');
      }),
    ).rejects.toThrow('the batch failed');
    expect(await store.devices({})).toEqual([]);
    expect(await store.staged('ag', 's1')).toEqual([]);
  });

  it('never shows a reader outside half of an open transaction', async () => {
    const store = new InventoryStore(db());
    let inserted = false;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const writer = store.transaction(async (tx) => {
      await tx.insertDevice(device('dv_a'));
      inserted = true;
      await held; // another caller runs now, while this transaction is open
      await tx.mapAgent('ag_dv_a', 'dv_a', 1);
    });
    await until(() => inserted);
    // SQLite: the reader waits for the commit (one connection); PostgreSQL: it reads the last committed state.
    const reader = (async () => [await store.device('dv_a'), await store.agentDevice('ag_dv_a')] as const)();
    release();
    await writer;
    const [d, mapping] = await reader;
    expect(d === undefined).toBe(mapping === undefined);
    expect((await store.agentDevice('ag_dv_a'))?.deviceId).toBe('dv_a');
  });

  it('runs two transactions at once without losing either (one after the other on SQLite)', async () => {
    const store = new InventoryStore(db());
    const order: string[] = [];
    const work = (name: string) =>
      store.transaction(async (tx) => {
        order.push(`${name} begin`);
        await tx.insertDevice(device(name));
        await new Promise((r) => setImmediate(r)); // a step that yields: the other transaction may start
        await tx.mapAgent(`ag_${name}`, name, 1);
        order.push(`${name} end`);
      });
    await Promise.all([work('dv_a'), work('dv_b')]);
    if (db().dialect === 'sqlite') expect(order).toEqual(['dv_a begin', 'dv_a end', 'dv_b begin', 'dv_b end']);
    expect((await store.agentDevice('ag_dv_a'))?.deviceId).toBe('dv_a');
    expect((await store.agentDevice('ag_dv_b'))?.deviceId).toBe('dv_b');
  });

  it('reads devices back as written, by hostname in byte order, and finds identity candidates', async () => {
    const store = new InventoryStore(db());
    const full = device('dv_1', {
      hostname: 'alpha',
      manufacturer: 'Dell',
      serial: 'SN1',
      hwUuid: 'u-1',
      macs: ['aa:bb'],
      virtual: true,
      biosDate: '2020-01-02',
      firstSeen: 5,
      lastReport: 6,
    });
    await store.insertDevice(full);
    await store.insertDevice(device('dv_2', { hostname: 'Zulu', clientId: 'cl_b', siteId: 'st_b', hwUuid: 'u-1' }));
    await store.insertDevice(device('dv_3', { hostname: 'beta' }));
    expect(await store.device('dv_1')).toEqual(full);
    expect((await store.devices({})).map((d) => d.hostname)).toEqual(['Zulu', 'alpha', 'beta']);
    expect((await store.devices({ clientIds: ['cl_b'] })).map((d) => d.id)).toEqual(['dv_2']);
    expect((await store.devices({ siteId: 'st_a' })).map((d) => d.id)).toEqual(['dv_1', 'dv_3']);
    expect((await store.candidates('SN1', 'nope')).map((d) => d.id)).toEqual(['dv_1']);
    expect((await store.candidates('', 'u-1')).map((d) => d.id).sort()).toEqual(['dv_1', 'dv_2']);
    expect(await store.candidates('', '')).toEqual([]); // blank identifiers match nothing
    await store.updateDevice({ ...full, hostname: 'renamed', virtual: false, macs: [], lastReport: 9, firstSeen: 99 });
    expect(await store.device('dv_1')).toEqual({
      ...full,
      hostname: 'renamed',
      virtual: false,
      macs: [],
      lastReport: 9,
    });
  });

  it('upserts rows keeping first_seen, deletes by key (any characters), and lists them in byte order', async () => {
    const store = new InventoryStore(db());
    const keys = ['b', 'B', 'a,"1"', "it's"];
    await store.upsertRows(
      'dv',
      'installed_software',
      keys.map((k, i) => ({ key: k, data: JSON.stringify({ i }) })),
      10,
    );
    await store.upsertRows('dv', 'installed_software', [{ key: 'b', data: '{"i":9}' }], 20);
    const rows = await store.rows('dv', 'installed_software');
    expect(rows.map((r) => r.key)).toEqual(['B', 'a,"1"', 'b', "it's"]);
    expect(rows.find((r) => r.key === 'b')).toEqual({ key: 'b', data: { i: 9 }, firstSeen: 10, updatedAt: 20 });
    await store.deleteRows('dv', 'installed_software', ['a,"1"', "it's", 'missing']);
    expect((await store.rows('dv', 'installed_software')).map((r) => r.key)).toEqual(['B', 'b']);
    await store.upsertRows('dv2', 'installed_software', [{ key: 'x', data: '{}' }], 1);
    expect((await store.rowsOfProbe('installed_software')).map((r) => `${r.deviceId}/${r.key}`).sort()).toEqual([
      'dv/B',
      'dv/b',
      'dv2/x',
    ]);
    expect(await store.rowsOfProbe('cpu')).toEqual([]);
  });

  it('keeps probe states with their stale flag and error, one per probe', async () => {
    const store = new InventoryStore(db());
    await store.insertDevice(device('dv'));
    const base = { hash: 'h', collectedAt: 1, updatedAt: 2, errorCode: null, errorMessage: null };
    await store.setProbe('dv', { probe: 'os_version', stale: true, ...base });
    await store.setProbe('dv', { probe: 'cpu', stale: false, ...base });
    await store.setProbe('dv', { ...base, probe: 'cpu', stale: false, errorCode: 'E', errorMessage: 'denied' });
    expect(await store.probes('dv')).toEqual([
      { probe: 'cpu', stale: false, ...base, errorCode: 'E', errorMessage: 'denied' },
      { probe: 'os_version', stale: true, ...base },
    ]);
    expect((await store.probe('dv', 'os_version'))?.stale).toBe(true);
  });

  it('lists change history newest first, filtered by device or agent, limited, and moves it on a split', async () => {
    const store = new InventoryStore(db());
    const ch = (subject: string) => ({
      kind: 'software_added',
      probe: 'installed_software',
      subject,
      before: undefined,
      after: { v: 1 },
    });
    await store.insertChanges('dv', 'ag1', 100, [ch('a'), ch('b')]);
    await store.insertChanges('dv', 'ag2', 200, [{ ...ch('c'), before: { v: 0 } }]);
    const all = await store.changes({ deviceId: 'dv', fromMs: 0, toMs: 1_000, limit: 10 });
    expect(all.map((c) => [c.subject, c.agentId, c.time])).toEqual([
      ['c', 'ag2', 200],
      ['b', 'ag1', 100],
      ['a', 'ag1', 100],
    ]);
    expect(all[0]).toMatchObject({ deviceId: 'dv', before: { v: 0 }, after: { v: 1 } });
    expect(all[2]!.before).toBeNull();
    expect((await store.changes({ agentId: 'ag1', fromMs: 0, toMs: 1_000, limit: 1 })).map((c) => c.subject)).toEqual([
      'b',
    ]);
    expect(await store.changes({ fromMs: 150, toMs: 1_000, limit: 10 })).toHaveLength(1);
    await store.insertDevice(device('dv'));
    await store.insertDevice(device('dv_new'));
    await store.upsertRows('dv', 'cpu', [{ key: 'k', data: '{}' }], 1);
    await store.setProbe('dv', {
      probe: 'cpu',
      hash: '',
      collectedAt: 1,
      updatedAt: 1,
      stale: false,
      errorCode: null,
      errorMessage: null,
    });
    await store.moveAgentData('ag2', 'dv', 'dv_new');
    expect(
      (await store.changes({ deviceId: 'dv_new', fromMs: 0, toMs: 1_000, limit: 10 })).map((c) => c.subject),
    ).toEqual(['c']);
    expect(await store.rows('dv_new', 'cpu')).toHaveLength(1);
    expect(await store.probes('dv')).toEqual([]);
  });

  it('maps agents, and never moves an agent’s last sequence back', async () => {
    const store = new InventoryStore(db());
    await store.insertDevice(device('dv'));
    await store.mapAgent('ag_b', 'dv', 5);
    await store.mapAgent('ag_a', 'dv', 5);
    await store.mapAgent('ag_c', 'dv', 1);
    expect(await store.agentsOfDevice('dv')).toEqual(['ag_c', 'ag_a', 'ag_b']);
    await store.setLastSeq('ag_a', 7);
    await store.setLastSeq('ag_a', 3);
    expect(await store.agentDevice('ag_a')).toEqual({ deviceId: 'dv', lastSeq: 7 });
  });

  it('stages parts (a resent part replaces its copy), drops stale ones, and notes shared identifiers once', async () => {
    const store = new InventoryStore(db());
    await store.stage('ag', 's1', 2, 'two', 1_000);
    await store.stage('ag', 's1', 1, 'one', 1_000);
    await store.stage('ag', 's1', 1, 'one again', 1_001);
    expect(await store.staged('ag', 's1')).toEqual(['one again', 'two']);
    await store.stage('ag', 's2', 1, 'later', 1_001 + STAGING_TTL_MS + 1);
    expect(await store.staged('ag', 's1')).toEqual([]); // older than the TTL: dropped
    await store.unstage('ag', 's2');
    expect(await store.staged('ag', 's2')).toEqual([]);
    await store.noteShared('serial', 'SN1', 1);
    await store.noteShared('serial', 'SN1', 2);
    expect(await store.isShared('serial', 'SN1')).toBe(true);
    expect(await store.isShared('uuid', 'SN1')).toBe(false);
  });
});
