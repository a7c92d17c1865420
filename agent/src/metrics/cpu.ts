/**
 * CPU use from `os.cpus()` times, which libuv reads from the kernel on Linux, macOS and Windows alike, so no tool has
 * to run for it. The rate is the busy share of the time that passed on each core between two reads.
 */
import { type CpuInfo, cpus } from 'node:os';
import { round2 } from './sampler.js';

const busyAndTotal = (c: CpuInfo): { busy: number; total: number } => {
  const t = c.times;
  const total = t.user + t.nice + t.sys + t.idle + t.irq;
  return { busy: total - t.idle, total };
};

/**
 * `cpu.total_pct` and `cpu.core_pct:N` between two reads of `os.cpus()`. Nothing when the core count changed
 * (a core went offline) or no time passed, rather than a figure that mixes two machines.
 */
export function cpuPercents(prev: readonly CpuInfo[], cur: readonly CpuInfo[]): Record<string, number> {
  const values: Record<string, number> = {};
  if (prev.length === 0 || prev.length !== cur.length) return values;
  let busy = 0;
  let total = 0;
  for (let i = 0; i < cur.length; i++) {
    const a = busyAndTotal(prev[i]!);
    const b = busyAndTotal(cur[i]!);
    const dt = b.total - a.total;
    const db = Math.min(Math.max(0, b.busy - a.busy), Math.max(0, dt));
    if (dt > 0) values[`cpu.core_pct:${i}`] = round2((100 * db) / dt);
    busy += db;
    total += Math.max(0, dt);
  }
  if (total > 0) values['cpu.total_pct'] = round2((100 * busy) / total);
  else for (const k of Object.keys(values)) delete values[k];
  return values;
}

/** Keeps the previous read; `sample()` returns the percentages since it (none on the first call). */
export class PortableCpu {
  #prev: CpuInfo[] = [];
  readonly #read: () => CpuInfo[];

  constructor(read: () => CpuInfo[] = cpus) {
    this.#read = read;
  }

  sample(): Record<string, number> {
    const cur = this.#read();
    const values = cpuPercents(this.#prev, cur);
    this.#prev = cur;
    return values;
  }
}
