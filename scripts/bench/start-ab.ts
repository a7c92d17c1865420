/**
 * `tsx scripts/bench/start-ab.ts ROUNDS 'LABEL=CMD|ARG|…' …` — start times of several commands side by side
 * (docs/0009-packaging.md, "Fourth round"). Each round runs every command once plainly (wall time, stdout and
 * stderr piped, as a caller reading `--version` would) and once under `perf stat -e task-clock,page-faults` (CPU
 * time and minor faults; left out when `perf` is missing), one command after another, so all see the same machine
 * load. Prints min / median / p90 and each median as a ratio to the first command's: on a shared, loaded machine the
 * ratios are the figures to read, not the milliseconds. Arguments are split on `|`, e.g.
 * `'node=/path/node|--lite-mode|-p|0' 'agent=dist/packages/outpost-agent-linux-x64|--version'`.
 *
 * The page-fault count of a file depends on how its pages came into the page cache (a file just written by the
 * build faulted ~420 times less than a `cp` of it): copy every executable compared the same way (`cat a > b`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

interface Case {
  label: string;
  argv: [string, ...string[]];
  wall: number[];
  cpu: number[];
  faults: number[];
}

function parseCase(arg: string): Case {
  const eq = arg.indexOf('=');
  const argv = arg.slice(eq + 1).split('|');
  if (eq < 1 || !argv[0]) throw new Error(`${arg}: expected LABEL=CMD|ARG|…`);
  return { label: arg.slice(0, eq), argv: argv as [string, ...string[]], wall: [], cpu: [], faults: [] };
}

/** Runs a command to its end; a failure ends the bench (a start time of a command that failed means nothing). */
function run(argv: string[]): void {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

/** One counter from `perf stat -x,` output (value first, event name third). */
function counter(csv: string, event: string): number {
  const line = csv.split('\n').find((l) => l.split(',')[2]?.startsWith(event));
  return Number(line?.split(',')[0] ?? Number.NaN);
}

const quantile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;

function report(cases: Case[], load: [number, number]): void {
  const [base] = cases;
  if (!base) return;
  const ratio = (xs: number[], b: number[]) => (quantile(xs, 0.5) / quantile(b, 0.5)).toFixed(3);
  const ms = (x: number) => x.toFixed(1).padStart(7);
  console.log(`${base.wall.length} rounds, load ${load[0].toFixed(1)} -> ${load[1].toFixed(1)}`);
  console.log(`${'command'.padEnd(32)} wall min / median / p90 ms   ÷ | CPU min / median ms   ÷ | faults`);
  for (const c of cases) {
    const wall = `${ms(quantile(c.wall, 0))}${ms(quantile(c.wall, 0.5))}${ms(quantile(c.wall, 0.9))}`;
    const cpu = c.cpu.length ? `${ms(quantile(c.cpu, 0))}${ms(quantile(c.cpu, 0.5))}  ${ratio(c.cpu, base.cpu)}` : '-';
    const faults = c.faults.length ? quantile(c.faults, 0.5) : '-';
    console.log(`${c.label.padEnd(32)} ${wall}  ${ratio(c.wall, base.wall)} | ${cpu} | ${faults}`);
  }
}

const rounds = Number(process.argv[2]);
const cases = process.argv.slice(3).map(parseCase);
if (!Number.isInteger(rounds) || rounds < 1 || cases.length === 0) {
  console.error("usage: start-ab.ts ROUNDS 'LABEL=CMD|ARG|…' …");
  process.exit(2);
}
const perf = spawnSync('perf', ['--version']).status === 0;
if (!perf) console.error('perf not found: wall time only (apt-get install linux-perf)');
const dir = mkdtempSync(join(tmpdir(), 'start-ab-'));
const csv = join(dir, 'perf.csv');
try {
  for (const c of cases) run(c.argv); // every file in the page cache before the first timed run
  const load0 = loadavg()[0] ?? 0;
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const t0 = process.hrtime.bigint();
      run(c.argv);
      c.wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!perf) continue;
      run(['perf', 'stat', '-x,', '-e', 'task-clock,page-faults', '-o', csv, '--', ...c.argv]);
      const text = readFileSync(csv, 'utf8');
      c.cpu.push(counter(text, 'task-clock'));
      c.faults.push(counter(text, 'page-faults'));
    }
  }
  report(cases, [load0, loadavg()[0] ?? 0]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
