import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { harness } from './harness.fixture.js';
import type { DetectionSignal } from './signal.js';

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 0, 13, 9, 0); // Tuesday 10:00 in Paris
const SYSTEM = { kind: 'system', id: 'system' } as const;

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostError);
  return (err as OutpostError).code;
}

const signal = (h: Awaited<ReturnType<typeof harness>>, over: Partial<DetectionSignal> = {}): DetectionSignal => ({
  key: 'threshold:ag_1:disk.used_pct:>90',
  clientId: h.client.id,
  siteId: h.site.id,
  agentIds: ['ag_1'],
  source: 'threshold',
  rule: 'disk.used_pct > 90',
  type: 'capacity',
  criticality: 'P3',
  tier: 1,
  failureTime: h.clock.t - 5 * M,
  detectedAt: h.clock.t,
  title: 'Disk C: 95 % full',
  explanation: 'disk.used_pct is 95, above 90 for 5 min',
  ...over,
});

describe('detected incidents', () => {
  it('updates the open ticket, auto-resolves after the hold, reopens within the window and opens anew after it', async () => {
    const h = await harness({ start: T0, autoResolveHoldMs: 5 * M, reopenWindowMs: 2 * H });
    const first = await h.incidents.raise(signal(h));
    expect(first.outcome).toBe('opened');
    h.clock.t += M;
    expect(await h.incidents.raise(signal(h, { agentIds: ['ag_2'], criticality: 'P2' }))).toEqual({
      incidentId: first.incidentId,
      outcome: 'updated',
    });
    const updated = (await h.incidents.get(first.incidentId))!;
    expect(updated.agentIds.sort()).toEqual(['ag_1', 'ag_2']);
    expect(updated.criticality).toBe('P2');
    expect(updated.failureTime).toBe(T0 - 5 * M); // time of failure is the first abnormal sample, kept

    // Clear, then the hold: not resolved at 4 min, resolved at 5.
    await h.incidents.clear(signal(h).key, h.clock.t, 'back under 85 %');
    const clearedAt = h.clock.t;
    h.clock.t = clearedAt + 4 * M;
    expect(await h.incidents.tick()).toMatchObject({ autoResolved: 0 });
    h.clock.t = clearedAt + 5 * M;
    expect(await h.incidents.tick()).toMatchObject({ autoResolved: 1 });
    const resolved = (await h.incidents.get(first.incidentId))!;
    expect(resolved).toMatchObject({ status: 'resolved', resolutionCategory: 'auto-cleared', acknowledgedAt: null });
    expect(resolved.resolutionMs).toBe(h.clock.t - (T0 - 5 * M));

    // The fault comes back within the window: the same ticket reopens (flap protection).
    h.clock.t += H;
    expect(await h.incidents.raise(signal(h))).toEqual({ incidentId: first.incidentId, outcome: 'reopened' });
    expect(await h.incidents.get(first.incidentId)).toMatchObject({ status: 'open', reopenCount: 1, resolvedAt: null });

    // Resolved again by a technician, then past the window: it closes by itself and a new fault is a new ticket.
    const tech = await h.user('alice');
    await h.incidents.resolve(tech, first.incidentId, 'Cleaned the temp folder', 'fixed');
    h.clock.t += 2 * H + 1;
    expect(await h.incidents.tick()).toMatchObject({ closed: 1 });
    expect((await h.incidents.get(first.incidentId))?.status).toBe('closed');
    const again = await h.incidents.raise(signal(h));
    expect(again.outcome).toBe('opened');
    expect(again.incidentId).not.toBe(first.incidentId);
    expect(await codeOf(h.incidents.reopen(tech, first.incidentId, 'same fault'))).toBe('OUTPOST_E_TRANSITION_INVALID');

    const kinds = (await h.incidents.timeline(first.incidentId)).map((e) => e.kind);
    expect(kinds).toEqual([
      'opened',
      'detection',
      'condition_clear',
      'resolved',
      'reopened',
      'detection',
      'resolved',
      'closed',
    ]);
    expect(h.notices.filter((n) => n.incident.id === first.incidentId).map((n) => n.event)).toEqual([
      'opened',
      'resolved',
      'reopened',
      'resolved',
    ]);
  });

  it('a ticket closed early by hand still reopens when its fault returns within the window', async () => {
    const h = await harness({ start: T0, reopenWindowMs: 2 * H });
    const tech = await h.user('alice');
    const { incidentId } = await h.incidents.raise(signal(h));
    await h.incidents.resolve(tech, incidentId, 'rebooted', 'workaround');
    await h.incidents.close(tech, incidentId);
    h.clock.t += 30 * M;
    expect(await h.incidents.raise(signal(h))).toEqual({ incidentId, outcome: 'reopened' });
    expect(await h.incidents.get(incidentId)).toMatchObject({ status: 'acknowledged', closedAt: null, reopenCount: 1 });
  });
});

describe('technicians work tickets', () => {
  it('queues per tier follow take, escalate and de-escalate, with the reason kept; every action is audited', async () => {
    const h = await harness({ start: T0 });
    const alice = await h.user('alice', 'tier1');
    const bob = await h.user('bob', 'tier2');
    const open = (title: string, criticality: 'P1' | 'P2' | 'P3', tier: 1 | 2 | 3 = 1) =>
      h.incidents.open(alice, { clientId: h.client.id, siteId: h.site.id, title, type: 'other', criticality, tier });
    const a = await open('Mail down', 'P1');
    const b = await open('Slow PC', 'P3');
    await open('Site switch loop', 'P2', 2);
    expect(await h.incidents.queues()).toEqual([
      { tier: 1, criticality: 'P1', open: 1, unassigned: 1 },
      { tier: 1, criticality: 'P3', open: 1, unassigned: 1 },
      { tier: 2, criticality: 'P2', open: 1, unassigned: 1 },
    ]);

    h.clock.t += M;
    const taken = await h.incidents.assign(alice, a.id, alice.id);
    expect(taken).toMatchObject({ assignee: alice.id, status: 'acknowledged', acknowledgedAt: T0 + M });
    await h.incidents.comment(alice, a.id, 'Exchange connector stopped; needs tier 2');
    const up = await h.incidents.escalate(alice, a.id, 'needs server access');
    expect(up).toMatchObject({ tier: 2, escalationLevel: 1, assignee: null });
    await h.incidents.assign(alice, a.id, bob.id, 'on site today');
    const down = await h.incidents.deescalate(bob, a.id, 'connector restarted; tier 1 follows up');
    expect(down.tier).toBe(1);
    await h.incidents.pause(alice, b.id, 'user on holiday until Monday');
    await h.incidents.resume(alice, b.id);
    await h.incidents.resolve(alice, a.id, 'Restarted the connector', 'configuration');
    await h.incidents.close(alice, a.id);
    await h.incidents.reopen(alice, a.id, 'mail down again');

    expect((await h.incidents.list({ tier: 1, status: ['open', 'acknowledged'] })).total).toBe(2);
    expect((await h.incidents.list({ assignee: bob.id })).incidents.map((i) => i.id)).toEqual([]);
    expect((await h.incidents.list({ criticality: 'P3' })).incidents.map((i) => i.id)).toEqual([b.id]);
    expect((await h.incidents.list({ siteId: h.plant.id })).total).toBe(0);

    const timeline = await h.incidents.timeline(a.id);
    expect(timeline.find((e) => e.kind === 'escalated')?.data).toMatchObject({
      fromTier: 1,
      toTier: 2,
      reason: 'needs server access',
    });
    expect(timeline.find((e) => e.kind === 'deescalated')?.data).toMatchObject({
      reason: 'connector restarted; tier 1 follows up',
    });
    expect(timeline.find((e) => e.kind === 'comment')).toMatchObject({ actor: 'alice@acme.test' });

    const audit = (await h.audit.list({ limit: 100 })).filter((e) => e.type.startsWith('incident.')).reverse();
    expect(audit.filter((e) => e.resource === `incident:${a.id}`).map((e) => e.type)).toEqual([
      'incident.open',
      'incident.take',
      'incident.comment',
      'incident.escalate',
      'incident.assign',
      'incident.deescalate',
      'incident.resolve',
      'incident.close',
      'incident.reopen',
    ]);
    expect(audit.filter((e) => e.resource === `incident:${b.id}`).map((e) => e.type)).toEqual([
      'incident.open',
      'incident.pause',
      'incident.resume',
    ]);
    expect(audit.every((e) => e.result === 'success' && e.clientId === h.client.id)).toBe(true);
  });

  it('derives criticality from impact × urgency', async () => {
    const h = await harness({ start: T0 });
    const base = { clientId: h.client.id, siteId: h.site.id, title: 't', type: 'other' };
    expect((await h.incidents.open(SYSTEM, { ...base, impact: 1, urgency: 1 })).criticality).toBe('P1');
    expect((await h.incidents.open(SYSTEM, { ...base, impact: 2, urgency: 1 })).criticality).toBe('P2');
    expect((await h.incidents.open(SYSTEM, { ...base, impact: 3, urgency: 3 })).criticality).toBe('P4');
  });
});

describe('bad input changes nothing', () => {
  it('refuses unknown client, foreign site or agent, missing or contradictory criticality, future failure time', async () => {
    const h = await harness({ start: T0 });
    const base = { clientId: h.client.id, siteId: h.site.id, title: 'Fault', type: 'other' };
    const cases: [Parameters<typeof h.incidents.open>[1], string][] = [
      [{ ...base, clientId: 'cl_nope', criticality: 'P2' }, 'OUTPOST_E_NOT_FOUND'],
      [{ ...base, siteId: h.otherSite.id, criticality: 'P2' }, 'OUTPOST_E_NOT_FOUND'],
      [{ ...base, agentIds: ['ag_unknown'], criticality: 'P2' }, 'OUTPOST_E_BAD_REQUEST'],
      [base, 'OUTPOST_E_BAD_REQUEST'],
      [{ ...base, impact: 1 }, 'OUTPOST_E_BAD_REQUEST'],
      [{ ...base, impact: 1, urgency: 1, criticality: 'P4' }, 'OUTPOST_E_BAD_REQUEST'],
      [{ ...base, criticality: 'P2', failureTime: T0 + H }, 'OUTPOST_E_BAD_REQUEST'],
    ];
    for (const [input, code] of cases) expect(await codeOf(h.incidents.open(SYSTEM, input))).toBe(code);
    expect(await h.incidents.list({})).toMatchObject({ total: 0 });
    expect(await h.audit.list({ type: 'incident.open', limit: 10 })).toEqual([]);
  });

  it('a transition not allowed from the current state is refused and the row is unchanged', async () => {
    const h = await harness({ start: T0 });
    const alice = await h.user('alice');
    const globex = await h.auth.createUser(SYSTEM, {
      email: 'g@globex.test',
      name: 'g',
      password: 'correct horse battery globex',
      roles: [{ role: 'admin', clientId: h.other.id }],
    });
    const inc = await h.incidents.open(alice, {
      clientId: h.client.id,
      siteId: h.site.id,
      title: 'x',
      type: 'other',
      criticality: 'P3',
      tier: 3,
    });
    const resolvedInc = await h.incidents.open(alice, {
      clientId: h.client.id,
      siteId: h.site.id,
      title: 'y',
      type: 'other',
      criticality: 'P3',
    });
    await h.incidents.resolve(alice, resolvedInc.id, 'done', 'fixed');
    const snapshot = async (id: string) => ({
      row: await h.incidents.get(id),
      timeline: (await h.incidents.timeline(id)).length,
    });
    const before = [await snapshot(inc.id), await snapshot(resolvedInc.id)];
    const auditBefore = (await h.audit.list({ limit: 100 })).length;
    h.clock.t += H; // so a wrongly written row would carry a new updatedAt

    const refused: [Promise<unknown>, string][] = [
      [h.incidents.close(alice, inc.id), 'OUTPOST_E_TRANSITION_INVALID'],
      [h.incidents.reopen(alice, inc.id, 'r'), 'OUTPOST_E_TRANSITION_INVALID'],
      [h.incidents.escalate(alice, inc.id, 'r'), 'OUTPOST_E_TRANSITION_INVALID'], // already tier 3
      [h.incidents.resume(alice, inc.id), 'OUTPOST_E_TRANSITION_INVALID'], // not paused
      [h.incidents.acknowledge(alice, resolvedInc.id), 'OUTPOST_E_TRANSITION_INVALID'],
      [h.incidents.resolve(alice, resolvedInc.id, 'again', 'fixed'), 'OUTPOST_E_TRANSITION_INVALID'],
      [h.incidents.pause(alice, resolvedInc.id, 'r'), 'OUTPOST_E_TRANSITION_INVALID'],
      [h.incidents.assign(alice, resolvedInc.id, alice.id), 'OUTPOST_E_TRANSITION_INVALID'],
      [h.incidents.resolve(alice, inc.id, 'n', 'because'), 'OUTPOST_E_BAD_REQUEST'],
      [h.incidents.assign(alice, inc.id, 'us_nobody'), 'OUTPOST_E_BAD_REQUEST'],
      [h.incidents.assign(alice, inc.id, globex.id), 'OUTPOST_E_BAD_REQUEST'], // no role on the ticket's client
      [h.incidents.acknowledge(alice, 'in_missing'), 'OUTPOST_E_NOT_FOUND'],
    ];
    for (const [p, code] of refused) expect(await codeOf(p)).toBe(code);
    expect([await snapshot(inc.id), await snapshot(resolvedInc.id)]).toEqual(before);
    expect((await h.audit.list({ limit: 100 })).length).toBe(auditBefore);
  });
});
