/**
 * Table and JSON output for CLI commands (agent-supplied strings are stripped of control characters first), and the
 * local files commands read or write, checked up front and written whole or not at all.
 */

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { writeFileAtomic } from '../files/atomic-write.js';

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
