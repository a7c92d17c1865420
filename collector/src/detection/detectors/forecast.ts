/**
 * The capacity forecast on `disk.used_pct*` series: growth measured between anchors at least 10 minutes apart and
 * smoothed; a volume full within the policy's horizon opens a `capacity` incident, which clears once the
 * projection moves past twice the horizon.
 */
import type { SignalEmitter } from '../emitter.js';
import type { Policy } from '../policy.js';
import type { AgentPlace } from '../ports.js';
import type { SeriesState } from '../state.js';

/** Minimum distance between two growth anchors. */
const ANCHOR_MS = 600_000;

/** True for the series the forecast watches. */
export const forecastWatches = (metric: string) => metric.startsWith('disk.used_pct');

/** Feeds one sample of a disk series to its forecast; raises or clears its incident. */
export async function detectForecast(
  emit: SignalEmitter,
  st: SeriesState,
  agentId: string,
  place: AgentPlace,
  policy: Policy,
  metric: string,
  t: number,
  x: number,
): Promise<void> {
  // Growth rate from anchors at least 10 min apart, smoothed so one jump does not predict a full disk.
  if (st.fT < 0) {
    st.fT = t;
    st.fX = x;
    return;
  }
  if (t - st.fT >= ANCHOR_MS) {
    const slope = (x - st.fX) / (t - st.fT);
    st.fSlope = st.fSlope === 0 ? slope : 0.3 * slope + 0.7 * st.fSlope;
    st.fT = t;
    st.fX = x;
  }
  const slopePerMs = st.fSlope;
  const hoursToFull = slopePerMs > 0 ? (100 - x) / slopePerMs / 3_600_000 : Number.POSITIVE_INFINITY;
  const key = `forecast:${agentId}:${metric}`;
  if (!st.fOpen && hoursToFull <= policy.forecast.horizonHours) {
    st.fOpen = true;
    await emit.raise(place, agentId, policy, {
      key,
      source: 'forecast',
      rule: `${metric} full within ${policy.forecast.horizonHours} h`,
      type: 'capacity',
      criticality: 'P2',
      failureTime: t,
      title: `${metric.split(':')[1] ?? 'volume'} full within ${Math.max(1, Math.round(hoursToFull))} h on ${place.hostname ?? agentId}`,
      what: `${metric} is ${x.toFixed(1)} % and growing; at this rate it is full in about ${hoursToFull.toFixed(1)} h`,
      context: { value: x, hoursToFull },
    });
  } else if (st.fOpen && hoursToFull > policy.forecast.horizonHours * 2) {
    st.fOpen = false;
    await emit.clear(key, t, 'growth slowed down');
  }
}
