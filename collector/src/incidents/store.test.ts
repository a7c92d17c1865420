/**
 * The incidents store on SQLite and PostgreSQL: a ticket with its machines, timeline and notices written together,
 * read back as written; the SLA and clear-condition scans; the queues; one open ticket per key, whoever writes it.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { Incident, SlaClock } from './model.js';
import { IncidentsStore, incidentsMigrations } from './store.js';

const sla: SlaClock = {
  contractId: 'ct_1',
  calendarId: 'ca_1',
  responseTargetMs: 3_600_000,
  resolutionTargetMs: 14_400_000,
  nearBreachRatio: 0.8,
  consumedMs: 0,
  runningSince: 1_000,
  responseDue: 3_601_000,
  resolutionDue: 14_401_000,
  responseWarnAt: 2_881_000,
  resolutionWarnAt: 11_521_000,
  responseWarned: false,
  resolutionWarned: false,
  responseBreachedAt: null,
  resolutionBreachedAt: null,
};

const ticket = (id: string, over: Partial<Incident> = {}): Incident => ({
  id,
  clientId: 'cl_1',
  siteId: 'si_1',
  agentIds: ['ag_b', 'ag_a'],
  key: `key_${id}`,
  source: 'manual',
  channel: 'technician',
  rule: 'cpu.high',
  type: 'performance',
  title: "CPU high on it's ?",
  explanation: 'cpu.total_pct above 90 for 5 min',
  context: { value: 97.5, big: 2 ** 53 - 1 },
  criticality: 'P2',
  impact: 2,
  urgency: 1,
  tier: 1,
  status: 'open',
  failureTime: 900,
  detectedAt: 1_000,
  acknowledgedAt: null,
  resolvedAt: null,
  closedAt: null,
  resolutionMs: null,
  assignee: null,
  escalationLevel: 0,
  paused: false,
  clearSince: null,
  reopenCount: 0,
  resolutionNote: null,
  resolutionCategory: null,
  createdBy: 'us_1',
  updatedAt: 1_000,
  sla: null,
  nextSlaAt: null,
  ...over,
});

const opened = { at: 1_000, kind: 'opened' as const, actor: 'us_1', data: { via: 'api' } };

describeStores('incidents store', incidentsMigrations, (db) => {
  it('makes two writers re-reading one ticket to change it take turns (two nodes on PostgreSQL): no change lost', async () => {
    const store = new IncidentsStore(db());
    await store.commit(ticket('in_turns'), [opened]);
    const change = (fn: (inc: Incident) => void) =>
      db().transaction(async () => {
        const inc = (await store.getForUpdate('in_turns'))!;
        // A slow writer: the other one reads in the meantime (on PostgreSQL another pool connection, as another node).
        await new Promise((r) => setTimeout(r, 100));
        fn(inc);
        await store.commit(inc, []);
      });
    await Promise.all([
      change((inc) => {
        inc.assignee = 'us_tech';
        inc.status = 'acknowledged';
      }),
      change((inc) => {
        inc.escalationLevel += 1;
        inc.tier = 2;
      }),
    ]);
    const after = await store.get('in_turns');
    expect([after?.assignee, after?.status, after?.escalationLevel, after?.tier]).toEqual([
      'us_tech',
      'acknowledged',
      1,
      2,
    ]);
  });

  it('writes a ticket with its machines, timeline and notices, and reads every field back as written', async () => {
    const store = new IncidentsStore(db());
    const inc = ticket('in_1', { sla, nextSlaAt: 2_881_000, paused: true, assignee: 'us_2' });
    await store.commit(
      inc,
      [opened, { ...opened, kind: 'assigned', data: { to: 'us_2' } }],
      [{ id: 'nt_1', event: 'opened', at: 1_000, detail: { first: true } }],
    );
    expect(await store.get('in_1')).toEqual({ ...inc, agentIds: ['ag_a', 'ag_b'] });
    expect(await store.get('in_none')).toBeUndefined();
    const timeline = await store.timeline('in_1');
    expect(timeline.map((e) => [e.kind, e.incidentId, e.data])).toEqual([
      ['opened', 'in_1', { via: 'api' }],
      ['assigned', 'in_1', { to: 'us_2' }],
    ]);
    expect(timeline[1]!.id).toBeGreaterThan(timeline[0]!.id);
    const [notice] = await store.pendingNotices(0, 10);
    expect(notice).toMatchObject({ id: 'nt_1', event: 'opened', attempts: 0, nextAttemptAt: 1_000 });
    expect(notice!.incident).toEqual(inc);
  });

  it('updates a ticket in place, adding machines once and keeping what creation set', async () => {
    const store = new IncidentsStore(db());
    await store.commit(ticket('in_1', { agentIds: [] }), [opened]);
    expect((await store.get('in_1'))!.agentIds).toEqual([]);
    const acked = ticket('in_1', {
      agentIds: ['ag_a', 'ag_c'],
      status: 'acknowledged',
      acknowledgedAt: 2_000,
      updatedAt: 2_000,
      createdBy: 'someone else',
      escalationLevel: 2,
    });
    await store.commit(acked, [{ ...opened, at: 2_000, kind: 'acknowledged' }]);
    await store.commit(acked, []);
    const back = await store.get('in_1');
    expect(back).toMatchObject({
      status: 'acknowledged',
      acknowledgedAt: 2_000,
      escalationLevel: 2,
      createdBy: 'us_1',
    });
    expect(back!.agentIds).toEqual(['ag_a', 'ag_c']);
    expect((await store.timeline('in_1')).map((e) => e.kind)).toEqual(['opened', 'acknowledged']);
    expect(await store.activeForAgent('ag_c')).toEqual(['in_1']);
  });

  it('writes nothing of a change whose transaction fails (ticket, timeline, notices together)', async () => {
    const store = new IncidentsStore(db());
    await expect(
      db().transaction(async () => {
        await store.commit(ticket('in_1'), [opened], [{ id: 'nt_1', event: 'opened', at: 1_000, detail: {} }]);
        throw new Error('later step failed');
      }),
    ).rejects.toThrow('later step failed');
    expect(await store.get('in_1')).toBeUndefined();
    expect(await store.timeline('in_1')).toEqual([]);
    expect(await store.pendingNotices(0, 10)).toEqual([]);
  });

  it('keeps one open ticket per key: a second open one is refused, a resolved one frees the key', async () => {
    const store = new IncidentsStore(db());
    await store.commit(ticket('in_1', { key: 'k' }), [opened]);
    await expect(store.commit(ticket('in_2', { key: 'k' }), [opened])).rejects.toThrow();
    expect(await store.get('in_2')).toBeUndefined();
    expect((await store.openByKey('k'))!.id).toBe('in_1');
    await store.commit(ticket('in_1', { key: 'k', status: 'resolved', resolvedAt: 5_000 }), []);
    expect(await store.openByKey('k')).toBeUndefined();
    await store.commit(ticket('in_2', { key: 'k', detectedAt: 6_000 }), [opened]);
    expect((await store.openByKey('k'))!.id).toBe('in_2');
    expect((await store.resolvedByKey('k', 5_000))!.id).toBe('in_1');
    expect(await store.resolvedByKey('k', 5_001)).toBeUndefined();
  });

  it('lets exactly one of two writers racing to open a ticket for one key win', async () => {
    const store = new IncidentsStore(db());
    const outcomes = await Promise.allSettled(
      ['in_1', 'in_2', 'in_3'].map((id) => store.commit(ticket(id, { key: 'race' }), [opened])),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const { incidents, total } = await store.list({});
    expect(total).toBe(1);
    expect((await store.timeline(incidents[0]!.id)).map((e) => e.kind)).toEqual(['opened']);
  });

  it('finds tickets due for an SLA look, clear long enough, or resolved long enough, oldest first', async () => {
    const store = new IncidentsStore(db());
    await store.commit(ticket('in_1', { nextSlaAt: 3_000, sla }), []);
    await store.commit(ticket('in_2', { nextSlaAt: 2_000, sla, clearSince: 1_500 }), []);
    await store.commit(ticket('in_3', { nextSlaAt: 9_000, clearSince: 1_200 }), []);
    await store.commit(ticket('in_4', { status: 'resolved', resolvedAt: 4_000, clearSince: 1_000 }), []);
    await store.commit(ticket('in_5', { status: 'resolved', resolvedAt: 3_000 }), []);
    expect((await store.slaDue(3_000)).map((i) => i.id)).toEqual(['in_2', 'in_1']);
    expect((await store.slaDue(3_000, 1)).map((i) => i.id)).toEqual(['in_2']);
    expect((await store.clearedBefore(1_500)).map((i) => i.id)).toEqual(['in_3', 'in_2']);
    expect((await store.resolvedBefore(4_000)).map((i) => i.id)).toEqual(['in_5', 'in_4']);
    expect((await store.resolvedBefore(3_999)).map((i) => i.id)).toEqual(['in_5']);
  });

  it('lists with every filter, counts the total beside the page, and reads a client period', async () => {
    const store = new IncidentsStore(db());
    const breached = { ...sla, responseBreachedAt: 3_000 };
    await store.commit(ticket('in_1', { detectedAt: 1_000, agentIds: ['ag_x'] }), []);
    await store.commit(ticket('in_2', { detectedAt: 2_000, clientId: 'cl_2', assignee: 'us_9', tier: 2 }), []);
    await store.commit(ticket('in_3', { detectedAt: 3_000, sla: breached, channel: 'email', criticality: 'P1' }), []);
    await store.commit(ticket('in_4', { detectedAt: 4_000, status: 'closed', siteId: 'si_2' }), []);
    const ids = async (q: Parameters<IncidentsStore['list']>[0]) => (await store.list(q)).incidents.map((i) => i.id);
    expect(await ids({})).toEqual(['in_4', 'in_3', 'in_2', 'in_1']);
    expect(await store.list({ limit: 1, offset: 1 })).toMatchObject({ total: 4, incidents: [{ id: 'in_3' }] });
    expect(await ids({ clientIds: [] })).toEqual([]);
    expect(await ids({ clientIds: ['cl_2', 'cl_3'] })).toEqual(['in_2']);
    expect(await ids({ status: ['open', 'closed'], siteId: 'si_2' })).toEqual(['in_4']);
    expect(await ids({ tier: 2 })).toEqual(['in_2']);
    expect(await ids({ criticality: 'P1', channel: 'email' })).toEqual(['in_3']);
    expect(await ids({ agentId: 'ag_x' })).toEqual(['in_1']);
    expect(await ids({ assignee: 'us_9' })).toEqual(['in_2']);
    expect(await ids({ unassigned: true, clientId: 'cl_1' })).toEqual(['in_4', 'in_3', 'in_1']);
    expect(await ids({ breached: true })).toEqual(['in_3']);
    expect(await ids({ breached: false, from: 2_000, to: 4_000 })).toEqual(['in_2']);
    expect((await store.inPeriod('cl_1', 1_000, 4_000)).map((i) => i.id)).toEqual(['in_1', 'in_3']);
  });

  it('counts the queues per tier and criticality, with the unassigned among them, as numbers', async () => {
    const store = new IncidentsStore(db());
    await store.commit(ticket('in_1'), []);
    await store.commit(ticket('in_2', { assignee: 'us_2' }), []);
    await store.commit(ticket('in_3', { tier: 3, criticality: 'P4', clientId: 'cl_2' }), []);
    await store.commit(ticket('in_4', { status: 'resolved', resolvedAt: 5 }), []);
    expect(await store.queues()).toEqual([
      { tier: 1, criticality: 'P2', open: 2, unassigned: 1 },
      { tier: 3, criticality: 'P4', open: 1, unassigned: 1 },
    ]);
    expect(await store.queues(['cl_2'])).toEqual([{ tier: 3, criticality: 'P4', open: 1, unassigned: 1 }]);
    expect(await store.queues([])).toEqual([]);
  });

  it('appends a timeline entry only to a ticket that exists', async () => {
    const store = new IncidentsStore(db());
    await store.commit(ticket('in_1'), [opened]);
    expect(await store.appendEvent('in_1', { at: 2_000, kind: 'notification', actor: 'system', data: { n: 1 } })).toBe(
      true,
    );
    expect(await store.appendEvent('in_none', { at: 2_000, kind: 'notification', actor: 'system', data: {} })).toBe(
      false,
    );
    expect((await store.timeline('in_1')).map((e) => [e.kind, e.at, e.data])).toEqual([
      ['opened', 1_000, { via: 'api' }],
      ['notification', 2_000, { n: 1 }],
    ]);
  });

  it('hands notices off in order, after a sequence, recording failures and retries', async () => {
    const store = new IncidentsStore(db());
    await store.commit(
      ticket('in_1'),
      [],
      [
        { id: 'nt_1', event: 'opened', at: 1_000, detail: {} },
        { id: 'nt_2', event: 'assigned', at: 1_001, detail: { to: 'us_2' } },
      ],
    );
    const [a, b] = await store.pendingNotices(0, 10);
    expect([a!.id, b!.id]).toEqual(['nt_1', 'nt_2']);
    expect(b!.seq).toBeGreaterThan(a!.seq);
    await store.markNoticeFailed(a!.seq, 'x'.repeat(5_000), 9_000);
    await store.markHandedOff(b!.seq, 2_000);
    const pending = await store.pendingNotices(0, 10);
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ id: 'nt_1', attempts: 1, nextAttemptAt: 9_000 });
    expect(await store.pendingNotices(a!.seq, 10)).toEqual([]);
    await expect(
      store.commit(ticket('in_1'), [], [{ id: 'nt_1', event: 'opened', at: 1_000, detail: {} }]),
    ).rejects.toThrow();
  });
});
