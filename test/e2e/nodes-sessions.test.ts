/**
 * Sessions and the console's live view on two collector nodes (docs/0017-nodes.md, "Sessions and the live stream on
 * several nodes"): two built `outpost serve` processes on one nats-server and one database (PostgreSQL where
 * installed, else one SQLite file), a real agent connected to node B.
 *
 * - Live: browsers' streams open on node A see the agent come online on node B and the incident B's detection opens
 *   (a failing TCP check), each only if they may see its client: a viewer of another client sees neither, but sees
 *   its own client's agent coming online on B.
 * - Sessions: a shell held by node B is listed live on node A and a join through A is refused with
 *   OUTPOST_E_SESSION_ELSEWHERE naming node B; node A SIGKILLed under a shell it recorded and started again (as a new
 *   node) ends that orphan, and never node B's live shell, which still echoes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall, ShellClient } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportingAgent } from '../console/hostile-agent.js';
import { startClusterNode } from '../support/cluster.js';
import { tempDir } from '../support/collector.js';
import { openLive } from '../support/live.js';
import { type NatsServer, natsUnavailable, startNats } from '../support/nats.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { bootstrap, freePort, type ServeInfo } from '../support/process-collector.js';
import { openShell, type ShellAgent, startShellAgent } from '../support/shell.js';

const STORAGE: Record<string, unknown> = {};
stopPostgresAfterAll();
const skip = natsUnavailable();
if (skip) console.warn(`skipping the two-node sessions and live test: ${skip}`);

const dir = tempDir('nodes-sessions');
let nats: NatsServer;
let policyFile: string;
let a: ServeInfo;
let b: ServeInfo;
let adminA: ApiTarget;
let adminB: ApiTarget;
let siteId: string;
let clientId: string;
let agent: ShellAgent;

/** Starts one node of the deployment on the shared data directory. */
const node = (name: string): Promise<ServeInfo> =>
  startClusterNode({
    dir: dir.path,
    dataDir: join(dir.path, 'data'),
    name,
    natsUrl: nats.url,
    deployment: 'e2e-sessions',
    config: { storage: STORAGE, detection: { policyFile } },
  });

/** A user with one role on one client, logged in on node A. */
async function userOn(client: string, role: string): Promise<ApiTarget> {
  const email = `${role}-${client}-${Date.now()}@example.com`;
  const password = 'pw-long-enough-1';
  await apiCall(adminA, 'POST', '/api/v1/users', { email, name: role, password, roles: [{ role, clientId: client }] });
  const login = await apiCall<{ token: string }>({ ...adminA, token: undefined }, 'POST', '/api/v1/auth/login', {
    email,
    password,
  });
  return { ...adminA, token: login.token };
}

const token = async (site: string) =>
  (await apiCall<{ token: string }>(adminA, 'POST', '/api/v1/enrollment-tokens', { siteId: site, maxUses: 1 })).token;

beforeAll(async () => {
  if (!postgresUnavailable) STORAGE.url = await freshPostgres();
  // Every check the agent runs, every 300 ms (the agent reads it from its environment).
  process.env.OUTPOST_CHECKS_INTERVAL_MS = '300';
  policyFile = join(dir.path, 'policy.yaml');
  const closedPort = await freePort();
  writeFileSync(
    policyFile,
    `checksFailAfter: 1\nchecks:\n  - { id: app-port, kind: tcp, host: 127.0.0.1, port: ${closedPort}, timeoutMs: 500 }\n`,
  );
  nats = await startNats();
  a = await node('node-a');
  b = await node('node-b');
  const boot = await bootstrap(a);
  adminA = boot.admin;
  adminB = { ...boot.admin, server: b.apiUrl };
  siteId = boot.siteId;
  clientId = boot.clientId;
}, 300_000);

afterAll(async () => {
  delete process.env.OUTPOST_CHECKS_INTERVAL_MS;
  await agent?.proc.kill('SIGTERM');
  await a?.proc.kill('SIGTERM');
  await b?.proc.kill('SIGTERM');
  await nats?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe.skipIf(skip)('sessions and the live stream on two nodes', () => {
  it("pushes node B's agent coming online and its detection's incident to node A's viewers, per client", async () => {
    const other = (await apiCall<{ id: string }>(adminA, 'POST', '/api/v1/clients', { name: 'Other' })).id;
    const otherSite = (await apiCall<{ id: string }>(adminA, 'POST', `/api/v1/clients/${other}/sites`, { name: 'O' }))
      .id;
    const streams = {
      admin: openLive(a.apiUrl, { authorization: `Bearer ${adminA.token}` }),
      viewer: openLive(a.apiUrl, { authorization: `Bearer ${(await userOn(clientId, 'viewer')).token}` }),
      otherViewer: openLive(a.apiUrl, { authorization: `Bearer ${(await userOn(other, 'viewer')).token}` }),
    };
    for (const s of Object.values(streams)) expect((await s.res).status).toBe(200);

    agent = await startShellAgent(
      {
        agentUrl: b.apiUrl.replace(/^http/, 'ws'),
        fingerprint: b.fingerprint,
        admin: adminB,
        enrollmentToken: async () => ({ token: await token(siteId), id: '' }),
      },
      join(dir.path, 'agent'),
    );
    const otherAgent = await reportingAgent(b.apiUrl.replace(/^http/, 'ws'), await token(otherSite), {
      hostname: 'other-01',
      os: { platform: 'linux', distro: 'Debian', release: '13', kernel: '6.12', arch: 'x64' },
      cpu: { model: 'x', cores: 1 },
      memoryBytes: 1024 ** 3,
    });
    const online = (s: ReturnType<typeof openLive>, agentId: string) =>
      s.events().some((e) => e.event === 'agent.presence' && e.data.agentId === agentId && e.data.status === 'online');
    const incidentOf = (s: ReturnType<typeof openLive>, client: string) =>
      s.events().find((e) => e.event === 'incident.changed' && e.data.clientId === client)?.data.incidentId;
    const poll = { timeout: 30_000, interval: 50 };
    await expect.poll(() => online(streams.admin, agent.agentId), poll).toBe(true);
    await expect.poll(() => online(streams.viewer, agent.agentId), poll).toBe(true);
    await expect.poll(() => online(streams.otherViewer, otherAgent.agentId), poll).toBe(true);
    await expect.poll(() => online(streams.admin, otherAgent.agentId), poll).toBe(true);
    // The failing check is judged on node B (the agent's node); A's viewers hear of the incident it opens.
    await expect.poll(() => incidentOf(streams.viewer, clientId), poll).toBeDefined();
    const incidentId = String(incidentOf(streams.viewer, clientId));
    expect(incidentOf(streams.admin, clientId)).toBe(incidentId);
    type Ticket = { incident: { source: string; agentIds: string[] } };
    const ticket = await apiCall<Ticket>(adminA, 'GET', `/api/v1/incidents/${incidentId}`);
    expect(ticket.incident).toMatchObject({ source: 'check', agentIds: [agent.agentId] });
    // The other client's viewer heard nothing of this client's agent or incident; this client's viewer nothing of
    // the other's agent.
    const seen = streams.otherViewer.frames.join('\n');
    expect(seen).not.toContain(agent.agentId);
    expect(seen).not.toContain(incidentId);
    expect(streams.viewer.frames.join('\n')).not.toContain(otherAgent.agentId);
    otherAgent.agent.close();
    for (const s of Object.values(streams)) (await s.res).close();
  }, 120_000);

  it("lists node B's live shell on A, refuses a join through A, and a restarted A ends only its own orphan", async () => {
    const onB = await openShell(adminB, agent.agentId);
    onB.s.write('echo b-$((6*7))\n');
    await onB.out.waitFor(/b-42\r?\n/);
    const onA = await openShell(adminA, agent.agentId);
    onA.s.write('echo a-$((6*7))\n');
    await onA.out.waitFor(/a-42\r?\n/);
    type Row = { id: string; node?: string | null; live: boolean; endedAt: number | null; closeReason: string | null };
    const row = (id: string, on = adminB) => apiCall<Row>(on, 'GET', `/api/v1/sessions/${id}`);
    expect(await row(onB.s.sessionId, adminA)).toMatchObject({ node: 'node-b', live: true, endedAt: null });
    expect(await row(onA.s.sessionId, adminA)).toMatchObject({ node: 'node-a', live: true, endedAt: null });
    await expect(ShellClient.open(adminA, agent.agentId, { joinSessionId: onB.s.sessionId })).rejects.toMatchObject({
      code: 'OUTPOST_E_SESSION_ELSEWHERE',
    });

    await a.proc.kill('SIGKILL');
    // The same deployment, a new node on the same database and data directory: node-a is gone for it.
    a = await node('node-a2');
    await expect
      .poll(() => row(onA.s.sessionId), { timeout: 30_000, interval: 100 })
      .toMatchObject({ closeReason: 'collector restarted', live: false });
    // Node B's shell was not touched: its row is unfinished and it still echoes.
    expect(await row(onB.s.sessionId)).toMatchObject({ endedAt: null, live: true });
    onB.s.write('echo still-$((6*7))\n');
    await onB.out.waitFor(/still-42\r?\n/);
    onB.s.write('exit 0\n');
    expect((await onB.s.ended).exitCode).toBe(0);
  }, 120_000);
});
