/**
 * Two collector nodes end to end (docs/0017-nodes.md): two built `outpost serve` processes on one real nats-server,
 * real agents connected to node B, the technician on node A — a job delivered, a shell round trip recorded once, a
 * file copied both ways with its SHA-256, a revocation on A cutting the agent's socket on B, echo latency same-node
 * against cross-node, and node B SIGKILLed under an open shell ending it on A with OUTPOST_E_NODE_LOST.
 *
 * Shared state: both nodes store everything in one PostgreSQL database (issue 20's deployment; without the server
 * binaries they fall back to one SQLite file, WAL with a 5 s busy timeout), and share one data directory for the
 * session-ticket key (tickets signed on A are checked by an agent that learnt B's key) and the recordings (docs/0017).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall, ShellClient } from '@outpost/collector';
import { CHANNEL_WINDOW_BYTES } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectedOn, startClusterNode } from '../support/cluster.js';
import { outpostBin, spawnNode, tempDir } from '../support/collector.js';
import { type NatsServer, natsUnavailable, startNats } from '../support/nats.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { bootstrap, type ServeInfo } from '../support/process-collector.js';
import { echoLatency, openShell, type ShellAgent, startShellAgent, waitOnline } from '../support/shell.js';

/** Where both nodes keep their state (see the header): PostgreSQL where the server is installed. */
const STORAGE: Record<string, unknown> = {};
if (postgresUnavailable) console.warn(`two-node test on one SQLite file: ${postgresUnavailable}`);
stopPostgresAfterAll();

const skip = natsUnavailable();
if (skip) console.warn(`skipping the two-node end-to-end test: ${skip}`);

const dir = tempDir('nodes-e2e');
const root = join(dir.path, 'root');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let nats: NatsServer;
let a: ServeInfo;
let b: ServeInfo;
let adminA: ApiTarget;
let adminB: ApiTarget;
let siteId: string;
let clientId: string;
let agent: ShellAgent;
let agent2: ShellAgent;

/** Starts one node of the deployment on the shared data directory. */
const node = (name: string): Promise<ServeInfo> =>
  startClusterNode({
    dir: dir.path,
    dataDir: join(dir.path, 'data'),
    name,
    natsUrl: nats.url,
    deployment: 'e2e',
    config: { storage: STORAGE, sessions: { fileMaxBytes: 16 << 20 } },
  });

/** What `startShellAgent` needs, pointed at node B (enrollment tokens come from A: it is one deployment). */
const onB = () => ({
  agentUrl: b.apiUrl.replace(/^http/, 'ws'),
  fingerprint: b.fingerprint,
  admin: adminB,
  enrollmentToken: async () => {
    const t = await apiCall<{ token: string; info: { id: string } }>(adminA, 'POST', '/api/v1/enrollment-tokens', {
      siteId,
      maxUses: 1,
    });
    return { token: t.token, id: t.info.id };
  },
});

/** `outpost --json cp …` against node A. */
async function cp(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnNode(outpostBin, [
    ...['--server', a.apiUrl, '--token', adminA.token!, '--ca-fingerprint', a.fingerprint],
    ...['--json', 'cp', ...args],
  ]);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

beforeAll(async () => {
  mkdirSync(root, { recursive: true });
  if (!postgresUnavailable) STORAGE.url = await freshPostgres();
  nats = await startNats();
  a = await node('node-a');
  b = await node('node-b');
  const boot = await bootstrap(a);
  adminA = boot.admin;
  adminB = { ...boot.admin, server: b.apiUrl };
  siteId = boot.siteId;
  clientId = boot.clientId;
  agent = await startShellAgent(onB(), join(dir.path, 'agent'), { fileRoots: [root] });
  agent2 = await startShellAgent(onB(), join(dir.path, 'agent2'));
  // Node A learns they are online from B's presence on the bus.
  await waitOnline(adminA, agent.agentId);
  await waitOnline(adminA, agent2.agentId);
}, 300_000);

afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await agent2?.proc.kill('SIGTERM');
  await a?.proc.kill('SIGTERM');
  await b?.proc.kill('SIGKILL');
  await nats?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe.skipIf(skip)('two collector nodes on one bus', () => {
  it('holds both agents on node B only', async () => {
    expect(await connectedOn(adminB)).toBe(2);
    expect(await connectedOn(adminA)).toBe(0);
  });

  it('delivers a job created on node A to the agent on node B', async () => {
    const script = await apiCall<{ id: string }>(adminA, 'POST', '/api/v1/scripts', {
      name: `cross-${Date.now()}`,
      body: 'echo cross-node-$((6*7))\n',
    });
    const job = await apiCall<{ id: string }>(adminA, 'POST', '/api/v1/jobs', {
      spec: { kind: 'script', script: script.id },
      target: { agentIds: [agent.agentId] },
    });
    type Job = { targets: { agentId: string; state: string; outputHead: string }[] };
    await expect
      .poll(async () => (await apiCall<Job>(adminA, 'GET', `/api/v1/jobs/${job.id}`)).targets[0], { timeout: 30_000 })
      .toMatchObject({ state: 'succeeded', outputHead: expect.stringContaining('cross-node-42') });
  });

  it('opens a shell from node A to the agent on node B, recorded once on A', async () => {
    const { s, out } = await openShell(adminA, agent.agentId);
    s.write('echo hi-$((6*7))\n');
    await out.waitFor(/hi-42\r?\n/);
    s.write('exit 3\n');
    expect((await s.ended).exitCode).toBe(3);
    type Row = { recordingStatus: string; exitCode: number | null };
    await expect
      .poll(() => apiCall<Row>(adminB, 'GET', `/api/v1/sessions/${s.sessionId}`), { timeout: 10_000 })
      .toMatchObject({ recordingStatus: 'ok', exitCode: 3 });
    const cast = await apiCall<string>(adminA, 'GET', `/api/v1/sessions/${s.sessionId}/recording`);
    expect(cast.split('\n').filter((l) => l.includes('hi-42')).length).toBeGreaterThan(0);
    const rows = await apiCall<{ sessions: { id: string }[] }>(adminA, 'GET', '/api/v1/sessions');
    expect(rows.sessions.filter((r) => r.id === s.sessionId)).toHaveLength(1);
    expect(existsSync(join(dir.path, 'data', 'recordings', `${s.sessionId}.cast.gz`))).toBe(true);
  });

  it('copies a file both ways through node A with the same SHA-256', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 777);
    writeFileSync(join(dir.path, 'up.bin'), data);
    const up = await cp(join(dir.path, 'up.bin'), `${agent.agentId}:${root}/up.bin`);
    expect(up.code, up.err).toBe(0);
    expect(JSON.parse(up.out)).toMatchObject({ sha256: sha(data), bytes: data.length });
    expect(sha(readFileSync(join(root, 'up.bin')))).toBe(sha(data));
    const down = await cp(`${agent.agentId}:${root}/up.bin`, join(dir.path, 'down.bin'));
    expect(down.code, down.err).toBe(0);
    expect(readFileSync(join(dir.path, 'down.bin')).equals(data)).toBe(true);
  });

  it('measures shell echo latency on the agent node and across nodes', async () => {
    // 50 in the suite; docs/0017's figures: OUTPOST_NODES_ROUNDS=300.
    const n = Number(process.env.OUTPOST_NODES_ROUNDS ?? 50);
    const { same, cross } = await echoLatency(agent.agentId, n, { same: adminB, cross: adminA });
    console.log(
      `shell echo round trip, ${n} each: same node ${JSON.stringify(same)}, cross node ${JSON.stringify(cross)} ms`,
    );
    expect(cross.p50).toBeGreaterThan(0);
  }, 300_000);

  it('stalls the agent when the technician on node A stops reading: nothing buffers on either node', async () => {
    const s = await ShellClient.open(adminA, agent.agentId, { manualCredit: true });
    const rss = (p: ServeInfo) =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.proc.child.pid}/status`, 'utf8'))?.[1]) * 1024;
    s.write('yes outpost-flow-control\n');
    for (const until = Date.now() + 15_000; s.received < CHANNEL_WINDOW_BYTES && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 10));
    const first = s.received;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(CHANNEL_WINDOW_BYTES);
    const before = { a: rss(a), b: rss(b) };
    // An absence, for long enough that `yes` unchecked would have pushed hundreds of megabytes through both nodes.
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.received).toBe(first);
    expect(rss(a) - before.a).toBeLessThan(32 << 20);
    expect(rss(b) - before.b).toBeLessThan(32 << 20);
    s.grant(first);
    for (const until = Date.now() + 5000; s.received <= first && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 10));
    expect(s.received).toBeGreaterThan(first);
    s.close();
    await s.ended;
  });

  it("ends a user's shell held on node B when node A disables the user", async () => {
    const email = `tier1-${Date.now()}@example.com`;
    const user = await apiCall<{ id: string }>(adminA, 'POST', '/api/v1/users', {
      email,
      name: 'tier1',
      password: 'pw-long-enough-1',
      roles: [{ role: 'tier1', clientId }],
    });
    const login = await apiCall<{ token: string }>({ ...adminB, token: undefined }, 'POST', '/api/v1/auth/login', {
      email,
      password: 'pw-long-enough-1',
    });
    const { s, out } = await openShell({ ...adminB, token: login.token }, agent.agentId);
    s.write('echo tech-$((6*7))\n');
    await out.waitFor(/tech-42\r?\n/);
    const t0 = performance.now();
    await apiCall(adminA, 'POST', `/api/v1/users/${user.id}/disable`, {});
    const end = await s.ended;
    expect(end.code).toBe('OUTPOST_E_SESSION_ENDED');
    expect(performance.now() - t0).toBeLessThan(3_000);
  });

  it('cuts the revoked agent socket on node B when node A revokes it', async () => {
    await apiCall(adminA, 'POST', `/api/v1/agents/${agent2.agentId}/revoke`, {});
    await expect.poll(() => connectedOn(adminB), { timeout: 5_000, interval: 50 }).toBe(1);
    expect((await apiCall<{ status: string }>(adminA, 'GET', `/api/v1/agents/${agent.agentId}`)).status).toBe('online');
  });

  it('ends the shell on node A with OUTPOST_E_NODE_LOST when node B is SIGKILLed', async () => {
    const { s, out } = await openShell(adminA, agent.agentId);
    s.write('echo alive-$((2*21))\n');
    await out.waitFor(/alive-42\r?\n/);
    const t0 = performance.now();
    await b.proc.kill('SIGKILL');
    const end = await s.ended;
    expect(end.code).toBe('OUTPOST_E_NODE_LOST');
    expect(performance.now() - t0).toBeLessThan(8_000);
  }, 20_000);
});
