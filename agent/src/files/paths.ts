/**
 * Path confinement for file transfers: a path is accepted only when it is a plain absolute path whose real
 * location (symlinks resolved) lies inside one of the configured roots. Refused outright, before touching the
 * file system: NUL and control characters, `.`/`..` segments, backslashes, UNC and device forms (`\\server`,
 * `//server`, `\\?\`, `\\.\`), drive letters and drive-relative forms (`C:x`), Windows device names (CON, NUL,
 * COM1…) in any segment, alternate data streams (`:`), trailing dots or spaces, and percent-encoded separators.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { posix, sep } from 'node:path';
import { OutpostError } from '@outpost/shared';

const DEVICE = /^(con|prn|aux|nul|clock\$|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

function refuse(input: string, why: string): never {
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

function inside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Real paths of the configured roots (missing roots are skipped). */
export function realRoots(roots: readonly string[]): string[] {
  const out: string[] = [];
  for (const r of roots) {
    try {
      out.push(realpathSync(r));
    } catch {
      // A root that does not exist confines nothing.
    }
  }
  return out;
}

/**
 * Resolves a path for a transfer. `mustExist` (download, resume): the file must exist and be a regular file inside a
 * root. Otherwise (new upload) its parent must exist inside a root and the name must not be a symlink.
 */
export function confinePath(input: string, roots: readonly string[], mustExist: boolean): string {
  const segments = checkPathForm(input);
  const reals = realRoots(roots);
  if (reals.length === 0) refuse(input, 'no file roots are configured on this agent');
  const joined = posix.join('/', ...segments);
  let real: string;
  try {
    real = realpathSync(joined);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || mustExist) {
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `no such file ${joined}`, cause: err });
    }
    const parent = posix.dirname(joined);
    let realParent: string;
    try {
      realParent = realpathSync(parent);
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `no such directory ${parent}`, cause });
    }
    const name = posix.basename(joined);
    try {
      if (lstatSync(joined).isSymbolicLink()) refuse(input, 'dangling symlink');
    } catch (e) {
      if (e instanceof OutpostError) throw e;
    }
    real = posix.join(realParent, name);
  }
  if (!reals.some((root) => inside(real, root))) refuse(input, 'outside the file roots');
  return real;
}
