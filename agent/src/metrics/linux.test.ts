import { describe, expect, it } from 'vitest';
import { LinuxSampler } from './linux.js';

describe.runIf(process.platform === 'linux')('LinuxSampler', () => {
  it('reads CPU, memory, disks, processes with values in range, rates from the second round', () => {
    const s = new LinuxSampler();
    const first = s.sample(Date.now());
    expect(first.values['cpu.total_pct']).toBeUndefined();
    let x = 0;
    const until = Date.now() + 120;
    while (Date.now() < until) x += Math.sqrt(x + 1); // some CPU so the rate is measurable
    const { values, top } = s.sample(Date.now());
    expect(values['cpu.total_pct']).toBeGreaterThanOrEqual(0);
    expect(values['cpu.total_pct']).toBeLessThanOrEqual(100);
    expect(values['mem.used_pct']).toBeGreaterThan(0);
    expect(values['mem.used_pct']).toBeLessThanOrEqual(100);
    expect(values['proc.count']).toBeGreaterThan(1);
    expect(Object.keys(values).some((k) => k.startsWith('disk.used_pct:'))).toBe(true);
    expect(top.some((p) => p.pid === process.pid && p.cpuPct > 0)).toBe(true);
  });
});
