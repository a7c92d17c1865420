/**
 * Prometheus text exposition for the collector's own health: connected agents, stream throughput, closes by code,
 * event-loop lag, memory. Values are read at scrape time from the concerns' counters (no second bookkeeping).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** One metric family read at scrape time. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  read(): number | ReadonlyMap<string, number>;
  /** Label name when `read` returns a map. */
  label?: string;
}

/** The registry the /metrics route renders. */
export class MetricsRegistry {
  readonly #families: MetricFamily[] = [];
  readonly #loop = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.#loop.enable();
    this.add({
      name: 'outpost_process_resident_memory_bytes',
      help: 'Resident set size of the collector process',
      type: 'gauge',
      read: () => process.memoryUsage.rss(),
    });
    this.add({
      name: 'outpost_process_heap_used_bytes',
      help: 'V8 heap in use',
      type: 'gauge',
      read: () => process.memoryUsage().heapUsed,
    });
    this.add({
      name: 'outpost_process_external_bytes',
      help: 'Memory held outside the V8 heap (buffers, TLS)',
      type: 'gauge',
      read: () => process.memoryUsage().external,
    });
    this.add({
      name: 'outpost_event_loop_lag_p99_seconds',
      help: 'Event-loop delay p99 since the last scrape',
      type: 'gauge',
      read: () => this.#loop.percentile(99) / 1e9,
    });
    this.add({
      // The p99 hides one long stall among many samples (a synchronous hash of a large file, say): the max shows it.
      name: 'outpost_event_loop_lag_max_seconds',
      help: 'Longest event-loop delay since the last scrape',
      type: 'gauge',
      read: () => this.#loop.max / 1e9,
    });
  }

  add(family: MetricFamily): void {
    this.#families.push(family);
  }

  /** Renders every family in the Prometheus text format, and resets the loop-lag window. */
  render(): string {
    const lines: string[] = [];
    for (const f of this.#families) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      const value = f.read();
      if (typeof value === 'number') lines.push(`${f.name} ${value}`);
      else
        for (const [k, v] of value) lines.push(`${f.name}{${f.label ?? 'label'}="${k.replace(/["\\\n]/g, '_')}"} ${v}`);
    }
    this.#loop.reset();
    return `${lines.join('\n')}\n`;
  }

  close(): void {
    this.#loop.disable();
  }
}
