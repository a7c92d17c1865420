/**
 * Three collector nodes end to end (issue 20, docs/0017-nodes.md "The three-node end-to-end test"): three built
 * `outpost serve` processes on one PostgreSQL database and one nats-server, a round-robin TCP balancer in front of
 * them, simulated agents that reconnect and resend as real agents do (scripts/bench/sim-agents.ts) and one real
 * agent, all dialling the balancer.
 *
 * 1. The agents spread over the three nodes.
 * 2. A node is SIGKILLed while the simulated agents stream events: its agents reconnect through the balancer to the
 *    other two, every event is stored exactly once, and each surviving node lists every agent online once.
 * 3. The holder of the `incidents` lease (and `notifications`, which the first node takes too) is SIGKILLed just
 *    before an SLA warning falls due: after the takeover the escalation happens once and its webhook arrives once.
 *
 * The cross-node shell and file copy are nodes.test.ts's; a rollout surviving its holder's death is the fencing
 * test's. Timing: production leases (TTL 6 s, renewal 2 s); the SLA engine ticks every 250 ms, the outbox polls
 * every 200 ms.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkSimulator, type Reply, simulatorReply } from '../../scripts/bench/sim-fleet.js';
import {
  type Balancer,
  type ClusterNode,
  connectedOn,
  type Deployment,
  leaseHolders,
  startBalancer,
  startDeployment,
  until,
} from '../support/cluster.js';
import { outpostBin, spawnNode, tempDir } from '../support/collector.js';
import { type NatsServer, natsUnavailable, testNats } from '../support/nats.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { openShell, type ShellAgent, startShellAgent } from '../support/shell.js';

const SIMS = 90;
const FLEET = SIMS + 1;
const skip = natsUnavailable() ?? postgresUnavailable;
if (skip) console.warn(`skipping the three-node end-to-end test: ${skip}`);
stopPostgresAfterAll();

const dir = tempDir('cluster-e2e');
/** The real agent's file root (`outpost cp` to and from it). */
const FILES = join(dir.path, 'files');
mkdirSync(FILES, { recursive: true });
let nats: NatsServer;
let d: Deployment;
let balancer: Balancer;
let sim: ReturnType<typeof forkSimulator>;
let agent: ShellAgent;
/** The nodes not killed yet. */
let alive: ClusterNode[] = [];

const ask = (cmd: { op: string } & Record<string, unknown>): Promise<Reply> =>
  simulatorReply(sim, 'the simulator', 90_000, () => sim.send(cmd), cmd.op);
const count = async (sql: string, params: string[] = []) =>
  Number((await d.db.get<{ n: number | string }>(sql, params))?.n ?? 0);
const sumConnected = async (nodes: ClusterNode[]) =>
  (await Promise.all(nodes.map((n) => connectedOn(n.admin)))).reduce((x, y) => x + y, 0);

/** SIGKILLs a node; the nodes left alive are the others. */
async function kill(victim: ClusterNode): Promise<number> {
  await victim.info.proc.kill('SIGKILL');
  alive = alive.filter((n) => n !== victim);
  return performance.now();
}

beforeAll(async () => {
  if (skip) return;
  const t0 = performance.now();
  const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  nats = await testNats();
  d = await startDeployment({
    dir: dir.path,
    pgUrl: await freshPostgres(),
    natsUrl: nats.url,
    deployment: `cluster-${process.pid}`,
    names: ['node-a', 'node-b', 'node-c'],
    config: { incidents: { tickMs: 250 }, notifications: { pollMs: 200 } },
  });
  alive = [...d.nodes];
  const started = since();
  balancer = await startBalancer(d.nodes.map((n) => Number(new URL(n.info.apiUrl).port)));
  const admin = d.boot.admin;
  const token = async (maxUses: number) =>
    apiCall<{ token: string; info: { id: string } }>(admin, 'POST', '/api/v1/enrollment-tokens', {
      siteId: d.boot.siteId,
      maxUses,
    });
  sim = forkSimulator({
    url: balancer.url,
    token: (await token(SIMS)).token,
    count: SIMS,
    base: 0,
    source: '',
    phaseTimeoutMs: 60_000,
    agentLike: true,
  });
  await simulatorReply(sim, 'the simulator (start)', 60_000);
  const enrolled = await ask({ op: 'enroll' });
  if (enrolled.missing) throw new Error(`enrollment ended short: ${enrolled.missing}`);
  const held = since();
  agent = await startShellAgent(
    {
      agentUrl: balancer.url.replace(/^https/, 'wss'),
      fingerprint: d.nodes[0]!.info.fingerprint,
      admin,
      enrollmentToken: async () => {
        const t = await token(1);
        return { token: t.token, id: t.info.id };
      },
    },
    join(dir.path, 'agent'),
    { fileRoots: [FILES] },
  );
  console.log(
    `set-up: three nodes listening at ${started}, ${SIMS} sims held at ${held}, the real agent at ${since()}`,
  );
}, 240_000);

afterAll(async () => {
  if (sim?.connected) sim.send({ op: 'exit' });
  await agent?.proc.kill('SIGTERM');
  for (const n of d?.nodes ?? []) await n.info.proc.kill('SIGTERM');
  await balancer?.close();
  await d?.db.close();
  await nats?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Every agent of the fleet as `admin`'s node lists it: ids (duplicates kept) and how many are online. */
async function listed(admin: ApiTarget): Promise<{ ids: string[]; online: number }> {
  type List = { agents: { id: string; status: string }[]; total: number };
  const r = await apiCall<List>(admin, 'GET', '/api/v1/agents?limit=1000');
  return { ids: r.agents.map((a) => a.id), online: r.agents.filter((a) => a.status === 'online').length };
}

describe.skipIf(skip)('three collector nodes behind a balancer', () => {
  it('spreads the agents over the three nodes', async () => {
    const held = await Promise.all(d.nodes.map((n) => connectedOn(n.admin)));
    console.log(`agents per node through the balancer: ${held.join(' / ')} (fleet ${FLEET})`);
    for (const h of held) expect(h).toBeGreaterThan(0);
    expect(held.reduce((x, y) => x + y, 0)).toBe(FLEET);
    for (const n of d.nodes)
      await until(`${n.name} lists the fleet online`, 10_000, async () => {
        return (await listed(n.admin)).online === FLEET;
      });
  });

  it('opens a shell and copies a file both ways through each node, whichever holds the agent; each shell recorded once', async () => {
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const root = FILES;
    const data = randomBytes(2 << 20);
    writeFileSync(join(dir.path, 'up.bin'), data);
    // The real agent is on one node: through the two others the shell and the bytes cross the bus.
    for (const n of d.nodes) {
      const sh = await openShell(n.admin, agent.agentId);
      sh.s.write('echo X$((6*7))Y\n');
      await sh.out.waitFor(/X42Y\r?\n/);
      sh.s.write('exit\n');
      await sh.s.ended;
      const cp = async (...args: string[]) => {
        const p = spawnNode(outpostBin, [
          ...['--server', n.info.apiUrl, '--token', n.admin.token!, '--ca-fingerprint', n.info.fingerprint],
          ...['--json', 'cp', ...args],
        ]);
        return { code: await p.exited, err: p.stderr() };
      };
      const up = await cp(join(dir.path, 'up.bin'), `${agent.agentId}:${root}/${n.name}.bin`);
      expect(up.code, `${n.name}: ${up.err}`).toBe(0);
      expect(sha(readFileSync(join(root, `${n.name}.bin`)))).toBe(sha(data));
      const down = await cp(`${agent.agentId}:${root}/${n.name}.bin`, join(dir.path, `${n.name}.down`));
      expect(down.code, `${n.name}: ${down.err}`).toBe(0);
      expect(readFileSync(join(dir.path, `${n.name}.down`)).equals(data)).toBe(true);
    }
    const shells = await d.db.all<{ node: string; status: string }>(
      "SELECT node, recording_status AS status FROM sessions WHERE agent_id = ? AND kind = 'shell' ORDER BY node",
      [agent.agentId],
    );
    expect(shells).toEqual(d.nodes.map((n) => ({ node: n.name, status: 'ok' })));
  });

  it('stores every event once when a node is SIGKILLed under streaming, and lists every agent once', async () => {
    // The victim holds neither the incidents nor the notifications lease: the next test kills their holder.
    const leases = await leaseHolders(d.db);
    const victim = alive.find((n) => n.name !== leases.get('incidents') && n.name !== leases.get('notifications'));
    if (!victim) throw new Error(`every node holds the incidents or notifications lease: ${[...leases]}`);
    const third = await connectedOn(victim.admin);
    const events = () => count("SELECT count(*) AS n FROM agent_events WHERE kind = 'bench'");
    const steady = ask({ op: 'steady', seconds: 8, intervalMs: 500 });
    await until('events streaming before the kill', 20_000, async () => (await events()) >= SIMS);
    const t0 = await kill(victim);
    await until('agents held by the survivors', 30_000, async () => (await sumConnected(alive)) === FLEET);
    const reconnectMs = performance.now() - t0;
    const streamed = await steady;
    const sent = Number(streamed.sent);
    // Polled until all arrived; past the deadline the counts below say what is missing.
    await until('every event sent stored', 30_000, async () => (await events()) >= sent).catch(() => undefined);
    const stored = await events();
    const distinct = await count(
      "SELECT count(*) AS n FROM (SELECT DISTINCT agent_id, seq FROM agent_events WHERE kind = 'bench') e",
    );
    console.log(
      `SIGKILL ${victim.name} (${third} agents): all held again by the others ${Math.round(reconnectMs)} ms after ` +
        `the kill; events sent ${sent}, stored ${stored}, distinct (agent, seq) ${distinct}`,
    );
    expect(third).toBeGreaterThan(0);
    expect(stored).toBe(sent);
    expect(distinct).toBe(stored);
    // Each survivor lists the whole fleet, every agent once and online (the view of the other's presence settles).
    for (const n of alive) {
      await until(`${n.name} lists every agent online`, 15_000, async () => (await listed(n.admin)).online === FLEET);
      const { ids } = await listed(n.admin);
      expect(ids).toHaveLength(FLEET);
      expect(new Set(ids).size).toBe(FLEET);
    }
  }, 90_000);

  it('escalates an SLA warning due while the incidents lease holder is dead once, and notifies once', async () => {
    const hooks = await webhookReceiver();
    try {
      const holder = (await leaseHolders(d.db)).get('incidents');
      const victim = alive.find((n) => n.name === holder)!;
      const other = alive.find((n) => n !== victim)!;
      const held = [...(await leaseHolders(d.db))].filter(([, h]) => h === holder).map(([name]) => name);
      const admin = other.admin;
      const { clientId, siteId } = d.boot;
      await fastContractAndWebhook(admin, clientId, hooks.url);
      type Inc = { id: string; tier: number; sla: { responseDue: number; responseTargetMs: number } };
      const inc = await apiCall<Inc>(admin, 'POST', '/api/v1/incidents', {
        ...{ clientId, siteId, title: 'Payroll server unreachable', type: 'network', impact: 2, urgency: 1 },
      });
      const warnAt = inc.sla.responseDue - inc.sla.responseTargetMs * 0.9;
      // The opening's webhook is delivered (and recorded so) before the kill: nothing is in flight at the kill.
      await until('the opening delivered', 10_000, async () => {
        const n = await count(
          'SELECT count(*) AS n FROM notification_outbox WHERE incident_id = ? AND delivered_at IS NOT NULL',
          [inc.id],
        );
        return n === 1 && hooks.of(inc.id, 'opened') === 1;
      });
      await kill(victim);
      const dueAfterKillMs = warnAt - Date.now();
      const takeoverMs = await until('the leases taken over', 30_000, async () => {
        const now = await leaseHolders(d.db);
        return held.every((name) => now.get(name) !== undefined && now.get(name) !== holder);
      });
      const notifiedMs = await until('the SLA warning notified', 30_000, async () => {
        return hooks.of(inc.id, 'sla_warning') >= 1;
      });
      // Settled: every notice handed off and every message delivered, so nothing is left that could come twice.
      await until('the outbox drained', 15_000, async () => {
        const pending = await count(
          'SELECT count(*) AS n FROM notification_outbox WHERE incident_id = ? AND delivered_at IS NULL',
          [inc.id],
        );
        const notices = await count(
          'SELECT count(*) AS n FROM incident_notices WHERE incident_id = ? AND handed_off_at IS NULL',
          [inc.id],
        );
        return pending === 0 && notices === 0;
      });
      console.log(
        `SIGKILL ${victim.name} (leases ${held.join(', ')}); SLA warning due ${Math.round(dueAfterKillMs)} ms after ` +
          `the kill; leases taken over after ${Math.round(takeoverMs)} ms, the warning's webhook after ` +
          `${Math.round(takeoverMs + notifiedMs)} ms`,
      );
      expect(dueAfterKillMs).toBeGreaterThan(0);
      type Detail = { incident: { tier: number }; timeline: { kind: string }[] };
      const detail = await apiCall<Detail>(admin, 'GET', `/api/v1/incidents/${inc.id}`);
      const kinds = detail.timeline.map((e) => e.kind);
      expect(kinds.filter((k) => k === 'sla_warning')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'escalated')).toHaveLength(1);
      expect(detail.incident.tier).toBe(inc.tier + 1);
      const audited = await count("SELECT count(*) AS n FROM audit_log WHERE type = 'incident.sla' AND resource = ?", [
        `incident:${inc.id}`,
      ]);
      expect(audited).toBe(1);
      expect(hooks.of(inc.id, 'opened')).toBe(1);
      expect(hooks.of(inc.id, 'sla_warning')).toBe(1);
      expect(hooks.deliveries()).toBe(new Set(hooks.ids()).size);
      // The victim's agents are held again, all by the last node.
      await until('the fleet held by the last node', 30_000, async () => (await sumConnected(alive)) === FLEET);
    } finally {
      await hooks.close();
    }
  }, 90_000);
});

/**
 * The client's contract (24x7, P2 answered within 60 s, warned at 10 % of it: 6 s after a ticket opens) and a
 * webhook channel with a route for every event of every ticket to `url`.
 */
async function fastContractAndWebhook(admin: ApiTarget, clientId: string, url: string): Promise<void> {
  const cal = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/calendars', {
    name: 'Always',
    clientId,
    timezone: 'UTC',
    kind: '24x7',
  });
  await apiCall(admin, 'PUT', `/api/v1/clients/${clientId}/contract`, {
    name: 'Fast',
    calendarId: cal.id,
    targets: { P2: { responseMinutes: 1, resolutionMinutes: 600 } },
    nearBreachRatio: 0.1,
  });
  const ch = await apiCall<{ channel: { id: string } }>(admin, 'POST', '/api/v1/notifications/channels', {
    kind: 'webhook',
    name: 'Desk',
    clientId,
    url,
  });
  await apiCall(admin, 'POST', '/api/v1/notifications/routes', { channelId: ch.channel.id, minCriticality: 'P4' });
}

/** A loopback webhook receiver counting deliveries per incident and event. */
async function webhookReceiver() {
  const got: { id: string; event: string; incidentId: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const m = JSON.parse(body) as { id: string; event: string; incident: { id: string } };
      got.push({ id: m.id, event: m.event, incidentId: m.incident.id });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    of: (incidentId: string, event: string) =>
      got.filter((g) => g.incidentId === incidentId && g.event === event).length,
    deliveries: () => got.length,
    ids: () => got.map((g) => g.id),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
