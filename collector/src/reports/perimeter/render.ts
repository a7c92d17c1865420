/**
 * The perimeter report as print-friendly HTML (no script, no external resource, every value escaped: agent strings
 * are never interpreted as HTML) and as CSV (one line per machine, spreadsheet formulas neutralised).
 */
import { escapeHtml, toCsv } from '../../text/index.js';
import type { MachineSection, PerimeterReport } from './data.js';

const day = (t: number | null) => (t === null ? '—' : new Date(t).toISOString().slice(0, 10));
const gib = (b: number | null) => (b === null ? '—' : `${(b / 1024 ** 3).toFixed(1)} GiB`);
const yesNo = (v: boolean | null) => (v === null ? '?' : v ? 'yes' : 'no');

function machineHtml(m: MachineSection): string {
  const e = escapeHtml;
  const flags = [
    m.obsolete ? 'obsolete' : '',
    m.osEndOfLife ? 'OS end of life' : '',
    m.criticalPatches.length ? 'critical patches pending' : '',
    m.rebootRequired ? 'reboot required' : '',
  ]
    .filter(Boolean)
    .map((f) => `<span class="flag">${e(f)}</span>`)
    .join(' ');
  const rows = (cells: unknown[][]) =>
    cells.map((c) => `<tr>${c.map((x) => `<td>${e(x)}</td>`).join('')}</tr>`).join('');
  return `<section class="machine">
<h2>${e(m.hostname || m.deviceId)} ${flags}</h2>
<table class="kv"><tbody>${rows([
    ['Device', m.deviceId],
    ['Hardware', `${m.manufacturer} ${m.model}`.trim() || '—'],
    ['Serial', m.serial || '—'],
    ['BIOS date / age', `${m.biosDate || '—'} / ${m.ageYears === null ? '—' : `${m.ageYears.toFixed(1)} years`}`],
    ['Operating system', m.os || '—'],
    ['Supported until', `${day(m.osSupportedUntil)}${m.osEndOfLife ? ' (end of life)' : ''}`],
    ['Processor', m.cpu || '—'],
    ['Memory', gib(m.memoryBytes)],
    ['OS activation', m.activation || '—'],
    [
      'Pending updates',
      `${m.pendingPatches} (${m.pendingSecurity} security)${m.rebootRequired ? ', reboot required' : ''}`,
    ],
    ['Installed software', String(m.softwareCount)],
  ])}</tbody></table>
${m.disks.length ? `<h3>Disks</h3><table><thead><tr><th>Disk</th><th>Model</th><th>Size</th><th>Type</th><th>SMART</th></tr></thead><tbody>${rows(m.disks.map((d) => [d.name, d.model, gib(d.sizeBytes), d.type, d.health]))}</tbody></table>` : ''}
${m.volumes.length ? `<h3>Volumes</h3><table><thead><tr><th>Mount</th><th>File system</th><th>Size</th><th>Free</th></tr></thead><tbody>${rows(m.volumes.map((v) => [v.mount, v.filesystem, gib(v.sizeBytes), gib(v.freeBytes)]))}</tbody></table>` : ''}
${m.antivirus.length ? `<h3>Antivirus</h3><table><thead><tr><th>Product</th><th>Enabled</th><th>Up to date</th><th>Licence expires</th></tr></thead><tbody>${rows(m.antivirus.map((a) => [a.product, yesNo(a.enabled), yesNo(a.upToDate), day(a.expiresAt)]))}</tbody></table>` : ''}
${m.criticalPatches.length ? `<h3>Critical pending patches</h3><table><thead><tr><th>Update</th><th>KB / severity</th><th>Pending for</th></tr></thead><tbody>${rows(m.criticalPatches.map((p) => [p.name, p.detail, `${p.ageDays} days`]))}</tbody></table>` : ''}
<details><summary>Software (${m.softwareCount})</summary><table class="small"><thead><tr><th>Name</th><th>Version</th><th>Publisher</th></tr></thead><tbody>${rows(m.software.map((s) => [s.name, s.version, s.publisher]))}</tbody></table></details>
</section>`;
}

/** The HTML document. */
export function renderPerimeterHtml(r: PerimeterReport): string {
  const e = escapeHtml;
  const s = r.summary;
  const summary: [string, number][] = [
    ['Machines', s.machines],
    ['Obsolete machines', s.obsolete],
    ['End-of-life operating systems', s.endOfLifeOs],
    ['Machines with pending critical patches', s.withCriticalPatches],
    ['Antivirus licences expiring within 30 days', s.avExpiring30],
    ['Antivirus licences expiring within 60 days', s.avExpiring60],
    ['Antivirus licences expiring within 90 days', s.avExpiring90],
    ['Antivirus disabled', s.avDisabled],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${e(r.title)}</title>
<style>
body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:18pt}h2{font-size:13pt;margin-top:1.5em;border-bottom:1px solid #999}h3{font-size:11pt;margin:.8em 0 .2em}
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}
table.kv td:first-child{font-weight:600;width:14em}table.small{font-size:9pt}
.flag{font-size:9pt;background:#fdd;border:1px solid #c66;padding:0 4px;margin-left:4px}
#summary td:last-child{text-align:right;font-weight:600}
@media print{body{margin:0}section.machine{break-inside:avoid-page;page-break-inside:avoid}details>summary{display:none}details{display:block}}
</style></head><body>
<h1>${e(r.title)}</h1>
<p>Generated ${e(new Date(r.generatedAt).toISOString())} by Outpost.</p>
<table id="summary"><tbody>${summary.map(([k, v]) => `<tr><td>${e(k)}</td><td data-figure="${e(k)}">${v}</td></tr>`).join('')}</tbody></table>
${r.machines.map(machineHtml).join('\n')}
</body></html>
`;
}

/** The CSV: one line per machine. */
export function renderPerimeterCsv(r: PerimeterReport): string {
  return toCsv(
    [
      'hostname',
      'device_id',
      'agent_id',
      'site_id',
      'manufacturer',
      'model',
      'serial',
      'bios_date',
      'age_years',
      'obsolete',
      'os',
      'os_supported_until',
      'os_end_of_life',
      'cpu',
      'memory_bytes',
      'pending_updates',
      'pending_security',
      'critical_patches',
      'reboot_required',
      'antivirus',
      'av_enabled',
      'av_expires',
      'activation',
      'software_count',
    ],
    r.machines.map((m) => [
      m.hostname,
      m.deviceId,
      m.agentId,
      m.siteId,
      m.manufacturer,
      m.model,
      m.serial,
      m.biosDate,
      m.ageYears === null ? '' : m.ageYears.toFixed(1),
      m.obsolete,
      m.os,
      day(m.osSupportedUntil),
      m.osEndOfLife,
      m.cpu,
      m.memoryBytes ?? '',
      m.pendingPatches,
      m.pendingSecurity,
      m.criticalPatches.length,
      m.rebootRequired,
      m.antivirus.map((a) => a.product).join('; '),
      m.antivirus.map((a) => yesNo(a.enabled)).join('; '),
      m.antivirus.map((a) => day(a.expiresAt)).join('; '),
      m.activation,
      m.softwareCount,
    ]),
  );
}
