/**
 * `LeasedWork` on real databases: on SQLite the work starts at once (nothing to wait for), and after a crash under the
 * same node name too; on PostgreSQL only one of two nodes runs the work, a clean stop hands it over at once, a lease
 * taken away stops the work at the next renewal, a renewal that fails stops it at once, and a renewal that hangs
 * stops it by the local deadline — before the expiry the other node waits for.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { SqlDb } from '../db/index.js';
import type { Component } from '../lifecycle.js';
import { LeasedWork, type LeaseTiming, leaseTiming } from './leased-work.js';
import { type LeaseGrant, LeaseStore, leasesMigrations } from './store.js';

const logger = pino({ level: 'silent' });

/** A piece of work that says whether it runs, and counts its starts and stops. */
function probe(): Component & { running: boolean; starts: number; stops: number } {
  const p = {
    name: 'probe',
    running: false,
    starts: 0,
    stops: 0,
    start() {
      p.running = true;
      p.starts++;
    },
    stop() {
      p.running = false;
      p.stops++;
    },
  };
  return p;
}

async function until(fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

const started: LeasedWork[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop()));
});

/** The real store, but its database can be made to fail or to hang (a network partition) for this node. */
class Outage extends LeaseStore {
  mode: 'up' | 'fail' | 'hang' = 'up';
  #down<T>(): Promise<T> | undefined {
    if (this.mode === 'fail') return Promise.reject(new Error('connection reset'));
    if (this.mode === 'hang') return new Promise<never>(() => {});
    return undefined;
  }
  override acquire(name: string, holder: string, ttlMs: number) {
    return this.#down<LeaseGrant | undefined>() ?? super.acquire(name, holder, ttlMs);
  }
  override renew(lease: LeaseGrant, ttlMs: number) {
    return this.#down<LeaseGrant | undefined>() ?? super.renew(lease, ttlMs);
  }
}

function leased(db: SqlDb, nodeId: string, work: Component, timing: LeaseTiming, store = new LeaseStore(db)) {
  const w = new LeasedWork({ name: 'jobs', work, store, nodeId, logger, timing });
  started.push(w);
  return w;
}

describeStores('leased work', leasesMigrations, (db) => {
  it('starts the work as soon as the lease is taken, and releases it on stop', async () => {
    const work = probe();
    const w = leased(db(), 'local', work, leaseTiming(6_000));
    w.start();
    // No renewal period to wait for: the first attempt takes the free lease.
    expect(await until(() => work.running, 1_000, 'work started')).toBeLessThan(1_000);
    expect(w.hold()?.grant).toMatchObject({ holder: 'local', epoch: 1 });
    await w.stop();
    expect(work).toMatchObject({ running: false, starts: 1, stops: 1 });
    const [row] = await new LeaseStore(db()).list();
    expect(row?.expiresAt).toBeLessThanOrEqual(row?.now ?? 0);
  });

  it('takes its own lease back at once after a crash under the same node name (one collector per SQLite file)', async () => {
    const store = new LeaseStore(db());
    await store.acquire('jobs', 'local', 60_000); // what a SIGKILLed predecessor left, 60 s from expiry
    const work = probe();
    leased(db(), 'local', work, leaseTiming(60_000)).start();
    await until(() => work.running, 1_000, 'work started');
    expect((await store.list())[0]).toMatchObject({ holder: 'local', epoch: 2 });
  });

  it('of two nodes, runs on one only; a clean stop hands it to the other at the next attempt', async () => {
    const timing = leaseTiming(3_000);
    const a = probe();
    const b = probe();
    const wa = leased(db(), 'node-a', a, timing);
    wa.start();
    await until(() => a.running, 1_000, 'a started');
    const wb = leased(db(), 'node-b', b, timing);
    wb.start();
    // Several renewal periods: b never runs while a holds.
    const t0 = Date.now();
    await until(() => Date.now() - t0 > timing.renewEveryMs * 2.5, 10_000, 'wait');
    expect(b.running).toBe(false);
    expect(a.running).toBe(true);
    await wa.stop();
    expect(a.running).toBe(false);
    const moved = await until(() => b.running, timing.renewEveryMs + 1_000, 'b took over');
    expect(moved).toBeLessThan(timing.ttlMs);
    expect(wb.hold()?.grant.epoch).toBe(2);
  });

  it('stops the work when the lease was taken from it, at the next renewal', async () => {
    const timing = leaseTiming(3_000);
    const work = probe();
    const w = leased(db(), 'node-a', work, timing);
    w.start();
    await until(() => work.running, 1_000, 'started');
    // Another node took it (as after an expiry this node missed): the next renewal finds it gone.
    await db().run('UPDATE leases SET holder = ?, epoch = epoch + 1', ['node-b']);
    const stopped = await until(() => !work.running, timing.renewEveryMs + 1_000, 'stopped');
    expect(stopped).toBeLessThanOrEqual(timing.renewEveryMs + 1_000);
    expect(w.held()).toBe(false);
    expect(work.stops).toBe(1);
  });

  it('stops the work at once when a renewal fails', async () => {
    const timing = leaseTiming(3_000);
    const flaky = new Outage(db());
    const work = probe();
    const w = leased(db(), 'node-a', work, timing, flaky);
    w.start();
    await until(() => work.running, 1_000, 'started');
    flaky.mode = 'fail';
    await until(() => !work.running, timing.renewEveryMs + 1_000, 'stopped');
    expect(w.held()).toBe(false);
    // The database comes back: the node takes the lease again (its own, so at once), under a new epoch.
    flaky.mode = 'up';
    await until(() => work.running, timing.renewEveryMs * 2 + 1_000, 'restarted');
    expect(w.hold()?.grant.epoch).toBe(2);
  });

  it('stops the work by its local deadline when a renewal hangs, before the database expiry', async () => {
    const timing = leaseTiming(3_000);
    const store = new LeaseStore(db());
    const stuck = new Outage(db());
    const work = probe();
    const w = leased(db(), 'node-a', work, timing, stuck);
    w.start();
    await until(() => work.running, 1_000, 'started');
    stuck.mode = 'hang';
    await until(() => !work.running, timing.ttlMs + 1_000, 'stopped');
    // When the work stopped, the lease had not yet expired by the database's clock: nobody else could have started.
    const [row] = await store.list();
    expect(row?.expiresAt).toBeGreaterThan(row?.now ?? Number.POSITIVE_INFINITY);
    // Its chain waits on the hung renewal for ever: stopped without waiting for the release behind it.
    started.splice(started.indexOf(w), 1);
    void w.stop();
  });
});

describe('lease timing', () => {
  it('renews three times per TTL and stops a sixth of it before expiry', () => {
    expect(leaseTiming(6_000)).toEqual({ ttlMs: 6_000, renewEveryMs: 2_000, marginMs: 1_000 });
  });
});
