/**
 * The service-quality report's figures for one client and period, computed from the incidents concern's public
 * `forPeriod` and the client's contract (penalty terms): nothing here reads another concern's tables.
 *
 * Definitions (docs/0006-quality-report.md):
 * - an incident belongs to the period it was detected in, [from, to);
 * - time to acknowledge = acknowledged − detected, over the incidents acknowledged;
 * - time to resolve = the stored resolution time (resolved − time of failure), over the incidents resolved;
 * - SLA compliance counts the incidents that carry an SLA clock: a target is met unless its breach was recorded
 *   (an incident still running and not yet due counts as met so far);
 * - penalties = Σ breaches × the contract's amount per breach for the criticality, capped per period.
 */
import type { Criticality, Incident } from '../../incidents/index.js';
import type { PeriodFigures, QualityReport } from './schema.js';

export type { PeriodFigures, QualityReport } from './schema.js';

/** What the report needs from the rest of the collector. */
export interface QualitySources {
  forPeriod(clientId: string, from: number, to: number): Promise<Incident[]>;
  penalties(
    clientId: string,
  ): Promise<{ currency: string; perBreach: Record<string, number>; capPerPeriod: number | null } | null>;
  hostname(agentId: string): Promise<string | undefined>;
}

const CRITICALITIES: Criticality[] = ['P1', 'P2', 'P3', 'P4'];

const zeroes = (): Record<Criticality, number> => ({ P1: 0, P2: 0, P3: 0, P4: 0 });
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function top<K>(counts: Map<K, number>, n: number): [K, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).slice(0, n);
}

/** One incident of the period, as the sources give it. */
type PeriodIncident = Awaited<ReturnType<QualitySources['forPeriod']>>[number];

/** Users' requests of the period: by channel, and their recurring causes with how they were resolved. */
function requestFigures(list: PeriodIncident[]): PeriodFigures['requests'] {
  const asked = list.filter((i) => i.channel !== 'detection' && i.channel !== 'technician');
  const byChannel: Record<string, number> = {};
  const causes = new Map<string, { count: number; resolutions: Record<string, number> }>();
  for (const i of asked) {
    byChannel[i.channel] = (byChannel[i.channel] ?? 0) + 1;
    const c = causes.get(i.type) ?? { count: 0, resolutions: {} };
    c.count += 1;
    if (i.resolutionCategory) c.resolutions[i.resolutionCategory] = (c.resolutions[i.resolutionCategory] ?? 0) + 1;
    causes.set(i.type, c);
  }
  return {
    total: asked.length,
    byChannel,
    recurringCauses: [...causes]
      .filter(([, c]) => c.count >= 2)
      .map(([type, c]) => ({ type, ...c }))
      .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type))
      .slice(0, 10),
  };
}

/** SLA compliance, for all incidents with an SLA and per criticality. */
function slaFigures(list: PeriodIncident[]): PeriodFigures['sla'] {
  return (['all', ...CRITICALITIES] as const).map((criticality) => {
    const withSla = list.filter((i) => i.sla && (criticality === 'all' || i.criticality === criticality));
    const responseMet = withSla.filter((i) => i.sla!.responseBreachedAt === null).length;
    const resolutionMet = withSla.filter((i) => i.sla!.resolutionBreachedAt === null).length;
    const bothMet = withSla.filter(
      (i) => i.sla!.responseBreachedAt === null && i.sla!.resolutionBreachedAt === null,
    ).length;
    return {
      criticality,
      withSla: withSla.length,
      responseMet,
      resolutionMet,
      compliance: withSla.length ? bothMet / withSla.length : null,
    };
  });
}

/** SLA breaches, response and resolution, and per criticality (each incident counts up to two). */
function breachFigures(list: PeriodIncident[]): PeriodFigures['breaches'] {
  const breaches = { response: 0, resolution: 0, byCriticality: zeroes() };
  for (const i of list) {
    const n = (i.sla?.responseBreachedAt != null ? 1 : 0) + (i.sla?.resolutionBreachedAt != null ? 1 : 0);
    if (i.sla?.responseBreachedAt != null) breaches.response += 1;
    if (i.sla?.resolutionBreachedAt != null) breaches.resolution += 1;
    breaches.byCriticality[i.criticality] += n;
  }
  return breaches;
}

/** The figures of one period [from, to) of a client. */
async function figures(src: QualitySources, clientId: string, from: number, to: number): Promise<PeriodFigures> {
  const list = await src.forPeriod(clientId, from, to);
  const byCriticality = zeroes();
  const types = new Map<string, Record<Criticality, number>>();
  const rules = new Map<string, number>();
  const machines = new Map<string, number>();
  for (const i of list) {
    byCriticality[i.criticality] += 1;
    const t = types.get(i.type) ?? zeroes();
    t[i.criticality] += 1;
    types.set(i.type, t);
    const rule = `${i.source}: ${i.rule}`;
    rules.set(rule, (rules.get(rule) ?? 0) + 1);
    for (const a of i.agentIds) machines.set(a, (machines.get(a) ?? 0) + 1);
  }
  const acked = list.filter((i) => i.acknowledgedAt !== null);
  const resolved = list.filter((i) => i.resolutionMs !== null);

  const sla = slaFigures(list);
  const breaches = breachFigures(list);
  const terms = await src.penalties(clientId);
  const uncapped = terms
    ? CRITICALITIES.reduce((sum, c) => sum + breaches.byCriticality[c] * (terms.perBreach[c] ?? 0), 0)
    : 0;
  const penalty = terms && {
    currency: terms.currency,
    uncapped,
    cap: terms.capPerPeriod,
    amount: terms.capPerPeriod === null ? uncapped : Math.min(uncapped, terms.capPerPeriod),
  };

  const topMachines = [];
  for (const [agentId, count] of top(machines, 10)) {
    topMachines.push({ agentId, hostname: (await src.hostname(agentId)) ?? agentId, count });
  }
  return {
    from,
    to,
    incidents: list.length,
    byCriticality,
    byType: [...types]
      .map(([type, byCrit]) => ({
        type,
        byCriticality: byCrit,
        count: CRITICALITIES.reduce((s, c) => s + byCrit[c], 0),
      }))
      .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type)),
    acknowledged: acked.length,
    resolved: resolved.length,
    mttaMs: mean(acked.map((i) => i.acknowledgedAt! - i.detectedAt)),
    mttrMs: mean(resolved.map((i) => i.resolutionMs!)),
    sla,
    breaches,
    penalty,
    topRules: top(rules, 10).map(([rule, count]) => ({ rule, count })),
    requests: requestFigures(list),
    topMachines,
  };
}

/** Builds the report for [from, to) and the period of equal length just before it. */
export async function buildQuality(
  src: QualitySources,
  client: { id: string; name: string },
  from: number,
  to: number,
  now: number,
): Promise<QualityReport> {
  return {
    clientId: client.id,
    clientName: client.name,
    generatedAt: now,
    current: await figures(src, client.id, from, to),
    previous: await figures(src, client.id, from - (to - from), from),
  };
}
