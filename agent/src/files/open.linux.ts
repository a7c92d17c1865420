/**
 * Linux: an openat-style walk. Node has no openat, but `/proc/self/fd/<dirfd>/<name>` is resolved by the kernel from
 * the directory the descriptor holds (a magic link), so each component is opened relative to its parent's descriptor
 * with `O_NOFOLLOW` (`O_DIRECTORY` for directories): a name swapped for a symlink meanwhile fails with ELOOP instead
 * of leading elsewhere. Without /proc there is no such walk, and the transfer is refused (never opened by name).
 */
import { constants as c } from 'node:fs';
import { type FileHandle, lstat, open, stat } from 'node:fs/promises';
import { OutpostError } from '@outpost/shared';
import { fileFlags, type OpenMode } from './flags.js';

const DIR = c.O_RDONLY | c.O_DIRECTORY | c.O_NOFOLLOW;

/** The name of `name` inside the directory `dir` holds, resolved by the kernel from the descriptor. */
const at = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

/** Checks that /proc/self/fd names our descriptors (mounted, and not something else mounted there). */
async function checkProc(dir: FileHandle): Promise<void> {
  const [viaProc, real] = await Promise.all([stat(`/proc/self/fd/${dir.fd}`).catch(() => undefined), dir.stat()]);
  if (!viaProc || viaProc.ino !== real.ino || viaProc.dev !== real.dev)
    throw new OutpostError('OUTPOST_E_FILES_UNAVAILABLE', {
      message: 'file transfer needs /proc mounted on this agent (it opens files through /proc/self/fd, race-free)',
    });
}

/** O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR, as on a file: tell the two apart for the refusal. */
async function linkOrNot(dir: FileHandle, name: string, err: NodeJS.ErrnoException): Promise<never> {
  if (err.code === 'ENOTDIR' && (await lstat(at(dir, name)).catch(() => undefined))?.isSymbolicLink())
    throw new OutpostError('OUTPOST_E_PATH_REFUSED', { message: 'path refused: a symlink on the way' });
  throw err;
}

/** Opens `rest` below `root`, one component at a time from its parent's descriptor, no link followed. */
export async function openUnderLinux(root: string, rest: readonly string[], mode: OpenMode): Promise<FileHandle> {
  let dir = await open(root, DIR);
  try {
    await checkProc(dir);
    for (const name of rest.slice(0, -1)) {
      const parent = dir;
      dir = await open(at(parent, name), DIR).catch((err: NodeJS.ErrnoException) => linkOrNot(parent, name, err));
      await parent.close();
    }
    return await open(at(dir, rest.at(-1)!), fileFlags(c, mode, c.O_NOFOLLOW), 0o600);
  } finally {
    await dir.close().catch(() => undefined);
  }
}
