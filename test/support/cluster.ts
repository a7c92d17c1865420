/**
 * A deployment of several built `outpost serve` nodes for end-to-end tests (issue 20, docs/0017-nodes.md): one
 * PostgreSQL database (which holds what the deployment shares: TLS identity, session-ticket key, releases,
 * recordings), one nats-server, a data directory per node, and a round-robin TCP balancer on loopback in front of
 * them, as agents would reach a real deployment.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { PostgresSql } from '../../collector/src/db/index.js';
import { bootstrap, freePort, type ServeInfo, startCollectorProcess } from './process-collector.js';

/** One node of the deployment, with the initial admin's API target pointed at it. */
export interface ClusterNode {
  name: string;
  info: ServeInfo;
  admin: ApiTarget;
}

/** A TCP balancer: each new connection goes to the next backend in turn, skipping one that refuses it. */
export interface Balancer {
  port: number;
  /** `https://127.0.0.1:<port>` (the nodes serve TLS; the balancer passes the bytes through). */
  url: string;
  close(): Promise<void>;
}

/** Starts a round-robin balancer over `ports` (loopback); a connection a backend refuses is tried on the next one. */
export async function startBalancer(ports: readonly number[]): Promise<Balancer> {
  let next = 0;
  const open = new Set<Socket>();
  const dial = (client: Socket, tries: number) => {
    const port = ports[next++ % ports.length]!;
    const upstream = tcpConnect(port, '127.0.0.1');
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      open.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      // Refused before it connected (a dead node): the next backend. Once connected, the close below ends both.
      if (!connected && tries > 1) dial(client, tries - 1);
      else if (!connected) client.destroy();
    });
    upstream.once('close', () => {
      open.delete(upstream);
      if (connected) client.destroy();
    });
    client.once('close', () => upstream.destroy());
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    dial(client, ports.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

/** What every node of a deployment is started with. */
export interface DeploymentSettings {
  /** Where node configs and the nodes' data directories go. */
  dir: string;
  pgUrl: string;
  natsUrl: string;
  /** The NATS subject namespace of this deployment (one per test file). */
  deployment: string;
  names: readonly string[];
  /** Extra configuration sections for every node (e.g. `incidents`, `notifications`). */
  config?: Record<string, unknown>;
}

/** A running deployment: its nodes (the first one migrated the database and made the admin) and what boot made. */
export interface Deployment {
  nodes: ClusterNode[];
  boot: Awaited<ReturnType<typeof bootstrap>>;
  /** A small pool on the deployment's database, for what a test reads there (leases, events, the outbox). */
  db: PostgresSql;
}

/**
 * Starts one built `outpost serve` node of a deployment: its configuration file (`config` plus the `cluster` section
 * naming it) written beside the others in `dir`, on a free port, with `dataDir` as its data directory.
 */
export async function startClusterNode(o: {
  dir: string;
  dataDir: string;
  name: string;
  natsUrl: string;
  deployment: string;
  config?: Record<string, unknown> | undefined;
  timeoutMs?: number;
}): Promise<ServeInfo> {
  const file = join(o.dir, `${o.name}.json`);
  const cluster = { natsUrl: o.natsUrl, nodeId: o.name, deployment: o.deployment };
  writeFileSync(file, JSON.stringify({ ...o.config, cluster }));
  return startCollectorProcess(o.dataDir, await freePort(), ['--config', file], o.timeoutMs ?? 90_000);
}

/**
 * Starts the nodes: the first alone (it migrates the database and makes the initial admin), the others together.
 * The first one also takes every lease on its first attempt (nobody else contends yet).
 */
export async function startDeployment(s: DeploymentSettings): Promise<Deployment> {
  // A data directory per node, as on separate hosts: on PostgreSQL what the deployment shares is in the database.
  const start = (name: string) =>
    startClusterNode({
      ...s,
      name,
      dataDir: join(s.dir, name),
      config: { ...s.config, storage: { url: s.pgUrl } },
      timeoutMs: 120_000,
    });
  const [first, ...rest] = s.names;
  const infos = [await start(first!)];
  // A node that fails to start must not leave the others running past the test.
  const others = await Promise.allSettled(rest.map(start));
  for (const r of others) if (r.status === 'fulfilled') infos.push(r.value);
  const failed = others.find((r) => r.status === 'rejected');
  if (failed) {
    for (const info of infos) await info.proc.kill('SIGKILL');
    throw failed.reason;
  }
  const boot = await bootstrap(infos[0]!, 1);
  const nodes = infos.map((info, i) => ({
    name: s.names[i]!,
    info,
    admin: { ...boot.admin, server: info.apiUrl, caFingerprint: info.fingerprint },
  }));
  return { nodes, boot, db: new PostgresSql(s.pgUrl, { max: 2 }) };
}

/** Agents with a live socket on a node, from its /metrics. */
export async function connectedOn(admin: ApiTarget): Promise<number> {
  const text = await apiCall<string>(admin, 'GET', '/metrics');
  return Number(/^outpost_agents_connected (\d+)$/m.exec(text)?.[1]);
}

/** Every lease's holder, by lease name, from the `leases` table. */
export async function leaseHolders(db: PostgresSql): Promise<Map<string, string>> {
  const rows = await db.all<{ name: string; holder: string }>('SELECT name, holder FROM leases');
  return new Map(rows.map((r) => [r.name, r.holder]));
}

/** Polls `check` every 50 ms until it holds; throws, naming `what`, past `timeoutMs`. Resolves with the elapsed ms. */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50)); // polling interval
  }
  return performance.now() - t0;
}
