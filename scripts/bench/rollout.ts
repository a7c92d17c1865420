/**
 * `pnpm bench:rollout [--agents 5000] [--downloaders 500] [--size-mb 100]` — one collector process, simulated agents
 * (own keys, real WebSockets over TLS, in child processes: the agents bench's simulator) and a real signed release.
 * It measures:
 *   1. time to command every agent: from the API call to the last agent receiving its command, for a job to the whole
 *      fleet (`job.run`) and for a rollout of one wave to the whole fleet (`update.assign`);
 *   2. while `downloaders` agents download the release executable (random bytes of `size-mb`) at once from the
 *      collector: MB/s served, collector RSS before/peak/after (sampled from /proc every 200 ms), and event-loop lag
 *      (p99 and max per 1 s window, from the collector's /metrics).
 * Prints a readable table; the very last line is one JSON object with every figure.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { initReleaseKeys, releaseTargetPath, signRelease } from '@outpost/shared';
import { enrollmentToken, repoRoot as root, startCollectorProcess } from './collector-process.js';

const { values: flags } = parseArgs({
  options: {
    agents: { type: 'string', default: '5000' },
    downloaders: { type: 'string', default: '500' },
    'size-mb': { type: 'string', default: '100' },
    'per-process': { type: 'string', default: '2500' },
  },
});
const positive = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`--${name}: expected a whole number above 0, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
};
const agents = positive('agents', flags.agents);
const downloaders = Math.min(agents, positive('downloaders', flags.downloaders));
const sizeMB = positive('size-mb', flags['size-mb']);
const perProcess = positive('per-process', flags['per-process']);
const VERSION = '9.0.0';
// A full-size download phase on a loaded 2-core machine runs for tens of minutes.
const replyTimeoutMs = 90 * 60_000;

type Reply = { ok: boolean; error?: string } & Record<string, number>;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** The collector's loop lag over the window since the previous scrape (the scrape resets it). */
async function lag(admin: ApiTarget): Promise<{ p99: number; max: number }> {
  const text = await apiCall<string>(admin, 'GET', '/metrics');
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return { p99: read('outpost_event_loop_lag_p99_seconds'), max: read('outpost_event_loop_lag_max_seconds') };
}

/** The next reply of a simulator; rejects, naming it, if it exits or stays silent too long. */
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
const ask = (children: ChildProcess[], cmd: object | ((i: number) => object)) =>
  Promise.all(
    children.map((c, i) => replyOf(c, `simulator ${i}`, () => c.send(typeof cmd === 'function' ? cmd(i) : cmd))),
  );
const sum = (rs: Reply[], k: string) => rs.reduce((n, r) => n + (r[k] ?? 0), 0);

/** Writes `sizeMB` of random bytes as the linux-x64 executable, signs it as VERSION, publishes it with the CLI. */
async function publishRelease(dir: string, c: Awaited<ReturnType<typeof startCollectorProcess>>) {
  const keys = join(dir, 'keys');
  const packages = join(dir, 'packages');
  mkdirSync(packages);
  const fd = openSync(join(packages, 'outpost-agent-linux-x64'), 'w', 0o755);
  for (let i = 0; i < sizeMB; i++) writeSync(fd, randomBytes(2 ** 20));
  closeSync(fd);
  initReleaseKeys(keys);
  signRelease({ keysDir: keys, packagesDir: packages, version: VERSION });
  const t0 = performance.now();
  const cli = spawn(
    process.execPath,
    [
      join(root, 'collector/bin/outpost.js'),
      '--server',
      c.url,
      '--token',
      c.admin.token!,
      ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
      'releases',
      'publish',
      keys,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OUTPOST_CLI_CONFIG: join(dir, 'cli.json') } },
  );
  let out = '';
  cli.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((r) => cli.once('exit', r));
  if (code !== 0) throw new Error(`outpost releases publish failed (${code}): ${out}`);
  return { publishMs: performance.now() - t0, path: releaseTargetPath('linux-x64', VERSION) };
}

type Collector = Awaited<ReturnType<typeof startCollectorProcess>>;

/** Forks the simulator processes (`perProcess` agents each) and waits for each to be ready. */
async function startSimulators(collector: Collector, token: string, children: ChildProcess[]): Promise<number> {
  const procs = Math.ceil(agents / perProcess);
  for (let p = 0; p < procs; p++) {
    const n = Math.min(perProcess, agents - p * perProcess);
    const child = fork(join(root, 'scripts/bench/sim-agents.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        BENCH_AGENT_URL: collector.url.replace(/^http/, 'ws'),
        BENCH_TOKEN: token,
        BENCH_COUNT: String(n),
        BENCH_BASE: String(p * perProcess),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    await replyOf(child, `simulator ${p} (start)`);
  }
  return procs;
}

/** 1a. A job to the whole fleet: one API call, then the last agent receiving job.run. */
async function jobToFleet(collector: Collector, children: ChildProcess[]) {
  const clientId = (await apiCall<{ clients: { id: string }[] }>(collector.admin, 'GET', '/api/v1/clients')).clients[0]!
    .id;
  const jobWait = ask(children, { op: 'received', type: 'job.run', timeoutMs: 300_000 });
  const jobT0 = Date.now();
  const job = await apiCall<{ targets: unknown[] }>(collector.admin, 'POST', '/api/v1/jobs', {
    spec: { kind: 'patch', scope: 'security' },
    target: { clientId },
  });
  const jobApiMs = Date.now() - jobT0;
  const jobReplies = await jobWait;
  const jobAllMs = Math.max(...jobReplies.map((r) => r.last!)) - jobT0;
  const jobReceived = sum(jobReplies, 'received');
  process.stderr.write(`  job to ${job.targets.length}: ${jobReceived} received, last after ${jobAllMs} ms\n`);
  return { jobTargets: job.targets.length, jobReceived, jobApiMs, jobAllReceivedMs: jobAllMs };
}

/** 1b. A rollout of one wave over the whole fleet: the driver's next tick assigns every agent. */
async function rolloutToFleet(collector: Collector, children: ChildProcess[]) {
  const assignWait = ask(children, { op: 'received', type: 'update.assign', timeoutMs: 300_000 });
  const roT0 = Date.now();
  const rollout = await apiCall<{ id: string }>(collector.admin, 'POST', '/api/v1/rollouts', {
    version: VERSION,
    target: {},
    canary: 0,
    waves: [100],
    maxConcurrent: 10_000,
    jitterSec: 0,
    bakeSec: 0,
    deadlineSec: 3600,
  });
  const assignReplies = await assignWait;
  const assignAllMs = Math.max(...assignReplies.map((r) => r.last!)) - roT0;
  const assignReceived = sum(assignReplies, 'received');
  process.stderr.write(`  rollout: ${assignReceived} update.assign received, last after ${assignAllMs} ms\n`);
  // The simulated agents never report back: stop the rollout before its deadlines count them failed.
  await apiCall(collector.admin, 'POST', `/api/v1/rollouts/${rollout.id}/abort`, {});
  return { assignReceived, assignAllReceivedMs: assignAllMs };
}

/** 2. Downloaders fetch the release at once; RSS and loop lag sampled meanwhile. */
async function downloadStorm(collector: Collector, children: ChildProcess[], procs: number, releasePath: string) {
  const pid = collector.child.pid!;
  await new Promise((r) => setTimeout(r, 2000)); // let the rollout's writes and GC settle before "before"
  const rssBefore = rssOf(pid);
  await lag(collector.admin); // reset the lag window
  let rssPeak = rssBefore;
  const lags: { p99: number; max: number }[] = [];
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssOf(pid));
  }, 200);
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      await new Promise((r) => setTimeout(r, 1000)); // one lag window per second
      if (scraping) lags.push(await lag(collector.admin));
    }
  })();
  const url = `${collector.url}/v1/updates/targets/${releasePath}`;
  const share = (i: number) => Math.floor(downloaders / procs) + (i < downloaders % procs ? 1 : 0);
  process.stderr.write(`${downloaders} agents download ${sizeMB} MB at once…\n`);
  const dlT0 = performance.now();
  const dl = await ask(children, (i) => ({ op: 'download', url, count: share(i) }));
  const dlMs = performance.now() - dlT0;
  scraping = false;
  await scraper;
  clearInterval(rssTimer);
  lags.push(await lag(collector.admin));
  await new Promise((r) => setTimeout(r, 3000)); // "after": once the sockets are closed and buffers freed
  const rssAfter = rssOf(pid);
  const bytes = sum(dl, 'bytes');
  const p99s = lags.map((l) => l.p99).sort((a, b) => a - b);
  return {
    downloadsDone: sum(dl, 'done'),
    downloadsFailed: sum(dl, 'failed'),
    downloadSeconds: Math.round(dlMs / 100) / 10,
    servedMBps: Math.round(bytes / 2 ** 20 / (dlMs / 1000)),
    rssBeforeMB: mb(rssBefore),
    rssPeakMB: mb(rssPeak),
    rssAfterMB: mb(rssAfter),
    lagP99MedianMs: Math.round((p99s[Math.floor(p99s.length / 2)] ?? Number.NaN) * 10) / 10,
    lagP99WorstMs: Math.round((p99s.at(-1) ?? Number.NaN) * 10) / 10,
    lagMaxMs: Math.round(Math.max(...lags.map((l) => l.max)) * 10) / 10,
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-rollout-'));
  const collector = await startCollectorProcess(dir, { limits: { maxAgents: agents + 1000 } }, [
    '--max-old-space-size=2048',
  ]);
  const children: ChildProcess[] = [];
  try {
    const token = await enrollmentToken(collector.admin, agents);
    const procs = await startSimulators(collector, token, children);
    process.stderr.write(`enrolling ${agents} simulated agents in ${procs} process(es)…\n`);
    const enrolled = await ask(children, { op: 'enroll' });
    const connected = sum(enrolled, 'connected');
    process.stderr.write(`  ${connected} connected\n`);
    const job = await jobToFleet(collector, children);
    // The release the rollout assigns and the downloaders fetch.
    process.stderr.write(`signing and publishing a ${sizeMB} MB release…\n`);
    const release = await publishRelease(dir, collector);
    process.stderr.write(`  published in ${Math.round(release.publishMs)} ms\n`);
    const assign = await rolloutToFleet(collector, children);
    const storm = await downloadStorm(collector, children, procs, release.path);
    return {
      agents,
      connected,
      ...job,
      ...assign,
      releaseMB: sizeMB,
      downloaders,
      ...storm,
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    };
  } finally {
    for (const c of children)
      if (c.connected) c.send({ op: 'exit' });
      else c.kill('SIGKILL');
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const r = await main();
const rows: [string, string][] = [
  ['simulated agents connected', `${r.connected} / ${r.agents}`],
  ['job to every agent: API answered', `${r.jobApiMs} ms (${r.jobTargets} targets)`],
  ['job to every agent: last job.run received', `${r.jobAllReceivedMs} ms (${r.jobReceived} agents)`],
  ['rollout, one wave: last update.assign received', `${r.assignAllReceivedMs} ms (${r.assignReceived} agents)`],
  [
    `${r.downloaders} downloads of ${r.releaseMB} MB at once`,
    `${r.downloadSeconds} s, ${r.downloadsDone} done, ${r.downloadsFailed} failed`,
  ],
  ['served', `${r.servedMBps} MB/s`],
  ['collector RSS before / peak / after', `${r.rssBeforeMB} / ${r.rssPeakMB} / ${r.rssAfterMB} MB`],
  ['event-loop lag p99 per 1 s (median / worst)', `${r.lagP99MedianMs} / ${r.lagP99WorstMs} ms`],
  ['event-loop lag max', `${r.lagMaxMs} ms`],
  ['load average (1, 5, 15 min)', r.loadAverage.join(', ')],
];
const w = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
process.stdout.write(`${JSON.stringify({ bench: 'rollout', ...r })}\n`);
