/**
 * The watcher (`outpost-agent update-watch`), run from the old, known-good executable after a swap. It rolls the
 * pointer back when the new version has not completed an authenticated hello by the deadline, or has started more
 * than `maxStarts` times (a restart loop), stops the new process if one is hung, and writes update/outcome.json,
 * which the old version reports on its next connection. When the new version stays healthy to the deadline it
 * clears the marker and prunes old versions.
 */
import { flipPointer, pruneVersions } from './layout.js';
import { clearMarker, readMarker, writeOutcome } from './state.js';

/** How the watch ended. */
export type WatchResult = 'healthy' | 'rolled_back' | 'no_update';

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone.
    return false;
  }
}

/** Watches the marker in `stateDir` until the update is judged; returns how it ended. */
export async function watchUpdate(
  stateDir: string,
  opts: { pollMs?: number; log?: (msg: string, data?: object) => void; now?: () => number } = {},
): Promise<WatchResult> {
  const log = opts.log ?? (() => undefined);
  const now = opts.now ?? Date.now;
  const first = readMarker(stateDir);
  if (!first) return 'no_update';
  log('watching update', { from: first.from, to: first.to, deadline: first.deadline });
  for (;;) {
    const m = readMarker(stateDir);
    if (!m) return 'no_update';
    let reason: string | undefined;
    if (m.starts > m.maxStarts) reason = `${m.to} started ${m.starts} times (restart loop)`;
    else if (now() >= m.deadline) {
      if (m.healthyAt !== undefined) {
        clearMarker(stateDir);
        const removed = pruneVersions(m.installRoot, [m.from, m.to]);
        log('update healthy', { to: m.to, pruned: removed });
        return 'healthy';
      }
      reason = `${m.to} did not complete an authenticated hello by the deadline (${new Date(m.deadline).toISOString()})`;
    }
    if (reason) {
      // Outcome before the flip: if this dies in between, the next start on either version still learns why.
      writeOutcome(stateDir, {
        from: m.from,
        to: m.to,
        assignmentId: m.assignmentId,
        result: 'rolled_back',
        code: 'OUTPOST_E_UPDATE_ROLLED_BACK',
        reason,
        at: now(),
      });
      flipPointer(m.installRoot, m.from);
      clearMarker(stateDir);
      // A hung new version is stopped, so the service manager restarts into the old one.
      if (alive(m.agentPid) && m.agentPid !== process.pid) {
        try {
          process.kill(m.agentPid!, 'SIGTERM');
        } catch {
          // It exited meanwhile: nothing to stop.
        }
        for (let waited = 0; waited < 5000 && alive(m.agentPid); waited += 100)
          await new Promise((r) => setTimeout(r, 100));
        if (alive(m.agentPid)) process.kill(m.agentPid!, 'SIGKILL');
      }
      log('rolled back', { from: m.from, to: m.to, reason });
      return 'rolled_back';
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}
