/**
 * Reading a machine's series for people (`GET /api/v1/agents/:id/metrics`, `outpost metrics show`): per series, points
 * at one resolution over a window, from the roll-ups (indexed by series) plus the raw samples not rolled up yet (the
 * last minute or hour), and the latest raw value. docs/0003-detection.md, "Reading series".
 */
import { HOUR, type MetricsStore, MINUTE } from './store.js';

/** One point: a bucket's start with the average, minimum and maximum of its samples. */
export interface SeriesPoint {
  t: number;
  avg: number;
  min: number;
  max: number;
  n: number;
}

/** One series over the window. */
export interface SeriesView {
  metric: string;
  points: SeriesPoint[];
  /** The most recent sample in the window (raw when there is one, else the last point's average). */
  last: { t: number; value: number } | null;
  min: number | null;
  max: number | null;
}

/** The answer: the window, its resolution and the series. */
export interface AgentSeries {
  agentId: string;
  from: number;
  to: number;
  resolution: 'minute' | 'hour';
  resolutionMs: number;
  series: SeriesView[];
}

/** Windows up to this long read minute points; longer ones hour points. */
export const MINUTE_WINDOW_MAX_MS = 24 * HOUR;
/** At most this many series in one answer (an agent reports a few dozen). */
export const MAX_SERIES = 500;

/**
 * True when a series name is asked for by `filter`: the exact name, every instance of a name (`disk.used_pct` →
 * `disk.used_pct:/var`), or a prefix ending with `*`.
 */
export function seriesMatches(filter: string | undefined, name: string): boolean {
  if (!filter) return true;
  if (filter.endsWith('*')) return name.startsWith(filter.slice(0, -1));
  return name === filter || name.startsWith(`${filter}:`);
}

/** The series of one agent over `[to - windowMs, to)`. */
export async function readAgentSeries(
  store: MetricsStore,
  agentId: string,
  opts: { to: number; windowMs: number; metric?: string | undefined },
): Promise<AgentSeries> {
  const resolutionMs = opts.windowMs <= MINUTE_WINDOW_MAX_MS ? MINUTE : HOUR;
  const from = Math.floor((opts.to - opts.windowMs) / resolutionMs) * resolutionMs;
  const series = (await store.seriesOf(agentId)).filter((s) => seriesMatches(opts.metric, s.name)).slice(0, MAX_SERIES);
  const ids = series.map((s) => s.id);
  const byId = new Map<number, { points: Map<number, SeriesPoint>; last: { t: number; value: number } | null }>();
  for (const id of ids) byId.set(id, { points: new Map(), last: null });
  for (const r of await store.rollupsOf(ids, resolutionMs, from, opts.to))
    byId.get(r.seriesId)!.points.set(r.bucket, { t: r.bucket, avg: r.avg, min: r.min, max: r.max, n: r.n });
  // Not rolled up yet: the raw samples since the mark, folded into buckets of the same resolution.
  const tailFrom = Math.max(from, await store.rollupMark(resolutionMs));
  for (const r of await store.samplesOf(ids, tailFrom, opts.to)) {
    const s = byId.get(r.seriesId)!;
    const bucket = Math.floor(r.ts / resolutionMs) * resolutionMs;
    const p = s.points.get(bucket);
    if (!p) s.points.set(bucket, { t: bucket, avg: r.value, min: r.value, max: r.value, n: 1 });
    else {
      p.avg = (p.avg * p.n + r.value) / (p.n + 1);
      p.n++;
      p.min = Math.min(p.min, r.value);
      p.max = Math.max(p.max, r.value);
    }
    if (!s.last || r.ts >= s.last.t) s.last = { t: r.ts, value: r.value };
  }
  return {
    agentId,
    from,
    to: opts.to,
    resolution: resolutionMs === MINUTE ? 'minute' : 'hour',
    resolutionMs,
    series: series
      .map((s) => {
        const st = byId.get(s.id)!;
        const points = [...st.points.values()].sort((a, b) => a.t - b.t);
        const lastPoint = points.at(-1);
        return {
          metric: s.name,
          points,
          last: st.last ?? (lastPoint ? { t: lastPoint.t, value: lastPoint.avg } : null),
          min: points.length ? Math.min(...points.map((p) => p.min)) : null,
          max: points.length ? Math.max(...points.map((p) => p.max)) : null,
        };
      })
      .filter((s) => s.points.length > 0),
  };
}
