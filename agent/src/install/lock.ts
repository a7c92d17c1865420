/**
 * One install or uninstall at a time: MDM agents, GPO startup scripts and an admin's SSH loop may all run
 * `outpost-agent install` at once. The lock is a file created exclusively, holding the owner's pid; a lock whose
 * process is gone (a crash, or a reboot on a system without /run as tmpfs) is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutpostError } from '@outpost/shared';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but is someone else's, still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the install lock or throws OUTPOST_E_INSTALL_LOCKED naming the holder. Returns the release. */
export function takeInstallLock(file: string): () => void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OutpostError('OUTPOST_E_INSTALL_FAILED', {
          cause: err,
          message: `Cannot create the install lock ${file}: ${(err as Error).message}`,
          details: { file },
        });
      }
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // Removed between our open and this read: the holder just finished; try again.
        continue;
      }
      const pid = Number.parseInt(text, 10);
      // A lock just created may not hold its pid yet: treat it as held.
      if (text === '' || (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))) {
        throw new OutpostError('OUTPOST_E_INSTALL_LOCKED', {
          message: `Another install or uninstall is running${pid > 0 ? ` (pid ${pid})` : ''}; lock ${file}`,
          details: { file, ...(pid > 0 ? { pid } : {}) },
        });
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new OutpostError('OUTPOST_E_INSTALL_LOCKED', {
    message: `Cannot take the install lock ${file}`,
    details: { file },
  });
}
