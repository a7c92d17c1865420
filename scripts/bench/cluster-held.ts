/**
 * The cluster bench's capacity phase (`BENCH_HELD=1 pnpm bench:cluster`, issue 20's "agents held: 3 × the
 * single-node figure, limited by the per-process file limit"): fresh nodes, each spawned under the same open-files
 * limit (`prlimit --nofile=L:L`), offered more agents than that limit lets them hold — a single SQLite node alone,
 * then three PostgreSQL nodes on one bus, one simulator per node at once (the fleet spread evenly, as a round-robin
 * balancer would). Per node: agents held, refused (and with what), what stopped it (its capacity, from /metrics),
 * RSS and descriptors at capacity, and whether it still serves the agents it holds and its API.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { bootstrap, freePort, type ServeInfo, startCollectorProcess } from '../../test/support/process-collector.js';
import { sourceAddress } from './sim-connect.js';
import { forkSimulator, type Reply, simulatorReply } from './sim-fleet.js';

/** What the capacity phase is given by the bench: where to write, the bus and an empty database for its nodes. */
export interface HeldSetup {
  dir: string;
  natsUrl: string;
  pgUrl: string;
  /** The open-files limit of every node (soft and hard). */
  openFiles: number;
  /** Every node's `limits.helloTimeoutMs`. */
  helloTimeoutMs: number;
  phaseMs: number;
  log(line: string): void;
  /** Registers a step for the bench's cleanup. */
  cleanup(step: () => Promise<unknown>): void;
}

/** One node at capacity. */
export interface NodeAtCapacity {
  name: string;
  offered: number;
  held: number;
  capacity: number;
  refused: number;
  /** The simulator's failed handshakes by cause ("close 4503 ×128"). */
  failures: string;
  holdMs: number;
  rssMB: number;
  openDescriptors: number;
  /** The held agents' events acknowledged after capacity was reached (= held: it still serves them). */
  servedAcked: number;
  /** The fleet list's online count through this node's API at capacity. */
  fleetOnline: number;
  /** Its log's warnings about agents refused at capacity, and its lines naming EMFILE (the limit hit, not kept). */
  refusalWarnings: number;
  emfileLines: number;
}

interface Started {
  name: string;
  info: ServeInfo;
  admin: ApiTarget;
}

const metricOf = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
const rssMB = (pid: number) =>
  Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);

async function startNode(s: HeldSetup, name: string, settings: Record<string, unknown>, dataDir: string) {
  const config = join(s.dir, `held-${name}.json`);
  // The shipped limits.maxAgents (50,000): the file limit decides.
  writeFileSync(config, JSON.stringify({ ...settings, limits: { helloTimeoutMs: s.helloTimeoutMs } }));
  const info = await startCollectorProcess(dataDir, await freePort(), ['--config', config], s.phaseMs, s.openFiles);
  s.cleanup(() => info.proc.kill('SIGTERM'));
  return info;
}

const logFigures = (log: string) => ({
  refusalWarnings: log.match(/"code":"OUTPOST_E_UNAVAILABLE".*agent refused/g)?.length ?? 0,
  emfileLines: log.match(/EMFILE/g)?.length ?? 0,
});

/** Offers `offered` agents to each node at once (one simulator each); each node's figures at capacity. */
async function fill(s: HeldSetup, nodes: Started[], siteId: string, offered: number, first: number) {
  // A token per node: on PostgreSQL the enrollments on one token take turns on its row (the update of its uses).
  const tokens = await Promise.all(
    nodes.map(async (n) => {
      const body = { siteId, maxUses: offered, expiresInHours: 2 };
      return (await apiCall<{ token: string }>(n.admin, 'POST', '/api/v1/enrollment-tokens', body)).token;
    }),
  );
  const sims = nodes.map((n, i) => {
    const sim = forkSimulator({
      url: n.info.apiUrl,
      token: tokens[i]!,
      count: offered,
      base: (first + i) * offered,
      source: sourceAddress(first + i),
      phaseTimeoutMs: s.phaseMs,
    });
    s.cleanup(async () => (sim.connected ? sim.send({ op: 'exit' }) : sim.kill('SIGKILL')));
    return sim;
  });
  const ask = (i: number, cmd: { op: string } & Record<string, unknown>) =>
    simulatorReply(sims[i]!, `${nodes[i]!.name}'s simulator`, s.phaseMs + 60_000, () => sims[i]!.send(cmd), cmd.op);
  await Promise.all(sims.map((sim, i) => simulatorReply(sim, `${nodes[i]!.name}'s simulator (start)`, s.phaseMs)));
  const t0 = performance.now();
  const enrolled: (Reply & { doneMs: number })[] = await Promise.all(
    nodes.map(async (_, i) => ({ ...(await ask(i, { op: 'enroll' })), doneMs: performance.now() - t0 })),
  );
  const served = await Promise.all(nodes.map((_, i) => ask(i, { op: 'burst', events: 1 })));
  return Promise.all(
    nodes.map(async (n, i): Promise<NodeAtCapacity> => {
      const metrics = await apiCall<string>(n.admin, 'GET', '/metrics');
      const pid = n.info.proc.child.pid!;
      if (n.info.proc.child.exitCode !== null) throw new Error(`${n.name} exited at capacity`);
      return {
        name: n.name,
        offered,
        held: metricOf(metrics, 'outpost_agents_connected'),
        capacity: metricOf(metrics, 'outpost_agents_capacity'),
        refused: metricOf(metrics, 'outpost_agents_refused_full_total'),
        failures: String(enrolled[i]!.failures ?? ''),
        holdMs: Math.round(enrolled[i]!.doneMs),
        rssMB: rssMB(pid),
        openDescriptors: readdirSync(`/proc/${pid}/fd`).length,
        servedAcked: Number(served[i]!.acked),
        fleetOnline: (await apiCall<{ total: number }>(n.admin, 'GET', '/api/v1/agents?status=online&limit=1')).total,
        ...logFigures(`${n.info.proc.stdout()}${n.info.proc.stderr()}`),
      };
    }),
  );
}

/** The capacity phase: the single SQLite node alone, then the three-node cluster; each offered its limit in agents. */
export async function measureHeld(s: HeldSetup) {
  const offered = s.openFiles; // more than a node may hold: its capacity keeps a reserve of descriptors
  const singleInfo = await startNode(s, 'single', {}, join(s.dir, 'held-single'));
  const singleBoot = await bootstrap(singleInfo, 1);
  const single: Started = { name: 'single', info: singleInfo, admin: singleBoot.admin };
  s.log(`agents held: ${offered} offered to the SQLite node, open-files limit ${s.openFiles}…`);
  const [singleFigures] = await fill(s, [single], singleBoot.siteId, offered, 4);
  s.log(`  single node at capacity: ${JSON.stringify(singleFigures)}`);
  await singleInfo.proc.kill('SIGTERM'); // the cluster's phase has the machine without it

  const names = ['held-a', 'held-b', 'held-c'];
  const infos: ServeInfo[] = [];
  for (const name of names) {
    const cluster = { natsUrl: s.natsUrl, nodeId: name, deployment: 'held' };
    infos.push(await startNode(s, name, { storage: { url: s.pgUrl }, cluster }, join(s.dir, 'held-data')));
  }
  const boot = await bootstrap(infos[0]!, 1);
  const nodes = infos.map((info, i) => ({
    name: names[i]!,
    info,
    admin: { ...boot.admin, server: info.apiUrl, caFingerprint: info.fingerprint },
  }));
  s.log(`agents held: ${offered} offered to each of three nodes at once…`);
  const clusterFigures = await fill(s, nodes, boot.siteId, offered, 5);
  await Promise.all(infos.map((info) => info.proc.kill('SIGTERM'))); // the bench's other phases run without them
  const clusterHeld = clusterFigures.reduce((n, f) => n + f.held, 0);
  return {
    openFiles: s.openFiles,
    single: singleFigures!,
    cluster: clusterFigures,
    clusterHeld,
    clusterHoldMs: Math.max(...clusterFigures.map((f) => f.holdMs)),
    ratio: Math.round((clusterHeld / singleFigures!.held) * 100) / 100,
  };
}

export type HeldFigures = Awaited<ReturnType<typeof measureHeld>>;

/** The capacity phase's rows for the bench's table: figure, cluster, single. */
export function heldRows(h: HeldFigures): [string, string, string][] {
  const each = (f: (n: NodeAtCapacity) => string | number) => h.cluster.map(f).join(' / ');
  const s = h.single;
  return [
    [`at capacity (open files ${h.openFiles} per node): agents offered`, each((n) => n.offered), String(s.offered)],
    [
      'at capacity: agents held (= capacity)',
      `${h.clusterHeld} (${each((n) => n.held)}; capacity ${each((n) => n.capacity)}), ${h.ratio} × single`,
      `${s.held} (capacity ${s.capacity})`,
    ],
    ['at capacity: refused, by cause', each((n) => n.failures || 'none'), s.failures || 'none'],
    [
      'at capacity: time to hold them (all offered tried)',
      `${Math.round(h.clusterHoldMs / 100) / 10} s`,
      `${Math.round(s.holdMs / 100) / 10} s`,
    ],
    ['at capacity: RSS per node', each((n) => `${n.rssMB} MB`), `${s.rssMB} MB`],
    ['at capacity: open descriptors per node', each((n) => n.openDescriptors), String(s.openDescriptors)],
    ['at capacity: held agents served (events acked)', each((n) => n.servedAcked), String(s.servedAcked)],
    ['at capacity: fleet list online, per node', each((n) => n.fleetOnline), String(s.fleetOnline)],
    [
      'at capacity: log lines (refusal warnings, EMFILE)',
      each((n) => `${n.refusalWarnings}, ${n.emfileLines}`),
      `${s.refusalWarnings}, ${s.emfileLines}`,
    ],
  ];
}
