/**
 * Agent tags through the real collector (buildApp on a temp dir, real SQLite, `inject`): set and removed by tier 2+
 * within their clients (audited), shown on the agent's view, filterable, capped per agent; a job by tag reaches
 * exactly the tagged machines (narrowed by site/client), and an unknown tag targets nobody and says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { MAX_TAGS_PER_AGENT } from './tags.js';

let app: Collector;
let dir: string;
let admin: string;
/** Agents of client A (site 1: a0..a2, site 2: a3) and client B (b0). */
const ids: Record<string, string> = {};
let siteA1: string;
let tier2A: string;
let tier1A: string;

const call = async (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
  const res = await app.api.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
  return {
    status: res.statusCode,
    body: res.json() as Record<string, unknown> & { error: { code: string; message: string } },
  };
};

async function login(email: string, password: string): Promise<string> {
  const res = await app.api.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  return (res.json() as { token: string }).token;
}

async function user(email: string, role: string, clientId: string): Promise<string> {
  const r = await call(admin, 'POST', '/api/v1/users', {
    email,
    name: email,
    password: 'correct horse battery staple',
    roles: [{ role, clientId }],
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return login(email, 'correct horse battery staple');
}

/** Enrolls an agent straight through the agents store (the handshake is tested elsewhere). */
async function enroll(name: string, siteId: string): Promise<void> {
  const { info } = await app.agents.createEnrollmentToken(
    { kind: 'system', id: 'system' },
    { siteId, expiresInHours: 1, maxUses: 1, note: '' },
  );
  const r = await app.agents.store.enroll(
    info.id,
    Date.now(),
    () => true,
    (t) => ({
      id: `ag_${name.padEnd(24, '0')}`,
      clientId: t.clientId,
      siteId: t.siteId,
      publicKey: `pk-${name}`,
      facts: {
        hostname: name,
        os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1', arch: 'x64' },
        cpu: { model: 'cpu', cores: 2 },
        memoryBytes: 2e9,
      },
      agentVersion: '1.0.0',
      protocolVersion: 1,
      enrolledAt: Date.now(),
      enrollmentTokenId: t.id,
      lastSeenAt: null,
      lastIp: null,
      revokedAt: null,
      tags: [],
    }),
  );
  ids[name] = r.agent!.id;
}

const tag = (token: string, name: string, change: { add?: string[]; remove?: string[] }) =>
  call(token, 'POST', `/api/v1/agents/${ids[name]}/tags`, change);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-tags-'));
  const settings = checkSettings({ dataDir: join(dir, 'data'), tls: { enabled: false }, log: { level: 'silent' } });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
  admin = await login(app.initialAdmin!.email, app.initialAdmin!.password);
  const clientA = (await call(admin, 'POST', '/api/v1/clients', { name: 'A' })).body.id as string;
  const clientB = (await call(admin, 'POST', '/api/v1/clients', { name: 'B' })).body.id as string;
  siteA1 = (await call(admin, 'POST', `/api/v1/clients/${clientA}/sites`, { name: 's1' })).body.id as string;
  const siteA2 = (await call(admin, 'POST', `/api/v1/clients/${clientA}/sites`, { name: 's2' })).body.id as string;
  const siteB = (await call(admin, 'POST', `/api/v1/clients/${clientB}/sites`, { name: 'sb' })).body.id as string;
  for (const n of ['a0', 'a1', 'a2']) await enroll(n, siteA1);
  await enroll('a3', siteA2);
  await enroll('b0', siteB);
  tier2A = await user('t2@example.test', 'tier2', clientA);
  tier1A = await user('t1@example.test', 'tier1', clientA);
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('agent tags', () => {
  it('tier 2 adds and removes tags on its client’s agents; the view shows them sorted; audited once per change', async () => {
    const r = await tag(tier2A, 'a0', { add: ['ring-test', 'kiosk'] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.tags).toEqual(['kiosk', 'ring-test']);
    // Re-adding is not a change (nothing new audited); removing one keeps the other.
    await tag(tier2A, 'a0', { add: ['kiosk'] });
    expect((await tag(tier2A, 'a0', { remove: ['kiosk'] })).body.tags).toEqual(['ring-test']);
    expect((await call(tier1A, 'GET', `/api/v1/agents/${ids.a0}`)).body.tags).toEqual(['ring-test']);
    const audit = (await call(admin, 'GET', `/api/v1/audit?agentId=${ids.a0}&type=agent.tag`)).body.events as {
      details: { added: string[]; removed: string[] };
      actor: { id: string };
    }[];
    expect(audit.map((e) => e.details)).toEqual([
      { added: [], removed: ['kiosk'] },
      { added: ['kiosk', 'ring-test'], removed: [] },
    ]);
  });

  it('refuses tier 1, hides other clients’ agents, rejects malformed tags and more than the cap', async () => {
    expect((await tag(tier1A, 'a1', { add: ['x'] })).body.error.code).toBe('OUTPOST_E_FORBIDDEN');
    const other = await tag(tier2A, 'b0', { add: ['x'] });
    expect([other.status, other.body.error.code]).toEqual([404, 'OUTPOST_E_NOT_FOUND']);
    for (const bad of ['Upper', '-lead', 'a b', 'x'.repeat(64), '', 'ring:test']) {
      const r = await tag(tier2A, 'a1', { add: [bad] });
      expect([r.status, r.body.error.code], bad).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
    }
    const many = Array.from({ length: MAX_TAGS_PER_AGENT }, (_, i) => `t${i}`);
    expect((await tag(tier2A, 'a1', { add: many })).body.tags).toHaveLength(MAX_TAGS_PER_AGENT);
    const over = await tag(tier2A, 'a1', { add: ['one-more'] });
    expect([over.status, over.body.error.code]).toEqual([422, 'OUTPOST_E_AGENT_TAGS_LIMIT']);
    expect((await call(admin, 'GET', `/api/v1/agents/${ids.a1}`)).body.tags).toHaveLength(MAX_TAGS_PER_AGENT);
    // Swapping one for another at the cap is fine: the count after is what counts.
    expect((await tag(tier2A, 'a1', { add: ['one-more'], remove: ['t0'] })).status).toBe(200);
    expect((await tag(tier2A, 'a1', { remove: [...many.slice(1), 'one-more'] })).body.tags).toEqual([]);
  });

  it('filters the fleet by tag, within the caller’s clients', async () => {
    await tag(admin, 'a2', { add: ['ring-test'] });
    await tag(admin, 'a3', { add: ['ring-test'] });
    await tag(admin, 'b0', { add: ['ring-test'] });
    const mine = (await call(tier2A, 'GET', '/api/v1/agents?tag=ring-test')).body;
    expect((mine.agents as { hostname: string }[]).map((a) => a.hostname).sort()).toEqual(['a0', 'a2', 'a3']);
    expect(mine.total).toBe(3);
    expect((await call(admin, 'GET', '/api/v1/agents?tag=ring-test')).body.total).toBe(4);
    expect((await call(admin, 'GET', '/api/v1/agents?tag=nobody')).body.total).toBe(0);
    expect((await call(admin, 'GET', '/api/v1/agents?tag=Bad%20Tag')).status).toBe(400);
  });

  it('a job by tag targets exactly the tagged machines the caller may act on, narrowed by site', async () => {
    const job = (token: string, target: Record<string, unknown>) =>
      call(token, 'POST', '/api/v1/jobs', {
        spec: { kind: 'patch', scope: 'security' },
        target,
      });
    const hosts = (b: Record<string, unknown>) => (b.targets as { hostname: string }[]).map((t) => t.hostname).sort();
    const all = await job(tier2A, { tag: 'ring-test' });
    expect(all.status, JSON.stringify(all.body)).toBe(201);
    expect(hosts(all.body)).toEqual(['a0', 'a2', 'a3']);
    expect(hosts((await job(tier2A, { tag: 'ring-test', siteId: siteA1 })).body)).toEqual(['a0', 'a2']);
    expect(hosts((await job(admin, { tag: 'ring-test', agentIds: [ids.a0, ids.a1, ids.b0] })).body)).toEqual([
      'a0',
      'b0',
    ]);
    const none = await job(tier2A, { tag: 'no-such-tag' });
    expect([none.status, none.body.error.code]).toEqual([422, 'OUTPOST_E_JOB_NO_TARGETS']);
    expect(none.body.error.message).toContain('tag "no-such-tag"');
    expect((await job(tier1A, { tag: 'ring-test' })).status).toBe(403);
  });
});
