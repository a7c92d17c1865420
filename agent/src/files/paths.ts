/**
 * Path confinement for file transfers, the checks on names: a path is accepted only when it is a plain absolute path
 * written under one of the configured roots (`open.ts` then opens it below the root without following any link).
 * Refused outright, before touching the file system: NUL and control characters, `.`/`..` segments, backslashes, UNC and device forms (`\\server`,
 * `//server`, `\\?\`, `\\.\`), drive letters and drive-relative forms (`C:x`), Windows device names (CON, NUL,
 * COM1…) in any segment, alternate data streams (`:`), trailing dots or spaces, and percent-encoded separators.
 */
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { OutpostError } from '@outpost/shared';

const DEVICE = /^(con|prn|aux|nul|clock\$|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** Throws `OUTPOST_E_PATH_REFUSED` for `input`, with why. */
export function refuse(input: string, why: string): never {
  throw new OutpostError('OUTPOST_E_PATH_REFUSED', {
    message: `path refused: ${why}`,
    details: { path: input.replace(/[\u0000-\u001f]/g, '?').slice(0, 200), why },
  });
}

/** Checks the path's form (no file system access); returns its segments. */
export function checkPathForm(input: string): string[] {
  if (typeof input !== 'string' || input.length === 0) refuse(String(input), 'empty');
  if (input.length > 4096) refuse(input, 'too long');
  if (/[\u0000-\u001f\u007f]/.test(input)) refuse(input, 'control character or NUL');
  if (input.includes('\\')) refuse(input, 'backslash (Windows, UNC or device form)');
  if (/^[a-z]:/i.test(input)) refuse(input, 'drive letter or drive-relative form');
  if (input.startsWith('//')) refuse(input, 'UNC form');
  if (!input.startsWith('/')) refuse(input, 'not absolute');
  if (/%(2e|2f|5c|25|c0|c1|e0|f0)/i.test(input)) refuse(input, 'percent-encoded separator or dot');
  const segments = input.split('/').filter((s) => s.length > 0);
  for (const s of segments) {
    if (s === '.' || s === '..') refuse(input, '. or .. segment');
    if (s.includes(':')) refuse(input, 'colon (alternate data stream or drive)');
    if (/[. ]$/.test(s)) refuse(input, 'segment ends with a dot or space');
    if (DEVICE.test(s) || DEVICE.test(s.trim())) refuse(input, 'Windows device name');
    if (/[<>"|?*]/.test(s)) refuse(input, 'wildcard or reserved character');
  }
  return segments;
}

/** The root a path lies under and the segments below it. */
export interface RootMatch {
  /** The root's real path, opened as the trusted start of the walk. */
  root: string;
  /** The segments below the root (at least one). */
  rest: string[];
}

/** A root's segments; on Windows without its drive (`/files/x` names `C:\files\x` when a root is `C:\files`). */
const split = (p: string) =>
  p
    .split(sep === '/' ? '/' : /[\\/]/)
    .filter((s, i) => s.length > 0 && !(sep !== '/' && i === 0 && /^[a-z]:$/i.test(s)));

/**
 * Finds the root a path is written under (as configured or as its real path: the comparison is on names, nothing
 * below the root is resolved), the longest when roots nest. Refuses a path under no root, and a root itself.
 */
export function matchRoot(input: string, roots: readonly string[]): RootMatch {
  const segments = checkPathForm(input);
  let best: RootMatch | undefined;
  let configured = 0;
  for (const r of roots) {
    let real: string;
    try {
      real = realpathSync(r);
    } catch {
      continue; // A root that does not exist confines nothing.
    }
    configured++;
    for (const written of new Set([r, real])) {
      const rs = split(written);
      if (rs.length >= segments.length || !rs.every((s, i) => s === segments[i])) continue;
      if (!best || rs.length > segments.length - best.rest.length)
        best = { root: real, rest: segments.slice(rs.length) };
    }
  }
  if (configured === 0) refuse(input, 'no file roots are configured on this agent');
  if (!best) refuse(input, 'outside the file roots');
  return best;
}
