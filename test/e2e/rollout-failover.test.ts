/**
 * A rollout survives its lease holder's SIGKILL (issue 20, docs/0017-nodes.md "Leases"): three built `outpost serve`
 * nodes on one fresh PostgreSQL database and one nats-server, a signed release published, a rollout in three waves to
 * six simulated agents (real sockets and keys, the real protocol; each answers `update.assign` with `update.status
 * healthy`, as a real agent does once it runs the new version). The node holding the `rollouts` lease (read from the
 * `leases` table) is SIGKILLed while the first wave bakes: another node takes the lease and the rollout completes
 * every wave, each agent assigned once, the audit showing each wave started once. Then the new holder is SIGSTOPped
 * while a second rollout's first wave bakes, and SIGCONTed once the other node drives the second wave: woken with its
 * timers due, it writes nothing (each wave of that rollout audited once, each agent assigned once). Prints both
 * takeover times.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { initReleaseKeys, signRelease } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSql } from '../../collector/src/db/index.js';
import { outpostBin, spawnNode, tempDir } from '../support/collector.js';
import { type NatsServer, natsUnavailable, startNats } from '../support/nats.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { bootstrap, freePort, type ServeInfo, startCollectorProcess } from '../support/process-collector.js';
import { enrolledIdentity, RawAgent } from '../support/raw-agent.js';
import { auditEvents, waitOnline } from '../support/shell.js';

stopPostgresAfterAll();
const skip = natsUnavailable() ?? postgresUnavailable;
if (skip) console.warn(`skipping the rollout failover test: ${skip}`);

const AGENTS = 6;
const VERSION = '9.1.0';
/** The second test's release: the simulated agents keep reporting their old version, so they take it too. */
const VERSION_2 = '9.2.0';
const NAMES = ['node-a', 'node-b', 'node-c'];
const dir = tempDir('rollout-failover');

let nats: NatsServer;
let pg: PostgresSql;
const nodes = new Map<string, ServeInfo>();

/** One simulated agent: key-authenticated socket; answers each assignment with `healthy`, recording its ids. */
interface SimAgent {
  agentId: string;
  keys: Awaited<ReturnType<typeof enrolledIdentity>>['keys'];
  socket?: RawAgent;
  /** Every assignment received, in order (a resend of the same id is the same update). */
  assigned: { id: string; version: string }[];
}

async function node(name: string, url: string): Promise<ServeInfo> {
  const config = join(dir.path, `${name}.json`);
  const cluster = { natsUrl: nats.url, nodeId: name, deployment: 'rollout-failover' };
  writeFileSync(config, JSON.stringify({ storage: { url }, cluster }));
  return startCollectorProcess(join(dir.path, 'data'), await freePort(), ['--config', config], 90_000);
}

/** Signs a small linux-x64 "agent" as both versions and publishes them through node `at` with the CLI. */
async function publishRelease(at: ServeInfo, admin: ApiTarget): Promise<void> {
  const keys = join(dir.path, 'keys');
  const packages = join(dir.path, 'packages');
  mkdirSync(packages);
  writeFileSync(join(packages, 'outpost-agent-linux-x64'), randomBytes(4096), { mode: 0o755 });
  initReleaseKeys(keys);
  signRelease({ keysDir: keys, packagesDir: packages, version: VERSION });
  signRelease({ keysDir: keys, packagesDir: packages, version: VERSION_2 });
  const cli = spawnNode(
    outpostBin,
    [
      ...['--server', at.apiUrl, '--token', admin.token!, '--ca-fingerprint', at.fingerprint],
      'releases',
      'publish',
      keys,
    ],
    { OUTPOST_CLI_CONFIG: join(dir.path, 'cli.json') },
  );
  const code = await cli.exited;
  if (code !== 0) throw new Error(`releases publish failed (${code}): ${cli.stdout()} ${cli.stderr()}`);
}

/** Connects `sim` to `at` (closing its previous socket); it reports `healthy` for every assignment it hears. */
async function connect(sim: SimAgent, at: ServeInfo): Promise<void> {
  sim.socket?.close();
  const socket = await RawAgent.connect(at.apiUrl.replace(/^http/, 'ws'));
  await socket.keyAuth(sim.agentId, sim.keys.privateKey);
  const welcome = await socket.next('collector.welcome', 15_000);
  let seq = welcome.lastSeq;
  socket.ws.on('message', (data, binary) => {
    if (binary) return;
    const msg = JSON.parse(data.toString()) as { type: string; id?: string; version?: string };
    if (msg.type !== 'update.assign' || !msg.id || !msg.version) return;
    sim.assigned.push({ id: msg.id, version: msg.version });
    socket.sendJson({
      type: 'update.status',
      seq: ++seq,
      time: Date.now(),
      assignmentId: msg.id,
      phase: 'healthy',
      from: '0.0.0-test',
      to: msg.version,
    });
  });
  sim.socket = socket;
}

/** Enrolls an agent through `at` and connects it there. */
async function simAgent(at: ServeInfo, token: string): Promise<SimAgent> {
  const { agentId, keys } = await enrolledIdentity(at.apiUrl.replace(/^http/, 'ws'), token);
  const sim: SimAgent = { agentId, keys, assigned: [] };
  await connect(sim, at);
  return sim;
}

/** The distinct assignment ids each agent received for `version`. */
const idsFor = (version: string) =>
  agents.map((a) => new Set(a.assigned.filter((x) => x.version === version).map((x) => x.id)).size);

/** The waves whose start the audit recorded for `version`, and its completions. */
async function audited(version: string): Promise<{ waves: unknown[]; completed: number }> {
  const events = (await auditEvents(admin)).filter((e) => e.details?.version === version);
  const waves = events.filter((e) => e.type === 'rollout.wave').map((e) => e.details?.wave);
  return { waves: waves.sort(), completed: events.filter((e) => e.type === 'rollout.complete').length };
}

type View = { id: string; state: string; waveList: { index: number; status: string; total: number }[] };

/** Starts a rollout of `version` in `waves` through the technician's node; returns a reader of its view. */
async function startRollout(version: string, waves: number[]): Promise<() => Promise<View>> {
  const r = await apiCall<View>(admin, 'POST', '/api/v1/rollouts', {
    version,
    target: {},
    canary: 0,
    waves,
    maxConcurrent: 10,
    jitterSec: 0,
    bakeSec: 5,
    deadlineSec: 300,
  });
  expect(r.waveList).toHaveLength(waves.length);
  return () => apiCall<View>(admin, 'GET', `/api/v1/rollouts/${r.id}`);
}

/** Polls the `rollouts` lease until another node than `from` holds it; the milliseconds since `t0`. */
async function takenFrom(from: string, t0: number): Promise<{ by: string | undefined; ms: number }> {
  let by = await rolloutsHolder();
  while (by === from) {
    if (performance.now() - t0 > 30_000) throw new Error(`the rollouts lease stayed with ${from} for 30 s`);
    await new Promise((res) => setTimeout(res, 50));
    by = await rolloutsHolder();
  }
  return { by, ms: Math.round(performance.now() - t0) };
}

let admin: ApiTarget;
let agents: SimAgent[] = [];

const rolloutsHolder = async () =>
  (await pg.get<{ holder: string }>(`SELECT holder FROM leases WHERE name = 'rollouts'`))?.holder;

afterAll(async () => {
  for (const n of nodes.values()) await n.proc.kill('SIGKILL');
  await nats?.[Symbol.asyncDispose]();
  await pg?.close();
  dir[Symbol.dispose]();
});

describe.skipIf(skip)('a rollout across its lease holder SIGKILL', () => {
  let holder: string;

  beforeAll(async () => {
    const url = await freshPostgres();
    pg = new PostgresSql(url);
    nats = await startNats();
    // One at a time: the first migrates the database, the others find it migrated.
    for (const name of NAMES) nodes.set(name, await node(name, url));
    const deadline = Date.now() + 30_000;
    while (!(await rolloutsHolder().catch(() => undefined)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    holder = (await rolloutsHolder()) ?? '';
    expect(NAMES).toContain(holder);
    // The agents and the technician on a node that survives.
    const home = nodes.get(NAMES.find((n) => n !== holder)!)!;
    // The first node created the database, and the initial admin whose password it printed.
    const boot = await bootstrap({ ...home, password: nodes.get(NAMES[0]!)!.password }, AGENTS);
    admin = boot.admin;
    await publishRelease(home, admin);
    agents = await Promise.all(Array.from({ length: AGENTS }, () => simAgent(home, boot.token)));
    for (const a of agents) await waitOnline(admin, a.agentId);
  }, 300_000);

  it('completes every wave on another node, each agent assigned once and each wave started once', async () => {
    const view = await startRollout(VERSION, [34, 67, 100]);
    // Between waves: the first is healthy and baking, the second not started.
    await expect
      .poll(async () => (await view()).waveList[0]?.status, { timeout: 60_000, interval: 100 })
      .toBe('baking');
    expect(agents.filter((a) => a.assigned.length > 0)).toHaveLength((await view()).waveList[0]!.total);

    const t0 = performance.now();
    await nodes.get(holder)!.proc.kill('SIGKILL');
    nodes.delete(holder);
    const next = await takenFrom(holder, t0);
    console.log(`rollouts lease: ${holder} SIGKILLed, taken over by ${next.by} after ${next.ms} ms`);
    expect([...nodes.keys()]).toContain(next.by);

    await expect.poll(async () => (await view()).state, { timeout: 90_000, interval: 250 }).toBe('completed');
    expect((await view()).waveList.map((w) => w.status)).toEqual(['done', 'done', 'done']);
    // Each agent updated once: one assignment id each (a resend of the same id would be the same update).
    expect(idsFor(VERSION)).toEqual(agents.map(() => 1));
    expect(await audited(VERSION)).toEqual({ waves: [0, 1, 2], completed: 1 });
  }, 240_000);

  it('a holder paused past its lease (SIGSTOP) and woken after the takeover writes nothing: each wave still once', async () => {
    const pausedName = (await rolloutsHolder())!;
    const paused = nodes.get(pausedName)!;
    // The agents and the technician move to the node that stays awake.
    const awake = [...nodes.entries()].find(([name]) => name !== pausedName)![1];
    admin = { ...admin, server: awake.apiUrl };
    for (const a of agents) await connect(a, awake);
    for (const a of agents) await waitOnline(admin, a.agentId);
    const view = await startRollout(VERSION_2, [50, 100]);
    await expect
      .poll(async () => (await view()).waveList[0]?.status, { timeout: 60_000, interval: 100 })
      .toBe('baking');

    const lostLines = () =>
      (paused.proc.stdout() + paused.proc.stderr()).match(/"lease":"rollouts"[^\n]*lease lost/g)?.length ?? 0;
    const lostBefore = lostLines();
    const t0 = performance.now();
    process.kill(paused.proc.child.pid!, 'SIGSTOP');
    try {
      const next = await takenFrom(pausedName, t0);
      console.log(`rollouts lease: ${pausedName} SIGSTOPped, taken over by ${next.by} after ${next.ms} ms`);
      // Woken while the new holder drives the second wave: its own timers are due at once.
      await expect
        .poll(async () => (await view()).waveList[1]?.status, { timeout: 60_000, interval: 100 })
        .not.toBe('waiting');
    } finally {
      process.kill(paused.proc.child.pid!, 'SIGCONT');
    }
    await expect.poll(lostLines, { timeout: 30_000, interval: 100 }).toBeGreaterThan(lostBefore);
    await expect.poll(async () => (await view()).state, { timeout: 90_000, interval: 250 }).toBe('completed');
    expect(idsFor(VERSION_2)).toEqual(agents.map(() => 1));
    expect(await audited(VERSION_2)).toEqual({ waves: [0, 1], completed: 1 });
  }, 240_000);
});
