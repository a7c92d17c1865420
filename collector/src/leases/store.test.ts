/**
 * The lease store on SQLite and PostgreSQL: taken when free, renewed only by its holder under its epoch and before
 * expiry, taken over with a higher epoch once expired, released at once, and — on PostgreSQL, with two pools racing —
 * one winner only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStores, freshPostgres } from '../db/dialects.fixture.js';
import { migrateSql, PostgresSql } from '../db/index.js';
import { postgresUnavailable } from '../db/pg-cluster.fixture.js';
import { LeaseStore, leasesMigrations } from './store.js';

/** Polls until `fn` is true or the deadline passes. */
async function until(fn: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`not true within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeStores('lease store', leasesMigrations, (db) => {
  it('is taken when free, refused to another node while held, and renewed by its holder under its epoch', async () => {
    const leases = new LeaseStore(db());
    const a = await leases.acquire('jobs', 'node-a', 5_000);
    expect(a).toMatchObject({ name: 'jobs', holder: 'node-a', epoch: 1 });
    expect(await leases.acquire('jobs', 'node-b', 5_000)).toBeUndefined();
    if (!a) throw new Error('unreachable');
    const renewed = await leases.renew(a, 5_000);
    expect(renewed).toMatchObject({ holder: 'node-a', epoch: 1 });
    expect(renewed?.expiresAt).toBeGreaterThanOrEqual(a.expiresAt);
    expect(await leases.holds(a)).toBe(true);
    // Another node cannot renew, nor can the holder under another epoch.
    expect(await leases.renew({ ...a, holder: 'node-b' }, 5_000)).toBeUndefined();
    expect(await leases.renew({ ...a, epoch: 2 }, 5_000)).toBeUndefined();
    // Another name is another lease.
    expect(await leases.acquire('rollouts', 'node-b', 5_000)).toMatchObject({ holder: 'node-b', epoch: 1 });
  });

  it('expires by the database clock; then another node takes it over with a higher epoch and the old one is fenced', async () => {
    const leases = new LeaseStore(db());
    const a = await leases.acquire('incidents', 'node-a', 300);
    if (!a) throw new Error('not acquired');
    await until(async () => (await leases.list()).every((l) => l.expiresAt <= l.now), 5_000);
    // Expired: the holder's renewal is refused (a late renewal is a lost lease), its fencing check fails.
    expect(await leases.renew(a, 300)).toBeUndefined();
    expect(await leases.holds(a)).toBe(false);
    const b = await leases.acquire('incidents', 'node-b', 5_000);
    expect(b).toMatchObject({ holder: 'node-b', epoch: 2 });
    expect(await leases.acquire('incidents', 'node-a', 5_000)).toBeUndefined();
    const [row] = await leases.list();
    expect(row).toMatchObject({ name: 'incidents', holder: 'node-b', epoch: 2 });
    expect(row?.expiresAt).toBeGreaterThan(row?.now ?? Number.POSITIVE_INFINITY);
  });

  it('released on a clean stop, it is free at once; the same node re-taking its own lease gets a new epoch', async () => {
    const leases = new LeaseStore(db());
    const a = await leases.acquire('notifications', 'node-a', 60_000);
    if (!a) throw new Error('not acquired');
    expect(await leases.release(a)).toBe(true);
    expect(await leases.release(a)).toBe(false);
    const b = await leases.acquire('notifications', 'node-b', 60_000);
    expect(b).toMatchObject({ holder: 'node-b', epoch: 2 });
    // A node restarting under its stable name takes its own unexpired lease back at once, fencing its predecessor.
    const again = await leases.acquire('notifications', 'node-b', 60_000);
    expect(again).toMatchObject({ holder: 'node-b', epoch: 3 });
    if (!b) throw new Error('unreachable');
    expect(await leases.holds(b)).toBe(false);
    expect(await leases.renew(b, 60_000)).toBeUndefined();
  });
});

describe.skipIf(postgresUnavailable !== undefined)(
  `two nodes racing on PostgreSQL${postgresUnavailable ? ` (skipped: ${postgresUnavailable})` : ''}`,
  () => {
    let pools: PostgresSql[] = [];
    beforeAll(async () => {
      const url = await freshPostgres();
      pools = [new PostgresSql(url, { max: 8 }), new PostgresSql(url, { max: 8 })];
      await migrateSql(pools[0] as PostgresSql, leasesMigrations);
    }, 60_000);
    afterAll(async () => {
      await Promise.all(pools.map((p) => p.close()));
    });

    it('get one winner per round, whether the row is new or expired', async () => {
      const [p, q] = pools as [PostgresSql, PostgresSql];
      const stores = [new LeaseStore(p), new LeaseStore(q)];
      // Connections opened before the race, so the contenders really run at once (not one per connection set-up).
      await Promise.all([p, q].flatMap((db) => Array.from({ length: 4 }, () => db.all('SELECT pg_sleep(0.05)'))));
      for (let round = 0; round < 20; round++) {
        const name = `race-${round % 4}`;
        // Eight contenders at once, four per pool (each its own connection): a fresh name, then an expired one.
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => stores[i % 2]?.acquire(name, `node-${i}`, 10_000)),
        );
        const winners = results.filter((r) => r !== undefined);
        expect(winners).toHaveLength(1);
        expect(winners[0]?.epoch).toBe(Math.floor(round / 4) + 1);
        // Expired without waiting 10 s: moved into the past, as the holder's death would leave it.
        await p.run('UPDATE leases SET expires_at = expires_at - 20000 WHERE name = ?', [name]);
      }
    }, 60_000);
  },
);
