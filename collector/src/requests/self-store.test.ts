/**
 * The self-service store on SQLite and PostgreSQL: a sign-in link is taken once (even by several callers at once),
 * never when expired; sessions live until their expiry or sign-out; the sweep forgets only what expired; an address
 * sees the tickets of its directory entry and those it sent, newest first.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { SelfServiceStore, selfServiceMigrations } from './self-store.js';
import { type RequestRecord, RequestsStore, requestsMigrations } from './store.js';

const request = (incidentId: string, o: Partial<RequestRecord>): RequestRecord => ({
  incidentId,
  clientId: 'cl_1',
  channel: 'email',
  origin: null,
  requesterId: null,
  requesterName: 'Someone',
  requesterContact: null,
  vip: false,
  agentId: null,
  osUser: null,
  text: 'help',
  snapshot: null,
  related: [],
  triage: {},
  createdAt: 1,
  ...o,
});

describeStores('self-service store', [...requestsMigrations, ...selfServiceMigrations], (db) => {
  it('takes a link once, never after its expiry, and keeps a session until it expires or ends', async () => {
    const s = new SelfServiceStore(db());
    await s.addLink('h1', 'ann@example.com', 100, 200);
    await s.addLink('h2', 'bob@example.com', 100, 150);
    expect(await s.takeLink('h2', 150)).toBeUndefined();
    expect(await s.takeLink('h1', 199)).toBe('ann@example.com');
    expect(await s.takeLink('h1', 199)).toBeUndefined();
    expect(await s.takeLink('nope', 0)).toBeUndefined();

    await s.addSession('s1', 'ann@example.com', 100, 1_000);
    expect(await s.session('s1', 999)).toBe('ann@example.com');
    expect(await s.session('s1', 1_000)).toBeUndefined();
    await s.endSession('s1');
    expect(await s.session('s1', 500)).toBeUndefined();
  });

  it('gives a link taken by several callers at once to exactly one', async () => {
    const s = new SelfServiceStore(db());
    await s.addLink('h1', 'ann@example.com', 100, 10_000);
    const taken = await Promise.all(Array.from({ length: 6 }, () => s.takeLink('h1', 200)));
    expect(taken.filter((e) => e !== undefined)).toEqual(['ann@example.com']);
  });

  it('sweeps only what expired', async () => {
    const s = new SelfServiceStore(db());
    await s.addLink('old', 'a@example.com', 0, 100);
    await s.addLink('new', 'a@example.com', 0, 300);
    await s.addSession('old', 'a@example.com', 0, 100);
    await s.addSession('new', 'a@example.com', 0, 300);
    await s.sweep(100);
    expect(await s.takeLink('old', 50)).toBeUndefined();
    expect(await s.session('old', 50)).toBeUndefined();
    expect(await s.session('new', 50)).toBe('a@example.com');
    expect(await s.takeLink('new', 50)).toBe('a@example.com');
  });

  it('knows an address from the directory or as a sender, and lists its tickets newest first', async () => {
    const requests = new RequestsStore(db());
    const s = new SelfServiceStore(db());
    expect(await s.knows('ann@example.com')).toBe(false);
    await requests.addRequester({
      id: 'rq_ann',
      clientId: 'cl_1',
      name: 'Ann',
      email: 'ann@example.com',
      vip: false,
      handles: [],
      createdAt: 1,
    });
    await requests.addRequest(request('in_1', { requesterId: 'rq_ann', createdAt: 10 }));
    await requests.addRequest(request('in_2', { requesterContact: 'Ann@Example.com', createdAt: 30 }));
    await requests.addRequest(request('in_3', { requesterContact: 'bob@example.com', createdAt: 20 }));
    await requests.addRequest(request('in_4', { requesterId: 'rq_ann', createdAt: 20 }));
    expect(await s.knows('ann@example.com')).toBe(true);
    expect(await s.knows('bob@example.com')).toBe(true);
    expect(await s.knows('eve@example.com')).toBe(false);
    expect(await s.ticketsOf('ann@example.com', 10)).toEqual(['in_2', 'in_4', 'in_1']);
    expect(await s.ticketsOf('ann@example.com', 2)).toEqual(['in_2', 'in_4']);
    expect(await s.ticketsOf('eve@example.com', 10)).toEqual([]);
  });
});
