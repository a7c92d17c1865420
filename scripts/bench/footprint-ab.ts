/**
 * `tsx scripts/bench/footprint-ab.ts LABEL=EXE[,VAR=VALUE…] …` — agents side by side on one collector, to compare
 * one change at a time (docs/0009-packaging.md, "Footprint"): every variant is an executable and the environment it
 * runs with (e.g. `arena2=dist/a,MALLOC_ARENA_MAX=2`, `flags=dist/a,NODE_OPTIONS=--v8-pool-size=1`), each enrolled and
 * `run` connected with metrics on, all under the same machine load. Every 15 s it reads each process's
 * `/proc/PID/smaps_rollup` (RSS, anonymous, file-backed) and thread count; after BENCH_AB_SECONDS (default 360) it
 * prints, per variant, the medians over the second half of the window (after the first inventory and metrics rounds
 * and V8's heaps have settled), the max, the CPU ticks of the whole run (start included) and the time to online.
 * BENCH_AB_LOGDIR=DIR keeps each agent's output in DIR/LABEL.log. Each agent runs from its own copy of its executable.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiCall } from '@outpost/collector';
import { enrollmentToken, startCollectorProcess } from './collector-process.js';

const seconds = Number(process.env.BENCH_AB_SECONDS ?? 360);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

interface Variant {
  label: string;
  exe: string;
  env: Record<string, string>;
}

function parseVariant(arg: string): Variant {
  const eq = arg.indexOf('=');
  if (eq < 1) throw new Error(`${arg}: expected LABEL=EXE[,VAR=VALUE…]`);
  const [exe, ...vars] = arg.slice(eq + 1).split(',');
  const env: Record<string, string> = {};
  for (const v of vars) {
    const i = v.indexOf('=');
    env[v.slice(0, i)] = v.slice(i + 1);
  }
  return { label: arg.slice(0, eq), exe: resolve(exe ?? ''), env };
}

/** RSS, anonymous and file-backed kB from smaps_rollup; threads and CPU ticks from status and stat. */
function sample(pid: number): { rss: number; anon: number; file: number; threads: number; ticks: number } {
  const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(roll)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return {
    rss: kb('Rss'),
    anon: kb('Anonymous'),
    file: kb('Rss') - kb('Anonymous'),
    threads,
    ticks: Number(f[11]) + Number(f[12]),
  };
}

const variants = process.argv.slice(2).map(parseVariant);
if (variants.length === 0) throw new Error('usage: footprint-ab.ts LABEL=EXE[,VAR=VALUE…] …');
const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-ab-'));
const collector = await startCollectorProcess(dir);
const children: ChildProcess[] = [];
try {
  const token = await enrollmentToken(collector.admin, variants.length);
  const running = await Promise.all(
    variants.map(async (v, i) => {
      const config = join(dir, `agent${i}`, 'agent.json');
      mkdirSync(join(dir, `agent${i}`), { recursive: true });
      // Each agent runs its own copy, as on a host with one agent: the kernel leaves pages that several processes
      // map resident (madvise(MADV_PAGEOUT), agent/src/runtime/memory-release.ts), so a shared file would hide that.
      const exe = join(dir, `agent${i}`, 'outpost-agent');
      copyFileSync(v.exe, exe);
      const env = { ...process.env, OUTPOST_NATIVE_CACHE: join(dir, `native${i}`), ...v.env };
      const fp = collector.fingerprint ? ['--ca-fingerprint', collector.fingerprint] : [];
      const args = ['--config', config, 'enroll', '--server', collector.url, '--token', token, ...fp];
      const enroll = spawnSync(exe, args, { encoding: 'utf8', env });
      if (enroll.status !== 0) throw new Error(`${v.label}: enroll failed: ${enroll.stdout}${enroll.stderr}`);
      const agentId = (JSON.parse(readFileSync(config, 'utf8')) as { agentId: string }).agentId;
      const t0 = performance.now();
      // BENCH_AB_LOGDIR keeps each agent's stdout and stderr (e.g. with NODE_OPTIONS=--trace-gc) as LABEL.log there.
      const logDir = process.env.BENCH_AB_LOGDIR;
      const out = logDir ? openSync(join(logDir, `${v.label}.log`), 'w') : 'ignore';
      const child = spawn(exe, ['--config', config, '--log-level', 'warn', 'run'], {
        env,
        stdio: ['ignore', out, out],
      });
      children.push(child);
      for (const until = Date.now() + 60_000; Date.now() < until; await sleep(50)) {
        const a = await apiCall<{ status: string }>(collector.admin, 'GET', `/api/v1/agents/${agentId}`);
        if (a.status === 'online') return { v, child, onlineMs: performance.now() - t0 };
      }
      throw new Error(`${v.label}: not online within 60 s`);
    }),
  );
  const samples = running.map(() => [] as ReturnType<typeof sample>[]);
  for (let s = 0; s < seconds; s += 15) {
    await sleep(15_000); // the sampling period
    for (const [i, r] of running.entries()) samples[i]!.push(sample(r.child.pid!));
  }
  process.stdout.write(`footprint A/B, ${seconds} s, medians over the second half (MB), load ${loadavg()}\n`);
  running.forEach((r, i) => {
    const all = samples[i]!;
    const late = all.slice(Math.floor(all.length / 2));
    const m = (k: 'rss' | 'anon' | 'file' | 'threads') => median(late.map((x) => x[k]));
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    process.stdout.write(
      `  ${r.v.label.padEnd(12)} rss ${mb(m('rss'))} (max ${mb(Math.max(...all.map((x) => x.rss)))})` +
        `  anon ${mb(m('anon'))}  file ${mb(m('file'))}  threads ${m('threads')}` +
        `  cpu ticks ${all.at(-1)!.ticks}  online ${r.onlineMs.toFixed(0)} ms\n`,
    );
  });
} finally {
  for (const c of children) c.kill('SIGTERM');
  await collector.stop();
  rmSync(dir, { recursive: true, force: true });
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
