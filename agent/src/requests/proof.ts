/**
 * Who is asking, proved by the operating system (docs/0014-requests.md, "Local channel"). Node exposes no
 * SO_PEERCRED, and a native addon would have to be built into the single executable for every platform; instead the
 * agent hands the caller a fresh random name and the caller creates a file of that name in a directory every user
 * may write to but no one may list (mode 1733, sticky). The kernel stamps the file with the creator's uid: the caller
 * cannot choose it, cannot learn another caller's name (the directory cannot be listed) and cannot remove another's
 * file (sticky bit). The agent checks the file is a plain file with one link (no symlink or hard link to somebody
 * else's file), reads its owner, and removes it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';

/** A fresh proof name: 32 random bytes, hex. */
export const newProofName = () => randomBytes(32).toString('hex');

const PROOF_NAME = /^[0-9a-f]{64}$/;

/** Creates (or checks) the proof directory: ours, a real directory, mode 1733. Throws when someone else owns it. */
export function prepareProofDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o1733 });
  const st = lstatSync(dir);
  const me = process.getuid?.();
  if (!st.isDirectory() || (me !== undefined && st.uid !== me))
    throw new OutpostError('OUTPOST_E_REQUEST_UNAVAILABLE', {
      message: `${dir} is not a directory of the agent's user: refusing to take proofs there`,
    });
  // The mode given to mkdir is cut by the umask: set it as meant.
  chmodSync(dir, 0o1733);
}

/** The caller's half: creates the proof file (never following a link, never reusing a file). */
export function createProof(dir: string, name: string): void {
  if (!PROOF_NAME.test(name))
    throw new OutpostError('OUTPOST_E_REQUEST_PROOF', { message: 'The agent sent a malformed proof name' });
  try {
    closeSync(
      openSync(
        join(dir, name),
        constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0),
        0o600,
      ),
    );
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_REQUEST_PROOF', {
      cause,
      message: `Could not create the proof file in ${dir}: ${(cause as Error).message}`,
    });
  }
}

/** The agent's half: the uid that created the proof file, which is then removed. Throws OUTPOST_E_REQUEST_PROOF. */
export function verifyProof(dir: string, name: string): number {
  const path = join(dir, name);
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_REQUEST_PROOF', { cause, message: 'No proof file was created' });
  }
  try {
    if (!st.isFile() || st.nlink !== 1)
      throw new OutpostError('OUTPOST_E_REQUEST_PROOF', {
        message: 'The proof is not a plain file of its own (a link is refused)',
      });
    return st.uid;
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // Already gone (the caller removed it): the uid read above stands, the name is never accepted twice.
    }
  }
}
