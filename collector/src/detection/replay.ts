/**
 * Replay: runs the baseline over a recorded `timestamp,value` series, one record at a time with no look-ahead, and
 * writes `timestamp,value,anomaly_score,label` (label = 1 where the shipped defaults would open an incident).
 * A folder is mirrored file by file, each file with fresh state (docs/0003-detection.md, "Replay").
 */

import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { writeFileAtomic } from '../files/atomic-write.js';
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
  const bad = (line: number, why: string) =>
    new OutpostError('OUTPOST_E_REPLAY_INPUT', {
      message: `${source} line ${line}: ${why}`,
      details: { source, line },
    });
  if (text.includes('\0')) throw bad(1, 'binary data, not a CSV text');
  // A spreadsheet's UTF-8 byte-order mark would otherwise hide the first column name.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.every((l) => l.trim() === '')) throw bad(1, 'the file is empty (expected a "timestamp,value" header)');
  const header = lines[0]!.split(',').map((h) => h.trim().toLowerCase());
  const tsCol = header.indexOf('timestamp');
  const valCol = header.indexOf('value');
  if (tsCol < 0 || valCol < 0)
    throw bad(1, `the header must name "timestamp" and "value" columns (got "${clip(lines[0]!)}")`);
  const state = newBaselineState();
  const out: string[] = ['timestamp,value,anomaly_score,label'];
  const summary: ReplaySummary = { rows: 0, alarms: 0 };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const tsRaw = cells[tsCol]?.trim() ?? '';
    const valRaw = cells[valCol]?.trim() ?? '';
    // A row the engine cannot read is refused, not scored 0: a silently skipped sample would change every score after it.
    const ts = parseTimestamp(tsRaw);
    if (!Number.isFinite(ts))
      throw bad(i + 1, `timestamp "${clip(tsRaw)}" is not a time (use YYYY-MM-DD HH:MM:SS, ISO 8601 or epoch)`);
    const value = valRaw === '' ? Number.NaN : Number(valRaw);
    if (!Number.isFinite(value)) throw bad(i + 1, `value "${clip(valRaw)}" is not a finite number`);
    const score = baselineStep(state, ts, value, params);
    const label = options.labels !== false && score >= params.alarm ? 1 : 0;
    summary.alarms += label;
    summary.rows++;
    out.push(`${tsRaw},${valRaw},${round(score)},${label}`);
  }
  return { csv: `${out.join('\n')}\n`, summary };
}

function clip(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s).slice(1, -1);
}

function round(x: number): string {
  return x === 0 ? '0' : x.toFixed(6);
}

/**
 * Replays a file, or every `.csv` under a folder into a mirrored folder. Returns one summary per file.
 * All or nothing: every input is read and scored before the first byte is written, and a failed write removes what
 * this run wrote, so a bad file or an unwritable output never leaves a partial result that looks like a complete one.
 */
export function replayPath(
  input: string,
  output: string,
  params: Readonly<BaselineParams> = DEFAULT_BASELINE,
  options: ReplayOptions = {},
): Map<string, ReplaySummary> {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(input);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_REPLAY_INPUT', { message: `cannot read ${input}`, cause });
  }
  const folder = st.isDirectory();
  const files = folder ? listCsv(input) : [input];
  if (files.length === 0)
    throw new OutpostError('OUTPOST_E_REPLAY_INPUT', { message: `${input} holds no .csv file`, details: { input } });
  let outSt: ReturnType<typeof statSync> | undefined;
  try {
    outSt = statSync(output);
  } catch {
    // Absent (it is created) or unreachable (the write names why).
    outSt = undefined;
  }
  if (outSt && outSt.isDirectory() !== folder)
    throw new OutpostError('OUTPOST_E_LOCAL_FILE', {
      message: `--out ${output} is ${folder ? 'a file, but --input is a folder' : 'a folder, but --input is a file'}`,
      details: { path: output },
    });
  const results = new Map<string, ReplaySummary>();
  const outputs: { target: string; csv: string }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_REPLAY_INPUT', { message: `cannot read ${file}`, cause });
    }
    const { csv, summary } = replayCsv(text, params, file, options);
    outputs.push({ target: folder ? join(output, relative(input, file)) : output, csv });
    results.set(folder ? relative(input, file) : file, summary);
  }
  writeAll(outputs);
  return results;
}

/** Writes every output, or none: on a failure the files written so far and the folders created are removed. */
function writeAll(outputs: { target: string; csv: string }[]): void {
  const written: string[] = [];
  // Folders this run created (the first of each `mkdir -p`): everything under them is this run's, removed whole.
  const created: string[] = [];
  let current = outputs[0]!.target;
  try {
    for (const { target, csv } of outputs) {
      current = target;
      const made = mkdirSync(dirname(target), { recursive: true });
      if (made) created.push(made);
      writeFileAtomic(target, csv);
      written.push(target);
    }
  } catch (cause) {
    for (const f of written) rmSync(f, { force: true });
    for (const d of created.reverse()) rmSync(d, { recursive: true, force: true });
    throw new OutpostError('OUTPOST_E_LOCAL_FILE', {
      message: `cannot write ${current}: ${notAFolder(cause) ? 'part of its path is a file, not a folder' : (cause as Error).message}; no output was left behind`,
      details: { path: current },
      cause,
    });
  }
}

const notAFolder = (err: unknown) => ['EEXIST', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

function listCsv(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...listCsv(p));
    else if (name.toLowerCase().endsWith('.csv')) found.push(p);
  }
  return found;
}
