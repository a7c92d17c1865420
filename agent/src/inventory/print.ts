/** Output of `outpost-agent inventory`: rows as JSON, or one readable table per probe (controls already stripped). */
import { probeColumns } from '@outpost/shared';
import type { ProbeResult } from './runner.js';

const cell = (v: unknown): string =>
  v === null || v === undefined
    ? '-'
    : Array.isArray(v)
      ? v.join(', ')
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);

/** The JSON document: probe → rows (or error), with timing. */
export function inventoryJson(results: ProbeResult[]): Record<string, unknown> {
  return Object.fromEntries(
    results.map((r) => [
      r.probe,
      r.ok
        ? { rows: r.rows, hash: r.hash, durationMs: r.durationMs }
        : { error: { code: r.code, message: r.message }, durationMs: r.durationMs },
    ]),
  );
}

/** The human-readable text: per probe, a header and an aligned table (wide probes one `column: value` block per row). */
export function inventoryText(results: ProbeResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`== ${r.probe} (${r.durationMs} ms)`);
    if (!r.ok) {
      out.push(`error ${r.code}: ${r.message}`, '');
      continue;
    }
    const cols = probeColumns(r.probe).map((c) => c.name);
    if (r.rows.length === 0) out.push('(no rows)');
    else if (cols.length <= 6) {
      const cells = r.rows.map((row) => cols.map((c) => cell(row[c]).slice(0, 60)));
      const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((x) => x[i]!.length)));
      const line = (v: string[]) =>
        v
          .map((x, i) => x.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      out.push(line(cols.map((c) => c.toUpperCase())), ...cells.map(line));
    } else {
      const w = Math.max(...cols.map((c) => c.length));
      r.rows.forEach((row, i) => {
        if (i > 0) out.push('');
        for (const c of cols) out.push(`${c.padEnd(w)}  ${cell(row[c])}`);
      });
    }
    out.push('');
  }
  return out.join('\n');
}
