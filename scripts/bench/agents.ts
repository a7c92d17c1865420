/**
 * `pnpm bench:agents [counts…]` — simulated agents (own keys, real WebSockets over TLS, in child processes) against
 * one collector process. For each fleet size it prints: agents connected, enrollments/s, handshakes/s on a mass
 * reconnect, stream messages acknowledged per second in a burst, and in a steady phase with heartbeats every 30 s:
 * collector RSS and event-loop lag p99. The last line is one JSON object with every figure.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiTarget, apiCall, checkSettings } from '@outpost/collector';
import { enrollmentToken, repoRoot as root, startCollectorProcess } from './collector-process.js';

const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const fleets = counts.length ? counts : [1000, 5000, 15000];
const perProcess = 4000;
const steadySeconds = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
/** The collector runs with its shipped limits (what a fleet meets), printed with the figures. */
const limits = checkSettings({ dataDir: '/unused' }).limits;
/** A simulator process that has not answered a command in this long has failed (the bench ends, saying so). */
const replyTimeoutMs = Number(process.env.BENCH_REPLY_TIMEOUT_MS ?? 10 * 60_000);

type Reply = { ok: boolean; error?: string } & Record<string, number>;

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
  };
}

async function ask(children: ChildProcess[], cmd: { op: string } & Record<string, unknown>): Promise<Reply[]> {
  const t0 = performance.now();
  const replies = await askAll(children, cmd);
  process.stderr.write(`  ${cmd.op}: ${Math.round(performance.now() - t0)} ms ${JSON.stringify(replies[0] ?? {})}\n`);
  return replies;
}

function askAll(children: ChildProcess[], cmd: object): Promise<Reply[]> {
  return Promise.all(children.map((c, i) => replyOf(c, `simulator ${i}`, () => c.send(cmd))));
}

/**
 * The next message of a simulator process; rejects, naming it, when it exits or stays silent past the timeout
 * (a bench that waits for ever on a dead child measures nothing).
 */
function replyOf(c: ChildProcess, name: string, send?: () => void): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('exit', onExit);
    };
    const onMessage = (m: Reply) => {
      done();
      if (m.ok) resolve(m);
      else reject(new Error(`${name}: ${m.error}`));
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`${name} (pid ${c.pid}) exited (${code ?? signal}) before answering`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name} (pid ${c.pid}) did not answer within ${replyTimeoutMs / 1000} s`));
    }, replyTimeoutMs);
    c.on('message', onMessage);
    c.once('exit', onExit);
    send?.();
  });
}
const sum = (rs: Reply[], k: string) => rs.reduce((n, r) => n + (r[k] ?? 0), 0);
const max = (rs: Reply[], k: string) => Math.max(...rs.map((r) => r[k] ?? 0));

async function run(agents: number) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
  const collector = await startCollector(dir, agents + 1000);
  const token = { token: await enrollmentToken(collector.admin, agents) };
  const procs = Math.ceil(agents / perProcess);
  const children: ChildProcess[] = [];
  try {
    for (let p = 0; p < procs; p++) {
      const n = Math.min(perProcess, agents - p * perProcess);
      const child = fork(join(root, 'scripts/bench/sim-agents.ts'), [], {
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          BENCH_AGENT_URL: collector.url.replace(/^http/, 'ws'),
          BENCH_TOKEN: token.token,
          BENCH_COUNT: String(n),
          BENCH_BASE: String(p * perProcess),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      await replyOf(child, `simulator ${p} of the ${agents} fleet (start)`);
    }
    const enroll = await ask(children, { op: 'enroll' });
    const enrolled = sum(enroll, 'connected');
    const enrollPerSec = enrolled / (max(enroll, 'ms') / 1000);
    await ask(children, { op: 'disconnect' });
    await new Promise((r) => setTimeout(r, 1000));
    const reconnect = await ask(children, { op: 'connect' });
    const connected = sum(reconnect, 'connected');
    const handshakesPerSec = connected / (max(reconnect, 'ms') / 1000);
    const burst = await ask(children, { op: 'burst', events: 20 });
    const ackedPerSec = sum(burst, 'acked') / (max(burst, 'ms') / 1000);
    await scrape(collector.admin); // reset the lag window before the steady phase
    const steady = await ask(children, { op: 'steady', seconds: steadySeconds, intervalMs: 30_000 });
    const figures = await scrape(collector.admin);
    const rss = rssOf(collector.child.pid!);
    return {
      agents,
      connected,
      enrollPerSec: Math.round(enrollPerSec),
      handshakesPerSec: Math.round(handshakesPerSec),
      burstAckedPerSec: Math.round(ackedPerSec),
      steadyAckedPerSec: Math.round(sum(steady, 'acked') / steadySeconds),
      steadyOpen: sum(steady, 'open'),
      collectorRssMB: Math.round(rss / 1024 / 1024),
      heapUsedMB: Math.round(figures.heapMB!),
      externalMB: Math.round(figures.externalMB!),
      eventLoopLagP99Ms: Math.round(figures.lagMs! * 10) / 10,
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
