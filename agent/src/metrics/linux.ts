/**
 * Metrics read straight from /proc and statfs on Linux.
 * Rates (CPU, disk and network throughput) are differences between two reads, so the first sample has none.
 */
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { cpus, loadavg, uptime } from 'node:os';
import type { TopProcess } from '@outpost/shared';
import { round2 as round, topOf } from './sampler.js';

interface CpuTimes {
  busy: number;
  total: number;
}
interface Prev {
  at: number;
  cpu: Map<string, CpuTimes>;
  proc: Map<number, number>;
  disk: Map<string, { r: number; w: number }>;
  net: Map<string, { rx: number; tx: number; err: number }>;
}

const read = (p: string): string => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/** A Linux sampler: call `sample()` on every tick. */
export class LinuxSampler {
  #prev: Prev | undefined;
  readonly #clkTck = 100;

  /** One round of metrics and the top processes. */
  sample(now: number): { values: Record<string, number>; top: TopProcess[] } {
    const values: Record<string, number> = {};
    const cur: Prev = { at: now, cpu: new Map(), proc: new Map(), disk: new Map(), net: new Map() };
    const dt = this.#prev ? (now - this.#prev.at) / 1000 : 0;
    this.#cpu(values, cur);
    memory(values);
    filesystems(values);
    this.#disks(values, cur, dt);
    this.#network(values, cur, dt);
    const procs = this.#processes(cur, dt);
    values['proc.count'] = procs.length;
    values['uptime.seconds'] = Math.round(uptime());
    thermal(values);
    this.#prev = cur;
    return { values, top: topOf(procs) };
  }

  /** CPU busy share, total and per core, from /proc/stat since the last round. */
  #cpu(values: Record<string, number>, cur: Prev): void {
    for (const line of read('/proc/stat').split('\n')) {
      if (!line.startsWith('cpu')) continue;
      const [name, ...f] = line.trim().split(/\s+/);
      const n = f.map(Number);
      const idle = (n[3] ?? 0) + (n[4] ?? 0);
      const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
      cur.cpu.set(name!, { busy: total - idle, total });
      const p = this.#prev?.cpu.get(name!);
      if (p && total > p.total) {
        const pct = (100 * (total - idle - p.busy)) / (total - p.total);
        values[name === 'cpu' ? 'cpu.total_pct' : `cpu.core_pct:${name!.slice(3)}`] = round(pct);
      }
    }
  }

  /** Read and write throughput of whole block devices (partitions, loops and device-mapper left out). */
  #disks(values: Record<string, number>, cur: Prev, dt: number): void {
    for (const line of read('/proc/diskstats').split('\n')) {
      const f = line.trim().split(/\s+/);
      const name = f[2];
      if (!name || /^(loop|ram|dm-)/.test(name) || (/\d$/.test(name) && !/^nvme\d+n\d+$/.test(name))) continue;
      const r = Number(f[5]) * 512;
      const w = Number(f[9]) * 512;
      cur.disk.set(name, { r, w });
      const p = this.#prev?.disk.get(name);
      if (p && dt > 0) {
        values[`disk.read_bps:${name}`] = round(Math.max(0, r - p.r) / dt);
        values[`disk.write_bps:${name}`] = round(Math.max(0, w - p.w) / dt);
      }
    }
  }

  /** Throughput and errors per network interface (loopback left out). */
  #network(values: Record<string, number>, cur: Prev, dt: number): void {
    for (const line of read('/proc/net/dev').split('\n').slice(2)) {
      const [ifn, rest] = line.split(':');
      const name = ifn?.trim();
      if (!name || !rest || name === 'lo') continue;
      const f = rest.trim().split(/\s+/).map(Number);
      const cur1 = { rx: f[0] ?? 0, tx: f[8] ?? 0, err: (f[2] ?? 0) + (f[10] ?? 0) };
      cur.net.set(name, cur1);
      const p = this.#prev?.net.get(name);
      if (p && dt > 0) {
        values[`net.rx_bps:${name}`] = round(Math.max(0, cur1.rx - p.rx) / dt);
        values[`net.tx_bps:${name}`] = round(Math.max(0, cur1.tx - p.tx) / dt);
        values[`net.errors:${name}`] = Math.max(0, cur1.err - p.err);
      }
    }
  }

  /** Processes: count, and CPU share since the last round from /proc/<pid>/stat. */
  #processes(cur: Prev, dt: number): TopProcess[] {
    const procs: TopProcess[] = [];
    const ncpu = Math.max(1, cpus().length);
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const stat = read(`/proc/${d}/stat`);
      const close = stat.lastIndexOf(')');
      if (close < 0) continue;
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]);
      const pid = Number(d);
      cur.proc.set(pid, ticks);
      const p = this.#prev?.proc.get(pid);
      const cpuPct = p !== undefined && dt > 0 ? (100 * (ticks - p)) / this.#clkTck / dt : 0;
      procs.push({
        pid,
        name: name.slice(0, 128) || '?',
        cpuPct: round(Math.max(0, Math.min(cpuPct, 100 * ncpu))),
        memBytes: Number(f[21]) * 4096,
      });
    }
    return procs;
  }
}

/** Load averages, memory and swap use from /proc/meminfo. */
function memory(values: Record<string, number>): void {
  const [l1, l5, l15] = loadavg();
  values['load.1'] = round(l1!);
  values['load.5'] = round(l5!);
  values['load.15'] = round(l15!);
  const mem = new Map<string, number>();
  for (const line of read('/proc/meminfo').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) mem.set(m[1]!, Number(m[2]) * 1024);
  }
  const memTotal = mem.get('MemTotal') ?? 0;
  if (memTotal > 0) {
    const avail = mem.get('MemAvailable') ?? 0;
    values['mem.used_bytes'] = memTotal - avail;
    values['mem.used_pct'] = round((100 * (memTotal - avail)) / memTotal);
    const swapTotal = mem.get('SwapTotal') ?? 0;
    values['swap.used_pct'] = swapTotal > 0 ? round((100 * (swapTotal - (mem.get('SwapFree') ?? 0))) / swapTotal) : 0;
  }
}

/** Used share of every mounted block-device filesystem (squashfs snaps left out). */
function filesystems(values: Record<string, number>): void {
  for (const line of read('/proc/mounts').split('\n')) {
    const [dev, mount, fs] = line.split(' ');
    if (!dev?.startsWith('/dev/') || !mount || fs === 'squashfs') continue;
    try {
      const st = statfsSync(mount);
      const total = st.blocks * st.bsize;
      if (total > 0) values[`disk.used_pct:${mount}`] = round((100 * (st.blocks - st.bfree) * st.bsize) / total);
    } catch {
      // unreadable mount point: skip it
    }
  }
}

/** Temperature of every thermal zone, in °C. */
function thermal(values: Record<string, number>): void {
  for (const zone of safeList('/sys/class/thermal')) {
    if (!zone.startsWith('thermal_zone')) continue;
    const milli = Number(read(`/sys/class/thermal/${zone}/temp`).trim());
    if (Number.isFinite(milli) && milli > 0) values[`temp.celsius:${zone}`] = round(milli / 1000);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
