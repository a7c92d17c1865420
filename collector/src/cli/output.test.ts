import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ago, isoTimes, reportFormat, when } from './output.js';

describe('times: human in tables, ISO 8601 in JSON', () => {
  it('when() is a local date and minute; ago() the largest whole unit', () => {
    const t = new Date(2026, 11, 3, 14, 5, 59).getTime();
    expect(when(t)).toBe('2026-12-03 14:05');
    expect(when(null)).toBe('-');
    expect(ago(t - 30_000, t)).toBe('just now');
    expect(ago(t - 5 * 60_000, t)).toBe('5 min ago');
    expect(ago(t + 3 * 3_600_000, t)).toBe('in 3 h');
    expect(ago(t - 49 * 3_600_000, t)).toBe('2 d ago');
  });

  it('isoTimes() converts instants under time-like keys only, at any depth', () => {
    const t = Date.UTC(2026, 11, 3, 14, 5);
    expect(
      isoTimes({
        createdAt: t,
        lastReport: t,
        rows: [{ install_date: t, size_bytes: t, count: 3 }],
        sla: { responseDue: t },
        memoryBytes: t,
        expiresAt: null,
      }),
    ).toEqual({
      createdAt: '2026-12-03T14:05:00.000Z',
      lastReport: '2026-12-03T14:05:00.000Z',
      rows: [{ install_date: '2026-12-03T14:05:00.000Z', size_bytes: t, count: 3 }],
      sla: { responseDue: '2026-12-03T14:05:00.000Z' },
      memoryBytes: t,
      expiresAt: null,
    });
  });
});

describe('reportFormat: the --out extension chooses, an unknown one is refused', () => {
  it.each([
    ['r.html', undefined, 'html'],
    ['r.HTM', undefined, 'html'],
    ['r.csv', undefined, 'csv'],
    ['./out/r.json', undefined, 'json'],
    [undefined, 'csv', 'csv'],
    [undefined, undefined, 'html'],
    ['r.csv', 'csv', 'csv'],
  ] as const)('%s with --format %s → %s', (out, format, expected) => {
    expect(reportFormat(out, format)).toBe(expected);
  });

  it.each([
    ['x.pdf', undefined, /"\.pdf" is not a supported report format; supported: \.html, \.csv, \.json/],
    ['report', undefined, /no file extension; supported/],
    ['dir.d/report', undefined, /no file extension/],
    ['x.csv', 'html', /--format is html: make them agree/],
    [undefined, 'pdf', /supported formats are html, csv and json/],
  ] as const)('%s with --format %s is refused', (out, format, message) => {
    expect(() => reportFormat(out, format)).toThrow(InvalidArgumentError);
    expect(() => reportFormat(out, format)).toThrow(message);
  });
});

describe('every CLI print goes through output.ts', () => {
  /**
   * Files allowed to write to the terminal themselves, and why: shell.ts is the remote terminal's byte stream.
   */
  const ALLOWED: Record<string, number> = { 'shell.ts': 3 };
  it('no other file writes to stdout or stderr or calls console', () => {
    const dir = new URL('.', import.meta.url).pathname;
    const found: Record<string, number> = {};
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts') && n !== 'output.ts')) {
      const n = (readFileSync(join(dir, f), 'utf8').match(/process\.std(out|err)\.write\(|console\.\w+\(/g) ?? [])
        .length;
      if (n) found[f] = n;
    }
    expect(found).toEqual(ALLOWED);
  });
});
