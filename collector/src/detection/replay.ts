/**
 * Replay: runs the baseline over a recorded `timestamp,value` series, one record at a time with no look-ahead, and
 * writes `timestamp,value,anomaly_score,label` (label = 1 where the shipped defaults would open an incident).
 * A folder is mirrored file by file, each file with fresh state (docs/0004-detection.md, "Replay").
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { type BaselineParams, baselineStep, DEFAULT_BASELINE, newBaselineState } from './baseline.js';

/** Parses `YYYY-MM-DD HH:MM:SS` (taken as UTC), ISO 8601, or epoch seconds/milliseconds. NaN when unreadable. */
export function parseTimestamp(raw: string): number {
  const t = raw.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return n < 1e11 ? n * 1000 : n;
  }
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t) ? `${t.replace(' ', 'T')}Z` : t;
  return Date.parse(iso);
}

/** Result of replaying one series. */
export interface ReplaySummary {
  rows: number;
  alarms: number;
  skipped: number;
}

/** Replay options: `labels: false` (a policy with the baseline off) scores every row but labels none. */
export interface ReplayOptions {
  labels?: boolean;
}

/** Replays one CSV text and returns the output CSV text. */
export function replayCsv(
  text: string,
  params: Readonly<BaselineParams> = DEFAULT_BASELINE,
  source = 'input',
  options: ReplayOptions = {},
): { csv: string; summary: ReplaySummary } {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const tsCol = header.indexOf('timestamp');
  const valCol = header.indexOf('value');
  if (tsCol < 0 || valCol < 0)
    throw new OutpostError('OUTPOST_E_REPLAY_INPUT', {
      message: `${source}: header must name "timestamp" and "value" columns (got "${lines[0] ?? ''}")`,
    });
  const state = newBaselineState();
  const out: string[] = ['timestamp,value,anomaly_score,label'];
  const summary: ReplaySummary = { rows: 0, alarms: 0, skipped: 0 };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const tsRaw = cells[tsCol] ?? '';
    const valRaw = cells[valCol] ?? '';
    const value = Number(valRaw);
    const score = baselineStep(state, parseTimestamp(tsRaw), value, params);
    if (!Number.isFinite(value)) summary.skipped++;
    const label = options.labels !== false && score >= params.alarm ? 1 : 0;
    summary.alarms += label;
    summary.rows++;
    out.push(`${tsRaw},${valRaw},${round(score)},${label}`);
  }
  return { csv: `${out.join('\n')}\n`, summary };
}

function round(x: number): string {
  return x === 0 ? '0' : x.toFixed(6);
}

/** Replays a file, or every `.csv` under a folder into a mirrored folder. Returns one summary per file. */
export function replayPath(
  input: string,
  output: string,
  params: Readonly<BaselineParams> = DEFAULT_BASELINE,
  options: ReplayOptions = {},
): Map<string, ReplaySummary> {
  const results = new Map<string, ReplaySummary>();
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(input);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_REPLAY_INPUT', { message: `cannot read ${input}`, cause });
  }
  const files = st.isDirectory() ? listCsv(input) : [input];
  for (const file of files) {
    const target = st.isDirectory() ? join(output, relative(input, file)) : output;
    const { csv, summary } = replayCsv(readFileSync(file, 'utf8'), params, file, options);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, csv);
    results.set(st.isDirectory() ? relative(input, file) : file, summary);
  }
  return results;
}

function listCsv(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...listCsv(p));
    else if (name.toLowerCase().endsWith('.csv')) found.push(p);
  }
  return found;
}
