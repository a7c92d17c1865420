/**
 * The requests store on SQLite and PostgreSQL: requesters with their handles (sorted, gone with them), refused whole
 * when an e-mail or a handle of the client is taken (also by several writers at once), triage rules in order,
 * requests as filed (JSON and flags as stored), found by origin, the machine a requester last asked from.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { type Requester, type RequestRecord, RequestsStore, requestsMigrations, type TriageRule } from './store.js';

const person = (id: string, o: Partial<Requester> = {}): Requester => ({
  id,
  clientId: 'cl_1',
  name: id,
  email: null,
  vip: false,
  handles: [],
  createdAt: 1,
  ...o,
});

const request = (incidentId: string, o: Partial<RequestRecord> = {}): RequestRecord => ({
  incidentId,
  clientId: 'cl_1',
  channel: 'agent',
  origin: null,
  requesterId: null,
  requesterName: 'Ann',
  requesterContact: null,
  vip: false,
  agentId: null,
  osUser: null,
  text: 'my printer',
  snapshot: null,
  related: [],
  triage: {},
  createdAt: 1,
  ...o,
});

const rule = (id: string, position: number, createdAt = 1): TriageRule => ({
  id,
  clientId: 'cl_1',
  position,
  keywords: ['printer', "l'imprimante"],
  type: 'hardware',
  criticality: 'P3',
  tier: 1,
  createdAt,
});

describeStores('requests store', requestsMigrations, (db) => {
  it('stores a requester with their handles, finds them by e-mail (any case) and by handle, and removes both', async () => {
    const s = new RequestsStore(db());
    const ann = person('rq_ann', { email: 'ann@example.com', vip: true, handles: ['slack:U1', 'login:ann'] });
    expect(await s.addRequester(ann)).toBe(true);
    expect(await s.addRequester(person('rq_bob'))).toBe(true);
    const sorted = { ...ann, handles: ['login:ann', 'slack:U1'] };
    expect(await s.requester('rq_ann')).toEqual(sorted);
    expect(await s.requester('rq_bob')).toEqual(person('rq_bob'));
    expect(await s.byEmail('cl_1', 'ANN@example.com')).toEqual(sorted);
    expect(await s.byEmail('cl_2', 'ann@example.com')).toBeUndefined();
    expect(await s.byHandle('cl_1', 'slack:U1')).toEqual(sorted);
    expect(await s.byHandle('cl_1', 'SLACK:U1')).toBeUndefined();
    expect((await s.requesters(['cl_1', 'cl_9'])).map((r) => r.id)).toEqual(['rq_ann', 'rq_bob']);
    expect(await s.requesters([])).toEqual([]);
    await s.removeRequester('rq_ann');
    expect(await s.requester('rq_ann')).toBeUndefined();
    expect(await s.byHandle('cl_1', 'slack:U1')).toBeUndefined();
    expect(await s.addRequester(person('rq_new', { handles: ['slack:U1'] }))).toBe(true);
  });

  it('refuses a requester whose e-mail or handle the client already has, storing nothing of it', async () => {
    const s = new RequestsStore(db());
    await s.addRequester(person('rq_ann', { email: 'ann@example.com', handles: ['slack:U1'] }));
    expect(await s.addRequester(person('rq_2', { email: 'ann@example.com' }))).toBe(false);
    expect(await s.addRequester(person('rq_3', { handles: ['login:x', 'slack:U1'] }))).toBe(false);
    expect(await s.requester('rq_3')).toBeUndefined();
    expect(await s.byHandle('cl_1', 'login:x')).toBeUndefined();
    // Another client may have the same address and handle.
    expect(
      await s.addRequester(person('rq_4', { clientId: 'cl_2', email: 'ann@example.com', handles: ['slack:U1'] })),
    ).toBe(true);
  });

  it('stores one of several requesters added at once with the same handle', async () => {
    const s = new RequestsStore(db());
    const added = await Promise.all(
      Array.from({ length: 6 }, (_, i) => s.addRequester(person(`rq_${i}`, { handles: [`login:u${i}`, 'slack:U1'] }))),
    );
    expect(added.filter(Boolean)).toHaveLength(1);
    const all = await s.requesters(['cl_1']);
    expect(all).toHaveLength(1);
    expect(all[0]?.handles).toContain('slack:U1');
  });

  it('keeps triage rules in the order they are tried', async () => {
    const s = new RequestsStore(db());
    await s.addRule(rule('tr_b', 20));
    await s.addRule(rule('tr_c', 10, 5));
    await s.addRule(rule('tr_a', 10, 5));
    await s.addRule({ ...rule('tr_d', 30), criticality: null, tier: null });
    expect((await s.rules('cl_1')).map((r) => r.id)).toEqual(['tr_a', 'tr_c', 'tr_b', 'tr_d']);
    expect(await s.rule('tr_b')).toEqual(rule('tr_b', 20));
    expect((await s.rule('tr_d'))?.tier).toBeNull();
    await s.removeRule('tr_b');
    expect(await s.rule('tr_b')).toBeUndefined();
    expect(await s.rules('cl_2')).toEqual([]);
  });

  it('stores a request as filed, finds it by origin, and knows the machine a requester last asked from', async () => {
    const s = new RequestsStore(db());
    const full = request('in_1', {
      origin: 'agent:ag_1:r1',
      requesterId: 'rq_ann',
      vip: true,
      agentId: 'ag_1',
      osUser: 'ann',
      snapshot: { disk: 93.5, text: "it's ?\u00e9", nested: { n: 2 ** 53 - 1 } },
      related: ['in_0'],
      triage: { rule: 'tr_1', vipRaised: true },
      createdAt: 10,
    });
    await s.addRequest(full);
    await s.addRequest(request('in_2', { requesterId: 'rq_ann', agentId: 'ag_2', createdAt: 30 }));
    await s.addRequest(request('in_3', { requesterId: 'rq_ann', createdAt: 40 }));
    expect(await s.request('in_1')).toEqual(full);
    expect(await s.byOrigin('agent:ag_1:r1')).toEqual(full);
    expect(await s.byOrigin('agent:ag_1:r2')).toBeUndefined();
    expect(await s.request('in_3')).toEqual(request('in_3', { requesterId: 'rq_ann', createdAt: 40 }));
    expect(await s.lastMachineOf('rq_ann')).toBe('ag_2');
    expect(await s.lastMachineOf('rq_none')).toBeUndefined();
  });
});
