/**
 * Opens a transfer's file race-free: the path's form is checked and matched to a root by name (`paths.ts`), then the
 * platform's opener walks down from the root's descriptor without following any link (docs/0007-shell.md, Files).
 * Everything a transfer does afterwards (read, write, hash, close) goes through the one handle returned here: the
 * name is never opened again, so swapping a directory for a symlink during a transfer cannot redirect it.
 */
import type { FileHandle } from 'node:fs/promises';
import { OutpostError } from '@outpost/shared';
import type { OpenMode } from './flags.js';
import { openUnderDarwin } from './open.darwin.js';
import { openUnderLinux } from './open.linux.js';
import { openUnderWindows } from './open.win32.js';
import { matchRoot, refuse } from './paths.js';

export type { OpenMode } from './flags.js';

/** A platform's opener: `rest` below the trusted real `root`, no link followed; the handle of a regular file. */
export type OpenUnder = (root: string, rest: readonly string[], mode: OpenMode) => Promise<FileHandle>;

/** The opener of each platform, chosen once; other POSIX systems get the ownership walk of macOS. */
const OPENERS: Partial<Record<NodeJS.Platform, OpenUnder>> = {
  linux: openUnderLinux,
  darwin: openUnderDarwin,
  win32: openUnderWindows,
};
const openUnder: OpenUnder = OPENERS[process.platform] ?? openUnderDarwin;

/** Maps a system error of the walk to a coded refusal that names the path as the technician wrote it. */
export function walkError(input: string, err: unknown): OutpostError {
  if (err instanceof OutpostError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const details = { path: input.slice(0, 200), errno: code };
  if (code === 'ELOOP' || code === 'EMLINK')
    return new OutpostError('OUTPOST_E_PATH_REFUSED', { message: 'path refused: a symlink on the way', details });
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new OutpostError('OUTPOST_E_NOT_FOUND', {
      message: `no such file ${input.slice(0, 200)}`,
      details,
      cause: err,
    });
  if (code === 'EISDIR' || code === 'ENXIO')
    return new OutpostError('OUTPOST_E_PATH_REFUSED', { message: 'path refused: not a regular file', details });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new OutpostError('OUTPOST_E_PATH_REFUSED', { message: `path refused: ${code}`, details, cause: err });
  return ioError(err);
}

/** A transfer's I/O failure (read, write, sync, hash, close) as a coded error carrying the system error. */
export function ioError(err: unknown): OutpostError {
  if (err instanceof OutpostError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  return new OutpostError('OUTPOST_E_FILE_IO', {
    message: `file I/O failed: ${String(e?.message ?? err).slice(0, 300)}`,
    details: { errno: e?.code, syscall: e?.syscall },
    cause: err,
  });
}

/**
 * Opens `input` for a transfer: refused unless it is a plain path under a configured root whose every component
 * below the root is a real directory (the last a regular file), none of them a symlink at the moment it is opened.
 */
export async function openConfined(input: string, roots: readonly string[], mode: OpenMode): Promise<FileHandle> {
  const { root, rest } = matchRoot(input, roots);
  let fh: FileHandle;
  try {
    fh = await openUnder(root, rest, mode);
  } catch (err) {
    throw walkError(input, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) refuse(input, 'not a regular file');
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw walkError(input, err);
  }
}
