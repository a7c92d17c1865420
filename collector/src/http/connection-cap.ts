/**
 * The listeners' guard against running out of file descriptors: at most `connectionCap(limit)` open connections per
 * listener (node's `server.maxConnections`: one more is accepted and closed at once). Past the process's open-files
 * limit `accept` fails with EMFILE, and libuv then resets every waiting connection; the database's, the bus's and
 * /metrics' own descriptors would fail with it. The agents' capacity (agents/capacity.ts) sits below this cap, so
 * agents are refused with a code first; this cap only meets connections that arrive faster than they are refused.
 */
import type { Server } from 'node:net';
import type { Logger } from 'pino';

/** Descriptors kept for listeners, the database and its pool, the bus, logs and files in use. */
export const NON_SOCKET_FILES = 64;
/** At most one log line per this many ms about dropped connections. */
const DROP_LOG_MS = 10_000;

/** The connections a process with `limit` open files may have open on one listener (undefined: no cap). */
export function connectionCap(limit: number | undefined): number | undefined {
  if (limit === undefined || !Number.isFinite(limit)) return undefined;
  return Math.max(1, limit - NON_SOCKET_FILES);
}

/** Caps `server`'s connections for `limit` open files and logs, at most every 10 s, the connections it dropped. */
export function capConnections(server: Server, limit: number | undefined, logger: Logger, listener: string): void {
  const cap = connectionCap(limit);
  if (cap === undefined) return;
  server.maxConnections = cap;
  let dropped = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    dropped++;
    const now = performance.now();
    if (now - loggedAt < DROP_LOG_MS) return;
    logger.warn(
      {
        code: 'OUTPOST_E_UNAVAILABLE',
        listener,
        maxConnections: cap,
        openFiles: limit,
        dropped,
        ip: data?.remoteAddress,
      },
      'connection dropped: the listener has as many connections open as the open-files limit allows (ulimit -n)',
    );
    loggedAt = now;
    dropped = 0;
  });
}
