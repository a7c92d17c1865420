/**
 * Fleet correlation: the same rule failing on many machines of one site within a window becomes one major incident
 * (tier 2) instead of one per machine. This module keeps who failed what and when; emitter.ts raises the result.
 */

/** Recent faults per site, source and rule, and which correlation incidents already merged their members. */
export class FleetCorrelation {
  /** `siteId|source|rule` → agentId → time of its latest fault. */
  readonly #recent = new Map<string, Map<string, number>>();
  readonly #merged = new Set<string>();

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
    for (const [a, at] of recent) if (now - at > windowSec * 1000) recent.delete(a);
    recent.set(agentId, now);
    return recent;
  }

  /** True the first time a correlation incident is raised: its members' own incidents are then folded into it. */
  firstMerge(correlationKey: string): boolean {
    if (this.#merged.has(correlationKey)) return false;
    this.#merged.add(correlationKey);
    return true;
  }
}
