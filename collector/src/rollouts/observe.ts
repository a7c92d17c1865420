/**
 * Where one assigned agent stands after what it reported for its assignment (the updates concern's `update.status`)
 * and what the collector sees of it now (online, version). Pure; mutates the row it is given, the caller saves it.
 */
import type { AssignmentOutcome, FleetAgent } from './ports.js';
import type { RolloutAgent, RolloutRecord } from './store.js';

/**
 * Refusals that may say nothing about the release: the collector could not serve it for a moment (its own restart,
 * a dropped connection), the agent was still busy with an earlier update, or the 5 s pre-flight `--version` ran out
 * of time on a loaded machine (seen with six 120 MB executables starting at once on two cores). Retried under a new
 * id, a few times; a release that is really broken fails every attempt and then counts.
 */
const TRANSIENT = new Set(['OUTPOST_E_UPDATE_FETCH', 'OUTPOST_E_UPDATE_BUSY', 'OUTPOST_E_UPDATE_PREFLIGHT']);
const MAX_ATTEMPTS = 3;
const RETRY_AFTER_MS = 5000;

/** Updates `a` from its assignment's latest outcome and the agent as seen now. */
export function judgeAgent(
  a: RolloutAgent,
  r: Pick<RolloutRecord, 'version' | 'options'>,
  o: AssignmentOutcome | undefined,
  info: FleetAgent | undefined,
  now: number,
): void {
  if (o?.phase === 'refused' && o.code && TRANSIENT.has(o.code) && a.attempts < MAX_ATTEMPTS) {
    a.state = 'pending';
    a.assignmentId = null;
    a.notBefore = now + RETRY_AFTER_MS;
    a.code = o.code;
    a.reason = `attempt ${a.attempts} refused (${o.reason ?? o.code}); retrying`;
  } else if (o?.phase === 'refused' || o?.phase === 'rolled_back') {
    a.state = o.phase === 'refused' ? 'failed' : 'rolled_back';
    a.code = o.code;
    a.reason = o.reason;
    a.finishedAt = o.time;
  } else if (a.state !== 'healthy') {
    if (o?.phase === 'healthy' || (info?.online && info.version === r.version)) {
      a.state = 'healthy';
      a.finishedAt = now;
    } else if (a.deadlineAt !== null && now > a.deadlineAt) {
      a.state = 'timed_out';
      a.code = 'OUTPOST_E_ROLLOUT_TIMEOUT';
      a.reason = `not back online on ${r.version} within ${Math.round(r.options.deadlineMs / 1000)} s of its assignment`;
      a.finishedAt = now;
    } else if (o?.phase === 'swapped') a.state = 'updating';
  }
}
