/**
 * Inventory benchmark: full collection wall and CPU time on this machine, cold and with apt's answer cached (the agent
 * CLI as a child process, its children included), bytes on the wire for the first report and for an unchanged re-run, collector time to ingest
 * 1,000 devices' full inventories, and FusionInventory in the same run when `fusioninventory-inventory` is on PATH.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inventory as agentInventory } from '@outpost/agent';
import { inventory as collectorInventory, migrate, openDatabase, sqlOf } from '@outpost/collector';
import type { InventoryReport } from '@outpost/shared';

const noop = () => undefined;
const silentLogger = {
  info: noop,
  warn: noop,
  error: noop,
  debug: noop,
  trace: noop,
  fatal: noop,
} as unknown as ConstructorParameters<typeof collectorInventory.Inventory>[0]['logger'];
const root = fileURLToPath(new URL('../../', import.meta.url));
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);

/** Clock ticks per second of /proc's CPU counters, from the system (not assumed to be 100). */
const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const hz = Number(r.stdout?.trim());
  if (r.status !== 0 || !Number.isInteger(hz) || hz <= 0) throw new Error(`getconf CLK_TCK failed: ${r.stderr}`);
  return hz;
})();

/** CPU milliseconds of reaped children (utime+stime of /proc/self/stat fields 16–17). */
function childrenCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[13]) + Number(f[14])) / CLK_TCK) * 1000;
}

interface Timed {
  wallMs: number;
  cpuMs: number;
  outBytes: number;
  ok: boolean;
  /** Why a run failed (exit status, stderr's end): a failing command must not pass for a fast one. */
  error: string | undefined;
}

/** Exit 2 is the agent CLI's "collected, some probes failed" (the report is complete otherwise). */
function timeCommand(cmd: string, args: string[], okStatuses = [0, 2]): Timed {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  const ok = r.status !== null && okStatuses.includes(r.status) && (r.stdout?.length ?? 0) > 0;
  return {
    wallMs: performance.now() - t0,
    cpuMs: childrenCpuMs() - cpu0,
    outBytes: r.stdout?.length ?? 0,
    ok,
    error: ok
      ? undefined
      : `${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal} ${r.error?.message ?? ''} ${r.stderr?.toString('utf8').slice(-400) ?? ''}`,
  };
}

/** Ends the bench with the failures named, before any figure is printed. */
function requireOk(what: string, runs: Timed[]): void {
  const failed = runs.filter((r) => !r.ok);
  if (failed.length === 0) return;
  process.stderr.write(`${what}: ${failed.length} of ${runs.length} runs failed\n${failed[0]!.error}\n`);
  process.exit(1);
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

// 1. Full collection: the agent CLI as a fresh process (what a support technician runs), median of three. Cold: no
// cache, apt rebuilds its package cache from the lists. Warm: apt's answer comes from the agent's cache because its
// inputs (lists, dpkg status, configuration) are unchanged — the agent's usual case between `apt update`s.
const agentBin = join(root, 'agent/bin/outpost-agent.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cacheDir = mkdtempSync(join(tmpdir(), 'outpost-bench-cache-'));
timeCommand(process.execPath, [agentBin, 'inventory', '--json', '--no-cache']); // warm the page cache for both
const cold = [0, 1, 2].map(() => timeCommand(process.execPath, [agentBin, 'inventory', '--json', '--no-cache']));
timeCommand(process.execPath, [agentBin, 'inventory', '--json', '--cache-dir', cacheDir]); // fills the cache
const warm = [0, 1, 2].map(() =>
  timeCommand(process.execPath, [agentBin, 'inventory', '--json', '--cache-dir', cacheDir]),
);
rmSync(cacheDir, { recursive: true, force: true });
requireOk('agent inventory (cold)', cold);
requireOk('agent inventory (warm)', warm);
const coldWall = median(cold.map((c) => c.wallMs));
const coldCpu = median(cold.map((c) => c.cpuMs));
const collectWall = median(warm.map((c) => c.wallMs));
const collectCpu = median(warm.map((c) => c.cpuMs));

// 2. Bytes on the wire: first report (no state) and an unchanged re-run (state from the first), as the component sends.
const probes = agentInventory.probesFor();
const ctx = agentInventory.systemProbeContext();
const first = await agentInventory.runProbes(probes, ctx);
const state = new Map<string, agentInventory.ProbeState>();
let id = 0;
const wire = (sets: ReturnType<typeof agentInventory.packSets>) =>
  sets.reduce(
    (n, s, i) =>
      n +
      Buffer.byteLength(
        JSON.stringify({ type: 'inventory.report', seq: i + 1, time: Date.now(), reason: 'scheduled', sets: s }),
      ),
    0,
  );
const firstSets = agentInventory.packSets(
  first.map((r) => agentInventory.planSet(r, undefined, false)).filter((s) => s !== undefined),
  () => `s${id++}`,
);
for (const r of first) state.set(r.probe, agentInventory.nextState(r, undefined));
const second = await agentInventory.runProbes(probes, ctx);
const rerunSets = agentInventory.packSets(
  second.map((r) => agentInventory.planSet(r, state.get(r.probe), false)).filter((s) => s !== undefined),
  () => `s${id++}`,
);
const firstBytes = wire(firstSets);
const rerunBytes = wire(rerunSets);

// 3. Collector ingest of DEVICES full inventories (as many packages as this machine has), on a file database.
const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-inv-'));
const db = openDatabase(join(dir, 'outpost.db'));
migrate(db, collectorInventory.inventoryMigrations);
const inv = new collectorInventory.Inventory({
  db: sqlOf(db),
  deps: { placement: async () => ({ clientId: 'cl_bench', siteId: 'si_bench' }), requestSnapshot: () => undefined },
  clock: { now: () => Date.now() },
  logger: silentLogger,
});
const packages = first.find((r) => r.probe === 'installed_software' && r.ok);
const pkgCount = packages?.ok ? packages.rows.length : 700;
const reports: { agentId: string; msg: InventoryReport }[] = [];
for (let i = 0; i < DEVICES; i++) {
  const hex = i.toString(16).padStart(12, '0');
  const rows = collectorInventory.demoRows({
    hostname: `pc-${i}`,
    serial: `SN${hex}`,
    uuid: `4c4c4544-0000-1000-8000-${hex}`,
    mac: `00:1a:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`,
    packages: pkgCount,
  });
  reports.push({ agentId: `ag_${hex}`, msg: collectorInventory.fullReport(1, rows, Date.now()) });
}
const ingestBytes = reports.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r.msg)), 0);
const t0 = performance.now();
for (let i = 0; i < reports.length; i += 50) await inv.ingest(reports.slice(i, i + 50), Date.now());
const ingestMs = performance.now() - t0;
db.close();
rmSync(dir, { recursive: true, force: true });

// 4. FusionInventory in the same run, when installed.
let fusion: { wallMs: number; cpuMs: number; outBytes: number } | null = null;
if (onPath('fusioninventory-inventory')) {
  timeCommand('fusioninventory-inventory', []); // warm the cache like the agent's runs
  const f = [0, 1, 2].map(() => timeCommand('fusioninventory-inventory', [], [0]));
  requireOk('fusioninventory-inventory', f);
  fusion = {
    wallMs: median(f.map((x) => x.wallMs)),
    cpuMs: median(f.map((x) => x.cpuMs)),
    outBytes: f[0]!.outBytes,
  };
}

const rows: [string, string][] = [
  [
    'full collection, cold (no cache), wall / CPU (median of 3, CLI process + children)',
    `${coldWall.toFixed(0)} ms / ${coldCpu.toFixed(0)} ms`,
  ],
  [
    'full collection, warm (apt inputs unchanged), wall / CPU',
    `${collectWall.toFixed(0)} ms / ${collectCpu.toFixed(0)} ms`,
  ],
  ['probes / rows', `${first.length} / ${first.reduce((n, r) => n + (r.ok ? r.rows.length : 0), 0)}`],
  ['first report on the wire', `${(firstBytes / 1024).toFixed(1)} KB in ${firstSets.length} message(s)`],
  ['unchanged re-run on the wire', `${rerunBytes} B in ${rerunSets.length} message(s)`],
  [
    `collector ingest, ${DEVICES} full inventories (${pkgCount} packages each, ${(ingestBytes / 1024 ** 2).toFixed(0)} MB)`,
    `${(ingestMs / 1000).toFixed(2)} s (${((DEVICES / ingestMs) * 1000).toFixed(0)} devices/s)`,
  ],
  [
    'fusioninventory-inventory, wall / CPU / output',
    fusion
      ? `${fusion.wallMs.toFixed(0)} ms / ${fusion.cpuMs.toFixed(0)} ms / ${(fusion.outBytes / 1024).toFixed(0)} KB`
      : 'not installed',
  ],
  [
    'ratio FusionInventory wall / Outpost wall, cold and warm',
    fusion ? `${(fusion.wallMs / coldWall).toFixed(2)}x, ${(fusion.wallMs / collectWall).toFixed(2)}x` : '-',
  ],
];
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
process.stdout.write(
  `${JSON.stringify({
    collectColdWallMs: Math.round(coldWall),
    collectColdCpuMs: Math.round(coldCpu),
    collectWarmWallMs: Math.round(collectWall),
    collectWarmCpuMs: Math.round(collectCpu),
    clkTck: CLK_TCK,
    firstReportBytes: firstBytes,
    rerunBytes,
    ingestDevices: DEVICES,
    ingestMs: Math.round(ingestMs),
    fusionWallMs: fusion ? Math.round(fusion.wallMs) : null,
    fusionRatioCold: fusion ? Number((fusion.wallMs / coldWall).toFixed(2)) : null,
    fusionRatioWarm: fusion ? Number((fusion.wallMs / collectWall).toFixed(2)) : null,
  })}\n`,
);
