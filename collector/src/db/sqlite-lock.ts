/**
 * Who serves a SQLite database file: `outpost serve` writes `<file>-serving` (its pid and host) when it opens the
 * file and removes it when it closes. SQLite's own locks cannot tell: in WAL mode an idle collector holds none, so a
 * copy taken beside a running collector would miss whatever it writes next. `outpost migrate --to` refuses while
 * the process named there is alive; a file left by a killed collector names a dead pid and is ignored.
 */

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** The marker's path for a database file. */
export function servingMarkerOf(file: string): string {
  return `${file}-serving`;
}

interface Marker {
  pid: number;
  host: string;
  since: number;
}

/** Marks `file` as served by this process; returns the release (idempotent; also run at process exit). */
export function markServing(file: string): () => void {
  const marker = servingMarkerOf(file);
  writeFileSync(marker, JSON.stringify({ pid: process.pid, host: hostname(), since: Date.now() } satisfies Marker), {
    mode: 0o600,
  });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    // Only our own marker: a collector started on the same file since then keeps its own.
    if (readMarker(marker)?.pid === process.pid) rmSync(marker, { force: true });
  };
  process.once('exit', release);
  return release;
}

/** The live process serving `file`, or undefined when none does (no marker, or a dead process's). */
export function servingProcess(file: string): Marker | undefined {
  const m = readMarker(servingMarkerOf(file));
  if (!m) return undefined;
  // Another host's process cannot be checked from here: assume it runs.
  if (m.host !== hostname()) return m;
  if (m.pid === process.pid) return undefined;
  try {
    process.kill(m.pid, 0);
    return m;
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? m : undefined;
  }
}

function readMarker(path: string): Marker | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Marker>;
    if (typeof m.pid !== 'number' || typeof m.host !== 'string') return undefined;
    return { pid: m.pid, host: m.host, since: typeof m.since === 'number' ? m.since : 0 };
  } catch {
    return undefined;
  }
}
