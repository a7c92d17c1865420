/** How a session ended, as stored and reported: a pure rule beside the sessions store, not part of it. */

/**
 * How a session ended: `ok` (the shell exited or was closed, the transfer completed), `refused` (the agent would not
 * open it: ticket, path, spawn…), `failed` (an error ended it or kept it from opening: agent lost, checksum
 * mismatch, recording failure…), `ended` (the collector ended it: idle timeout, maximum duration, technician
 * unreachable, collector stopping or restarted). Null while it runs, and for rows older than this field.
 */
export type SessionOutcome = 'ok' | 'refused' | 'failed' | 'ended';

/**
 * The outcome of a session that opened, from the code it ended with: none is `ok`; the collector's own ends
 * (`OUTPOST_E_SESSION_ENDED`: timeouts, an unreachable or departed technician; `OUTPOST_E_UNAVAILABLE`: collector
 * stopping) are `ended`; any other code is `failed`.
 */
export function outcomeOf(code: string | undefined): SessionOutcome {
  if (code === undefined) return 'ok';
  return code === 'OUTPOST_E_SESSION_ENDED' || code === 'OUTPOST_E_UNAVAILABLE' ? 'ended' : 'failed';
}
