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

/** Feeds one sample to a series' baseline; raises or clears its incident. */
export async function detectBaseline(
  d: BaselineDetector,
  st: SeriesState,
  agentId: string,
  place: AgentPlace,
  policy: Policy,
  metric: string,
  t: number,
  x: number,
): Promise<void> {
  const score = baselineStep(st.b, t, x, d.params);
  const key = `baseline:${agentId}:${metric}`;
  // The view (an object per call) is built only when a decision needs it: on the hot path of a calm series it
  // was half the engine's time, most of it garbage collection.
  if (score >= d.params.alarm && !st.open) {
    const view = baselineView(st.b);
    st.open = true;
    st.shift = view.shift ? Math.sign(view.levelDeviation) : 0;
    st.calm = 0;
    const since = Number.isNaN(view.abnormalSince) ? t : view.abnormalSince;
    const how = view.shift
      ? `a sustained shift of ${Math.abs(view.deviation).toFixed(1)}× its usual variation`
      : `${Math.abs(view.deviation).toFixed(1)}× its usual variation`;
    await d.emit.raise(place, agentId, policy, {
      key,
      source: 'baseline',
      rule: metric,
      type: 'performance',
      criticality: policy.baseline.criticality,
      failureTime: since,
      title: `${metric} abnormal on ${place.hostname ?? agentId}`,
      what: `${metric} is ${formatValue(metric, x)} where about ${formatValue(metric, view.expected)} is normal (${how}, anomaly score ${score.toFixed(2)})`,
      context: { score, value: x, expected: view.expected, deviation: view.deviation, shift: view.shift },
    });
  } else if (st.open) {
    const view = baselineView(st.b);
    // A baseline still learning (relearned after an upgrade) cannot tell calm: the incident waits for it.
    const judged = baselineCount(st.b) > d.params.warmup;
    const calm =
      st.shift > 0 ? view.cusumUp === 0 : st.shift < 0 ? view.cusumDown === 0 : Math.abs(view.forecastDeviation) < 2;
    st.calm = judged && calm ? st.calm + 1 : 0;
    if (st.calm >= d.clearSamples) {
      st.open = false;
      await d.emit.clear(key, t, `${metric} back to normal`);
    }
  }
}
