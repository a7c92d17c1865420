/** Plain-words explanations of detections: what, how far from normal, since when, top processes, recent changes. */
import type { TopProcess } from '@outpost/shared';
import type { MachineChange } from './ports.js';

/** Formats a metric value with its unit, guessed from the metric's name. */
export function formatValue(metric: string, v: number): string {
  const name = metric.split(':')[0]!;
  if (name.endsWith('_pct')) return `${v.toFixed(1)} %`;
  if (name.endsWith('_bytes') || name.endsWith('.bytes')) return formatBytes(v);
  if (name.endsWith('_bps')) return `${formatBytes(v)}/s`;
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

function formatBytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(1)} ${units[i]}`;
}

/** Builds the explanation text of an incident. */
export function describe(input: {
  what: string;
  since: number;
  top?: readonly TopProcess[] | undefined;
  changes: readonly MachineChange[];
}): string {
  const parts = [`${input.what}, since ${new Date(input.since).toISOString()}.`];
  if (input.top?.length) {
    const byCpu = [...input.top].sort((a, b) => b.cpuPct - a.cpuPct).slice(0, 3);
    parts.push(
      `Top processes then: ${byCpu.map((p) => `${p.name} (pid ${p.pid}, ${p.cpuPct.toFixed(0)} % CPU, ${formatBytes(p.memBytes)})`).join(', ')}.`,
    );
  }
  if (input.changes.length) {
    const list = input.changes
      .slice(-5)
      .map((c) => `${c.summary} at ${new Date(c.time).toISOString()}`)
      .join('; ');
    parts.push(`Changed on this machine in the 24 h before: ${list}.`);
  } else parts.push('No change recorded on this machine in the 24 h before.');
  return parts.join(' ');
}
