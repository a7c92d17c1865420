/**
 * The halt rule (docs/0011-releases.md, "Rollouts"): pure. In the wave being rolled out, failures (refused,
 * rolled back — a crash loop is a rollback whose reason says so — and not back online on the new version by the
 * deadline) are counted against a threshold given as a count and/or a percentage of the wave. Failures an admin
 * already accepted by resuming a halted wave are forgiven, so a resume does not halt again at once.
 */

/** Where one agent of a rollout stands. */
export type AgentState =
  | 'pending' // not assigned yet
  | 'assigned' // assigned, nothing reported yet
  | 'updating' // the agent swapped and is restarting into the new version
  | 'healthy' // online on the new version (or it reported healthy)
  | 'failed' // refused the release (verification, download, pre-flight…)
  | 'rolled_back' // its watcher rolled it back (no hello in time, or a restart loop)
  | 'timed_out' // not back online on the new version by its deadline
  | 'skipped'; // offline when its turn came: never assigned

/** States an agent leaves only by a late report (a rollback after healthy). */
export const FINAL_STATES: ReadonlySet<AgentState> = new Set([
  'healthy',
  'failed',
  'rolled_back',
  'timed_out',
  'skipped',
]);
/** States that count against the threshold. */
export const BAD_STATES: ReadonlySet<AgentState> = new Set(['failed', 'rolled_back', 'timed_out']);
/** States of an agent the rollout is waiting on. */
export const IN_FLIGHT: ReadonlySet<AgentState> = new Set(['assigned', 'updating']);

/** The threshold: halt when either is reached (an absent one never fires). */
export interface HaltThreshold {
  /** Failures in the wave that halt it (≥ 1). */
  count?: number | undefined;
  /** Failed share of the wave, in percent, that halts it (> 0). */
  percent?: number | undefined;
}

/** The verdict on a wave, with what it was based on. */
export interface HaltVerdict {
  halt: boolean;
  bad: number;
  size: number;
  /** Human words: `2 of 2 machines failed (threshold: 1)`. */
  why: string;
}

/** Judges one wave from its agents' states. `forgiven`: failures accepted by an earlier resume. */
export function judgeWave(states: readonly AgentState[], threshold: HaltThreshold, forgiven = 0): HaltVerdict {
  const size = states.length;
  const bad = states.filter((s) => BAD_STATES.has(s)).length;
  const counted = Math.max(0, bad - forgiven);
  const byCount = threshold.count !== undefined && counted >= threshold.count;
  const byPercent = threshold.percent !== undefined && size > 0 && (counted * 100) / size >= threshold.percent;
  const limits = [
    threshold.count !== undefined ? `${threshold.count} machine(s)` : undefined,
    threshold.percent !== undefined ? `${threshold.percent}% of the wave` : undefined,
  ].filter(Boolean);
  return {
    halt: counted > 0 && (byCount || byPercent),
    bad,
    size,
    why: `${bad} of ${size} machines failed${forgiven ? ` (${forgiven} accepted at a resume)` : ''} (threshold: ${limits.join(' or ') || 'none'})`,
  };
}

/** The wave is over when no agent is pending or in flight. */
export function waveDone(states: readonly AgentState[]): boolean {
  return states.every((s) => FINAL_STATES.has(s));
}
