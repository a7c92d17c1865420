/**
 * Everything the CLI prints goes through here: tables, `key  value` objects, JSON, free text and lines, on standard
 * output and standard error. Agent- and user-supplied strings are hostile (OSC 52 clipboard writes, screen clears,
 * bidi overrides, zero-width characters): every value is passed through the one sanitiser, `visible()`, which shows
 * each such character as an escape (`\x1b`, `\u202e`) instead of sending it to the terminal, and JSON stays valid JSON
 * (`jsonForTerminal`). Times are human in tables (`2026-12-03 14:05`, local) and ISO 8601 in JSON.
 * Also the local files commands read or write, checked up front and written whole or not at all.
 * Only the remote shell's byte stream (shell.ts) writes to the terminal without this module: it is a terminal.
 */

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { InvalidArgumentError } from 'commander';
import { writeFileAtomic } from '../files/atomic-write.js';
import { jsonForTerminal, visible } from '../text/index.js';

/** Keys that hold an instant as epoch milliseconds (`createdAt`, `lastSeenAt`, `lastReport`, `failureTime`, `responseDue`…). */
const TIME_KEY = /^(at|time|until|since)$|^(first|last)[A-Z]|[a-z](At|Time|Due|Until|Seen)$|_(at|date|boot)$/;
/** Epoch milliseconds between 1973 and 2286: a count or a size under a time-like key is left alone. */
const isInstant = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1e11 && v < 1e13;

/** A copy of `value` with every instant under a time-like key as ISO 8601 (for `--json`). */
export function isoTimes(value: unknown, key = ''): unknown {
  if (isInstant(value) && TIME_KEY.test(key)) return new Date(value).toISOString();
  if (Array.isArray(value)) return value.map((v) => isoTimes(v));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isoTimes(v, k)]));
  return value;
}

const two = (n: number) => String(n).padStart(2, '0');

/** A time for people, in the local time zone: `2026-12-03 14:05`, or '-' when absent. */
export const when = (t: unknown): string => {
  if (typeof t !== 'number' || !Number.isFinite(t)) return '-';
  const d = new Date(t);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
};

/** How long ago (or how far ahead) `t` is, in the largest whole unit: `5 min ago`, `in 3 h`, `2 d ago`. */
export const ago = (t: unknown, now = Date.now()): string => {
  if (typeof t !== 'number' || !Number.isFinite(t)) return '-';
  const ms = Math.abs(now - t);
  const text =
    ms < 60_000
      ? 'just now'
      : ms < 3_600_000
        ? `${Math.floor(ms / 60_000)} min`
        : ms < 86_400_000
          ? `${Math.floor(ms / 3_600_000)} h`
          : `${Math.floor(ms / 86_400_000)} d`;
  return text === 'just now' ? text : t <= now ? `${text} ago` : `in ${text}`;
};

/** `2026-12-03 14:05 (5 min ago)`, or '-'. */
export const whenAgo = (t: unknown): string => (typeof t === 'number' ? `${when(t)} (${ago(t)})` : '-');

/** One value as a table cell or an object's value: times as `when`, objects as one-line JSON, all made visible. */
function cell(v: unknown, key = ''): string {
  if (v === null || v === undefined) return '-';
  if (isInstant(v) && TIME_KEY.test(key)) return whenAgo(v);
  if (typeof v === 'object') return visible(JSON.stringify(isoTimes(v, key)));
  return visible(v);
}

/**
 * Prints a line to standard output from a template: the literal parts are the program's own text, every
 * interpolated value is made visible on one line (`say\`wrote ${path}\n\``).
 */
export function say(strings: TemplateStringsArray, ...values: unknown[]): void {
  process.stdout.write(compose(strings, values));
}

/** The same, to standard error. */
export function sayErr(strings: TemplateStringsArray, ...values: unknown[]): void {
  process.stderr.write(compose(strings, values));
}

function compose(strings: TemplateStringsArray, values: unknown[]): string {
  let out = visible(strings[0], { multiline: true });
  values.forEach((v, i) => {
    out += visible(v) + visible(strings[i + 1], { multiline: true });
  });
  return out;
}

/** Prints a block of text (a CSV or HTML body, an explanation, metrics): line breaks kept, everything else visible. */
export function printText(text: string): void {
  process.stdout.write(visible(text, { multiline: true }));
}

/**
 * Starts a fresh screen for a live view (`--watch`): on a terminal, cursor home and clear; elsewhere (a pipe, a
 * log file) a blank line, so the successive snapshots stay readable as plain text.
 */
export function clearScreen(): void {
  process.stdout.write(process.stdout.isTTY ? '\x1b[H\x1b[2J' : '\n');
}

/** Prints JSON (times as ISO 8601, hazardous characters as `\u` escapes: still valid JSON). */
export function printJson(value: unknown, indent = 2): void {
  process.stdout.write(`${jsonForTerminal(isoTimes(value), indent)}\n`);
}

/** Prints rows as an aligned table (or JSON with `json`). */
export function printRows<T extends Record<string, unknown>>(
  rows: readonly T[],
  columns: readonly { key: keyof T & string; title: string; format?: (v: T) => unknown }[],
  json: boolean,
): void {
  if (json) {
    printJson(rows);
    return;
  }
  const cells = rows.map((r) => columns.map((c) => (c.format ? cell(c.format(r)) : cell(r[c.key], c.key))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `${[line(columns.map((c) => visible(c.title.toUpperCase()))), ...cells.map(line)].join('\n')}\n`,
  );
}

/** Prints one object as `key  value` lines (or JSON). */
export function printObject(obj: Record<string, unknown>, json: boolean): void {
  if (json) {
    printJson(obj);
    return;
  }
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  for (const [k, v] of Object.entries(obj)) process.stdout.write(`${visible(k).padEnd(width)}  ${cell(v, k)}\n`);
}

/** Prints an error on standard error (its code, message and hint made visible) and sets exit code 1. */
export function printError(err: unknown): void {
  if (err instanceof OutpostError) {
    process.stderr.write(
      `error ${err.code}: ${visible(err.message, { multiline: true })}\nhint: ${visible(err.hint, { multiline: true })}\n`,
    );
  } else {
    // Not a coded error: a bug. The message is enough for a person; the stack is for the report (OUTPOST_DEBUG=1).
    const detail = process.env.OUTPOST_DEBUG
      ? ((err as Error)?.stack ?? String(err))
      : String((err as Error)?.message ?? err);
    process.stderr.write(
      `error (unexpected failure, please report it; OUTPOST_DEBUG=1 shows where): ${visible(detail, { multiline: true })}\n`,
    );
  }
  process.exitCode = 1;
}

/** The formats a report can be written in, by file extension. */
const REPORT_FORMATS: Record<string, 'html' | 'csv' | 'json'> = {
  '.html': 'html',
  '.htm': 'html',
  '.csv': 'csv',
  '.json': 'json',
};

/**
 * The format of a report: from `--format` when given, else from the extension of `--out`, else `fallback`. An `--out`
 * extension that is not a supported one (`x.pdf`), or that disagrees with `--format`, is refused: a file named
 * `.pdf` holding HTML opens as a broken PDF.
 */
export function reportFormat(
  out: string | undefined,
  format: string | undefined,
  fallback = 'html',
): 'html' | 'csv' | 'json' {
  if (format !== undefined && !['html', 'csv', 'json'].includes(format))
    throw new InvalidArgumentError(`--format ${format}: supported formats are html, csv and json`);
  if (out === undefined) return (format ?? fallback) as 'html' | 'csv' | 'json';
  const ext = /\.[^./\\]*$/.exec(out)?.[0]?.toLowerCase() ?? '';
  const byExt = REPORT_FORMATS[ext];
  if (!byExt)
    throw new InvalidArgumentError(
      `--out ${out}: ${ext ? `"${ext}" is not a supported report format` : 'no file extension'}; supported: .html, .csv, .json`,
    );
  if (format !== undefined && format !== byExt)
    throw new InvalidArgumentError(`--out ${out} is a .${byExt} name but --format is ${format}: make them agree`);
  return byExt;
}

const localFileError = (path: string, why: string, cause?: unknown) =>
  new OutpostError('OUTPOST_E_LOCAL_FILE', { message: `${path}: ${why}`, details: { path }, cause });

/** The file's status, or undefined when it is absent or its path runs through something that is not a folder. */
function statOf(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    // ENOENT, ENOTDIR: nothing there; the caller names what it needed.
    return undefined;
  }
}

/** A local file to read: it exists and is a regular file. */
export function checkReadable(path: string): void {
  const st = statOf(path);
  if (!st) throw localFileError(path, 'no such file');
  if (!st.isFile()) throw localFileError(path, 'not a regular file');
  try {
    accessSync(path, constants.R_OK);
  } catch (cause) {
    throw localFileError(path, 'not readable', cause);
  }
}

/** A local file to write: not a folder, and its folder exists and is writable (an existing file too, to resume it). */
export function checkWritable(path: string, existing = false): void {
  const st = statOf(path);
  if (st?.isDirectory()) throw localFileError(path, 'is a folder; give a file name');
  const dir = dirname(resolve(path));
  let dirSt: ReturnType<typeof statSync>;
  try {
    dirSt = statSync(dir);
  } catch (cause) {
    throw localFileError(path, `its folder ${dir} does not exist`, cause);
  }
  if (!dirSt.isDirectory()) throw localFileError(path, `${dir} is not a folder`);
  try {
    accessSync(existing && st ? path : dir, constants.W_OK);
  } catch (cause) {
    throw localFileError(path, `${existing && st ? 'the file' : `its folder ${dir}`} is not writable`, cause);
  }
}

/** Writes a whole file through a temporary one, so a failure leaves neither a partial file nor a stale one changed. */
export function writeOutputFile(path: string, body: string): void {
  checkWritable(path);
  try {
    writeFileAtomic(path, body);
  } catch (cause) {
    throw localFileError(path, `cannot be written: ${(cause as Error).message}`, cause);
  }
}
