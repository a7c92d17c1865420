/**
 * The rollout driver on a real SQLite database with the real updates, incidents and audit concerns and a fake
 * clock. The fleet is the agents' side of the seam: each "agent" answers the `update.assign` it is sent the way the
 * real one does (reports `swapped`, then comes back on the new version, or reports a rollback), through the
 * updates concern's own `update.status` sink. The packaged end-to-end run is test/package/rollout.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpdateStatus } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../auth/index.js';
import { sqlOf } from '../db/index.js';
import { harness } from '../incidents/harness.fixture.js';
import { Updates } from '../updates/index.js';
import type { FleetAgent } from './ports.js';
import { Rollouts } from './service.js';

const logger = pino({ level: 'silent' });
const ADMIN: Actor = { kind: 'system', id: 'system' };
const A = '1.0.0';
const V = '1.1.0';
const dataDir = mkdtempSync(join(tmpdir(), 'outpost-rollouts-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** How a simulated agent answers an assignment. */
type Behaviour = 'good' | 'rollback' | 'refuse' | 'silent' | 'flaky';

async function setup(n: number) {
  const h = await harness({ start: Date.parse('2026-12-04T10:00:00Z') });
  const fleet = new Map<string, FleetAgent & { behaviour: Behaviour }>();
  for (let i = 0; i < n; i++) {
    const agentId = `ag_${String(i).padStart(24, '0')}`;
    fleet.set(agentId, {
      agentId,
      clientId: h.client.id,
      siteId: h.site.id,
      platform: 'linux-x64',
      version: A,
      online: true,
      revoked: false,
      // Every fourth machine is in the test ring.
      tags: i % 4 === 0 ? ['ring-test'] : [],
      behaviour: 'good',
    });
  }
  /** Every assignment sent, in order. */
  const sent: { agentId: string; id: string; version: string; at: number }[] = [];
  const seq = new Map<string, number>();
  const report = async (agentId: string, msg: Omit<UpdateStatus, 'type' | 'seq' | 'time'>) => {
    const s = (seq.get(agentId) ?? 0) + 1;
    seq.set(agentId, s);
    await updates.ingest(
      [{ agentId, msg: { type: 'update.status', seq: s, time: h.clock.now(), ...msg } }],
      h.clock.now(),
    );
  };
  const updates = new Updates({
    db: sqlOf(h.db),
    dataDir,
    audit: h.audit,
    clock: h.clock,
    logger,
    deps: {
      send: (agentId, msg) => {
        sent.push({ agentId, id: msg.id, version: msg.version, at: h.clock.now() });
        return fleet.get(agentId)?.online === true;
      },
      clientOf: async (id) => fleet.get(id)?.clientId,
    },
  });
  const releases = [
    { version: A, platform: 'linux-x64', rollbackAllowed: false },
    { version: V, platform: 'linux-x64', rollbackAllowed: false },
  ];
  const deps = {
    resolve: async (t: { agentIds?: string[] | undefined; tag?: string | undefined }) =>
      [...fleet.values()].filter(
        (a) => (!t.agentIds || t.agentIds.includes(a.agentId)) && (t.tag === undefined || a.tags.includes(t.tag)),
      ),
    agent: async (id: string) => fleet.get(id),
    assign: async (a: { agentId: string; clientId: string; version: string; id: string; rolloutId: string }) =>
      (await updates.assign(a.agentId, a.clientId, a.version, ADMIN, { id: a.id, context: { rolloutId: a.rolloutId } }))
        .sent,
    outcome: async (agentId: string, assignmentId: string) => {
      const s = (await updates.statuses(agentId, 20)).find((x) => x.assignmentId === assignmentId);
      return s && { phase: s.phase, code: s.code, reason: s.reason, time: s.time };
    },
    releases: () => releases,
    incidents: h.incidents,
  };
  const make = () => new Rollouts({ db: sqlOf(h.db), audit: h.audit, clock: h.clock, logger, deps });
  let rollouts = make();
  /** The agents act on what they were sent since the last call, as the real agent does. */
  let handled = 0;
  const agentsAct = async () => {
    for (; handled < sent.length; handled++) {
      const m = sent[handled]!;
      const a = fleet.get(m.agentId)!;
      if (!a.online || a.version === m.version) continue;
      if (a.behaviour === 'silent') continue;
      if (a.behaviour === 'flaky') {
        // The collector could not serve the release for a moment (its own restart): a refusal worth retrying.
        a.behaviour = 'good';
        await report(a.agentId, {
          assignmentId: m.id,
          phase: 'refused',
          from: a.version,
          to: m.version,
          code: 'OUTPOST_E_UPDATE_FETCH',
          reason: 'socket hang up',
        });
        continue;
      }
      if (a.behaviour === 'refuse') {
        await report(a.agentId, {
          assignmentId: m.id,
          phase: 'refused',
          from: a.version,
          to: m.version,
          code: 'OUTPOST_E_UPDATE_TAMPERED',
          reason: 'bytes do not match',
        });
        continue;
      }
      await report(a.agentId, { assignmentId: m.id, phase: 'swapped', from: a.version, to: m.version });
      if (a.behaviour === 'rollback') {
        await report(a.agentId, {
          assignmentId: m.id,
          phase: 'rolled_back',
          from: a.version,
          to: m.version,
          code: 'OUTPOST_E_UPDATE_ROLLED_BACK',
          reason: 'restarted 4 times in a loop',
        });
        continue;
      }
      a.version = m.version;
      await report(a.agentId, { assignmentId: m.id, phase: 'healthy', from: A, to: m.version });
    }
  };
  /** Ticks, lets the agents answer, moves the clock. */
  const step = async (ms = 1000) => {
    await rollouts.tick();
    await agentsAct();
    h.clock.t += ms;
  };
  return {
    h,
    fleet,
    sent,
    releases,
    updates,
    get rollouts() {
      return rollouts;
    },
    restart() {
      rollouts = make();
    },
    step,
    report,
  };
}

type Env = Awaited<ReturnType<typeof setup>>;
let env: Env;

async function runUntil(cond: () => Promise<boolean>, steps = 500, ms = 1000) {
  for (let i = 0; i < steps; i++) {
    if (await cond()) return;
    await env.step(ms);
  }
  throw new Error('condition never met');
}

const progress = async (id: string) => {
  const r = await env.rollouts.get(id);
  return { r, ...(await env.rollouts.progress(r)) };
};

describe('rollouts driver', () => {
  beforeEach(async () => {
    env = await setup(20);
  });

  it('rolls out wave by wave: canary first, at most N at once, bake between waves, then completed', async () => {
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: {},
      canary: 2,
      waves: [25, 100],
      maxConcurrent: 3,
      bakeSec: 60,
      jitterSec: 0,
      deadlineSec: 600,
    });
    expect(r.waves).toEqual(['canary', '25%', '100%']);
    const plan = await env.rollouts.store.agents(r.id);
    const waveOf = new Map(plan.map((a) => [a.agentId, a.wave]));
    // The canary: two machines, nothing else.
    await env.step();
    expect(env.sent.map((s) => waveOf.get(s.agentId))).toEqual([0, 0]);
    // Healthy canary: nothing more is assigned until the bake is over.
    for (let i = 0; i < 30; i++) await env.step();
    expect(env.sent).toHaveLength(2);
    let maxInFlight = 0;
    await runUntil(async () => {
      const p = await progress(r.id);
      maxInFlight = Math.max(maxInFlight, ...p.waves.map((w) => w.updating));
      return p.r.state === 'completed';
    });
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(env.sent).toHaveLength(20);
    // Waves were assigned strictly in order, each after the bake of the one before.
    const order = env.sent.map((s) => waveOf.get(s.agentId)!);
    expect(order).toEqual([...order].sort());
    const firstOf = (w: number) => env.sent.find((s) => waveOf.get(s.agentId) === w)!.at;
    const lastOf = (w: number) => env.sent.findLast((s) => waveOf.get(s.agentId) === w)!.at;
    expect(firstOf(1) - lastOf(0)).toBeGreaterThanOrEqual(60_000);
    expect(firstOf(2) - lastOf(1)).toBeGreaterThanOrEqual(60_000);
    expect([...env.fleet.values()].every((a) => a.version === V)).toBe(true);
    const p = await progress(r.id);
    expect(p.agents.every((a) => a.state === 'healthy')).toBe(true);
    const audit = { events: await env.h.audit.list({ limit: 1000 }) };
    expect(audit.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['rollout.start', 'rollout.complete', 'agent.update']),
    );
  });

  it('halts when a canary rolls back: incident opened and notified, later waves never assigned; resume and abort', async () => {
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: {},
      canary: 2,
      waves: [50, 100],
      maxConcurrent: 1,
      bakeSec: 0,
      jitterSec: 0,
    });
    const plan = await env.rollouts.store.agents(r.id);
    const canaries = plan.filter((a) => a.wave === 0).map((a) => a.agentId);
    env.fleet.get(canaries[0]!)!.behaviour = 'rollback';
    await runUntil(async () => (await env.rollouts.get(r.id)).state === 'halted', 20);
    for (let i = 0; i < 20; i++) await env.step();
    const p = await progress(r.id);
    expect(p.r.haltReason).toMatch(/wave 1 \(canary\): 1 of 2 machines failed/);
    expect(p.waves[0]).toMatchObject({ rolledBack: 1, pending: 1 });
    // Only the first canary was ever sent the version (one at a time); nobody else, ever.
    expect(env.sent.map((s) => s.agentId)).toEqual([canaries[0]]);
    const { incidents } = await env.h.incidents.list({ limit: 10, offset: 0 });
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ type: 'update', source: 'rollout', agentIds: [canaries[0]], status: 'open' });
    expect(incidents[0]!.explanation).toMatch(/OUTPOST_E_UPDATE_ROLLED_BACK — restarted 4 times in a loop/);
    expect(env.h.notices.some((n) => n.event === 'opened' && n.incident.id === incidents[0]!.id)).toBe(true);
    // A halted rollout cannot be paused; resume accepts the failure and goes on; abort stops for good.
    await expect(env.rollouts.pause(ADMIN, r.id)).rejects.toMatchObject({ code: 'OUTPOST_E_ROLLOUT_STATE' });
    await env.rollouts.resume(ADMIN, r.id);
    await runUntil(async () => env.sent.length >= 3, 20);
    expect((await env.rollouts.get(r.id)).state).toBe('running');
    await env.rollouts.abort(ADMIN, r.id);
    const n = env.sent.length;
    for (let i = 0; i < 20; i++) await env.step();
    expect(env.sent).toHaveLength(n);
    expect((await env.rollouts.get(r.id)).state).toBe('aborted');
    const types = (await env.h.audit.list({ limit: 1000 })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['rollout.halt', 'rollout.resume', 'rollout.abort']));
  });

  it('counts a machine not back by its deadline, and a refusal, as failures', async () => {
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: {},
      canary: 4,
      waves: [100],
      maxConcurrent: 4,
      jitterSec: 0,
      deadlineSec: 30,
      haltAfter: 2,
    });
    const canaries = (await env.rollouts.store.wave(r.id, 0)).map((a) => a.agentId);
    env.fleet.get(canaries[0]!)!.behaviour = 'silent';
    env.fleet.get(canaries[1]!)!.behaviour = 'refuse';
    await runUntil(async () => (await env.rollouts.get(r.id)).state === 'halted', 60);
    const states = Object.fromEntries((await env.rollouts.store.wave(r.id, 0)).map((a) => [a.agentId, a]));
    expect(states[canaries[0]!]).toMatchObject({ state: 'timed_out', code: 'OUTPOST_E_ROLLOUT_TIMEOUT' });
    expect(states[canaries[1]!]).toMatchObject({ state: 'failed', code: 'OUTPOST_E_UPDATE_TAMPERED' });
  });

  it('retries a transient refusal (the release could not be fetched) under a new id instead of failing the wave', async () => {
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: {},
      canary: 2,
      waves: [100],
      maxConcurrent: 20,
      jitterSec: 0,
      bakeSec: 0,
    });
    const canary = (await env.rollouts.store.wave(r.id, 0))[0]!.agentId;
    env.fleet.get(canary)!.behaviour = 'flaky';
    await runUntil(async () => (await env.rollouts.get(r.id)).state === 'completed', 60);
    const sentTo = env.sent.filter((s) => s.agentId === canary);
    expect(sentTo).toHaveLength(2);
    expect(sentTo[1]!.id).not.toBe(sentTo[0]!.id);
    expect(sentTo[1]!.at - sentTo[0]!.at).toBeGreaterThanOrEqual(5000);
    expect((await env.rollouts.store.wave(r.id, 0))[0]).toMatchObject({ state: 'healthy', attempts: 2 });
  });

  it('resumes after a restart from the database alone, re-sending recorded assignments under the same ids', async () => {
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: {},
      canary: 2,
      waves: [100],
      maxConcurrent: 5,
      jitterSec: 0,
      bakeSec: 0,
    });
    for (const a of env.fleet.values()) a.behaviour = 'silent';
    await env.step();
    await env.step();
    await env.step();
    const before = env.sent.map((s) => s.id);
    expect(before).toHaveLength(2);
    // "SIGKILL": a new service on the same database; nothing else survives.
    env.restart();
    await env.rollouts.tick();
    expect(env.sent.slice(2).map((s) => s.id)).toEqual(before);
    // The re-sent ids are the same assignments: nothing new stored for them.
    for (const a of env.fleet.values()) a.behaviour = 'good';
    await runUntil(async () => (await env.rollouts.get(r.id)).state === 'completed', 100);
    expect(new Set(env.sent.map((s) => s.id)).size).toBe(20);
    expect([...env.fleet.values()].every((a) => a.version === V)).toBe(true);
  });

  it('waits for a machine briefly offline, skips one offline all wave long, and marks one already on V healthy', async () => {
    const ids = [...env.fleet.keys()];
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: { agentIds: ids.slice(0, 3) },
      canary: 0,
      waves: [100],
      jitterSec: 0,
      deadlineSec: 20,
    });
    const [a, b, c] = (await env.rollouts.store.wave(r.id, 0)).map((x) => env.fleet.get(x.agentId)!);
    env.fleet.clear();
    for (const x of [a!, b!, c!]) env.fleet.set(x.agentId, x);
    a!.online = false;
    b!.online = false;
    c!.version = V;
    await env.step(5000);
    await env.step(5000);
    b!.online = true;
    await runUntil(async () => (await env.rollouts.get(r.id)).state === 'completed', 20, 5000);
    const states = Object.fromEntries((await env.rollouts.store.wave(r.id, 0)).map((x) => [x.agentId, x]));
    expect(states[a!.agentId]).toMatchObject({ state: 'skipped' });
    expect(states[b!.agentId]).toMatchObject({ state: 'healthy' });
    expect(states[c!.agentId]).toMatchObject({ state: 'healthy', reason: `already on ${V}`, assignmentId: null });
  });

  it('rolls the fleet back only to a version signed as a rollback target; refuses a second rollout meanwhile', async () => {
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: {},
      canary: 2,
      waves: [100],
      maxConcurrent: 20,
      jitterSec: 0,
      bakeSec: 0,
    });
    await expect(env.rollouts.create(ADMIN, { version: V, target: {} })).rejects.toMatchObject({
      code: 'OUTPOST_E_ROLLOUT_STATE',
    });
    await runUntil(async () => (await env.rollouts.get(r.id)).state === 'completed', 50);
    await expect(env.rollouts.rollback(ADMIN, r.id)).rejects.toMatchObject({
      code: 'OUTPOST_E_ROLLOUT_NO_ROLLBACK_TARGET',
      details: { version: A, platforms: ['linux-x64'] },
    });
    env.releases[0]!.rollbackAllowed = true;
    const back = await env.rollouts.rollback(ADMIN, r.id);
    expect(back).toMatchObject({ kind: 'rollback', version: A, rollbackOf: r.id, waves: ['rollback'] });
    expect((await env.rollouts.get(r.id)).state).toBe('rolled_back');
    await runUntil(async () => (await env.rollouts.get(back.id)).state === 'completed', 50);
    expect([...env.fleet.values()].every((a) => a.version === A)).toBe(true);
  });

  it('puts the machines with the ring tag in wave 0, before the canary; a tag target limits the whole rollout', async () => {
    const ringIds = [...env.fleet.values()].filter((a) => a.tags.includes('ring-test')).map((a) => a.agentId);
    const r = await env.rollouts.create(ADMIN, {
      version: V,
      target: {},
      ringTag: 'ring-test',
      canary: 2,
      waves: [50, 100],
      maxConcurrent: 20,
      bakeSec: 0,
      jitterSec: 0,
    });
    expect(r.waves).toEqual(['ring', 'canary', '50%', '100%']);
    const plan = await env.rollouts.store.agents(r.id);
    expect(
      plan
        .filter((a) => a.wave === 0)
        .map((a) => a.agentId)
        .sort(),
    ).toEqual(ringIds.sort());
    expect(plan.filter((a) => a.wave === 1)).toHaveLength(2);
    // The ring is assigned first, and alone.
    await env.step();
    expect(new Set(env.sent.map((s) => s.agentId))).toEqual(new Set(ringIds));
    await runUntil(async () => (await env.rollouts.get(r.id)).state === 'completed');
    expect(env.sent).toHaveLength(20);

    // A rollout limited to the tag: only the five tagged machines, all of them in the ring.
    const only = await env.rollouts.create(ADMIN, { version: A, target: { tag: 'ring-test' }, ringTag: 'ring-test' });
    expect((await env.rollouts.store.agents(only.id)).map((a) => a.agentId).sort()).toEqual(ringIds.sort());
    expect(only.waves).toEqual(['ring']);
    await env.rollouts.abort(ADMIN, only.id);
  });

  it('refuses a ring tag no targeted machine has, and a target tag nobody carries, saying which tag', async () => {
    await expect(env.rollouts.create(ADMIN, { version: V, target: {}, ringTag: 'nobody' })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
      message: expect.stringContaining('"nobody"'),
    });
    await expect(env.rollouts.create(ADMIN, { version: V, target: { tag: 'nobody' } })).rejects.toMatchObject({
      code: 'OUTPOST_E_ROLLOUT_NO_TARGETS',
      message: expect.stringContaining('"nobody"'),
    });
  });

  it('refuses a version not published for the targets’ platform, and bad wave percentages', async () => {
    await expect(env.rollouts.create(ADMIN, { version: '9.9.9', target: {} })).rejects.toMatchObject({
      code: 'OUTPOST_E_ROLLOUT_NO_RELEASE',
      details: { platforms: ['linux-x64'] },
    });
    await expect(env.rollouts.create(ADMIN, { version: V, target: {}, waves: [50, 25, 100] })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    await expect(env.rollouts.create(ADMIN, { version: V, target: {}, waves: [5, 25] })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    env.fleet.clear();
    await expect(env.rollouts.create(ADMIN, { version: V, target: {} })).rejects.toMatchObject({
      code: 'OUTPOST_E_ROLLOUT_NO_TARGETS',
    });
  });
});
