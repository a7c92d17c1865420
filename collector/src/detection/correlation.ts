/**
 * Fleet correlation: the same rule failing on many machines of one site within a window becomes one major incident
 * (tier 2) instead of one per machine. This module keeps who failed what and when, and which members the major
 * incident has not been told about yet; emitter.ts raises the result.
 *
 * Cost matters here because the case is a mass failure: a site's network down, 15,000 machines silent in one absence
 * sweep. Noting a fault is O(1) amortised (faults are kept in time order, so the expired ones are at the front), and
 * members that join an incident already raised are batched (see `join` / `takePending`) so the incident is written
 * once per batch, not once per machine with every machine in it.
 */

/** Recent faults per site, source and rule, and which correlation incidents already merged their members. */
export class FleetCorrelation {
  /** `siteId|source|rule` → agentId → time of its latest fault, oldest first. */
  readonly #recent = new Map<string, Map<string, number>>();
  /** Correlation incidents raised → the members that joined since their last raise, waiting for the batch to end. */
  readonly #pending = new Map<string, Set<string>>();

  /**
   * Notes a fault of `agentId` at `now` and forgets faults older than the window. Returns the live map of agents with
   * the same fault in the window (this one included): it may still grow while the caller awaits.
   */
  note(
    siteId: string,
    source: string,
    rule: string,
    agentId: string,
    now: number,
    windowSec: number,
  ): ReadonlyMap<string, number> {
    const key = `${siteId}|${source}|${rule}`;
    const recent = this.#recent.get(key) ?? new Map<string, number>();
    this.#recent.set(key, recent);
    // Re-inserted at the end so the map stays in time order and pruning stops at the first fault still in the window.
    recent.delete(agentId);
    recent.set(agentId, now);
    for (const [a, at] of recent) {
      if (now - at <= windowSec * 1000) break;
      recent.delete(a);
    }
    return recent;
  }

  /** True the first time a correlation incident is raised: its members' own incidents are then folded into it. */
  firstMerge(correlationKey: string): boolean {
    if (this.#pending.has(correlationKey)) return false;
    this.#pending.set(correlationKey, new Set());
    return true;
  }

  /** A machine joins a correlation incident already raised: it waits for the end of the batch (`takePending`). */
  join(correlationKey: string, agentId: string): void {
    const pending = this.#pending.get(correlationKey);
    if (!pending) throw new Error(`correlation ${correlationKey} was never raised`);
    pending.add(agentId);
  }

  /** The batches to raise now: each correlation incident with the members that joined it since its last raise. */
  takePending(): { correlationKey: string; agents: string[] }[] {
    const out: { correlationKey: string; agents: string[] }[] = [];
    for (const [correlationKey, pending] of this.#pending) {
      if (pending.size === 0) continue;
      out.push({ correlationKey, agents: [...pending] });
      this.#pending.set(correlationKey, new Set());
    }
    return out;
  }
}
