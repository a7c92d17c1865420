/**
 * One agent process per state directory: two processes sharing an outbox would hand out the same sequence numbers.
 * The lock is a file holding the owner's pid; a lock whose process is gone (a crash) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means the process exists but belongs to someone else: still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the state directory's lock or throws OUTPOST_E_CONFLICT naming the running agent. Returns the release. */
export function lockStateDir(stateDir: string): () => void {
  const file = join(stateDir, 'agent.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
          cause: err,
          message: `Cannot create ${file}`,
          details: { file },
        });
      }
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new OutpostError('OUTPOST_E_CONFLICT', {
          message: `Another agent (pid ${pid}) is running with state directory ${stateDir}`,
          details: { file, pid },
        });
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new OutpostError('OUTPOST_E_CONFLICT', { message: `Cannot take the lock ${file}`, details: { file } });
}
