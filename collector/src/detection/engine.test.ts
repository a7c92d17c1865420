import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BASELINE_STATE_LENGTH, baselineStep, baselineView, DEFAULT_BASELINE, newBaselineState } from './baseline.js';
import { ChecksPush } from './checks-push.js';
import { DetectionEngine } from './engine.js';
import { MemoryIncidentSink } from './memory-sink.js';
import { PolicySet, parsePolicy, validatePolicy } from './policy.js';
import { replayCsv } from './replay.js';

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 6, 0, 0, 0); // a Monday

function setup(
  opts: {
    policy?: string;
    lastSeen?: { agentId: string; lastSeenAt: number | null; online: boolean }[];
    agents?: number;
  } = {},
) {
  const clock = {
    t: T0,
    now() {
      return this.t;
    },
  };
  const sink = new MemoryIncidentSink();
  const places: Record<string, { clientId: string; siteId: string; hostname: string }> = {};
  for (let i = 0; i < (opts.agents ?? 10); i++)
    places[`ag_${i}`] = { clientId: 'cl_1', siteId: 'si_1', hostname: `pc${i}` };
  const presence = {
    place: async (id: string) => places[id],
    lastSeen: async () => opts.lastSeen ?? [],
  };
  const policies = new PolicySet(opts.policy ? [parsePolicy(opts.policy)] : []);
  const changes = async (agentId: string, from: number, to: number) =>
    agentId === 'ag_0'
      ? [{ time: to - 3_600_000, summary: 'installed CoinMiner 1.0' }].filter((c) => c.time >= from)
      : [];
  const engine = new DetectionEngine({
    sink,
    presence,
    policies,
    clock,
    logger,
    options: {
      heartbeatIntervalMs: 30_000,
      recentChanges: changes,
    },
  });
  return { clock, sink, engine };
}

/** Deterministic noise in [-1, 1]. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

async function feed(
  ctx: ReturnType<typeof setup>,
  agentId: string,
  from: number,
  to: number,
  value: (i: number) => number,
  top?: boolean,
) {
  for (let i = from; i < to; i++) {
    ctx.clock.t = T0 + i * 30_000;
    await ctx.engine.ingest(agentId, [
      {
        time: ctx.clock.t,
        values: { 'cpu.total_pct': value(i) },
        ...(top ? { top: [{ pid: 4242, name: 'spin', cpuPct: 97, memBytes: 1e7 }] } : {}),
      },
    ]);
  }
}

describe('adaptive baseline', () => {
  it('opens on a sustained jump with the first abnormal sample as time of failure, explains it, and clears', async () => {
    const ctx = setup();
    await feed(ctx, 'ag_0', 0, 400, (i) => 10 + 2 * noise(i));
    expect(ctx.sink.open.size).toBe(0);
    await feed(ctx, 'ag_0', 400, 420, () => 95, true);
    const inc = ctx.sink.open.get('baseline:ag_0:cpu.total_pct');
    expect(inc).toBeDefined();
    expect(inc!.failureTime).toBe(T0 + 400 * 30_000);
    expect(inc!.detectedAt).toBeLessThanOrEqual(T0 + 410 * 30_000);
    expect(inc!.explanation).toMatch(/cpu\.total_pct is 95\.0 % where about 1\d\.\d % is normal/);
    expect(inc!.explanation).toContain('spin (pid 4242');
    expect(inc!.explanation).toContain('installed CoinMiner 1.0');
    // One fault, one incident: raising again only while open would update, and it does not re-raise at all.
    expect(ctx.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(1);
    await feed(ctx, 'ag_0', 420, 460, (i) => 10 + 2 * noise(i));
    expect(ctx.sink.open.size).toBe(0);
    expect(ctx.sink.events.at(-1)).toMatchObject({ kind: 'clear', key: 'baseline:ag_0:cpu.total_pct' });
  });

  it('new highs of a counter or a filling disk are not alarms; a new extreme off the forecast is, once; a repeat is only once forgotten', () => {
    const run = (value: (i: number) => number, n: number) => {
      const st = newBaselineState();
      const alarms: number[] = [];
      for (let i = 0; i < n; i++)
        if (baselineStep(st, T0 + i * 30_000, value(i), DEFAULT_BASELINE) >= DEFAULT_BASELINE.alarm) alarms.push(i);
      return alarms;
    };
    expect(run((i) => 1000 + 30 * i, 3000)).toEqual([]); // uptime.seconds
    expect(run((i) => 40 + i * 0.01 + 0.2 * noise(i), 3000)).toEqual([]); // disk.used_pct, filling
    // A noisy series (uniform in 20–80) that jumps to 97 for 20 samples: one alarm row, at the jump.
    expect(run((i) => (i >= 1000 && i < 1020 ? 97 : 50 + 30 * noise(i)), 1500)).toEqual([1000]);
    // The same fault again half an hour later is what this series does now: not a new alarm. A worse one (beyond
    // everything seen) is; so is the same fault once the series has been calm for long enough to forget it.
    const faults = (i: number) =>
      (i >= 1000 && i < 1010) || (i >= 1060 && i < 1070) || (i >= 3500 && i < 3510)
        ? 80
        : i >= 1300 && i < 1310
          ? 95
          : 50 + 2 * noise(i);
    const alarms = run(faults, 4000);
    expect(alarms[0]).toBe(1000); // a new extreme: at once
    expect(alarms.filter((i) => i >= 1060 && i < 1300)).toEqual([]); // a repeat within memory
    expect(alarms.filter((i) => i >= 1300 && i < 1320)).toEqual([1300]); // worse than anything seen: at once
    const late = alarms.filter((i) => i >= 3500);
    expect(late).toHaveLength(1); // the same fault, hours of calm later: news again
    expect(late[0]).toBeLessThanOrEqual(3502);
    expect(alarms).toHaveLength(3);
  });

  it('a small sustained level shift, too small for the fast level to notice, alarms once with its start as time of failure', () => {
    // CPU idling at 50 % ± 4 steps up by 3 points (less than the noise) for 300 samples (2.5 h at 30 s).
    const series = (i: number) => 50 + 4 * noise(i) + (i >= 1007 && i < 1300 ? 3 : 0);
    const run = (params: typeof DEFAULT_BASELINE) => {
      const st = newBaselineState();
      const alarms: { i: number; view: ReturnType<typeof baselineView> }[] = [];
      for (let i = 0; i < 1600; i++)
        if (baselineStep(st, T0 + i * 30_000, series(i), params) >= params.alarm)
          alarms.push({ i, view: baselineView(st) });
      return alarms;
    };
    expect(run({ ...DEFAULT_BASELINE, shiftAlpha: 0 })).toEqual([]); // without the level-shift channel: unseen
    const alarms = run(DEFAULT_BASELINE);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.i).toBeGreaterThan(1007);
    expect(alarms[0]!.i).toBeLessThan(1007 + 60); // within half an hour of the step
    expect(alarms[0]!.view).toMatchObject({ shift: true });
    expect(alarms[0]!.view.expected).toBeCloseTo(50, 0); // the level it left
    expect(alarms[0]!.view.abnormalSince).toBeGreaterThanOrEqual(T0 + 1007 * 30_000); // where the shift began
    expect(alarms[0]!.view.abnormalSince).toBeLessThanOrEqual(T0 + 1010 * 30_000);
  });

  it('a level-shift incident says so, stays open while the level stays shifted, and clears once it is back', async () => {
    const ctx = setup();
    const base = (i: number) => 50 + 4 * noise(i);
    await feed(ctx, 'ag_1', 0, 1007, base);
    await feed(ctx, 'ag_1', 1007, 1080, (i) => base(i) + 3);
    const inc = ctx.sink.open.get('baseline:ag_1:cpu.total_pct');
    expect(inc).toBeDefined();
    expect(inc!.failureTime).toBeGreaterThanOrEqual(T0 + 1007 * 30_000);
    expect(inc!.failureTime).toBeLessThanOrEqual(T0 + 1010 * 30_000);
    expect(inc!.explanation).toMatch(/where about (49|50|51)\.\d % is normal \(a sustained shift of/);
    // Still shifted 40 samples on: the fast level has long absorbed the step, the incident stays open.
    expect(ctx.sink.events.filter((e) => e.kind === 'clear')).toHaveLength(0);
    await feed(ctx, 'ag_1', 1080, 1160, base);
    expect(ctx.sink.open.size).toBe(0);
    expect(ctx.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(1);
  });

  it('does not alarm on a clean daily pattern', () => {
    const rows = ['timestamp,value'];
    for (let i = 0; i < 288 * 14; i++) {
      const t = new Date(T0 + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
      rows.push(`${t},${50 + 40 * Math.sin((2 * Math.PI * i) / 288) + noise(i)}`);
    }
    const { summary } = replayCsv(rows.join('\n'));
    expect(summary.rows).toBe(288 * 14);
    expect(summary.alarms).toBe(0);
  });
});

describe('thresholds', () => {
  it('fires after the duration, with hysteresis on clearing', async () => {
    const ctx = setup({
      policy:
        'baseline: { enabled: false }\nthresholds:\n  - { metric: cpu.total_pct, value: 90, clear: 70, forSec: 60, clearSec: 60 }',
    });
    await feed(ctx, 'ag_1', 0, 10, () => 50);
    await feed(ctx, 'ag_1', 10, 12, () => 95); // 30 s of breach: not yet
    expect(ctx.sink.open.size).toBe(0);
    await feed(ctx, 'ag_1', 12, 13, () => 95); // 60 s
    const inc = ctx.sink.open.get('threshold:ag_1:cpu.total_pct:>90')!;
    expect(inc.failureTime).toBe(T0 + 10 * 30_000);
    await feed(ctx, 'ag_1', 13, 20, () => 80); // below 90 but above the clear level 70: stays open
    expect(ctx.sink.open.size).toBe(1);
    await feed(ctx, 'ag_1', 20, 23, () => 60);
    expect(ctx.sink.open.size).toBe(0);
  });

  it('two rules on one series keep their own state: the lower one open does not hide the higher one', async () => {
    const ctx = setup({
      policy:
        'baseline: { enabled: false }\nthresholds:\n  - { metric: cpu.total_pct, value: 80, forSec: 60 }\n  - { metric: cpu.total_pct, value: 95, forSec: 120, criticality: P1 }',
    });
    await feed(ctx, 'ag_1', 0, 4, () => 85); // > 80 for 90 s: the lower rule opens
    expect([...ctx.sink.open.keys()]).toEqual(['threshold:ag_1:cpu.total_pct:>80']);
    await feed(ctx, 'ag_1', 4, 9, () => 99); // > 95 for 120 s: the higher one opens too
    expect(ctx.sink.open.get('threshold:ag_1:cpu.total_pct:>95')?.criticality).toBe('P1');
    expect(ctx.sink.open.get('threshold:ag_1:cpu.total_pct:>95')?.failureTime).toBe(T0 + 4 * 30_000);
    await feed(ctx, 'ag_1', 9, 16, () => 90); // back under 95 (clear after 120 s), still over 80
    expect([...ctx.sink.open.keys()]).toEqual(['threshold:ag_1:cpu.total_pct:>80']);
  });

  it('rejects an invalid policy with the field named', () => {
    expect(() => parsePolicy('thresholds:\n  - { metric: cpu, value: high }', 'p.yaml')).toThrow(
      /p\.yaml: \/thresholds\/0\/value/,
    );
  });
});

describe('shipped rules (no policy at all)', () => {
  it('a CPU at 100 % for 5 min opens a P2 incident on a fresh engine, long before any baseline has learnt', async () => {
    const ctx = setup();
    await feed(ctx, 'ag_3', 0, 10, () => 100); // 4 min 30 s: not yet
    expect(ctx.sink.open.size).toBe(0);
    await feed(ctx, 'ag_3', 10, 11, () => 100); // 5 min
    const inc = ctx.sink.open.get('threshold:ag_3:cpu.total_pct:>95')!;
    expect(inc).toMatchObject({ failureTime: T0, criticality: 'P2', source: 'threshold' });
    expect(inc.explanation).toContain('above the policy limit of 95');
    expect([...ctx.sink.open.keys()]).toEqual(['threshold:ag_3:cpu.total_pct:>95']); // no baseline yet
    await feed(ctx, 'ag_3', 11, 16, () => 20);
    expect(ctx.sink.open.size).toBe(0);
  });

  it('memory exhausted and every almost-full volume open their own incident; `defaults: false` opens none', async () => {
    for (const policy of [undefined, 'defaults: false']) {
      const ctx = setup(policy ? { policy } : {});
      for (let i = 0; i < 12; i++) {
        ctx.clock.t = T0 + i * 30_000;
        await ctx.engine.ingest('ag_4', [
          {
            time: ctx.clock.t,
            values: { 'mem.used_pct': 97, 'disk.used_pct:/': 96, 'disk.used_pct:/var': 99, 'disk.used_pct:/srv': 40 },
          },
        ]);
      }
      expect([...ctx.sink.open.keys()].sort()).toEqual(
        policy
          ? []
          : [
              'threshold:ag_4:disk.used_pct:/:>95',
              'threshold:ag_4:disk.used_pct:/var:>95',
              'threshold:ag_4:mem.used_pct:>95',
            ],
      );
    }
  });

  it('a rule of yours on the same metric and direction replaces the shipped one', async () => {
    const ctx = setup({ policy: 'thresholds:\n  - { metric: cpu.total_pct, value: 80, forSec: 60 }' });
    await feed(ctx, 'ag_5', 0, 12, () => 100);
    expect([...ctx.sink.open.keys()]).toEqual(['threshold:ag_5:cpu.total_pct:>80']);
  });

  it('a document nested thousands deep is refused in words, not with a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(() => validatePolicy({ thresholds: [deep] }, 'request')).toThrow(/request: nested more than 16 levels/);
    expect(() => parsePolicy(`${'['.repeat(5000)}${']'.repeat(5000)}`, 'p.yaml')).toThrow(
      /p\.yaml: (not valid JSON or YAML|nested more than)/,
    );
  });

  it('a program cannot be watched by a prefix', () => {
    expect(() => parsePolicy('thresholds:\n  - { metric: "proc.cpu_pct:*", value: 50 }', 'p.yaml')).toThrow(
      /\/thresholds\/0\/metric: a program's CPU is watched by its exact name/,
    );
  });
});

describe('forecast', () => {
  it('opens when a volume will be full within 24 h', async () => {
    const ctx = setup({ policy: 'baseline: { enabled: false }' });
    for (let i = 0; i < 200; i++) {
      ctx.clock.t = T0 + i * 300_000;
      await ctx.engine.ingest('ag_2', [{ time: ctx.clock.t, values: { 'disk.used_pct:/var': 60 + i * 0.2 } }]);
    }
    // 2.4 %/h from ~100 % at the end: full within a few hours.
    expect(ctx.sink.open.has('forecast:ag_2:disk.used_pct:/var')).toBe(true);
  });
});

describe('absence', () => {
  it('gives every agent the full grace after a collector restart, then opens once', async () => {
    const lastSeen = [{ agentId: 'ag_3', lastSeenAt: T0 - 86_400_000, online: false }];
    const ctx = setup({ lastSeen });
    await ctx.engine.sweepAbsence();
    expect(ctx.sink.open.size).toBe(0); // silent for a day, but the collector just started
    ctx.clock.t = T0 + 3 * 30_000;
    await ctx.engine.sweepAbsence();
    expect(ctx.sink.open.size).toBe(0);
    ctx.clock.t = T0 + 4 * 30_000;
    await ctx.engine.sweepAbsence();
    await ctx.engine.sweepAbsence();
    const inc = ctx.sink.open.get('absence:ag_3')!;
    expect(inc.failureTime).toBe(T0 - 86_400_000);
    expect(ctx.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(1);
    await ctx.engine.ingest('ag_3', [{ time: ctx.clock.t, values: { 'cpu.total_pct': 1 } }]);
    expect(ctx.sink.open.size).toBe(0);
  });
});

describe('maintenance windows and correlation', () => {
  it('suppresses opening inside a recurring window and logs it', async () => {
    // Monday 00:00–02:00 UTC.
    const ctx = setup({
      policy:
        'baseline: { enabled: false }\nthresholds: [{ metric: cpu.total_pct, value: 90, forSec: 0 }]\nmaintenance: [{ days: [1], start: "00:00", minutes: 120 }]',
    });
    await feed(ctx, 'ag_4', 0, 3, () => 99);
    expect(ctx.sink.open.size).toBe(0);
    expect(ctx.engine.suppressed[0]).toMatchObject({ key: 'threshold:ag_4:cpu.total_pct:>90' });
  });

  it('turns the same fault on many machines of a site into one tier-2 incident', async () => {
    const ctx = setup({
      policy:
        'baseline: { enabled: false }\nthresholds: [{ metric: cpu.total_pct, value: 90, forSec: 0 }]\ncorrelation: { minAgents: 3, windowSec: 300 }',
    });
    for (let a = 0; a < 6; a++) await feed(ctx, `ag_${a}`, 10, 11, () => 99);
    const keys = [...ctx.sink.open.keys()];
    expect(keys).toEqual(['correlation:si_1:threshold:cpu.total_pct > 90']);
    const major = ctx.sink.open.get(keys[0]!)!;
    expect(major.tier).toBe(2);
    expect(major.agentIds).toHaveLength(6);
  });

  it('keeps a mass failure cheap: 3,000 machines of a site silent in one sweep are one incident, raised twice', async () => {
    // A site's network down: before, every machine re-raised the major incident with every machine so far in it
    // and in its text (quadratic: at 15,000 machines the collector stopped answering for minutes).
    const n = 3000;
    const lastSeen = Array.from({ length: n }, (_, i) => ({
      agentId: `ag_${i}`,
      lastSeenAt: T0 - 600_000,
      online: false,
    }));
    const ctx = setup({ lastSeen, agents: n });
    ctx.clock.t = T0 + 4 * 30_000;
    await ctx.engine.sweepAbsence();
    const open = [...ctx.sink.open.values()];
    expect(open.map((i) => i.key)).toEqual(['correlation:si_1:absence:agent.silent']);
    const major = open[0]!;
    expect(new Set(major.agentIds).size).toBe(n);
    expect(major.title).toBe(`agent.silent: ${n} machines of one site at once`);
    // Two machines' own incidents (folded when the third made it a site fault), the major incident's first raise
    // naming those three, then one raise for the 2,997 that joined during the sweep.
    const raises = ctx.sink.events.filter((e) => e.kind === 'raise');
    expect(raises.map((e) => (e.kind === 'raise' ? e.signal.agentIds.length : 0))).toEqual([1, 1, 3, n - 3]);
    expect(ctx.sink.events.filter((e) => e.kind === 'clear')).toHaveLength(2);
    // The text names 20 machines and counts the rest: it goes into notifications.
    expect(major.explanation).toContain(`and ${n - 20} more`);
    expect(major.explanation.length).toBeLessThan(2000);
    // A machine joining later is one more small raise.
    ctx.clock.t += 30_000;
    await ctx.engine.sweepAbsence();
    expect(ctx.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(4);
  });
});

describe('checkpoint', () => {
  it('restores state so a restart neither re-raises nor forgets an open incident', async () => {
    const a = setup();
    await feed(a, 'ag_0', 0, 400, (i) => 10 + 2 * noise(i));
    await feed(a, 'ag_0', 400, 410, () => 95);
    expect(a.sink.open.size).toBe(1);
    const snap = a.engine.snapshot();
    const b = setup();
    b.engine.restore(snap);
    b.sink.open.set('baseline:ag_0:cpu.total_pct', a.sink.open.get('baseline:ag_0:cpu.total_pct')!);
    await feed(b, 'ag_0', 410, 415, () => 95);
    expect(b.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(0);
    await feed(b, 'ag_0', 415, 450, (i) => 10 + 2 * noise(i));
    expect(b.sink.events.filter((e) => e.kind === 'clear')).toHaveLength(1);
  });

  it('threshold rules restore their own state; a checkpoint from before per-rule state hands its open one over', async () => {
    const a = setup({ policy: 'baseline: { enabled: false }' });
    await feed(a, 'ag_7', 0, 12, () => 100); // the shipped CPU rule opens
    expect([...a.sink.open.keys()]).toEqual(['threshold:ag_7:cpu.total_pct:>95']);
    const b = setup({ policy: 'baseline: { enabled: false }' });
    b.engine.restore(a.engine.snapshot());
    const key = 'threshold:ag_7:cpu.total_pct:>95';
    b.sink.open.set(key, a.sink.open.get(key)!); // the incident lives on in the store across the restart
    await feed(b, 'ag_7', 12, 14, () => 100);
    expect(b.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(0);
    await feed(b, 'ag_7', 14, 20, () => 10);
    expect(b.sink.events.map((e) => [e.kind, e.kind === 'clear' ? e.key : e.signal.key])).toEqual([
      ['clear', 'threshold:ag_7:cpu.total_pct:>95'],
    ]);

    // The layout written before: threshold state inside the series entry (open flag 4 places after the baseline).
    const legacy = new Float64Array(BASELINE_STATE_LENGTH + 9);
    legacy.set(newBaselineState());
    legacy[BASELINE_STATE_LENGTH + 2] = T0; // breach start
    legacy[BASELINE_STATE_LENGTH + 3] = -1; // clear start
    legacy[BASELINE_STATE_LENGTH + 4] = 1; // open
    legacy[BASELINE_STATE_LENGTH + 6] = -1;
    const c = setup({ policy: 'baseline: { enabled: false }' });
    c.engine.restore(new Map([['ag_7|cpu.total_pct', new Uint8Array(legacy.buffer)]]));
    c.sink.open.set(key, a.sink.open.get(key)!);
    await feed(c, 'ag_7', 20, 22, () => 100);
    expect(c.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(0);
    await feed(c, 'ag_7', 22, 28, () => 10);
    expect(c.sink.events.map((e) => [e.kind, e.kind === 'clear' ? e.key : e.signal.key])).toEqual([
      ['clear', 'threshold:ag_7:cpu.total_pct:>95'],
    ]);
  });

  it('a checkpoint from a version with another baseline layout keeps its open incidents and relearns the baseline', async () => {
    const a = setup();
    await feed(a, 'ag_0', 0, 400, (i) => 10 + 2 * noise(i));
    await feed(a, 'ag_0', 400, 410, () => 95);
    // The same blob with a baseline state 40 values shorter, as an older version wrote it.
    const old = new Map<string, Uint8Array>();
    for (const [id, bytes] of a.engine.snapshot()) {
      const f = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
      old.set(
        id,
        id.includes('|') && f.length > 40 ? new Uint8Array(new Float64Array([...f.slice(40)]).buffer) : bytes,
      );
    }
    const b = setup();
    b.engine.restore(old);
    b.sink.open.set('baseline:ag_0:cpu.total_pct', a.sink.open.get('baseline:ag_0:cpu.total_pct')!);
    await feed(b, 'ag_0', 410, 500, () => 95); // still failing while the baseline relearns: not raised again, not cleared
    expect(b.sink.events).toEqual([]);
    await feed(b, 'ag_0', 500, 700, (i) => 10 + 2 * noise(i));
    expect(b.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(0);
    expect(b.sink.events.filter((e) => e.kind === 'clear')).toHaveLength(1);
  });
});

describe('checks', () => {
  const policy = `baseline: { enabled: false }
checksFailAfter: 2
checks: [{ id: intranet, kind: http, url: "https://intranet.example/" }]
probes: [{ agentId: ag_7, checks: [{ id: printer, kind: ping, host: 10.0.0.9 }] }]`;
  const result = (checkId: string, i: number, ok: boolean) => ({
    checkId,
    time: T0 + i * 60_000,
    ok,
    message: ok ? 'HTTP 200 in 12 ms' : 'HTTP 503 in 40 ms',
  });

  it('opens after consecutive failures with the first failure as time of failure, and clears on a pass', async () => {
    const ctx = setup({ policy });
    await ctx.engine.ingestChecks('ag_6', [result('intranet', 0, true), result('intranet', 1, false)]);
    expect(ctx.sink.open.size).toBe(0); // one failure is not enough
    await ctx.engine.ingestChecks('ag_6', [result('intranet', 2, true), result('intranet', 3, false)]);
    expect(ctx.sink.open.size).toBe(0); // a pass in between resets the count
    ctx.clock.t = T0 + 4 * 60_000;
    await ctx.engine.ingestChecks('ag_6', [result('intranet', 4, false)]);
    const inc = ctx.sink.open.get('check:ag_6:intranet')!;
    expect(inc).toMatchObject({ source: 'check', rule: 'check:http:intranet', failureTime: T0 + 3 * 60_000 });
    expect(inc.explanation).toContain(
      'HTTP check intranet (https://intranet.example/) failed 2 times in a row: HTTP 503',
    );
    await ctx.engine.ingestChecks('ag_6', [result('intranet', 5, false), result('intranet', 6, false)]);
    expect(ctx.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(1);

    // A restart in the middle keeps the open state: the pass after it clears the incident, once.
    const b = setup({ policy });
    b.engine.restore(ctx.engine.snapshot());
    b.sink.open.set('check:ag_6:intranet', inc);
    await b.engine.ingestChecks('ag_6', [result('intranet', 7, false), result('intranet', 8, true)]);
    expect(b.sink.events.map((e) => e.kind)).toEqual(['clear']);
    expect(b.sink.events[0]).toMatchObject({ key: 'check:ag_6:intranet', at: T0 + 8 * 60_000 });
  });

  it('a check removed from the policy clears its incident; results of unknown checks open nothing', async () => {
    const set = new PolicySet([parsePolicy(policy)]);
    const sink = new MemoryIncidentSink();
    const clock = { now: () => T0 };
    const engine = new DetectionEngine({
      sink,
      presence: { place: async () => ({ clientId: 'cl_1', siteId: 'si_1' }), lastSeen: async () => [] },
      policies: set,
      clock,
      logger,
    });
    await engine.ingestChecks('ag_7', [result('printer', 0, false), result('printer', 1, false)]);
    await engine.ingestChecks('ag_7', [result('old-one', 0, false), result('old-one', 1, false)]);
    expect([...sink.open.keys()]).toEqual(['check:ag_7:printer']);
    set.replaceAll([parsePolicy('checks: []')]);
    await engine.reconcileChecks();
    expect(sink.open.size).toBe(0);
    expect(sink.events.at(-1)).toMatchObject({ kind: 'clear', note: 'check removed from the policy' });
  });

  it('gives a probe agent its equipment checks on top of the scope checks', () => {
    const set = new PolicySet([parsePolicy(policy)]);
    const push = new ChecksPush(set, () => T0);
    const probe = push.messageFor({ agentId: 'ag_7', clientId: 'cl_1', siteId: 'si_1' });
    const plain = push.messageFor({ agentId: 'ag_6', clientId: 'cl_1', siteId: 'si_1' });
    expect(probe.checks.map((c) => c.id)).toEqual(['intranet', 'printer']);
    expect(plain.checks.map((c) => c.id)).toEqual(['intranet']);
    expect(plain.id).not.toBe(probe.id);
    expect(push.messageFor({ agentId: 'ag_6', clientId: 'cl_1', siteId: 'si_1' }).id).toBe(plain.id);
  });
});
