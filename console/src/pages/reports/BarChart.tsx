/**
 * Bars with uPlot (loaded on demand): categories on x, one series per group; a second series (the period before) is
 * drawn as a narrower bar over the first, so both read at the same place without uPlot's offset options.
 * The canvas carries `data-bars` (the values drawn, as JSON) so a test can tell what was plotted.
 */
import { useEffect, useRef } from 'preact/hooks';

const COLOURS = ['#1f6feb', '#8c959f', '#1a7f37', '#b35900'];

export function BarChart(props: {
  title: string;
  categories: string[];
  series: { label: string; values: number[] }[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const key = JSON.stringify(props);
  useEffect(() => {
    let plot: { destroy(): void } | undefined;
    let stop = false;
    (async () => {
      const [{ default: UPlot }] = await Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]);
      if (stop || !box.current) return;
      box.current.replaceChildren();
      const x = props.categories.map((_, i) => i);
      plot = new UPlot(
        {
          title: props.title,
          width: Math.max(320, Math.min(720, box.current.clientWidth || 640)),
          height: 220,
          scales: {
            x: { time: false, range: [-0.5, props.categories.length - 0.5] },
            y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
          },
          axes: [
            { values: (_u, ticks) => ticks.map((t) => props.categories[Math.round(t)] ?? ''), splits: () => x },
            {},
          ],
          series: [
            {},
            ...props.series.map((s, i) => ({
              label: s.label,
              fill: COLOURS[i % COLOURS.length],
              stroke: COLOURS[i % COLOURS.length],
              paths: UPlot.paths.bars!({ size: [i === 0 ? 0.7 : 0.3, 80] }),
              points: { show: false },
            })),
          ],
        },
        [x, ...props.series.map((s) => s.values)] as never,
        box.current,
      );
      box.current.querySelector('canvas')?.setAttribute('data-bars', JSON.stringify(props.series.map((s) => s.values)));
    })();
    return () => {
      stop = true;
      plot?.destroy();
    };
  }, [key]);
  return (
    <div
      class="chart"
      ref={box}
      role="img"
      aria-label={`${props.title}: ${props.series.map((s) => `${s.label} ${s.values.join(', ')}`).join('; ')}`}
    />
  );
}
