/**
 * The agents store on SQLite and PostgreSQL: enrollment spends a token's uses exactly (also when enrollments race on
 * separate connections), the fleet query filters, searches and sorts in any case, a hostname is counted in any case,
 * last-seen times never move back, and tag changes keep the per-agent limit under concurrent writers.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { SqlDb } from '../db/index.js';
import { type AgentRecord, AgentsStore, agentsMigrations, type EnrollmentTokenRecord } from './store.js';

const token = (over: Partial<EnrollmentTokenRecord> = {}): EnrollmentTokenRecord => ({
  id: 'et_1',
  clientId: 'cl_a',
  siteId: 'si_1',
  hash: 'h',
  note: '',
  createdBy: 'us_1',
  createdAt: 10,
  expiresAt: 1_000,
  maxUses: 100,
  uses: 0,
  revokedAt: null,
  ...over,
});

const agentOf =
  (n: number, over: Partial<AgentRecord['facts']> = {}) =>
  (t: EnrollmentTokenRecord): AgentRecord => ({
    id: `ag_${n}`,
    clientId: t.clientId,
    siteId: t.siteId,
    publicKey: `pk${n}`,
    facts: {
      hostname: `host-${n}`,
      os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1', arch: 'x64' },
      cpu: { model: 'cpu', cores: 4 },
      memoryBytes: 8e9,
      ...over,
    },
    agentVersion: '1.0.0',
    protocolVersion: 1,
    enrolledAt: 100 + n,
    enrollmentTokenId: t.id,
    lastSeenAt: 1_000 - n,
    lastIp: `10.0.0.${n}`,
    revokedAt: null,
    tags: [],
  });

async function enrolled(store: AgentsStore, n: number, over: Partial<AgentRecord['facts']> = {}): Promise<string> {
  const r = await store.enroll('et_1', 50, () => true, agentOf(n, over));
  expect(r.ok).toBe(true);
  return `ag_${n}`;
}

const page = { limit: 50, offset: 0 };

describeStores('agents store', agentsMigrations, (db: () => SqlDb) => {
  it('enrolls through a token, spending one use each, and says why a token cannot be used', async () => {
    const store = new AgentsStore(db());
    await store.insertToken(token({ maxUses: 2 }));
    await store.insertToken(token({ id: 'et_old', expiresAt: 50 }));
    await store.insertToken(token({ id: 'et_rev' }));
    expect(await store.revokeToken('et_rev', 20)).toBe(true);
    expect(await store.revokeToken('et_rev', 30)).toBe(false);

    const first = await store.enroll('et_1', 50, () => true, agentOf(1));
    expect(first).toMatchObject({ ok: true, token: { id: 'et_1', uses: 1 }, agent: { id: 'ag_1' } });
    expect((await store.enroll('et_1', 50, () => true, agentOf(2))).ok).toBe(true);
    expect(await store.enroll('et_1', 50, () => true, agentOf(3))).toMatchObject({ ok: false, reason: 'exhausted' });
    expect(await store.enroll('et_1', 50, () => false, agentOf(3))).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.enroll('et_none', 50, () => true, agentOf(3))).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.enroll('et_old', 50, () => true, agentOf(3))).toMatchObject({ ok: false, reason: 'expired' });
    expect(await store.enroll('et_rev', 50, () => true, agentOf(3))).toMatchObject({ ok: false, reason: 'revoked' });
    expect(await store.agent('ag_3')).toBeUndefined();
    expect((await store.token('et_1'))?.uses).toBe(2);

    const a = await store.agent('ag_1');
    expect(a).toEqual(agentOf(1)(token()));
    expect(await store.agentByPublicKey('pk2')).toMatchObject({ id: 'ag_2', facts: { memoryBytes: 8e9 } });
    expect((await store.listTokens(['cl_a'], 'si_1')).map((t) => t.id).sort()).toEqual(['et_1', 'et_old', 'et_rev']);
    expect(await store.listTokens(['cl_b'], undefined)).toEqual([]);
    expect(await store.listTokens([], undefined)).toEqual([]);
  });

  it('never spends more uses than a token has when enrollments race on separate connections', async () => {
    const store = new AgentsStore(db());
    await store.insertToken(token({ maxUses: 3 }));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.enroll('et_1', 50, () => true, agentOf(i))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(Array(5).fill('exhausted'));
    expect((await store.token('et_1'))?.uses).toBe(3);
    expect(await store.countAgents({ ...page })).toBe(3);
  });

  it('filters, searches and sorts the fleet in any case, with totals and stable pages', async () => {
    const store = new AgentsStore(db());
    await store.insertToken(token());
    await enrolled(store, 1, { hostname: 'Reception-PC' });
    await enrolled(store, 2, { hostname: 'alpha' });
    await enrolled(store, 3, {
      hostname: 'Bravo',
      os: { platform: 'win32', distro: 'Windows 11 Pro', release: '23H2', kernel: '10', arch: 'x64' },
    });
    await enrolled(store, 4, { hostname: 'charlie_100%' });
    expect(await store.revoke('ag_4', 60, 'us_1')).toBe(true);
    expect(await store.revoke('ag_4', 61, 'us_1')).toBe(false);

    const names = async (q: Parameters<AgentsStore['listAgents']>[0]) =>
      (await store.listAgents(q)).map((a) => a.facts.hostname);
    // Sorted by hostname whatever its case; revoked agents left out unless asked for.
    expect(await names({ ...page })).toEqual(['alpha', 'Bravo', 'Reception-PC']);
    expect(await names({ ...page, order: 'desc' })).toEqual(['Reception-PC', 'Bravo', 'alpha']);
    expect(await names({ ...page, includeRevoked: true })).toEqual(['alpha', 'Bravo', 'charlie_100%', 'Reception-PC']);
    expect(await names({ ...page, status: 'revoked' })).toEqual(['charlie_100%']);
    // Free text in any case; LIKE wildcards a user types are literal.
    expect(await names({ ...page, search: 'RECEP' })).toEqual(['Reception-PC']);
    expect(await names({ ...page, search: 'windows' })).toEqual(['Bravo']);
    expect(await names({ ...page, search: '10.0.0.2' })).toEqual(['alpha']);
    expect(await names({ ...page, search: '_100%', includeRevoked: true })).toEqual(['charlie_100%']);
    expect(await store.countAgents({ ...page, search: '%' })).toBe(0);
    // OS by platform or distribution, any case.
    expect(await names({ ...page, os: 'WIN32' })).toEqual(['Bravo']);
    expect(await names({ ...page, os: 'debian gnu/linux' })).toEqual(['alpha', 'Reception-PC']);
    // Client and site.
    expect(await store.countAgents({ ...page, clientIds: ['cl_a', 'cl_x'], siteId: 'si_1' })).toBe(3);
    expect(await store.countAgents({ ...page, clientIds: [] })).toBe(0);
    expect(await store.countAgents({ ...page, siteId: 'si_2' })).toBe(0);
    // Presence: online and offline against the live set; the status sort puts online first.
    const online = { ...page, onlineIds: ['ag_3', 'ag_1'] };
    expect(await names({ ...online, status: 'online' })).toEqual(['Bravo', 'Reception-PC']);
    expect(await store.countAgents({ ...online, status: 'offline' })).toBe(1);
    expect(await names({ ...online, sort: 'status' })).toEqual(['Reception-PC', 'Bravo', 'alpha']);
    expect(await names({ ...online, sort: 'status', order: 'desc' })).toEqual(['alpha', 'Bravo', 'Reception-PC']);
    // Other sorts, ties broken by id, pages that do not overlap.
    expect(await names({ ...page, sort: 'lastSeenAt' })).toEqual(['Bravo', 'alpha', 'Reception-PC']);
    expect(await names({ ...page, sort: 'os', order: 'desc' })).toEqual(['Bravo', 'alpha', 'Reception-PC']);
    const p1 = await store.listAgents({ limit: 2, offset: 0, sort: 'agentVersion' });
    const p2 = await store.listAgents({ limit: 2, offset: 2, sort: 'agentVersion' });
    expect([...p1, ...p2].map((a) => a.id)).toEqual(['ag_1', 'ag_2', 'ag_3']);
  });

  it('counts a hostname in its client in any case, revoked agents aside', async () => {
    const store = new AgentsStore(db());
    await store.insertToken(token());
    await store.insertToken(token({ id: 'et_b', clientId: 'cl_b' }));
    await enrolled(store, 1, { hostname: 'Reception-PC' });
    await enrolled(store, 2, { hostname: 'RECEPTION-pc' });
    await enrolled(store, 3, { hostname: 'reception-pc' });
    expect((await store.enroll('et_b', 50, () => true, agentOf(4, { hostname: 'Reception-PC' }))).ok).toBe(true);
    await store.revoke('ag_3', 60, 'us_1');
    expect(await store.countHostname('cl_a', 'reception-PC')).toBe(2);
    expect(await store.countHostname('cl_b', 'RECEPTION-PC')).toBe(1);
    expect(await store.countHostname('cl_c', 'reception-pc')).toBe(0);
  });

  it('refreshes facts and never moves a last-seen time back', async () => {
    const store = new AgentsStore(db());
    await store.insertToken(token());
    await enrolled(store, 1);
    await enrolled(store, 2);
    const facts = agentOf(1, { hostname: 'renamed', memoryBytes: 2 ** 40 })(token()).facts;
    await store.updateFacts('ag_1', facts, '1.1.0', 2, 5_000, '192.0.2.1');
    expect(await store.agent('ag_1')).toMatchObject({
      facts,
      agentVersion: '1.1.0',
      protocolVersion: 2,
      lastSeenAt: 5_000,
      lastIp: '192.0.2.1',
    });
    await store.touchMany(
      new Map([
        ['ag_1', 4_000],
        ['ag_2', 7_000],
        ['ag_none', 9_000],
      ]),
    );
    await store.touchMany(new Map());
    expect((await store.agent('ag_1'))?.lastSeenAt).toBe(5_000);
    expect((await store.agent('ag_2'))?.lastSeenAt).toBe(7_000);
    expect(await store.agent('ag_none')).toBeUndefined();
  });

  it('adds and removes tags, reports only real changes, and refuses past the limit', async () => {
    const store = new AgentsStore(db());
    await store.insertToken(token());
    const id = await enrolled(store, 1);
    await enrolled(store, 2);
    expect(await store.changeTags(id, { add: ['web', 'ring-1', 'web'], remove: [] }, 3, 70, 'us_1')).toEqual({
      ok: true,
      tags: ['ring-1', 'web'],
      added: ['ring-1', 'web'],
      removed: [],
    });
    expect(await store.changeTags(id, { add: ['web'], remove: ['ring-1', 'none'] }, 3, 71, 'us_1')).toEqual({
      ok: true,
      tags: ['web'],
      added: [],
      removed: ['ring-1'],
    });
    expect(await store.changeTags(id, { add: ['a', 'b', 'c'], remove: [] }, 3, 72, 'us_1')).toEqual({
      ok: false,
      tags: ['web'],
      added: [],
      removed: [],
    });
    expect((await store.agent(id))?.tags).toEqual(['web']);
    expect((await store.agent('ag_2'))?.tags).toEqual([]);
    expect((await store.listAgents({ ...page, tag: 'web' })).map((a) => a.id)).toEqual([id]);
  });

  it('keeps the tag limit when changes to one agent race on separate connections', async () => {
    const store = new AgentsStore(db());
    await store.insertToken(token());
    const id = await enrolled(store, 1);
    const results = await Promise.all(
      ['t1', 't2', 't3', 't4', 't5'].map((t) => store.changeTags(id, { add: [t], remove: [] }, 3, 80, 'us_1')),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect((await store.agent(id))?.tags).toHaveLength(3);
  });
});
