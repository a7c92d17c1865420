/**
 * Metrics on macOS. CPU, load, uptime and the memory total come from Node (`os`); the rest from one short `/bin/sh`
 * run per round that prints five tools' outputs one after the other, split on a marker line:
 * `ps` (processes), `vm_stat` (memory), `sysctl vm.swapusage`, `netstat -ibn` (interfaces), `df -kl` (local volumes).
 * One spawn instead of five keeps the per-round cost to one process start from Node; the five tools are small
 * C programs that each answer from a kernel call. Each section is parsed on its own, so a tool that is missing or
 * prints something unreadable loses only its own metrics for that round.
 *
 * Not available on macOS: disk.read_bps/disk.write_bps (the per-disk byte counters are only in IOKit; `iostat`
 * adds reads and writes together) and temp.celsius (the SMC sensors need a private API or root `powermetrics`).
 * `top` CPU shares are `ps`'s %CPU, a decaying average over about the last minute rather than the share since the
 * previous round that Linux and Windows report.
 */
import { loadavg, totalmem, uptime } from 'node:os';
import type { TopProcess } from '@outpost/shared';
import { type InventoryOptions, systemProbeContext } from '../inventory/index.js';
import { PortableCpu } from './cpu.js';
import { Counters, instanceName, type Round, round2, type Sampler, topOf } from './sampler.js';

/** The line between two tools' outputs. */
export const MARK = '@@outpost-metrics@@';

/** The script: each tool's stdout in a section; `exit 0` so one failing tool does not discard the others' output. */
export const DARWIN_SCRIPT = [
  'ps -axo pid=,pcpu=,rss=,comm=',
  'vm_stat',
  'sysctl vm.swapusage',
  'netstat -ibn',
  'df -kl',
]
  .join(`; echo ${MARK}; `)
  .concat('; exit 0');

/** Sections of the script's output, in order (missing ones empty). */
export function splitSections(out: string): string[] {
  // Split anywhere, not only at a line start: a tool cut off mid-line leaves the mark on its last line.
  const parts = out.split(MARK);
  return Array.from({ length: 5 }, (_, i) => (parts[i] ?? '').replace(/^\r?\n/, ''));
}

/** `ps -axo pid=,pcpu=,rss=,comm=`: comm is the executable's path (spaces included), rss is in KiB. */
export function parsePs(text: string): TopProcess[] {
  const out: TopProcess[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([\d.]+)\s+(\d+)\s+(.+?)\s*$/.exec(line);
    if (!m) continue;
    const path = m[4]!;
    const name = (path.startsWith('/') ? path.slice(path.lastIndexOf('/') + 1) : path).slice(0, 128) || '?';
    out.push({ pid: Number(m[1]), name, cpuPct: round2(Number(m[2])), memBytes: Number(m[3]) * 1024 });
  }
  return out;
}

/** `vm_stat`: the page size and each `Pages …:` / `… pages:` count, or null when it is not vm_stat output. */
export function parseVmStat(text: string): { pageSize: number; pages: Map<string, number> } | null {
  const size = /page size of (\d+) bytes/.exec(text);
  if (!size) return null;
  const pages = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^"?([^":]+)"?:\s+(\d+)\.?\s*$/.exec(line);
    if (m) pages.set(m[1]!.trim(), Number(m[2]));
  }
  return { pageSize: Number(size[1]), pages };
}

/**
 * Memory in use as Activity Monitor counts it, roughly: active + wired + what the compressor occupies. Inactive,
 * speculative and free pages are what macOS hands out without paging, the counterpart of Linux's MemAvailable.
 */
export function memoryUsed(vm: { pageSize: number; pages: Map<string, number> }): number | null {
  const active = vm.pages.get('Pages active');
  const wired = vm.pages.get('Pages wired down');
  if (active === undefined || wired === undefined) return null;
  return (active + wired + (vm.pages.get('Pages occupied by compressor') ?? 0)) * vm.pageSize;
}

const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `sysctl vm.swapusage`: total and used bytes, or null. */
export function parseSwapUsage(text: string): { total: number; used: number } | null {
  const t = /total = ([\d.]+)([KMG])/.exec(text);
  const u = /used = ([\d.]+)([KMG])/.exec(text);
  if (!t || !u) return null;
  return { total: Math.round(Number(t[1]) * UNIT[t[2]!]!), used: Math.round(Number(u[1]) * UNIT[u[2]!]!) };
}

/** Per-interface cumulative counters. */
export interface NetCounters {
  rx: number;
  tx: number;
  errors: number;
}

/**
 * `netstat -ibn`: one `<Link#N>` row per interface carries its counters (the address rows repeat them). Columns are
 * read from the right, by the header, because the Address column is empty for interfaces without a MAC. Names that
 * netstat truncated to the same text (several utun) are added together; loopback is left out, as on Linux.
 */
export function parseNetstat(text: string): Map<string, NetCounters> | null {
  const lines = text.split('\n');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const at = header.indexOf('Ipkts');
  if (header[0] !== 'Name' || at < 0) return null;
  const cols = header.slice(at);
  const col = (f: string[], name: string): number => Number(f[f.length - cols.length + cols.indexOf(name)]);
  const out = new Map<string, NetCounters>();
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    if (!f[2]?.startsWith('<Link#') || f.length < cols.length + 3) continue;
    const name = f[0]!.replace(/\*$/, '');
    if (name.startsWith('lo')) continue;
    const c = { rx: col(f, 'Ibytes'), tx: col(f, 'Obytes'), errors: col(f, 'Ierrs') + col(f, 'Oerrs') };
    if (![c.rx, c.tx, c.errors].every(Number.isFinite)) continue;
    const p = out.get(name);
    out.set(name, p ? { rx: p.rx + c.rx, tx: p.tx + c.tx, errors: p.errors + c.errors } : c);
  }
  return out;
}

/**
 * `df -kl`: used share of each local volume, by mount point. The APFS system volumes under /System/Volumes share
 * the container of `/` and report the same free space, so only `/` and other volumes (e.g. /Volumes/…) are kept.
 * Used is blocks − available, so a volume is 100 % when nothing more can be written.
 */
export function parseDf(text: string): Map<string, number> | null {
  if (!/^Filesystem\s+1024-blocks/.test(text)) return null;
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(\/dev\/\S+)\s+(\d+)\s+\d+\s+(\d+)\s+\d+%\s+(?:\d+\s+\d+\s+\d+%\s+)?(\/.*?)\s*$/.exec(line);
    if (!m) continue;
    const [, , blocks, avail, mount] = m;
    if (mount!.startsWith('/System/Volumes/') || mount === '/private/var/vm') continue;
    const total = Number(blocks);
    if (total > 0) out.set(mount!, round2((100 * (total - Number(avail))) / total));
  }
  return out;
}

/** Everything one round's script output gives (the sampler adds Node's figures and the rates). */
export function parseDarwinRound(out: string, totalMemBytes: number, counters: Counters): Round {
  const [ps, vm, swap, net, df] = splitSections(out);
  const values: Record<string, number> = {};
  const problems: string[] = [];
  const bad = (tool: string, text: string): void => {
    problems.push(`${tool}: unreadable output (${JSON.stringify(text.trim().slice(0, 80))})`);
  };
  const procs = parsePs(ps!);
  if (procs.length > 0) values['proc.count'] = procs.length;
  else bad('ps', ps!);
  const vmStat = parseVmStat(vm!);
  const used = vmStat ? memoryUsed(vmStat) : null;
  if (used !== null && totalMemBytes > 0) {
    values['mem.used_bytes'] = used;
    values['mem.used_pct'] = round2(Math.min(100, (100 * used) / totalMemBytes));
  } else bad('vm_stat', vm!);
  const sw = parseSwapUsage(swap!);
  if (sw) values['swap.used_pct'] = sw.total > 0 ? round2((100 * sw.used) / sw.total) : 0;
  else bad('sysctl vm.swapusage', swap!);
  const ifs = parseNetstat(net!);
  if (ifs) {
    for (const [name, c] of ifs) {
      if (c.rx === 0 && c.tx === 0) continue; // never used (gif0, stf0, most utun): not worth a series
      const n = instanceName(name);
      const rx = counters.rate(`net.rx:${n}`, c.rx);
      const tx = counters.rate(`net.tx:${n}`, c.tx);
      const err = counters.delta(`net.err:${n}`, c.errors);
      if (rx !== undefined) values[`net.rx_bps:${n}`] = round2(rx);
      if (tx !== undefined) values[`net.tx_bps:${n}`] = round2(tx);
      if (err !== undefined) values[`net.errors:${n}`] = err;
    }
  } else bad('netstat -ibn', net!);
  const vols = parseDf(df!);
  if (vols) for (const [mount, pct] of vols) values[`disk.used_pct:${mount}`] = pct;
  else bad('df -kl', df!);
  return { values, top: topOf(procs), problems };
}

/** Options of the macOS sampler (tests run another script through the same path). */
export interface DarwinSamplerOptions {
  shell: string;
  script: string;
  timeoutMs: number;
}

/** The macOS sampler. */
export class DarwinSampler implements Sampler {
  readonly #cpu = new PortableCpu();
  readonly #counters = new Counters();
  readonly #opts: DarwinSamplerOptions;
  readonly #exec: ReturnType<typeof systemProbeContext>['exec'];

  constructor(opts: Partial<DarwinSamplerOptions> = {}) {
    this.#opts = { shell: '/bin/sh', script: DARWIN_SCRIPT, timeoutMs: 15_000, ...opts };
    const probeOpts: Partial<InventoryOptions> = { commandTimeoutMs: this.#opts.timeoutMs };
    this.#exec = systemProbeContext(probeOpts).exec;
  }

  async sample(now: number): Promise<Round> {
    const cpu = this.#cpu.sample();
    let out = '';
    const problems: string[] = [];
    try {
      out = await this.#exec(this.#opts.shell, ['-c', this.#opts.script]);
    } catch (err) {
      problems.push(`${this.#opts.shell}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.#counters.begin(now);
    const r = parseDarwinRound(out, totalmem(), this.#counters);
    this.#counters.end();
    const [l1, l5, l15] = loadavg();
    const values = {
      ...cpu,
      'load.1': round2(l1!),
      'load.5': round2(l5!),
      'load.15': round2(l15!),
      ...r.values,
      'uptime.seconds': Math.round(uptime()),
    };
    // When the shell itself failed every section is empty; one problem says why instead of five.
    return { values, top: r.top, problems: problems.length > 0 ? problems : r.problems };
  }
}
