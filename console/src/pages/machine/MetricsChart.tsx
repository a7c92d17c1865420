/**
 * A uPlot chart of a machine's stored series (`GET /api/v1/agents/:id/metrics`) over a selectable range: the
 * percentage series (CPU, memory, disks) on one axis. uPlot is loaded on demand, and its canvas carries
 * `data-series`/`data-points` so a test can tell what was drawn.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { MetricsAnswer } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';

const RANGES = [
  { label: '1 hour', since: 3600 },
  { label: '24 hours', since: 86_400 },
  { label: '7 days', since: 7 * 86_400 },
  { label: '30 days', since: 30 * 86_400 },
];
const COLOURS = ['#1f6feb', '#b35900', '#1a7f37', '#8250df', '#cf222e', '#0a7a83'];

/** Aligns the series on one time axis (uPlot's data layout: x first, one array per series, null for gaps). */
function align(series: MetricsAnswer['series']): [number[], ...(number | null)[][]] {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(times.length).fill(null);
    for (const p of s.points) y[index.get(p.t)!] = p.avg;
    return y;
  });
  return [times.map((t) => t / 1000), ...ys];
}

export function MetricsChart(props: { agentId: string }) {
  const since = useSignal(3600);
  const error = useSignal<unknown>(null);
  const info = useSignal<{ series: number; points: number } | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let plot: { destroy(): void } | undefined;
    let stop = false;
    (async () => {
      try {
        const [answer, { default: UPlot }] = await Promise.all([
          Api.metrics(props.agentId, since.value),
          import('uplot'),
          import('uplot/dist/uPlot.min.css'),
        ]);
        if (stop || !box.current) return;
        const series = answer.series.filter((s) => s.metric.includes('_pct') && s.points.length > 0).slice(0, 6);
        info.value = { series: series.length, points: series.reduce((n, s) => n + s.points.length, 0) };
        box.current.replaceChildren();
        if (series.length === 0) return;
        plot = new UPlot(
          {
            width: Math.max(320, box.current.clientWidth || 800),
            height: 260,
            scales: { y: { range: [0, 100] } },
            axes: [{}, { label: '%' }],
            series: [{}, ...series.map((s, i) => ({ label: s.metric, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
          },
          align(series) as never,
          box.current,
        );
        box.current.querySelector('canvas')?.setAttribute('data-series', String(series.length));
      } catch (err) {
        if (!stop) error.value = err;
      }
    })();
    return () => {
      stop = true;
      plot?.destroy();
    };
  }, [props.agentId, since.value]);

  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      <label>
        Range{' '}
        <select
          value={since.value}
          onChange={(e) => {
            since.value = Number(e.currentTarget.value);
          }}
        >
          {RANGES.map((r) => (
            <option key={r.since} value={r.since}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      <ErrorLine error={error.value} />
      {info.value && (
        <p class="muted" data-testid="chart-info" data-series={info.value.series} data-points={info.value.points}>
          {info.value.series === 0
            ? 'No samples stored in this range.'
            : `${info.value.series} series, ${info.value.points} points`}
        </p>
      )}
      <div class="chart" ref={box} />
    </section>
  );
}
