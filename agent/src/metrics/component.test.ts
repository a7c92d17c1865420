import { join } from 'node:path';
import type { SequencedBody } from '@outpost/shared';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AgentConfig } from '../config/index.js';
import type { AgentContext } from '../runtime/commands.js';
import { systemClock } from '../time.js';
import { MetricsComponent } from './component.js';
import { DarwinSampler, MARK } from './darwin.js';
import { WindowsSampler } from './win32.js';

const dir = join(import.meta.dirname, 'fixtures');

function harness(): { ctx: AgentContext; reports: SequencedBody[]; lines: Record<string, unknown>[] } {
  const reports: SequencedBody[] = [];
  const lines: Record<string, unknown>[] = [];
  const ctx: AgentContext = {
    config: { stateDir: dir, agentId: 'ag_000000000000000000000001' } as AgentConfig,
    logger: pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) }),
    clock: systemClock,
    report: async (b) => reports.push(b),
  };
  return { ctx, reports, lines };
}

describe('MetricsComponent', () => {
  it('reports what a round could read, warns about the rest, and keeps sampling', async () => {
    // A real /bin/sh whose ps works and whose other tools print an error or nothing.
    const script = `cat '${join(dir, 'ps-axo.txt')}'; echo ${MARK}; echo 'vm_stat: kernel error'; exit 0`;
    const comp = new MetricsComponent({ minIntervalMs: 30, maxIntervalMs: 30, sampler: new DarwinSampler({ script }) });
    const h = harness();
    comp.start(h.ctx);
    await expect.poll(() => h.reports.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    comp.stop();
    const batch = h.reports[0] as unknown as {
      type: string;
      samples: { values: Record<string, number>; top: { pid: number }[] }[];
    };
    expect(batch.type).toBe('metrics.batch');
    expect(batch.samples[0]!.values['proc.count']).toBe(10);
    expect(batch.samples[0]!.values['mem.used_pct']).toBeUndefined();
    expect(batch.samples[0]!.top.length).toBeGreaterThan(0);
    const warn = h.lines.find((l) => l.msg === 'metrics round incomplete; next round will retry');
    expect(warn?.problems).toEqual([
      'vm_stat: unreadable output ("vm_stat: kernel error")',
      'sysctl vm.swapusage: unreadable output ("")',
      'netstat -ibn: unreadable output ("")',
      'df -kl: unreadable output ("")',
    ]);
  });

  it('without its helper (Windows, PowerShell missing) every round still reports what Node gives', async () => {
    const sampler = new WindowsSampler({ cmd: '/nonexistent/powershell.exe', args: [] });
    const comp = new MetricsComponent({ minIntervalMs: 20, maxIntervalMs: 20, sampler });
    const h = harness();
    comp.start(h.ctx);
    await expect.poll(() => h.reports.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    comp.stop();
    const values = (h.reports[1] as unknown as { samples: { values: Record<string, number> }[] }).samples[0]!.values;
    expect(values['mem.used_pct']).toBeGreaterThan(0);
    expect(values['uptime.seconds']).toBeGreaterThan(0);
    const warns = h.lines.filter((l) => l.msg === 'metrics round incomplete; next round will retry');
    expect(warns.length).toBeGreaterThanOrEqual(3); // the priming round and each reported one
    expect(String((warns[0]!.problems as string[])[0])).toContain('could not start /nonexistent/powershell.exe');
  });
});
