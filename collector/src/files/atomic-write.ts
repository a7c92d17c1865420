/** Whole-file writes: a reader sees the old file or the new one, never half of either. */
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes `text` to a temporary file beside `file` and renames it over `file` (atomic on one file system). On failure
 * the temporary file is removed and the error is thrown; `file` is untouched. `mode` also survives a umask.
 */
export function writeFileAtomic(file: string, text: string, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, mode === undefined ? undefined : { mode });
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
