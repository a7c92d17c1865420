/**
 * `pnpm bench:cluster [agents]` — issue 20: three built `outpost serve` nodes on this machine, on one throwaway
 * PostgreSQL database and one nats-server, beside a single node on SQLite. It measures:
 *   1. agents held: `agents` simulated agents (sim-agents.ts) spread over the three nodes, a third of them on the
 *      SQLite node; the time to hold them all, sockets per node (/metrics) and the fleet list's online count on each;
 *   2. metrics ingested per second: every simulated agent sends BENCH_BATCHES `metrics.batch` of BENCH_VALUES
 *      metrics, acknowledged; rows counted in each database at the end against what was sent;
 *   3. shell echo latency: a real agent with a real PTY on node B, echo round trips from node B and from node A;
 *   4. failover: the node holding the most leases is SIGKILLed while its agents stream events; the time until its
 *      agents' sockets are all held by the others, and until every lease it held has another holder.
 *   5. with BENCH_HELD=1, agents held at capacity (cluster-held.ts), run first: fresh nodes under one open-files limit
 *      (BENCH_HELD_FILES, 1,024), offered more agents than it allows: the SQLite node alone, then the three nodes.
 * Prints a table and, last, one JSON line. Sizes: argv[2] or BENCH_AGENTS (300), BENCH_BATCHES (20), BENCH_VALUES
 * (20), BENCH_ROUNDS (50 shell round trips). docs/bench/cluster.md has a run.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { openDatabase, PostgresSql, type SqlDb, sqlOf } from '../../collector/src/db/index.js';
import { sqliteFileOf } from '../../collector/src/db/open-storage.js';
import { postgresUnavailable, startPgCluster } from '../../collector/src/db/pg-cluster.fixture.js';
import { natsUnavailable, startNats } from '../../test/support/nats.js';
import { bootstrap, freePort, type ServeInfo, startCollectorProcess } from '../../test/support/process-collector.js';
import { echoLatency, startShellAgent } from '../../test/support/shell.js';
import { heldRows, measureHeld } from './cluster-held.js';
import { enrollmentToken } from './collector-process.js';
import { openFilesLimit, sourceAddress } from './sim-connect.js';
import { forkSimulator, type Reply, simulatorReply } from './sim-fleet.js';

const AGENTS = Number(process.argv[2] ?? process.env.BENCH_AGENTS ?? 300);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const VALUES = Number(process.env.BENCH_VALUES ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
/** The capacity phase: off by default (minutes at 1,024 files per node on this machine), its nodes' file limit. */
const HELD = process.env.BENCH_HELD === '1';
const HELD_FILES = Number(process.env.BENCH_HELD_FILES ?? 1024);
/** A phase that has not finished in this long has failed (the bench ends, saying which). */
const PHASE_MS = 120_000;
const NODES = ['node-a', 'node-b', 'node-c'] as const;
/** Every node's `limits.helloTimeoutMs` (the shipped 10 s is too short for enrollments queued on a loaded machine). */
const HELLO_TIMEOUT_MS = 60_000;
const perNode = Math.ceil(AGENTS / NODES.length);

const why = natsUnavailable() ?? postgresUnavailable;
if (why) {
  console.error(`bench:cluster needs nats-server and PostgreSQL: ${why}`);
  process.exit(2);
}

/** One collector process and the simulator process whose agents it holds. */
interface Node {
  name: string;
  info: ServeInfo;
  admin: ApiTarget;
  sim: ChildProcess;
}

const load0 = loadavg()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-cluster-'));
const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * Sends `cmd` to `node`'s simulator and awaits its reply to that command (the failover has a `steady` running while
 * it sends a `connect`).
 */
function ask(node: Node, cmd: { op: string } & Record<string, unknown>): Promise<Reply> {
  return simulatorReply(node.sim, `${node.name}'s simulator`, PHASE_MS, () => node.sim.send(cmd), cmd.op);
}

/** Ends the bench when a simulator's phase ended short, naming what is missing. */
function complete(phase: string, replies: Reply[]): Reply[] {
  const short = replies.filter((r) => r.missing).map((r) => r.missing);
  if (short.length) throw new Error(`${phase} ended short: ${short.join('; ')}`);
  return replies;
}

/** Polls `check` until it is true; the elapsed ms from `t0`. */
async function until(what: string, t0: number, check: () => Promise<boolean>): Promise<number> {
  const deadline = Date.now() + PHASE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${PHASE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

/** Agents with a live socket on a node, from its /metrics. */
async function connectedOn(admin: ApiTarget): Promise<number> {
  const text = await apiCall<string>(admin, 'GET', '/metrics');
  return Number(/^outpost_agents_connected (\d+)$/m.exec(text)?.[1]);
}

/** The fleet list's online count as `admin`'s node sees it. */
async function onlineOn(admin: ApiTarget): Promise<number> {
  return (await apiCall<{ total: number }>(admin, 'GET', '/api/v1/agents?status=online&limit=1')).total;
}

const count = async (db: SqlDb, sql: string) => Number((await db.get<{ n: number | string }>(sql))?.n ?? 0);

/** Metrics rows in a store: batches (one per agent and seq, its primary key) and samples (one per value). */
async function metricRows(db: SqlDb) {
  return {
    batches: await count(db, 'SELECT count(*) AS n FROM metric_batches'),
    distinct: await count(db, 'SELECT count(*) AS n FROM (SELECT DISTINCT agent_id, seq FROM metric_batches) d'),
    samples: await count(db, 'SELECT count(*) AS n FROM metric_samples'),
  };
}

/** Sends every agent of `nodes` its metrics batches at once; the rate from the rows their database gained. */
async function ingest(nodes: Node[], db: SqlDb, agents: number) {
  const before = await metricRows(db);
  const t0 = performance.now();
  const replies = complete(
    'metrics',
    await Promise.all(nodes.map((n) => ask(n, { op: 'metrics', events: BATCHES, values: VALUES }))),
  );
  const ms = performance.now() - t0;
  const after = await metricRows(db);
  const acked = replies.reduce((n, r) => n + Number(r.acked), 0);
  const batches = after.batches - before.batches;
  const samples = after.samples - before.samples;
  if (batches !== agents * BATCHES || after.distinct !== after.batches || samples !== batches * VALUES)
    throw new Error(
      `metrics rows: ${batches} batches (${after.distinct} distinct of ${after.batches}), ${samples} samples for ${agents} agents × ${BATCHES} batches × ${VALUES} values`,
    );
  return { agents, batches, acked, samples, seconds: seconds(ms), samplesPerSec: Math.round(samples / (ms / 1000)) };
}

async function startNode(name: string, settings: Record<string, unknown>, dataDir: string): Promise<ServeInfo> {
  const config = join(dir, `${name}.json`);
  // The hello deadline covers the whole handshake, enrollment's writes included: at a load of 25–30 the default
  // 10 s expired for most of a node's 64 enrollments in flight on PostgreSQL (4408), which measures the machine.
  const limits = { maxAgents: AGENTS + 100, helloTimeoutMs: HELLO_TIMEOUT_MS };
  writeFileSync(config, JSON.stringify({ ...settings, limits }));
  return startCollectorProcess(dataDir, await freePort(), ['--config', config], 120_000);
}

await using pg = await startPgCluster();
await using nats = await startNats();
const pgUrl = await pg.createDatabase('cluster_bench');
const cleanup: (() => Promise<unknown>)[] = [];
try {
  // --- 5. agents held at capacity (BENCH_HELD=1), first: its own nodes, none of the others running yet ---
  const atCapacity = HELD
    ? await measureHeld({
        dir,
        natsUrl: nats.url,
        pgUrl: await pg.createDatabase('held_bench'),
        openFiles: HELD_FILES,
        helloTimeoutMs: HELLO_TIMEOUT_MS,
        phaseMs: 10 * 60_000,
        log,
        cleanup: (step) => cleanup.push(step),
      })
    : undefined;

  if (atCapacity) log(`at capacity: ${JSON.stringify(atCapacity)}`);
  // --- the deployment: three nodes on one database and one bus (one data directory: ticket key, recordings) ---
  const infos: ServeInfo[] = [];
  for (const name of NODES) {
    const cluster = { natsUrl: nats.url, nodeId: name, deployment: 'bench' };
    const info = await startNode(name, { storage: { url: pgUrl }, cluster }, join(dir, 'data'));
    cleanup.push(() => info.proc.kill('SIGTERM'));
    infos.push(info);
  }
  const single = await startNode('single', {}, join(dir, 'single'));
  cleanup.push(() => single.proc.kill('SIGTERM'));
  const boot = await bootstrap(infos[0]!, 1);
  const singleAdmin = (await bootstrap(single, 1)).admin;
  const clusterToken = await enrollmentToken(boot.admin, AGENTS + 10);
  const singleToken = await enrollmentToken(singleAdmin, perNode);

  const fork = (info: ServeInfo, token: string, i: number) => {
    const sim = forkSimulator({
      url: info.apiUrl,
      token,
      count: perNode,
      base: i * perNode,
      source: sourceAddress(i),
      phaseTimeoutMs: PHASE_MS,
    });
    cleanup.push(async () => (sim.connected ? sim.send({ op: 'exit' }) : sim.kill('SIGKILL')));
    return sim;
  };
  const nodes: Node[] = infos.map((info, i) => ({
    name: NODES[i]!,
    info,
    admin: { ...boot.admin, server: info.apiUrl, caFingerprint: info.fingerprint },
    sim: fork(info, clusterToken, i),
  }));
  const solo: Node = { name: 'single', info: single, admin: singleAdmin, sim: fork(single, singleToken, 3) };
  for (const n of [...nodes, solo]) await simulatorReply(n.sim, `${n.name}'s simulator (start)`, PHASE_MS);
  const agents = nodes.length * perNode;

  // --- 1. agents held ---
  log(`holding ${agents} agents on three nodes, ${perNode} on the SQLite node…`);
  let t0 = performance.now();
  complete('enrollment', await Promise.all(nodes.map((n) => ask(n, { op: 'enroll' }))));
  const holdMs = performance.now() - t0;
  const sockets = await Promise.all(nodes.map((n) => connectedOn(n.admin)));
  const fleetOnline = await Promise.all(nodes.map((n) => onlineOn(n.admin)));
  t0 = performance.now();
  complete('enrollment (SQLite)', [await ask(solo, { op: 'enroll' })]);
  const singleHoldMs = performance.now() - t0;
  const singleOnline = await onlineOn(solo.admin);
  const openFiles = nodes.map(
    (n) => openFilesLimit(readFileSync(`/proc/${n.info.proc.child.pid}/limits`, 'utf8')).soft,
  );

  // --- 2. metrics ingested per second ---
  log(`metrics: ${BATCHES} batches of ${VALUES} values from each agent…`);
  const pgDb = new PostgresSql(pgUrl, { max: 2 });
  cleanup.push(() => pgDb.close());
  const sqliteDb = sqlOf(openDatabase(sqliteFileOf(join(dir, 'single'))));
  cleanup.push(() => sqliteDb.close());
  const clusterMetrics = await ingest(nodes, pgDb, agents);
  const singleMetrics = await ingest([solo], sqliteDb, perNode);

  // --- 3. shell echo latency: a real agent on node B, shells from B (same node) and A (across nodes) ---
  log(`shell echo: ${ROUNDS} round trips each way…`);
  const [a, b] = nodes as [Node, Node, Node];
  mkdirSync(join(dir, 'agent'));
  const shellAgent = await startShellAgent(
    {
      agentUrl: b.info.apiUrl.replace(/^http/, 'ws'),
      fingerprint: b.info.fingerprint,
      admin: b.admin,
      enrollmentToken: async () => {
        const t = await apiCall<{ token: string; info: { id: string } }>(a.admin, 'POST', '/api/v1/enrollment-tokens', {
          siteId: boot.siteId,
          maxUses: 1,
        });
        return { token: t.token, id: t.info.id };
      },
    },
    join(dir, 'agent'),
  );
  const echo = await echoLatency(shellAgent.agentId, ROUNDS, { same: b.admin, cross: a.admin });
  await shellAgent.proc.kill('SIGTERM');

  // --- 4. failover: SIGKILL the node holding the most leases while its agents stream events ---
  const leases = await pgDb.all<{ name: string; holder: string }>('SELECT name, holder FROM leases');
  const held = (name: string) => leases.filter((l) => l.holder === name).length;
  const victim = [...nodes].sort((x, y) => held(y.name) - held(x.name))[0]!;
  const survivors = nodes.filter((n) => n !== victim);
  const lost = leases.filter((l) => l.holder === victim.name).map((l) => l.name);
  log(`failover: SIGKILL ${victim.name} (holds ${lost.length} of ${leases.length} leases, ${perNode} agents)…`);
  const eventsOf = (op: string) => count(pgDb, `SELECT count(*) AS n FROM agent_events WHERE kind = 'bench'${op}`);
  const steadySeconds = 20;
  const steady = ask(victim, { op: 'steady', seconds: steadySeconds, intervalMs: 1000 });
  await until('events streaming before the kill', performance.now(), async () => (await eventsOf('')) >= perNode);
  t0 = performance.now();
  await victim.info.proc.kill('SIGKILL');
  const reconnect = ask(victim, { op: 'connect', url: survivors[0]!.info.apiUrl });
  const leaseMs = until('leases taken over', t0, async () => {
    const now = await pgDb.all<{ name: string; holder: string }>('SELECT name, holder FROM leases');
    return lost.every((name) => now.some((l) => l.name === name && l.holder !== victim.name));
  });
  leaseMs.catch(() => undefined); // awaited below: not an unhandled rejection meanwhile
  complete('reconnect', [await reconnect]);
  const heldMs = await until('agents held by the survivors', t0, async () => {
    const held = await Promise.all(survivors.map((n) => connectedOn(n.admin)));
    return held.reduce((x, y) => x + y, 0) === agents;
  });
  const leasesMs = await leaseMs;
  const onlineAfter = await onlineOn(survivors[0]!.admin);
  const streamed = await steady;
  const events = {
    sent: Number(streamed.sent),
    acked: Number(streamed.acked),
    dropped: Number(streamed.dropped),
    stored: await eventsOf(''),
    distinct: await count(
      pgDb,
      "SELECT count(*) AS n FROM (SELECT DISTINCT agent_id, seq FROM agent_events WHERE kind = 'bench') d",
    ),
  };

  // --- the figures ---
  const rows: [string, string, string][] = [
    ['agents held', `${agents} on 3 nodes (${sockets.join(' / ')} sockets)`, `${perNode} on the SQLite node`],
    ['time to hold them all (enrollment)', `${seconds(holdMs)} s`, `${seconds(singleHoldMs)} s`],
    ['fleet list online, per node', fleetOnline.join(' / '), String(singleOnline)],
    ['open-files limit per node', openFiles.join(' / '), ''],
    [
      'metrics samples ingested/s',
      `${clusterMetrics.samplesPerSec} (${clusterMetrics.samples} rows, ${clusterMetrics.seconds} s)`,
      `${singleMetrics.samplesPerSec} (${singleMetrics.samples} rows, ${singleMetrics.seconds} s)`,
    ],
    ['metrics batches stored (= distinct (agent, seq))', String(clusterMetrics.batches), String(singleMetrics.batches)],
    ['shell echo p50 / p95, same node (B)', `${echo.same.p50} / ${echo.same.p95} ms`, ''],
    ['shell echo p50 / p95, across nodes (A→B)', `${echo.cross.p50} / ${echo.cross.p95} ms`, ''],
    [`failover: ${victim.name}'s agents held by the others`, `${seconds(heldMs)} s`, ''],
    [`failover: its ${lost.length} leases taken over`, `${seconds(leasesMs)} s`, ''],
    ['failover: fleet list online after', `${onlineAfter} of ${agents}`, ''],
    [
      // Acks still on their way when the phase ends are missing from `acked`, never from `stored`.
      'failover: events sent / in flight at the kill / acked / stored / distinct (agent, seq)',
      `${events.sent} / ${events.dropped} / ${events.acked} / ${events.stored} / ${events.distinct}`,
      events.stored === events.sent - events.dropped && events.distinct === events.stored
        ? 'every event not in flight at the kill stored, once'
        : 'MISMATCH',
    ],
  ];
  if (atCapacity) rows.push(...heldRows(atCapacity));
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 12));
  process.stdout.write(`${'figure'.padEnd(w[0]!)}  ${'cluster (PostgreSQL)'.padEnd(w[1]!)}  single (SQLite)\n`);
  for (const r of rows) process.stdout.write(`${r[0].padEnd(w[0]!)}  ${r[1].padEnd(w[1]!)}  ${r[2]}\n`);
  const machine = { cores: cpus().length, load1: `${load0.toFixed(1)}→${loadavg()[0]!.toFixed(1)}` };
  process.stdout.write(
    `${JSON.stringify({
      bench: 'cluster',
      sizes: { agents, perNode, batches: BATCHES, values: VALUES, rounds: ROUNDS },
      machine,
      held: { sockets, fleetOnline, holdMs: Math.round(holdMs), singleHoldMs: Math.round(singleHoldMs), openFiles },
      metrics: { cluster: clusterMetrics, single: singleMetrics },
      echo,
      failover: {
        victim: victim.name,
        leases: lost.length,
        heldMs: Math.round(heldMs),
        leasesMs: Math.round(leasesMs),
        onlineAfter,
        events,
      },
      capacity: atCapacity ?? null,
    })}\n`,
  );
} finally {
  for (const step of cleanup.reverse()) await step().catch((err: unknown) => log(`cleanup: ${err}`));
  rmSync(dir, { recursive: true, force: true });
}
