/** What every platform sampler returns, and the small pieces they share (rounding, rates, the top list). */
import type { TopProcess } from '@outpost/shared';

/** One sampling round: the values it could read, the top processes, and what it could not read (for a warning). */
export interface Round {
  values: Record<string, number>;
  top: TopProcess[];
  /** One line per source that failed or printed something unreadable this round; the next round tries again. */
  problems: string[];
}

/** A platform sampler: `sample()` once per round; rates come from the second round on. */
export interface Sampler {
  sample(now: number): Promise<Round>;
}

/** Two decimals: enough for percentages and rates, and it keeps batches small. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Cumulative counters (bytes, errors, CPU seconds) turned into per-second rates or plain increases between two rounds.
 * A counter seen for the first time has no rate; one that went down (wrapped, device reset) counts as zero.
 */
export class Counters {
  #prev = new Map<string, number>();
  #prevAt: number | undefined;
  #cur = new Map<string, number>();
  #at = 0;

  /** Starts a round at `now` (ms). */
  begin(now: number): void {
    this.#at = now;
    this.#cur = new Map();
  }

  /** Seconds since the previous round, or 0 on the first. */
  get seconds(): number {
    return this.#prevAt === undefined ? 0 : (this.#at - this.#prevAt) / 1000;
  }

  /** The increase per second since the last round, or undefined. */
  rate(key: string, value: number): number | undefined {
    const d = this.delta(key, value);
    const dt = this.seconds;
    return d === undefined || dt <= 0 ? undefined : d / dt;
  }

  /** The increase since the last round, or undefined. */
  delta(key: string, value: number): number | undefined {
    if (!Number.isFinite(value)) return undefined;
    this.#cur.set(key, value);
    const p = this.#prev.get(key);
    return p === undefined || this.seconds <= 0 ? undefined : Math.max(0, value - p);
  }

  /** Ends the round: what was seen now is what the next round compares with (vanished keys are forgotten). */
  end(): void {
    this.#prev = this.#cur;
    this.#prevAt = this.#at;
  }
}

/** The ten busiest processes by CPU and the ten largest by memory, without duplicates (at most 20). */
export function topOf(procs: TopProcess[]): TopProcess[] {
  const byCpu = [...procs].sort((a, b) => b.cpuPct - a.cpuPct).slice(0, 10);
  const byMem = [...procs].sort((a, b) => b.memBytes - a.memBytes).slice(0, 10);
  return [...new Map([...byCpu, ...byMem].map((p) => [p.pid, p])).values()];
}

/** A metric instance as the wire allows it (no whitespace or commas, 1–128 characters). */
export function instanceName(raw: string): string {
  const s = raw
    .trim()
    .replace(/[\s,]+/g, '_')
    .slice(0, 128);
  return s || '_';
}
