/** Table and JSON output for CLI commands. Agent-supplied strings are stripped of control characters first. */

const clean = (v: unknown): string =>
  (v === null || v === undefined ? '-' : String(v)).replace(/[\x00-\x1f\x7f-\x9f]/g, '?');

/** Prints rows as an aligned table (or JSON with `json`). */
export function printRows<T extends Record<string, unknown>>(
  rows: T[],
  columns: { key: keyof T & string; title: string; format?: (v: T) => unknown }[],
  json: boolean,
): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const cells = rows.map((r) => columns.map((c) => clean(c.format ? c.format(r) : r[c.key])));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(columns.map((c) => c.title.toUpperCase())), ...cells.map(line)].join('\n')}\n`);
}

/** Prints one object as `key  value` lines (or JSON). */
export function printObject(obj: Record<string, unknown>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  for (const [k, v] of Object.entries(obj))
    process.stdout.write(`${k.padEnd(width)}  ${typeof v === 'object' && v !== null ? JSON.stringify(v) : clean(v)}\n`);
}

/** A time for people: ISO, or '-' when absent. */
export const when = (t: unknown): string => (typeof t === 'number' ? new Date(t).toISOString() : '-');
