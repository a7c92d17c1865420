/**
 * How many agents one collector process may hold: its configured `limits.maxAgents`, and no more than its open-files
 * limit allows. Every agent holds a socket (a file descriptor); at the limit `accept` fails with EMFILE, and libuv
 * then accepts and resets every waiting connection — an admin's API request as much as an agent's hello — and
 * anything else that needs a descriptor (a database connection, /metrics reading the process's memory) fails too.
 * Refusing agents a little before the limit keeps descriptors for all of that, and tells the agents to come back
 * (close 1013 `OUTPOST_E_UNAVAILABLE retry_after=…`) instead of resetting them.
 */
import { readFileSync } from 'node:fs';

/** The open-files limits of a process, from its `/proc/<pid>/limits` text. */
export function openFilesLimit(limitsText: string): { soft: number; hard: number } {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText);
  if (!m) throw new Error('no "Max open files" line in the limits');
  const read = (v: string) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: read(m[1]!), hard: read(m[2]!) };
}

/** This process's soft open-files limit, or undefined where /proc is not there to say (not Linux). */
export function ownOpenFilesLimit(): number | undefined {
  try {
    return openFilesLimit(readFileSync('/proc/self/limits', 'utf8')).soft;
  } catch {
    return undefined;
  }
}

/**
 * Descriptors kept for everything but agents' sockets: listeners, the database and its pool, the bus, logs,
 * recordings, API and console requests, and handshakes in flight (a refused agent holds its socket until the close
 * is sent). An eighth of the limit, at least 128 and at most 512 (ample for a node of 20,000 agents).
 */
export function reservedFiles(limit: number): number {
  return Math.min(512, Math.max(128, Math.floor(limit / 8)));
}

/** The agents a process with `limit` open files (undefined: unknown) may hold, within `maxAgents`. */
export function agentCapacity(maxAgents: number, limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return maxAgents;
  return Math.max(1, Math.min(maxAgents, limit - reservedFiles(limit)));
}
