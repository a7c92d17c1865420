/**
 * `outpost metrics show <agent> [--metric m] [--since 1h]`: a machine's series from the collector's store, as a table
 * of the latest value, minimum, maximum and a sparkline per metric (`--json`: the series themselves).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { formatValue } from '../detection/explain.js';
import type { SeriesPoint } from '../metrics/index.js';
import { api, apiText } from './api.js';
import { commandTarget } from './credentials.js';
import { printJson, printRows, printText, say, when } from './output.js';

const BLOCKS = '▁▂▃▄▅▆▇█';
/** Sparkline width in characters. */
export const SPARK_WIDTH = 40;

/** Parses `90s`, `30m`, `12h`, `7d` into seconds: at least a minute, at most 400 days (the hour roll-ups' retention). */
export function parseSince(v: string): number {
  const m = /^(\d+)([smhd])$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30m, 6h or 7d');
  const sec = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (sec < 60 || sec > 400 * 86_400) throw new InvalidArgumentError('expected a duration from 1m to 400d');
  return sec;
}

/**
 * A sparkline of the points over `[from, to)`: one character per equal slice of time (the average of the points in
 * it), scaled between the series' lowest and highest averages; a slice without data is a space.
 */
export function sparkline(points: readonly SeriesPoint[], from: number, to: number, width = SPARK_WIDTH): string {
  const sums = new Array<number>(width).fill(0);
  const counts = new Array<number>(width).fill(0);
  const span = Math.max(1, to - from);
  for (const p of points) {
    const i = Math.min(width - 1, Math.max(0, Math.floor(((p.t - from) / span) * width)));
    sums[i]! += p.avg * p.n;
    counts[i]! += p.n;
  }
  const avgs = sums.map((s, i) => (counts[i]! ? s / counts[i]! : Number.NaN));
  const present = avgs.filter((a) => !Number.isNaN(a));
  if (!present.length) return ''.padEnd(width);
  const lo = Math.min(...present);
  const hi = Math.max(...present);
  return avgs
    .map((a) => {
      if (Number.isNaN(a)) return ' ';
      if (hi === lo) return BLOCKS[3];
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.floor(((a - lo) / (hi - lo)) * BLOCKS.length))];
    })
    .join('');
}

/** Adds `outpost metrics` (the collector's own Prometheus page, as before) and `outpost metrics show <agent>`. */
export function addMetricsCommands(program: Command): void {
  const metrics = program
    .command('metrics')
    .description("Print the collector's Prometheus metrics; `metrics show <agent>`: a machine's metrics.")
    .action(async function (this: Command) {
      printText(await apiText(commandTarget(this), 'GET /metrics'));
    });
  metrics
    .command('show <agent>')
    .description(
      'Latest value, minimum, maximum and a sparkline per metric over a window (minute points up to 24 h, hour points beyond); --json gives the series.',
    )
    .option('--metric <name>', 'one metric, every instance of one (disk.used_pct), or a prefix ending with *')
    .option('--since <duration>', 'the window back from now: 30m, 6h, 7d… (1m to 400d)', parseSince, 3600)
    .action(async function (this: Command, agent: string, o: { metric?: string; since: number }) {
      const r = await api(commandTarget(this), 'GET /api/v1/agents/:id/metrics', {
        params: { id: agent },
        query: { since: o.since, metric: o.metric },
      });
      if (this.optsWithGlobals<{ json?: boolean }>().json) {
        printJson(r);
        return;
      }
      if (!r.series.length) {
        say`no samples${o.metric ? ` of ${o.metric}` : ''} from ${agent} since ${when(r.from)} (the agent sends a round every 30–60 s)\n`;
        return;
      }
      say`${agent}: ${when(r.from)} → ${when(r.to)}, one point per ${r.resolution}\n`;
      printRows(
        r.series.map((s) => ({
          metric: s.metric,
          last: s.last ? formatValue(s.metric, s.last.value) : '-',
          min: s.min === null ? '-' : formatValue(s.metric, s.min),
          max: s.max === null ? '-' : formatValue(s.metric, s.max),
          // Block characters are printable: the table's cleaning keeps them.
          chart: sparkline(s.points, r.from, r.to),
          at: s.last ? when(s.last.t) : '-',
        })),
        [
          { key: 'metric', title: 'metric' },
          { key: 'last', title: 'last' },
          { key: 'min', title: 'min' },
          { key: 'max', title: 'max' },
          { key: 'chart', title: 'chart' },
          { key: 'at', title: 'last sample' },
        ],
        false,
      );
    });
}
