/**
 * `GET /api/v1/cluster` on a real collector (buildApp on a temp dir, SQLite, `inject`): a single node shows itself,
 * unclustered, holding every lease of once-only work; nodes heard through presence appear with their agents and
 * disappear once expired; only holders of `metrics.read` (admins) may read it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import type { ClusterStatus } from './status-api.js';

let app: Collector;
const dir = mkdtempSync(join(tmpdir(), 'outpost-cluster-status-'));
let admin: string;

const get = async (token: string) => {
  const res = await app.api.inject({
    method: 'GET',
    url: '/api/v1/cluster',
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.statusCode, body: res.json() as Static<typeof ClusterStatus> & { error?: { code: string } } };
};

const login = async (email: string, password: string) =>
  (
    (await app.api.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })).json() as {
      token: string;
    }
  ).token;

beforeAll(async () => {
  const settings = checkSettings({ dataDir: dir, tls: { enabled: false }, log: { level: 'silent' } });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
  admin = await login(app.initialAdmin!.email, app.initialAdmin!.password);
}, 60_000);
afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

it('shows a single node holding every lease, then a node heard on the bus with its agents until it expires', async () => {
  let status = await get(admin);
  for (let t0 = Date.now(); status.body.leases.length < 5 && Date.now() - t0 < 5_000; ) status = await get(admin);
  expect(status.status).toBe(200);
  const self = app.node.bus.nodeId;
  expect(status.body).toMatchObject({ node: self, deployment: 'local', clustered: false, storage: 'sqlite' });
  expect(status.body.nodes).toEqual([{ node: self, self: true, agents: 0, lastHeardMsAgo: 0 }]);
  expect(status.body.leases.map((l) => [l.name, l.holder, l.epoch, l.held])).toEqual(
    ['detection sweeps', 'incidents', 'jobs', 'notifications', 'rollouts'].map((n) => [n, 'local', 1, true]),
  );
  for (const l of status.body.leases) expect(l.expiresInMs).toBeGreaterThan(30_000);

  // Another node as presence hears it: its heartbeat and two agents coming online on it.
  const presence = app.node.bus.presence;
  const now = Date.now();
  presence.heartbeat({ node: 'zz-node-b', agents: 2, at: now }, now);
  presence.change({ node: 'zz-node-b', online: true, agentIds: ['ag_1', 'ag_2'], at: now }, now);
  status = await get(admin);
  expect(status.body.nodes.map((n) => [n.node, n.self, n.agents])).toEqual([
    [self, true, 0],
    ['zz-node-b', false, 2],
  ]);
  // Not heard from past the TTL: gone from the view with its agents.
  presence.expire(now + 60_000);
  expect((await get(admin)).body.nodes.map((n) => n.node)).toEqual([self]);
});

it('is refused to a technician without metrics.read', async () => {
  const clients = await app.api.inject({
    method: 'POST',
    url: '/api/v1/clients',
    headers: { authorization: `Bearer ${admin}` },
    payload: { name: 'Acme' },
  });
  const clientId = (clients.json() as { id: string }).id;
  const created = await app.api.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: { authorization: `Bearer ${admin}` },
    payload: {
      email: 'tier3@example.com',
      name: 'Tier 3',
      password: 'correct horse battery staple',
      roles: [{ role: 'tier3', clientId }],
    },
  });
  expect(created.statusCode).toBe(201);
  const r = await get(await login('tier3@example.com', 'correct horse battery staple'));
  expect(r.status).toBe(403);
  expect(r.body.error?.code).toBe('OUTPOST_E_FORBIDDEN');
});
