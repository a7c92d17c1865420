/**
 * `pnpm bench:agents [counts…]` — simulated agents (own keys, real WebSockets over TLS, in child processes) against
 * one collector process. For each fleet size it prints: agents connected, enrollments/s, handshakes/s on a mass
 * reconnect, stream messages acknowledged per second in a burst, and in a steady phase with heartbeats every 30 s:
 * collector RSS and event-loop lag p99. The last line is one JSON object with every figure.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiTarget, apiCall, checkSettings } from '@outpost/collector';
import { type CollectorProcess, enrollmentToken, startCollectorProcess } from './collector-process.js';
import { cpuSeconds } from './proc-cpu.js';
import { ephemeralPorts, openFilesLimit, sourceAddress } from './sim-connect.js';
import { forkSimulator, type Reply, simulatorReply } from './sim-fleet.js';

const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const fleets = counts.length ? counts : [1000, 5000, 15000];
const perProcess = 4000;
const steadySeconds = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
/** The collector runs with its shipped limits (what a fleet meets), printed with the figures. */
const limits = checkSettings({ dataDir: '/unused' }).limits;
/** A simulator's connection phase answers with what it has after this (sim-agents.ts), naming what is missing. */
const phaseTimeoutMs = Number(process.env.BENCH_PHASE_TIMEOUT_MS ?? 30 * 60_000);
/** A simulator process that has not answered a command in this long has failed (the bench ends, saying so). */
const replyTimeoutMs = Number(process.env.BENCH_REPLY_TIMEOUT_MS ?? phaseTimeoutMs + 2 * 60_000);
/** Each simulator dials from its own loopback address (127.0.0.2…); BENCH_SPREAD=0 dials all from 127.0.0.1. */
const spread = process.env.BENCH_SPREAD !== '0';
/** Ephemeral ports per source address towards the collector's one port. */
const portsPerSource = ephemeralPorts(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function startCollector(dir: string, maxAgents: number) {
  const nodeArgs = [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--max-old-space-size=2048'];
  return startCollectorProcess(dir, { limits: { maxAgents } }, nodeArgs);
}

async function scrape(admin: ApiTarget): Promise<Record<string, number>> {
  const text = await apiCall<string>(admin, 'GET', '/metrics');
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    lagMs: read('outpost_event_loop_lag_p99_seconds') * 1000,
    heapMB: read('outpost_process_heap_used_bytes') / 2 ** 20,
    externalMB: read('outpost_process_external_bytes') / 2 ** 20,
    connected: read('outpost_agents_connected'),
    handshakes: read('outpost_agent_handshakes_total'),
  };
}

/** A phase's replies, and the collector's CPU time in it: per operation, and as a share of one core. */
interface Phase {
  replies: Reply[];
  cpuMsPer(ops: number): number;
  cpuSharePct: number;
}

/**
 * Runs one phase on every simulator. The collector's CPU time tells a busy collector (near 100 % of a core) from a
 * starved one (the machine's other work holding the cores), which a wall-clock rate alone cannot.
 */
async function ask(
  children: ChildProcess[],
  collector: CollectorProcess,
  cmd: { op: string } & Record<string, unknown>,
) {
  const pid = collector.child.pid!;
  const t0 = performance.now();
  const cpu0 = cpuSeconds(pid);
  const simsCpu = () => children.reduce((n, c) => n + (c.pid && c.exitCode === null ? cpuSeconds(c.pid) : 0), 0);
  const sims0 = simsCpu();
  const usage = () => {
    const cpu = cpuSeconds(pid) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    const share = (s: number) => Math.round((s / wall) * 100);
    return { cpu, wall, pct: share(cpu), simsPct: share(simsCpu() - sims0), load: loadavg()[0]!.toFixed(1) };
  };
  // A long phase says how far it got every 30 s: a slow fleet is never mistaken for a hung one.
  const ticker = setInterval(() => {
    const u = usage();
    scrape(collector.admin).then(
      (m) =>
        process.stderr.write(
          `    ${cmd.op} at ${Math.round(u.wall)} s: ${m.connected} connected, ${m.handshakes} handshakes; CPU % of a core: collector ${u.pct}, simulators ${u.simsPct}; load ${u.load}\n`,
        ),
      (err: unknown) => process.stderr.write(`    ${cmd.op} at ${Math.round(u.wall)} s: /metrics failed: ${err}\n`),
    );
  }, 30_000);
  const replies = await askAll(children, cmd).finally(() => clearInterval(ticker));
  const u = usage();
  process.stderr.write(
    `  ${cmd.op}: ${Math.round(u.wall * 1000)} ms, collector CPU ${u.cpu.toFixed(1)} s (${u.pct} % of a core), simulators ${u.simsPct} %, load ${u.load} ${JSON.stringify(replies[0] ?? {})}\n`,
  );
  return {
    replies,
    cpuSharePct: u.pct,
    cpuMsPer: (ops: number) => Math.round((u.cpu * 1000 * 10) / ops) / 10,
  } satisfies Phase;
}

function askAll(children: ChildProcess[], cmd: object): Promise<Reply[]> {
  return Promise.all(children.map((c, i) => replyOf(c, `simulator ${i}`, () => c.send(cmd))));
}

function replyOf(c: ChildProcess, name: string, send?: () => void): Promise<Reply> {
  return simulatorReply(c, name, replyTimeoutMs, send);
}
const num = (r: Reply, k: string) => (typeof r[k] === 'number' ? r[k] : 0);
const sum = (rs: Reply[], k: string) => rs.reduce((n, r) => n + num(r, k), 0);
const max = (rs: Reply[], k: string) => Math.max(...rs.map((r) => num(r, k)));

/** Ends the bench when a phase ended short in any simulator, naming each one and what it misses. */
function requireComplete(phase: string, replies: Reply[]): void {
  const short = replies.flatMap((r, i) => (r.missing ? [`simulator ${i} (${sourceOf(i)}): ${r.missing}`] : []));
  if (short.length) throw new Error(`${phase} ended short:\n  ${short.join('\n  ')}`);
}
const sourceOf = (i: number) => (spread ? sourceAddress(i) : 'default source address');

/**
 * The collector's open-files limit must hold every agent's socket (plus its database, logs and listeners): checked
 * before the fleet starts, since past it `accept` fails with EMFILE and agents wait on a queue nobody drains.
 */
function checkOpenFiles(pid: number, agents: number): number {
  const { soft } = openFilesLimit(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  if (agents + 512 > soft)
    throw new Error(`the collector may open ${soft} files, too few for ${agents} agents: raise \`ulimit -n\``);
  return soft;
}

/** Forks the simulator processes of a fleet, each with its own source address, once each has made its keys. */
async function startSimulators(agents: number, url: string, token: string): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  // The reconnect opens every socket again while the enrollment's wait in TIME_WAIT (60 s) on the same ports.
  if (!spread && 2 * agents > portsPerSource)
    process.stderr.write(`  warning: 2 × ${agents} sockets from one source address of ${portsPerSource} ports\n`);
  for (let p = 0; p < Math.ceil(agents / perProcess); p++) {
    const n = Math.min(perProcess, agents - p * perProcess);
    const child = forkSimulator({
      url,
      token,
      count: n,
      base: p * perProcess,
      source: spread ? sourceAddress(p) : '',
      phaseTimeoutMs,
    });
    children.push(child);
    await replyOf(child, `simulator ${p} of the ${agents} fleet (start)`).catch((err: unknown) => {
      for (const c of children) c.kill('SIGKILL');
      throw err;
    });
  }
  return children;
}

async function run(agents: number) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
  const collector = await startCollector(dir, agents + 1000);
  const token = { token: await enrollmentToken(collector.admin, agents) };
  let children: ChildProcess[] = [];
  try {
    const openFiles = checkOpenFiles(collector.child.pid!, agents);
    children = await startSimulators(agents, collector.url, token.token);
    const pid = collector.child.pid!;
    const load0 = loadavg()[0]!;
    const enroll = await ask(children, collector, { op: 'enroll' });
    requireComplete('enrollment', enroll.replies);
    const enrolled = sum(enroll.replies, 'connected');
    const enrollPerSec = enrolled / (max(enroll.replies, 'ms') / 1000);
    await ask(children, collector, { op: 'disconnect' });
    await new Promise((r) => setTimeout(r, 1000)); // lets the collector see every close before the mass reconnect
    const reconnect = await ask(children, collector, { op: 'connect' });
    requireComplete('reconnect', reconnect.replies);
    const connected = sum(reconnect.replies, 'connected');
    const handshakesPerSec = connected / (max(reconnect.replies, 'ms') / 1000);
    const burst = await ask(children, collector, { op: 'burst', events: 20 });
    requireComplete('burst', burst.replies);
    const ackedPerSec = sum(burst.replies, 'acked') / (max(burst.replies, 'ms') / 1000);
    await scrape(collector.admin); // reset the lag window before the steady phase
    const steady = await ask(children, collector, { op: 'steady', seconds: steadySeconds, intervalMs: 30_000 });
    const figures = await scrape(collector.admin);
    const rss = rssOf(pid);
    return {
      agents,
      connected,
      enrollPerSec: Math.round(enrollPerSec),
      enrollCpuMs: enroll.cpuMsPer(enrolled),
      enrollCpuPct: enroll.cpuSharePct,
      handshakesPerSec: Math.round(handshakesPerSec),
      handshakeCpuMs: reconnect.cpuMsPer(connected),
      handshakeCpuPct: reconnect.cpuSharePct,
      burstAckedPerSec: Math.round(ackedPerSec),
      steadyAckedPerSec: Math.round(sum(steady.replies, 'acked') / steadySeconds),
      steadyOpen: sum(steady.replies, 'open'),
      steadyCpuPct: steady.cpuSharePct,
      collectorRssMB: Math.round(rss / 1024 / 1024),
      heapUsedMB: Math.round(figures.heapMB!),
      externalMB: Math.round(figures.externalMB!),
      eventLoopLagP99Ms: Math.round(figures.lagMs! * 10) / 10,
      collectorOpenFiles: openFiles,
      sources: spread ? children.length : 1,
      load1: `${load0.toFixed(1)}→${loadavg()[0]!.toFixed(1)}`,
    };
  } finally {
    for (const c of children)
      if (c.connected) c.send({ op: 'exit' });
      else c.kill('SIGKILL');
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Awaited<ReturnType<typeof run>>[] = [];
for (const n of fleets) {
  process.stderr.write(`running ${n} agents…\n`);
  const result = await run(n);
  process.stderr.write(`  ${JSON.stringify(result)}\n`);
  results.push(result);
}
const cols = Object.keys(results[0]!) as (keyof (typeof results)[number])[];
const widths = cols.map((c) => Math.max(c.length, ...results.map((r) => String(r[c]).length)));
process.stdout.write(`${cols.map((c, i) => c.padStart(widths[i]!)).join('  ')}\n`);
for (const r of results) process.stdout.write(`${cols.map((c, i) => String(r[c]).padStart(widths[i]!)).join('  ')}\n`);
process.stdout.write(
  `limits (shipped defaults): ${limits.agentMessagesPerSecond} msg/s per agent, burst ${limits.agentMessageBurst}, ${limits.agentFramesPerSecond} binary frames/s\n`,
);
process.stdout.write(
  `${JSON.stringify({ bench: 'agents', steadySeconds, heartbeatIntervalMs: 30_000, limits, results })}\n`,
);
