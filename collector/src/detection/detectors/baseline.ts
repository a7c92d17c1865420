/**
 * The adaptive-baseline detector: a sample whose anomaly score reaches the alarm level opens a `baseline` incident
 * (its failure time is when the series turned abnormal); it clears after `clearSamples` calm samples in a row.
 */
import { type BaselineParams, baselineCount, baselineStep, baselineView } from '../baseline.js';
import type { SignalEmitter } from '../emitter.js';
import { formatValue } from '../explain.js';
import type { Policy } from '../policy.js';
import type { AgentPlace } from '../ports.js';
import type { SeriesState } from '../state.js';

/** Baseline settings of one engine. */
export interface BaselineDetector {
  emit: SignalEmitter;
  params: Readonly<BaselineParams>;
  /** Consecutive normal samples before a baseline incident is cleared. */
  clearSamples: number;
}

/**
 * Feeds one sample to a series' baseline. Returns the raise or clear it caused, or undefined when the sample decided
 * nothing: most samples of a calm series, so the engine awaits nothing for them (an await per sample on this path
 * cost the engine measurably).
 */
export function detectBaseline(
  d: BaselineDetector,
  st: SeriesState,
  agentId: string,
  place: AgentPlace,
  policy: Policy,
  metric: string,
  t: number,
  x: number,
): Promise<unknown> | undefined {
  const score = baselineStep(st.b, t, x, d.params);
  // The view (an object per call) is built only when a decision needs it: on the hot path of a calm series it
  // was half the engine's time, most of it garbage collection.
  if (score >= d.params.alarm && !st.open) return raise(d, st, agentId, place, policy, metric, t, x, score);
  if (st.open) return judgeCalm(d, st, agentId, metric, t);
  return undefined;
}

/** Opens the baseline incident of a series whose score reached the alarm level. */
function raise(
  d: BaselineDetector,
  st: SeriesState,
  agentId: string,
  place: AgentPlace,
  policy: Policy,
  metric: string,
  t: number,
  x: number,
  score: number,
): Promise<boolean> {
  const view = baselineView(st.b);
  st.open = true;
  st.shift = view.shift ? Math.sign(view.levelDeviation) : 0;
  st.calm = 0;
  const since = Number.isNaN(view.abnormalSince) ? t : view.abnormalSince;
  const how = view.shift
    ? `a sustained shift of ${Math.abs(view.deviation).toFixed(1)}× its usual variation`
    : `${Math.abs(view.deviation).toFixed(1)}× its usual variation`;
  return d.emit.raise(place, agentId, policy, {
    key: `baseline:${agentId}:${metric}`,
    source: 'baseline',
    rule: metric,
    type: 'performance',
    criticality: policy.baseline.criticality,
    failureTime: since,
    title: `${metric} abnormal on ${place.hostname ?? agentId}`,
    what: `${metric} is ${formatValue(metric, x)} where about ${formatValue(metric, view.expected)} is normal (${how}, anomaly score ${score.toFixed(2)})`,
    context: { score, value: x, expected: view.expected, deviation: view.deviation, shift: view.shift },
  });
}

/** While the incident is open: counts calm samples, and clears it after `clearSamples` in a row. */
function judgeCalm(
  d: BaselineDetector,
  st: SeriesState,
  agentId: string,
  metric: string,
  t: number,
): Promise<void> | undefined {
  const view = baselineView(st.b);
  // A baseline still learning (relearned after an upgrade) cannot tell calm: the incident waits for it.
  const judged = baselineCount(st.b) > d.params.warmup;
  const calm =
    st.shift > 0 ? view.cusumUp === 0 : st.shift < 0 ? view.cusumDown === 0 : Math.abs(view.forecastDeviation) < 2;
  st.calm = judged && calm ? st.calm + 1 : 0;
  if (st.calm < d.clearSamples) return undefined;
  st.open = false;
  return d.emit.clear(`baseline:${agentId}:${metric}`, t, `${metric} back to normal`);
}
