/**
 * The notifications store on SQLite and PostgreSQL: channels and their health, routes, and the outbox — queued once
 * per (notice, channel), claimed by one worker at a time, delivered or retried, listed and counted.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { Message } from './channels.js';
import { type ChannelRecord, NotificationsStore, notificationsMigrations, type OutboxRecord } from './store.js';

const channel = (id: string, name: string, over: Partial<ChannelRecord> = {}): ChannelRecord => ({
  id,
  clientId: null,
  name,
  kind: 'webhook',
  config: { url: 'https://hooks.example/x?a=1' },
  secret: 'k3y',
  createdAt: 100,
  consecutiveFailures: 0,
  lastError: null,
  lastFailureAt: null,
  lastSuccessAt: null,
  incidentRaised: false,
  ...over,
});

const message = (id: string): Message => ({
  id,
  event: 'opened',
  at: 1_000,
  incident: {
    id: 'in_1',
    clientId: 'cl_1',
    siteId: 'si_1',
    agentIds: ['ag_1'],
    title: "Disk full on it's ?",
    type: 'disk',
    criticality: 'P2',
    tier: 1,
    status: 'open',
    escalationLevel: 0,
    assignee: null,
  },
  detail: { n: 1 },
  onCall: null,
});

const item = (id: string, channelId: string, over: Partial<OutboxRecord> = {}): OutboxRecord => ({
  id,
  channelId,
  noticeId: null,
  incidentId: 'in_1',
  clientId: 'cl_1',
  event: 'opened',
  message: message(id),
  createdAt: 1_000,
  attempts: 0,
  nextAttemptAt: 1_000,
  lastError: null,
  deliveredAt: null,
  ...over,
});

describeStores('notifications store', notificationsMigrations, (db) => {
  it('keeps channels as written, tracks their failures, and raises their own incident once', async () => {
    const store = new NotificationsStore(db());
    const hook = channel('ch_1', 'b-hook', { clientId: 'cl_1' });
    await store.insertChannel(hook);
    await store.insertChannel(channel('ch_2', 'a-mail', { kind: 'email', secret: null }));
    expect(await store.channel('ch_1')).toEqual(hook);
    expect((await store.listChannels()).map((c) => c.id)).toEqual(['ch_2', 'ch_1']);
    expect(await store.channelOutcome('ch_1', 2_000, 'timeout')).toEqual({
      consecutiveFailures: 1,
      failingSince: 2_000,
    });
    expect(await store.channelOutcome('ch_1', 3_000, 'e'.repeat(5_000))).toEqual({
      consecutiveFailures: 2,
      failingSince: 2_000,
    });
    expect(await store.channel('ch_1')).toMatchObject({ consecutiveFailures: 2, lastFailureAt: 3_000 });
    expect((await store.channel('ch_1'))!.lastError).toHaveLength(1_000);
    expect(await store.channelOutcome('ch_none', 3_000, 'x')).toEqual({ consecutiveFailures: 0, failingSince: null });
    expect(await store.setIncidentRaised('ch_1', true)).toBe(true);
    expect(await store.setIncidentRaised('ch_1', true)).toBe(false);
    expect((await store.channel('ch_1'))!.incidentRaised).toBe(true);
    expect(await store.channelOutcome('ch_1', 4_000, null)).toEqual({ consecutiveFailures: 0, failingSince: null });
    expect(await store.channel('ch_1')).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: 4_000 });
    expect(await store.channelOutcome('ch_1', 5_000, 'again')).toEqual({ consecutiveFailures: 1, failingSince: 5_000 });
    expect(await store.setIncidentRaised('ch_1', false)).toBe(true);
  });

  it('keeps routes as written, oldest first, and deletes them by id', async () => {
    const store = new NotificationsStore(db());
    await store.insertChannel(channel('ch_1', 'hook'));
    const route = {
      id: 'rt_1',
      channelId: 'ch_1',
      clientId: 'cl_1',
      minCriticality: 'P3' as const,
      tiers: [1, 2],
      events: ['opened', 'sla_breach'],
      onCall: true,
      outsideCoverageOnly: false,
      createdAt: 200,
    };
    await store.insertRoute({ ...route, id: 'rt_2', createdAt: 300, onCall: false, outsideCoverageOnly: true });
    await store.insertRoute(route);
    expect(await store.route('rt_1')).toEqual(route);
    expect((await store.listRoutes()).map((r) => [r.id, r.onCall, r.outsideCoverageOnly])).toEqual([
      ['rt_1', true, false],
      ['rt_2', false, true],
    ]);
    expect(await store.deleteRoute('rt_1')).toBe(true);
    expect(await store.deleteRoute('rt_1')).toBe(false);
    expect(await store.route('rt_1')).toBeUndefined();
  });

  it('queues a notice once per channel, even when handed twice or by two writers at once', async () => {
    const store = new NotificationsStore(db());
    await store.insertChannel(channel('ch_1', 'one'));
    await store.insertChannel(channel('ch_2', 'two'));
    const of = (n: number) => [
      item(`ob_${n}_1`, 'ch_1', { noticeId: 'nt_1' }),
      item(`ob_${n}_2`, 'ch_2', { noticeId: 'nt_1' }),
    ];
    expect(await store.enqueue(of(0))).toBe(2);
    expect(await store.enqueue(of(1))).toBe(0);
    const added = await Promise.all([2, 3, 4].map((n) => store.enqueue([...of(n), item(`ob_${n}_t`, 'ch_1')])));
    expect(added).toEqual([1, 1, 1]);
    expect(await store.pendingCounts()).toEqual(
      new Map([
        ['ch_1', 4],
        ['ch_2', 1],
      ]),
    );
    expect(await store.enqueue([])).toBe(0);
  });

  it('queues a batch all or none', async () => {
    const store = new NotificationsStore(db());
    await store.insertChannel(channel('ch_1', 'one'));
    // The second row names no channel: the foreign key refuses it, and the first row goes with it.
    await expect(store.enqueue([item('ob_1', 'ch_1'), item('ob_2', 'ch_none')])).rejects.toThrow();
    expect(await store.outboxItem('ob_1')).toBeUndefined();
  });

  it('lets one worker claim a message until its claim lapses, and only the claimant settle it', async () => {
    const store = new NotificationsStore(db());
    await store.insertChannel(channel('ch_1', 'one'));
    await store.enqueue([item('ob_1', 'ch_1'), item('ob_2', 'ch_1', { createdAt: 1_001 })]);
    expect((await store.due(1_000, 10)).map((m) => m.id)).toEqual(['ob_1', 'ob_2']);
    const claims = await Promise.all(['w1', 'w2', 'w3'].map((w) => store.claim('ob_1', w, 1_000, 5_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const owner = ['w1', 'w2', 'w3'][claims.indexOf(true)]!;
    expect((await store.due(4_999, 10)).map((m) => m.id)).toEqual(['ob_2']);
    expect(await store.markDelivered('ob_1', 'not-the-owner', 2_000)).toBe(false);
    // The claim lapses: another worker takes it, and the first one's late answer is refused.
    expect(await store.claim('ob_1', 'w9', 5_000, 9_000)).toBe(true);
    expect(await store.markFailed('ob_1', owner, 'late', 6_000)).toBe(false);
    expect(await store.markFailed('ob_1', 'w9', 'refused', 7_000)).toBe(true);
    expect(await store.outboxItem('ob_1')).toMatchObject({ attempts: 1, lastError: 'refused', nextAttemptAt: 7_000 });
    expect((await store.due(6_999, 10)).map((m) => m.id)).toEqual(['ob_2']);
    expect(await store.claim('ob_1', 'w1', 7_000, 9_000)).toBe(true);
    expect(await store.markDelivered('ob_1', 'w1', 7_500)).toBe(true);
    expect(await store.claim('ob_1', 'w2', 99_000, 100_000)).toBe(false);
    const done = await store.outboxItem('ob_1');
    expect(done).toMatchObject({ attempts: 2, lastError: null, deliveredAt: 7_500 });
    expect(done!.message).toEqual(message('ob_1'));
  });

  it('lists the outbox newest first by channels and state, and removes a channel with its undelivered messages', async () => {
    const store = new NotificationsStore(db());
    await store.insertChannel(channel('ch_1', 'one'));
    await store.insertChannel(channel('ch_2', 'two'));
    await store.enqueue([
      item('ob_1', 'ch_1', { createdAt: 1 }),
      item('ob_2', 'ch_2', { createdAt: 2 }),
      item('ob_3', 'ch_1', { createdAt: 3 }),
      item('ob_4', 'ch_2', { createdAt: 4 }),
    ]);
    await store.claim('ob_1', 'w', 1, 10);
    await store.markDelivered('ob_1', 'w', 5);
    const ids = async (q: Parameters<NotificationsStore['listOutbox']>[0]) =>
      (await store.listOutbox(q)).map((m) => m.id);
    expect(await ids({ limit: 10 })).toEqual(['ob_4', 'ob_3', 'ob_2', 'ob_1']);
    expect(await ids({ limit: 2 })).toEqual(['ob_4', 'ob_3']);
    expect(await ids({ channelIds: ['ch_1'], limit: 10 })).toEqual(['ob_3', 'ob_1']);
    expect(await ids({ channelIds: [], limit: 10 })).toEqual([]);
    expect(await ids({ pending: true, limit: 10 })).toEqual(['ob_4', 'ob_3', 'ob_2']);
    expect(await ids({ pending: false, channelIds: ['ch_1', 'ch_2'], limit: 10 })).toEqual(['ob_1']);
    expect(
      await store.insertRoute({
        id: 'rt_1',
        channelId: 'ch_1',
        clientId: null,
        minCriticality: 'P4',
        tiers: [1],
        events: [],
        onCall: false,
        outsideCoverageOnly: false,
        createdAt: 1,
      }),
    ).toBeUndefined();
    expect(await store.removeChannel('ch_1', 50)).toBe(1);
    expect(await store.channel('ch_1')).toBeUndefined();
    expect(await store.listRoutes()).toEqual([]);
    expect(await ids({ limit: 10 })).toEqual(['ob_4', 'ob_2', 'ob_1']);
    expect(await store.pendingCounts()).toEqual(new Map([['ch_2', 2]]));
  });
});
