/**
 * The leased ticks (SLA engine, jobs, rollout waves) write only under their lease's epoch, on both engines: a holder
 * paused past a takeover (its hold still looks valid to it: it has not run since) writes and sends nothing, the rows
 * unchanged; the new holder's tick does the work. Concerns wired as production wires them (`wireCore`).
 */
import pino from 'pino';
import { expect, it } from 'vitest';
import { MIGRATIONS } from '../app.js';
import type { Actor } from '../auth/index.js';
import { checkSettings } from '../config.js';
import { wireCore } from '../core.js';
import { describeStores } from '../db/dialects.fixture.js';
import type { SqlDb } from '../db/index.js';
import type { FleetAgent } from '../rollouts/ports.js';
import { Rollouts } from '../rollouts/service.js';
import { holdOf } from './leased-work.js';
import { LeaseStore } from './store.js';

const logger = pino({ level: 'silent' });
const SYSTEM: Actor = { kind: 'system', id: 'system' };
const T0 = Date.parse('2026-12-05T03:00:00Z');

/**
 * Node A holds `name`, then loses it to node B (released here, which is what an expiry looks like to the database,
 * without waiting a TTL). A's hold keeps answering `valid()`: a paused process has not noticed.
 */
async function takenOver(db: SqlDb, name: string) {
  const leases = new LeaseStore(db);
  const a = await leases.acquire(name, 'node-a', 60_000);
  if (!a) throw new Error('node-a did not get the lease');
  await leases.release(a);
  const b = await leases.acquire(name, 'node-b', 60_000);
  if (!b) throw new Error('node-b did not get the lease');
  expect(b.epoch).toBe(a.epoch + 1);
  return { stale: holdOf(leases, a, () => true), current: holdOf(leases, b, () => true) };
}

async function wired(db: SqlDb) {
  const clock = {
    t: T0,
    now() {
      return this.t;
    },
  };
  const settings = checkSettings({ dataDir: ':memory:', auth: { initialAdminEmail: 'admin@outpost.test' } });
  const core = await wireCore({ sql: db, config: { ...settings, clock, logger } });
  const client = await core.tenants.createClient(SYSTEM, 'Acme');
  const site = await core.tenants.createSite(SYSTEM, client.id, 'HQ', 'Europe/Paris');
  return { core, clock, client, site };
}

describeStores('leased ticks fenced by the epoch', MIGRATIONS, (db) => {
  it('the SLA engine: a stale holder neither auto-resolves nor closes; the holder does', async () => {
    const { core, clock, client, site } = await wired(db());
    const { incidents } = core;
    const raise = (key: string) =>
      incidents.raise({
        key,
        clientId: client.id,
        siteId: site.id,
        agentIds: ['ag_one'],
        source: 'threshold',
        rule: 'cpu.total',
        type: 'performance',
        criticality: 'P3',
        tier: 1,
        failureTime: clock.now(),
        detectedAt: clock.now(),
        title: 'CPU high',
        explanation: 'CPU above 95 % for 10 min',
      });
    const clearing = await raise('threshold:ag_one:cpu');
    await incidents.clear('threshold:ag_one:cpu', clock.now());
    const resolved = await raise('threshold:ag_one:disk');
    await incidents.resolve(SYSTEM, resolved.incidentId, 'fixed by hand', 'fixed');
    // Past both the auto-resolve hold (5 min) and the reopen window (24 h).
    clock.t += 25 * 3_600_000;
    const before = [await incidents.get(clearing.incidentId), await incidents.get(resolved.incidentId)];
    const { stale, current } = await takenOver(db(), 'incidents');

    expect(await incidents.tick(stale)).toEqual({ warnings: 0, breaches: 0, autoResolved: 0, closed: 0 });
    expect([await incidents.get(clearing.incidentId), await incidents.get(resolved.incidentId)]).toEqual(before);

    expect(await incidents.tick(current)).toMatchObject({ autoResolved: 1, closed: 1 });
    expect((await incidents.get(clearing.incidentId))?.status).toBe('resolved');
    expect((await incidents.get(resolved.incidentId))?.status).toBe('closed');
  });

  it('jobs: a stale holder expires nothing; the holder does', async () => {
    const { core, clock, client, site } = await wired(db());
    const { jobs } = core;
    await jobs.store.createJob(
      {
        id: 'jb_fenced',
        kind: 'patch',
        spec: JSON.stringify({ kind: 'patch', scope: 'all' }),
        target: JSON.stringify({ agentIds: ['ag_one', 'ag_two'] }),
        reboot: JSON.stringify({ mode: 'never' }),
        timeoutSec: 60,
        notBefore: T0,
        expiresAt: T0 + 60_000,
        window: null,
        status: 'active',
        retryOf: null,
        createdBy: 'test',
        createdAt: T0,
      },
      ['ag_one', 'ag_two'].map((agentId) => ({ agentId, clientId: client.id, siteId: site.id })),
    );
    clock.t += 120_000;
    const states = async () => (await jobs.store.targets('jb_fenced')).map((t) => t.state);
    const { stale, current } = await takenOver(db(), 'jobs');

    await jobs.tick(stale);
    expect(await states()).toEqual(['queued', 'queued']);

    await jobs.tick(current);
    expect(await states()).toEqual(['expired', 'expired']);
  });

  it('rollouts: a stale holder starts no wave and assigns no machine; the holder does, once', async () => {
    const { core, clock, client, site } = await wired(db());
    const fleet: FleetAgent[] = ['ag_one', 'ag_two'].map((agentId) => ({
      agentId,
      clientId: client.id,
      siteId: site.id,
      platform: 'linux-x64',
      version: '1.0.0',
      online: true,
      revoked: false,
      tags: [],
    }));
    const sent: string[] = [];
    const rollouts = new Rollouts({
      db: db(),
      audit: core.audit,
      clock,
      logger,
      deps: {
        resolve: async () => fleet,
        agent: async (id) => fleet.find((a) => a.agentId === id),
        assign: async (a) => {
          sent.push(`${a.agentId} ${a.id}`);
          return true;
        },
        outcome: async () => undefined,
        releases: () => [{ version: '1.1.0', platform: 'linux-x64', rollbackAllowed: false }],
        incidents: core.incidents,
      },
    });
    const r = await rollouts.create(SYSTEM, {
      version: '1.1.0',
      target: {},
      canary: 0,
      waves: [100],
      jitterSec: 0,
      bakeSec: 0,
    });
    const rows = async () => ({
      rollout: await rollouts.store.rollout(r.id),
      agents: await rollouts.store.wave(r.id, 0),
    });
    const before = await rows();
    const { stale, current } = await takenOver(db(), 'rollouts');

    await rollouts.tick(stale);
    expect(sent).toEqual([]);
    expect(await rows()).toEqual(before);

    await rollouts.tick(current);
    expect(sent).toHaveLength(2);
    const after = await rows();
    expect(after.rollout?.waveStartedAt).toBe(clock.now());
    expect(after.agents.map((a) => a.state)).toEqual(['assigned', 'assigned']);
    const waves = await core.audit.list({ type: 'rollout.wave', limit: 100 });
    expect(waves).toHaveLength(1);
  });
});
