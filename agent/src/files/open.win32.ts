/**
 * Windows: Node opens by name only (no handle-relative open, no O_NOFOLLOW), and the agent cannot read ACLs, so the
 * walk narrows the race without closing it (docs/0007-shell.md, Files, says what holds): every component from the
 * root down is checked with lstat not to be a reparse point (symlink or junction), the file is opened by name, and
 * then the open handle must be the file that the path names with no reparse point on the way (its real path, resolved
 * by the system, is the path under the root, and its volume and file index are the handle's). A mismatch is refused
 * and nothing is read or written through the handle.
 */
import { constants as c } from 'node:fs';
import { type FileHandle, lstat, open, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { fileFlags, type OpenMode } from './flags.js';

const refused = (why: string) => new OutpostError('OUTPOST_E_PATH_REFUSED', { message: `path refused: ${why}` });

/** Opens `rest` below `root` by name, refusing reparse points before and verifying the handle after. */
export async function openUnderWindows(root: string, rest: readonly string[], mode: OpenMode): Promise<FileHandle> {
  const file = join(root, ...rest);
  let path = root;
  for (const name of rest) {
    path = join(path, name);
    const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && path === file && mode === 'create') return undefined;
      throw err;
    });
    if (st?.isSymbolicLink()) throw refused('a symlink or junction on the way');
  }
  const fh = await open(file, fileFlags(c, mode, 0), 0o600);
  try {
    const real = await realpath(file);
    if (real.toLowerCase() !== file.toLowerCase()) throw refused('a symlink or junction on the way');
    const [held, named] = await Promise.all([fh.stat(), lstat(file)]);
    if (named.isSymbolicLink() || held.ino !== named.ino || held.dev !== named.dev)
      throw refused('the file changed while it was opened');
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}
