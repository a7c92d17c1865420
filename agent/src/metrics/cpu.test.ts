import type { CpuInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cpuPercents, PortableCpu } from './cpu.js';
import { LinuxSampler } from './linux.js';

const core = (user: number, sys: number, idle: number, irq = 0, nice = 0): CpuInfo => ({
  model: 'test',
  speed: 0,
  times: { user, nice, sys, idle, irq },
});

describe('cpuPercents', () => {
  it('busy share of the time that passed, per core and in total', () => {
    const prev = [core(1000, 500, 8500), core(2000, 0, 8000)];
    const cur = [core(1600, 700, 8700, 100), core(2100, 0, 8900)]; // core 0: 900 busy of 1100; core 1: 100 of 1000
    expect(cpuPercents(prev, cur)).toEqual({ 'cpu.core_pct:0': 81.82, 'cpu.core_pct:1': 10, 'cpu.total_pct': 47.62 });
  });

  it('nothing on the first read, when the core count changed, or when no time passed', () => {
    expect(cpuPercents([], [core(1, 1, 1)])).toEqual({});
    expect(cpuPercents([core(1, 1, 1)], [core(2, 2, 2), core(1, 1, 1)])).toEqual({});
    expect(cpuPercents([core(5, 5, 5)], [core(5, 5, 5)])).toEqual({});
  });
});

describe.runIf(process.platform === 'linux')('PortableCpu against the Linux sampler', () => {
  it('agrees with /proc/stat over the same interval within a few points', () => {
    const portable = new PortableCpu();
    const linux = new LinuxSampler();
    portable.sample();
    linux.sample(Date.now());
    let x = 0;
    const until = Date.now() + 300;
    while (Date.now() < until) x += Math.sqrt(x + 1); // CPU load so the figure is not just idle noise
    const a = portable.sample();
    const b = linux.sample(Date.now()).values;
    expect(a['cpu.total_pct']).toBeGreaterThan(0);
    // Same kernel counters; they differ by iowait/softirq/steal (libuv leaves them out) and the instant of each read.
    expect(Math.abs(a['cpu.total_pct']! - b['cpu.total_pct']!)).toBeLessThan(10);
    expect(Object.keys(a).filter((k) => k.startsWith('cpu.core_pct:'))).toEqual(
      Object.keys(b).filter((k) => k.startsWith('cpu.core_pct:')),
    );
  });
});
