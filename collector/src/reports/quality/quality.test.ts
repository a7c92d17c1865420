/**
 * The service-quality report over a generated month of incidents (and a shorter previous month), run through the real
 * incident service, contracts and SLA engine on a fake clock. The figures are recomputed independently, from the
 * generator's own record of what happened and from the raw `incidents` rows, and must match the report, its CSV and
 * its HTML.
 */
import { describe, expect, it } from 'vitest';
import { prepared } from '../../db/index.js';
import { harness } from '../../incidents/harness.fixture.js';
import type { Criticality } from '../../incidents/index.js';
import { buildQuality, type QualityReport, type QualitySources } from './data.js';
import { renderQualityCsv, renderQualityHtml } from './render.js';

const M = 60_000;
const H = 60 * M;
const SYSTEM = { kind: 'system', id: 'system' } as const;
const OCT = Date.parse('2026-10-01T00:00:00Z');
const NOV = Date.parse('2026-11-01T00:00:00Z');
const SEP = Date.parse('2026-09-01T00:00:00Z');
/** Response and resolution targets, minutes (a 24/7 calendar, so covered time is wall time). */
const TARGETS = { P1: [30, 240], P2: [60, 360], P3: [120, 480], P4: [180, 600] } as const;
const PER_BREACH = { P1: 500, P2: 200, P3: 50, P4: 0 };
const TYPES = ['disk', 'network', 'printing', 'backup', '<script>alert(1)</script>'];

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Truth {
  detectedAt: number;
  criticality: Criticality;
  type: string;
  ackMs: number | null;
  resolutionMs: number | null;
  responseBreached: boolean;
  resolutionBreached: boolean;
}

/**
 * Opens incidents every 12 h from `from` to `to`; each is acknowledged and resolved (or left) within 11.5 h, before the
 * next opens, so the fake clock only moves forward.
 */
async function generate(h: Awaited<ReturnType<typeof harness>>, from: number, to: number, seed: number) {
  const rand = rng(seed);
  const truth: Truth[] = [];
  for (let t = from + 3 * H; t < to; t += 12 * H) {
    h.clock.t = t;
    const criticality = (['P1', 'P2', 'P3', 'P4'] as const)[Math.floor(rand() * 4)]!;
    const type = TYPES[Math.floor(rand() * TYPES.length)]!;
    const [respMin, resMin] = TARGETS[criticality];
    const failureLead = Math.floor(rand() * 10) * M;
    const inc = await h.incidents.open(SYSTEM, {
      clientId: h.client.id,
      siteId: h.site.id,
      title: `${type} fault`,
      type,
      criticality,
      failureTime: t - failureLead,
    });
    // Acknowledge (90 %) after a delay that misses the response target one time in four; never exactly on it.
    const acked = rand() < 0.9;
    const ackDelay = Math.round((rand() < 0.25 ? respMin * (1.1 + 0.5 * rand()) : respMin * (0.1 + 0.8 * rand())) * M);
    const resolved = acked && rand() < 0.85;
    const resolveDelay = Math.round(
      Math.min(11 * 60, rand() < 0.2 ? resMin * (1.02 + 0.05 * rand()) : resMin * (0.2 + 0.7 * rand())) * M,
    );
    const steps: [number, () => Promise<unknown>][] = [];
    if (acked) steps.push([t + ackDelay, () => h.incidents.acknowledge(SYSTEM, inc.id)]);
    if (resolved)
      steps.push([
        t + Math.max(resolveDelay, ackDelay + M),
        () => h.incidents.resolve(SYSTEM, inc.id, 'fixed', 'fixed'),
      ]);
    const responseDue = t + respMin * M;
    const resolutionDue = t + resMin * M;
    // The SLA engine runs just after each due time that passes before the ticket is handled, as its timer would.
    const stopAck = acked ? t + ackDelay : to;
    const stopResolve = resolved ? t + Math.max(resolveDelay, ackDelay + M) : Math.min(to, t + 11.5 * H);
    for (const [due, stop] of [
      [responseDue, stopAck],
      [resolutionDue, stopResolve],
    ] as const) {
      if (due < stop) steps.push([due + 1, () => h.incidents.tick()]);
    }
    steps.sort((a, b) => a[0] - b[0]);
    for (const [at, run] of steps) {
      h.clock.t = at;
      await run();
    }
    const actualResolveAt = resolved ? t + Math.max(resolveDelay, ackDelay + M) : null;
    truth.push({
      detectedAt: t,
      criticality,
      type,
      ackMs: acked ? ackDelay : null,
      resolutionMs: actualResolveAt === null ? null : actualResolveAt - (t - failureLead),
      responseBreached: responseDue < stopAck,
      resolutionBreached: resolutionDue < stopResolve,
    });
  }
  return truth;
}

async function fixture() {
  const h = await harness({ start: SEP });
  const cal = await h.contracts.saveCalendar(SYSTEM, {
    name: '24/7',
    clientId: h.client.id,
    timezone: 'UTC',
    kind: '24x7',
  });
  await h.contracts.setContract(SYSTEM, h.client.id, {
    name: 'Gold',
    calendarId: cal.id,
    targets: Object.fromEntries(
      Object.entries(TARGETS).map(([k, [r, s]]) => [k, { responseMinutes: r, resolutionMinutes: s }]),
    ),
    penalties: { currency: 'EUR', perBreach: PER_BREACH, capPerPeriod: null },
  });
  const september = await generate(h, SEP, SEP + 15 * 24 * H, 7);
  const october = await generate(h, OCT, NOV, 42);
  const sources: QualitySources = {
    forPeriod: (c, f, t) => h.incidents.forPeriod(c, f, t),
    penalties: async (c) => (await h.contracts.contract(c))?.penalties ?? null,
    hostname: async () => undefined,
  };
  const report = await buildQuality(sources, { id: h.client.id, name: 'Acme' }, OCT, NOV, NOV);
  return { h, september, october, report };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('service-quality report', () => {
  it('matches MTTA, MTTR, SLA compliance, breaches and penalties recomputed from what happened and from the raw rows', async () => {
    const { h, october, september, report } = await fixture();
    const c = report.current;
    expect(october.length).toBe(62);
    expect(c.incidents).toBe(october.length);
    expect(report.previous.incidents).toBe(september.length);

    // From the generator's record.
    const acked = october.filter((t) => t.ackMs !== null);
    const resolved = october.filter((t) => t.resolutionMs !== null);
    expect(c.acknowledged).toBe(acked.length);
    expect(c.resolved).toBe(resolved.length);
    expect(c.mttaMs).toBeCloseTo(mean(acked.map((t) => t.ackMs!)), 6);
    expect(c.mttrMs).toBeCloseTo(mean(resolved.map((t) => t.resolutionMs!)), 6);
    const both = october.filter((t) => !t.responseBreached && !t.resolutionBreached).length;
    const all = c.sla.find((s) => s.criticality === 'all')!;
    expect(all.withSla).toBe(october.length);
    expect(all.compliance).toBeCloseTo(both / october.length, 10);
    expect(c.breaches.response).toBe(october.filter((t) => t.responseBreached).length);
    expect(c.breaches.resolution).toBe(october.filter((t) => t.resolutionBreached).length);
    expect(c.breaches.response).toBeGreaterThan(3);
    expect(c.breaches.resolution).toBeGreaterThan(3);
    const penalty = october.reduce(
      (s, t) => s + (Number(t.responseBreached) + Number(t.resolutionBreached)) * PER_BREACH[t.criticality],
      0,
    );
    expect(c.penalty).toEqual({ currency: 'EUR', amount: penalty, uncapped: penalty, cap: null });
    for (const k of ['P1', 'P2', 'P3', 'P4'] as const) {
      expect(c.byCriticality[k]).toBe(october.filter((t) => t.criticality === k).length);
      const own = october.filter((t) => t.criticality === k);
      const slaK = c.sla.find((s) => s.criticality === k)!;
      expect(slaK.responseMet).toBe(own.filter((t) => !t.responseBreached).length);
      expect(slaK.resolutionMet).toBe(own.filter((t) => !t.resolutionBreached).length);
    }

    // From the raw rows, without the incidents concern's code.
    const rows = prepared<
      [string, number, number],
      { detected_at: number; acknowledged_at: number | null; resolution_ms: number | null; sla: string }
    >(
      h.db,
      'SELECT detected_at, acknowledged_at, resolution_ms, sla FROM incidents WHERE client_id = ? AND detected_at >= ? AND detected_at < ?',
    ).all(h.client.id, OCT, NOV);
    expect(rows.length).toBe(c.incidents);
    const ackRows = rows.filter((r) => r.acknowledged_at !== null);
    expect(c.mttaMs).toBeCloseTo(mean(ackRows.map((r) => r.acknowledged_at! - r.detected_at)), 6);
    expect(c.mttrMs).toBeCloseTo(mean(rows.filter((r) => r.resolution_ms !== null).map((r) => r.resolution_ms!)), 6);
    const met = rows.filter((r) => {
      const s = JSON.parse(r.sla) as { responseBreachedAt: number | null; resolutionBreachedAt: number | null };
      return s.responseBreachedAt === null && s.resolutionBreachedAt === null;
    }).length;
    expect(all.compliance).toBeCloseTo(met / rows.length, 10);

    // The CSV carries the same numbers.
    const csv = renderQualityCsv(report);
    const cell = (section: string, figure: string) =>
      csv
        .split('\r\n')
        .map((l) => l.split(','))
        .find((r) => r[0] === section && r[1] === figure)?.[2];
    expect(Number(cell('summary', 'incidents'))).toBe(c.incidents);
    expect(Number(cell('summary', 'mtta_ms'))).toBe(Math.round(c.mttaMs!));
    expect(Number(cell('summary', 'mttr_ms'))).toBe(Math.round(c.mttrMs!));
    expect(Number(cell('sla', 'all_compliance'))).toBeCloseTo(both / october.length, 4);
    expect(Number(cell('breaches', 'response'))).toBe(c.breaches.response);
    expect(Number(cell('penalty', 'EUR'))).toBe(penalty);
  });

  it('renders print-ready HTML with SVG charts, hostile strings escaped, and the trend against the previous period', async () => {
    const { report } = await fixture();
    const html = renderQualityHtml(report);
    expect(html).toContain('<svg');
    expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(4);
    expect(html).toContain('@media print');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const figure = (k: string) => new RegExp(`data-figure="${k}">([^<]*)<`).exec(html)?.[1];
    expect(figure('Incidents')).toBe(String(report.current.incidents));
    expect(figure('Mean time to acknowledge')).toBe(`${(report.current.mttaMs! / H).toFixed(1)} h`);
    const diff = report.current.incidents - report.previous.incidents;
    expect(html).toContain(`<td>${diff > 0 ? '+' : diff < 0 ? '−' : '±'}${Math.abs(diff)}</td>`);
    // The top recurring faults list the most frequent rule first.
    const counts = report.current.topRules.map((r) => r.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(report.current.topRules[0]!.rule).toMatch(/^manual: /);
  });
});

export type { QualityReport };
