/**
 * What the detection engine remembers between samples, per series, rule, check and agent: in memory, checkpointed by
 * state-codec.ts. One object, shared by the detectors, so the checkpoint sees everything they keep.
 */
import { newBaselineState } from './baseline.js';
import type { ThresholdRule } from './policy.js';

/** One threshold rule on one series: breach start, clear start, whether its incident is open. */
export interface RuleState {
  breach: number;
  clear: number;
  open: boolean;
}

/** One series: its baseline, its baseline incident, its forecast. */
export interface SeriesState {
  b: Float64Array;
  open: boolean;
  /**
   * The open baseline incident is a level shift up (1) or down (-1), else 0: it clears once no shift that way is
   * building any more (the series is back, or its baseline has taken the new level as normal).
   */
  shift: number;
  calm: number;
  // threshold state of checkpoints written before it was kept per rule (`RuleState`): read once, to seed the rules
  tBreach: number;
  tClear: number;
  tOpen: boolean;
  // forecast: anchor time and value, smoothed growth per ms
  fOpen: boolean;
  fT: number;
  fX: number;
  fSlope: number;
}

/** One check on one agent: consecutive failures, the first failure's time, whether its incident is open. */
export interface CheckState {
  fails: number;
  first: number;
  open: boolean;
}

/** A series state that has seen nothing. */
export function newSeriesState(): SeriesState {
  return {
    b: newBaselineState(),
    ...{ open: false, shift: 0, calm: 0, tBreach: -1, tClear: -1, tOpen: false },
    ...{ fOpen: false, fT: -1, fX: 0, fSlope: 0 },
  };
}

/** Everything the detectors keep. */
export class DetectionState {
  /** Per `agentId|metric`. */
  readonly series = new Map<string, SeriesState>();
  /** Threshold state per `agentId|metric|op value`: two rules on one series (the shipped one and yours) never mix. */
  readonly rules = new Map<string, RuleState>();
  /** Agents whose absence incident is open. */
  readonly absent = new Set<string>();
  /** Open inventory-rule keys (`inventory:<agent>:<finding>`). */
  readonly invOpen = new Set<string>();
  /** Per `agentId|checkId`. */
  readonly checks = new Map<string, CheckState>();

  /** The state of a series, created on first use. */
  seriesOf(id: string): SeriesState {
    let st = this.series.get(id);
    if (!st) {
      st = newSeriesState();
      this.series.set(id, st);
    }
    return st;
  }

  /**
   * The state of one rule on one series. A series checkpointed before rules had their own state hands its open
   * threshold incident to the first rule that asks (it had one rule, or one shared state: either way it clears).
   */
  ruleOf(agentId: string, metric: string, r: ThresholdRule): RuleState {
    const id = `${agentId}|${metric}|${r.op}${r.value}`;
    let st = this.rules.get(id);
    if (!st) {
      st = { breach: -1, clear: -1, open: false };
      const legacy = this.series.get(`${agentId}|${metric}`);
      if (legacy?.tOpen) {
        st = { breach: legacy.tBreach, clear: legacy.tClear, open: true };
        legacy.tOpen = false;
        legacy.tBreach = -1;
        legacy.tClear = -1;
      }
      this.rules.set(id, st);
    }
    return st;
  }
}
