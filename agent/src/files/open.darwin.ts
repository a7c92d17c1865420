/**
 * macOS (and any POSIX system without /proc): no descriptor-relative open is reachable from Node (/dev/fd does not
 * walk into a directory), so the walk proves instead that nobody but the agent could swap a name on the way: from the
 * trusted root down, every directory is checked with lstat to be a real directory (not a symlink), owned by root or
 * the agent's user and writable by neither group nor others. Then no other user can rename, replace or add an entry
 * anywhere on the path between the check and the open, and the last component is opened with `O_NOFOLLOW` and checked
 * to be the very file the check saw (device and inode). A directory that fails the check is refused.
 */
import { constants as c, type Stats } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { fileFlags, type OpenMode } from './flags.js';

/** Why a directory on the way could be swapped by someone else, or undefined when it cannot. */
export function unsafeDir(st: Stats, uid: number): string | undefined {
  if (st.isSymbolicLink()) return 'a symlink on the way';
  if (!st.isDirectory()) return undefined; // ENOTDIR at the open: not found.
  if (st.uid !== 0 && st.uid !== uid) return `a directory on the way is owned by uid ${st.uid}`;
  if ((st.mode & 0o022) !== 0) return 'a directory on the way is writable by its group or by others';
  return undefined;
}

/** Opens `rest` below `root` after proving no other user can change any directory on the way. */
export async function openUnderDarwin(root: string, rest: readonly string[], mode: OpenMode): Promise<FileHandle> {
  const uid = process.getuid?.() ?? 0;
  let path = root;
  for (const name of [undefined, ...rest.slice(0, -1)]) {
    if (name !== undefined) path = join(path, name);
    const why = unsafeDir(await lstat(path), uid);
    if (why)
      throw new OutpostError('OUTPOST_E_PATH_REFUSED', {
        message: `path refused: ${why} (another user could swap it during the transfer)`,
        details: { directory: path },
      });
  }
  const file = join(path, rest.at(-1)!);
  const fh = await open(file, fileFlags(c, mode, c.O_NOFOLLOW), 0o600);
  try {
    const [held, named] = await Promise.all([fh.stat(), lstat(file)]);
    if (held.ino !== named.ino || held.dev !== named.dev)
      throw new OutpostError('OUTPOST_E_PATH_REFUSED', {
        message: 'path refused: the file changed while it was opened',
      });
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}
