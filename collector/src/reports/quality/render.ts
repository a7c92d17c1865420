/**
 * The service-quality report as print-friendly HTML with charts drawn server-side as inline SVG (no script, no
 * external resource, every value escaped) and as CSV (one line per figure, current and previous period side by side).
 */
import { escapeHtml, toCsv } from '../../text/index.js';
import type { PeriodFigures, QualityReport } from './data.js';

const e = escapeHtml;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const hours = (ms: number | null) => (ms === null ? '—' : `${(ms / 3_600_000).toFixed(1)} h`);
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
const money = (p: PeriodFigures['penalty']) => (p ? `${p.amount.toFixed(2)} ${p.currency}` : '—');

/** Change against the previous period, as text ("+3", "−12.5 %"…). */
function delta(now: number | null, before: number | null, unit: 'n' | 'h' | 'pct'): string {
  if (now === null || before === null) return '—';
  const d = now - before;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const v = Math.abs(d);
  return unit === 'n'
    ? `${sign}${v}`
    : unit === 'h'
      ? `${sign}${(v / 3_600_000).toFixed(1)} h`
      : `${sign}${(v * 100).toFixed(1)} pt`;
}

/**
 * Horizontal bars, one row per item; with `previous` a thin grey bar under each shows the previous period.
 * `max` fixes the scale (e.g. 1 for shares).
 */
function barChart(
  title: string,
  items: { label: string; value: number; previous?: number; text?: string }[],
  max?: number,
): string {
  if (!items.length) return `<figure><figcaption>${e(title)}</figcaption><p>No incidents.</p></figure>`;
  const rowH = 22;
  const labelW = 200;
  const barW = 380;
  const top = Math.max(max ?? 0, ...items.map((i) => Math.max(i.value, i.previous ?? 0)), 1);
  const rows = items
    .map((it, n) => {
      const y = n * rowH;
      const w = (it.value / top) * barW;
      const pw = it.previous === undefined ? 0 : (it.previous / top) * barW;
      return `<g transform="translate(0,${y})"><text x="${labelW - 6}" y="14" text-anchor="end">${e(it.label.slice(0, 40))}</text>
<rect x="${labelW}" y="3" width="${w.toFixed(1)}" height="12" fill="#2b6cb0"/>${
        it.previous === undefined
          ? ''
          : `<rect x="${labelW}" y="16" width="${pw.toFixed(1)}" height="4" fill="#a0aec0"/>`
      }<text x="${labelW + w + 4}" y="14">${e(it.text ?? String(it.value))}</text></g>`;
    })
    .join('\n');
  const h = items.length * rowH + 4;
  return `<figure><figcaption>${e(title)}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${e(title)}" width="${labelW + barW + 80}" height="${h}" viewBox="0 0 ${labelW + barW + 80} ${h}" font-size="11" font-family="sans-serif">
${rows}
</svg></figure>`;
}

function table(head: string[], rows: unknown[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** The summary table: each headline figure, this period and its change. */
function summarySection(c: PeriodFigures, p: PeriodFigures): string {
  const slaAll = (f: PeriodFigures) => f.sla.find((s) => s.criticality === 'all')!;
  const summary: [string, string, string][] = [
    ['Incidents', String(c.incidents), delta(c.incidents, p.incidents, 'n')],
    ['Mean time to acknowledge', hours(c.mttaMs), delta(c.mttaMs, p.mttaMs, 'h')],
    ['Mean time to resolve', hours(c.mttrMs), delta(c.mttrMs, p.mttrMs, 'h')],
    ['SLA compliance', pct(slaAll(c).compliance), delta(slaAll(c).compliance, slaAll(p).compliance, 'pct')],
    [
      'SLA breaches (response + resolution)',
      String(c.breaches.response + c.breaches.resolution),
      delta(c.breaches.response + c.breaches.resolution, p.breaches.response + p.breaches.resolution, 'n'),
    ],
    [
      'Penalties implied',
      money(c.penalty),
      c.penalty && p.penalty ? delta(c.penalty.amount, p.penalty.amount, 'n') : '—',
    ],
  ];
  return `<section><h2>Summary</h2>
<table id="summary"><thead><tr><th>Figure</th><th>This period</th><th>Change</th></tr></thead><tbody>${summary
    .map(([k, v, d]) => `<tr><td>${e(k)}</td><td data-figure="${e(k)}">${e(v)}</td><td>${e(d)}</td></tr>`)
    .join('')}</tbody></table></section>`;
}

/** Incidents by criticality and by type, against the previous period. */
function incidentsSection(c: PeriodFigures, p: PeriodFigures): string {
  return `<section><h2>Incidents by criticality and type</h2>
<p class="legend">Blue: this period; grey: the previous period.</p>
${barChart(
  'Incidents by criticality',
  (['P1', 'P2', 'P3', 'P4'] as const).map((k) => ({
    label: k,
    value: c.byCriticality[k],
    previous: p.byCriticality[k],
  })),
)}
${barChart(
  'Incidents by type',
  c.byType
    .slice(0, 12)
    .map((t) => ({ label: t.type, value: t.count, previous: p.byType.find((x) => x.type === t.type)?.count ?? 0 })),
)}
${table(
  ['Type', 'P1', 'P2', 'P3', 'P4', 'Total'],
  c.byType.map((t) => [
    t.type,
    t.byCriticality.P1,
    t.byCriticality.P2,
    t.byCriticality.P3,
    t.byCriticality.P4,
    t.count,
  ]),
)}</section>`;
}

/** SLA compliance by criticality, breaches and the penalties they imply. */
function slaSection(c: PeriodFigures, p: PeriodFigures): string {
  return `<section><h2>SLA compliance</h2>
${barChart(
  'Incidents meeting both targets, by criticality',
  c.sla
    .filter((s) => s.withSla > 0)
    .map((s) => ({
      label: s.criticality,
      value: s.compliance ?? 0,
      previous: p.sla.find((x) => x.criticality === s.criticality)?.compliance ?? 0,
      text: pct(s.compliance),
    })),
  1,
)}
${table(
  ['Criticality', 'With SLA', 'Response met', 'Resolution met', 'Compliance'],
  c.sla.map((s) => [s.criticality, s.withSla, s.responseMet, s.resolutionMet, pct(s.compliance)]),
)}
<p>Breaches: ${c.breaches.response} response, ${c.breaches.resolution} resolution. ${
    c.penalty
      ? `Penalties implied: ${e(money(c.penalty))}${c.penalty.cap !== null && c.penalty.uncapped > c.penalty.cap ? ` (capped from ${e(c.penalty.uncapped.toFixed(2))})` : ''}.`
      : 'The contract sets no penalty terms.'
  }</p></section>`;
}

/** The faults that came back most, by rule and by machine. */
function recurringSection(c: PeriodFigures, _p: PeriodFigures): string {
  return `<section><h2>Top recurring faults</h2>
${barChart(
  'By rule or category',
  c.topRules.map((t) => ({ label: t.rule, value: t.count })),
)}
${barChart(
  'By machine',
  c.topMachines.map((m) => ({ label: m.hostname, value: m.count })),
)}
</section>`;
}

/** Users' requests by channel, and their recurring causes. */
function requestsSection(c: PeriodFigures, p: PeriodFigures): string {
  return `<section><h2>Users' requests</h2>
<p>${c.requests.total} requests this period (${p.requests.total} the period before).</p>
${barChart(
  'By channel',
  Object.entries(c.requests.byChannel).map(([label, value]) => ({ label, value })),
)}
${table(
  ['Recurring cause', 'Requests', 'Resolved as'],
  c.requests.recurringCauses.map((r) => [
    r.type,
    r.count,
    Object.entries(r.resolutions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '—',
  ]),
)}
</section>`;
}

/** The HTML document. */
export function renderQualityHtml(r: QualityReport): string {
  const c = r.current;
  const p = r.previous;
  const title = `Service quality — ${r.clientName}, ${day(c.from)} to ${day(c.to)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${e(title)}</title>
<style>
body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:18pt}h2{font-size:13pt;margin-top:1.5em;border-bottom:1px solid #999}
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}
#summary td:nth-child(n+2){text-align:right;font-weight:600}
figure{margin:.6em 0}figcaption{font-weight:600;margin-bottom:.2em}
.legend{font-size:9pt;color:#555}
@media print{body{margin:0}section{break-inside:avoid-page;page-break-inside:avoid}}
</style></head><body>
<h1>${e(title)}</h1>
<p>Client ${e(r.clientId)}. Previous period for the trend: ${e(day(p.from))} to ${e(day(p.to))}. Generated ${e(new Date(r.generatedAt).toISOString())} by Outpost.</p>
${summarySection(c, p)}
${incidentsSection(c, p)}
${slaSection(c, p)}
${recurringSection(c, p)}
${requestsSection(c, p)}
</body></html>
`;
}

/** The CSV: one line per figure, with the previous period beside it. */
export function renderQualityCsv(r: QualityReport): string {
  const c = r.current;
  const p = r.previous;
  const rows: (string | number)[][] = [];
  const add = (section: string, key: string, now: number | string | null, before: number | string | null) =>
    rows.push([section, key, now ?? '', before ?? '']);
  add('period', 'from', day(c.from), day(p.from));
  add('period', 'to', day(c.to), day(p.to));
  add('summary', 'incidents', c.incidents, p.incidents);
  add('summary', 'acknowledged', c.acknowledged, p.acknowledged);
  add('summary', 'resolved', c.resolved, p.resolved);
  add(
    'summary',
    'mtta_ms',
    c.mttaMs === null ? null : Math.round(c.mttaMs),
    p.mttaMs === null ? null : Math.round(p.mttaMs),
  );
  add(
    'summary',
    'mttr_ms',
    c.mttrMs === null ? null : Math.round(c.mttrMs),
    p.mttrMs === null ? null : Math.round(p.mttrMs),
  );
  for (const k of ['P1', 'P2', 'P3', 'P4'] as const) add('criticality', k, c.byCriticality[k], p.byCriticality[k]);
  for (const t of c.byType) add('type', t.type, t.count, p.byType.find((x) => x.type === t.type)?.count ?? 0);
  for (const s of c.sla) {
    const before = p.sla.find((x) => x.criticality === s.criticality)!;
    add('sla', `${s.criticality}_with_sla`, s.withSla, before.withSla);
    add('sla', `${s.criticality}_response_met`, s.responseMet, before.responseMet);
    add('sla', `${s.criticality}_resolution_met`, s.resolutionMet, before.resolutionMet);
    add(
      'sla',
      `${s.criticality}_compliance`,
      s.compliance === null ? null : s.compliance.toFixed(4),
      before.compliance === null ? null : before.compliance.toFixed(4),
    );
  }
  add('breaches', 'response', c.breaches.response, p.breaches.response);
  add('breaches', 'resolution', c.breaches.resolution, p.breaches.resolution);
  add(
    'penalty',
    c.penalty?.currency ?? 'amount',
    c.penalty ? c.penalty.amount.toFixed(2) : null,
    p.penalty ? p.penalty.amount.toFixed(2) : null,
  );
  for (const t of c.topRules) add('top_rule', t.rule, t.count, null);
  add('requests', 'total', c.requests.total, p.requests.total);
  for (const [ch, n] of Object.entries(c.requests.byChannel))
    add('requests_channel', ch, n, p.requests.byChannel[ch] ?? 0);
  for (const r of c.requests.recurringCauses) add('recurring_cause', r.type, r.count, null);
  for (const m of c.topMachines) add('top_machine', `${m.hostname} (${m.agentId})`, m.count, null);
  return toCsv(['section', 'figure', 'this_period', 'previous_period'], rows);
}
