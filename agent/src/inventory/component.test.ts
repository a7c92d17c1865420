/**
 * The inventory component's switches: disabled by the configuration or the environment it runs nothing and reports
 * nothing (not even on a collector's request); a configured interval replaces every probe's own; bad environment
 * values are ignored with a coded warning. Time is vitest's fake clock; the probe is a real probe definition whose
 * collect() counts its runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryReport, type SequencedBody } from '@outpost/shared';
import { Value } from '@sinclair/typebox/value';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentConfig } from '../config/index.js';
import type { AgentContext } from '../runtime/commands.js';
import { systemClock } from '../time.js';
import { InventoryComponent } from './component.js';
import { defaultInventoryOptions, defineProbe, HOUR, type ProbeContext } from './probe.js';
import type { RunnableProbe } from './registry.js';
import { inventorySettings } from './settings.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-inv-comp-'));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

function harness(inventory: AgentConfig['inventory'], env: NodeJS.ProcessEnv = {}) {
  let runs = 0;
  const probe = defineProbe({
    name: 'services',
    description: 'test probe',
    intervalMs: 6 * HOUR,
    collect: {
      linux: async () => {
        runs++;
        return [{ name: `unit${runs}`, display_name: '', state: 'running', start_mode: '', kind: 'systemd', path: '' }];
      },
    },
  });
  const probes: RunnableProbe[] = [{ probe, collect: probe.collect.linux! } as unknown as RunnableProbe];
  const probeContext: ProbeContext = {
    exec: async () => '',
    readText: async () => undefined,
    has: async () => false,
    options: defaultInventoryOptions,
    now: () => Date.now(),
  };
  const reports: SequencedBody[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const config = {
    server: 'https://127.0.0.1:1',
    agentId: 'ag_000000000000000000000001',
    clientId: 'cl_x',
    siteId: 'si_x',
    stateDir: dir,
    inventory,
  } as AgentConfig;
  const ctx: AgentContext = {
    config,
    logger,
    // Date is faked by vi.useFakeTimers, so the real clock follows the test's time.
    clock: systemClock,
    report: async (b) => {
      reports.push(b);
      return reports.length;
    },
  };
  const comp = new InventoryComponent({ probes, probeContext, initialDelayMs: 10, random: () => 0.5, env });
  return { comp, ctx, reports, lines, runs: () => runs };
}

const settle = async (ms: number) => {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('inventory component settings', () => {
  it('runs at start, then on the configured interval instead of the probe’s own', async () => {
    const h = harness({ intervalMs: 120_000 });
    h.comp.start(h.ctx);
    await settle(20);
    expect(h.runs()).toBe(1);
    expect(h.reports).toHaveLength(1);
    await settle(119_000);
    expect(h.runs()).toBe(1);
    await settle(2_000);
    expect(h.runs()).toBe(2);
    expect(h.reports).toHaveLength(2); // the row changed, so a diff went out
    await h.comp.stop();
  });

  it('disabled in the file: nothing runs; a request is answered with OUTPOST_E_INVENTORY_DISABLED per probe', async () => {
    const h = harness({ enabled: false });
    h.comp.start(h.ctx);
    await settle(7 * HOUR);
    const answer = await h.comp.request({
      type: 'inventory.request',
      id: 'rq1',
      expiresAt: Date.now() + 60_000,
      probes: [],
    } as Parameters<InventoryComponent['request']>[0]);
    expect(answer).toBeUndefined();
    expect(h.runs()).toBe(0);
    expect(h.reports).toHaveLength(1);
    const report = h.reports[0] as {
      type: string;
      reason: string;
      sets: { probe: string; mode: string; code: string }[];
    };
    expect(report.type).toBe('inventory.report');
    expect(report.reason).toBe('request');
    expect(report.sets.length).toBeGreaterThan(0);
    expect(report.sets.every((s) => s.mode === 'error' && s.code === 'OUTPOST_E_INVENTORY_DISABLED')).toBe(true);
    // The answer is a valid message for the collector's schema.
    expect(Value.Check(InventoryReport, { ...report, seq: 1 })).toBe(true);
    expect(h.lines.some((l) => l.msg === 'inventory disabled by configuration')).toBe(true);
    await h.comp.stop();
  });

  it('the environment wins over the file, both ways', async () => {
    const off = harness({ enabled: true }, { OUTPOST_INVENTORY: 'off' });
    off.comp.start(off.ctx);
    await settle(1_000);
    expect(off.runs()).toBe(0);
    await off.comp.stop();

    const on = harness({ enabled: false }, { OUTPOST_INVENTORY: '1', OUTPOST_INVENTORY_INTERVAL_MS: '500' });
    on.comp.start(on.ctx);
    await settle(20);
    await settle(600);
    expect(on.runs()).toBe(2);
    await on.comp.stop();
  });

  it('bad environment values are ignored with a coded warning and change nothing', async () => {
    const s = inventorySettings(
      { inventory: { enabled: false, intervalMs: 90_000 } },
      { OUTPOST_INVENTORY: 'maybe', OUTPOST_INVENTORY_INTERVAL_MS: '5s' },
    );
    expect(s.enabled).toBe(false);
    expect(s.intervalMs).toBe(90_000);
    expect(s.ignored.map((e) => e.code)).toEqual(['OUTPOST_E_CONFIG_INVALID', 'OUTPOST_E_CONFIG_INVALID']);
    expect(inventorySettings({}, { OUTPOST_INVENTORY_INTERVAL_MS: '10' }).intervalMs).toBeUndefined();
    expect(inventorySettings({}, {})).toEqual({ enabled: true, intervalMs: undefined, ignored: [] });

    const h = harness(undefined, { OUTPOST_INVENTORY: 'maybe' });
    h.comp.start(h.ctx);
    await settle(20);
    expect(h.runs()).toBe(1);
    expect(h.lines.some((l) => l.code === 'OUTPOST_E_CONFIG_INVALID' && l.level === 40)).toBe(true);
    await h.comp.stop();
  });
});
