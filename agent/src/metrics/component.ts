/** The sampling loop as an `AgentComponent`. */
import type { AgentComponent, AgentContext } from '../runtime/commands.js';
import { LinuxSampler } from './linux.js';

/** Interval settings; the env var `OUTPOST_METRICS_INTERVAL_MS` (fixed interval) wins when set. */
export interface MetricsOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  random: () => number;
  now: () => number;
}

function fromEnv(): Partial<MetricsOptions> {
  const v = Number(process.env.OUTPOST_METRICS_INTERVAL_MS);
  return Number.isFinite(v) && v >= 50 ? { minIntervalMs: v, maxIntervalMs: v } : {};
}

/** Samples and reports metrics while the agent runs (Linux; other platforms report nothing yet). */
export class MetricsComponent implements AgentComponent {
  readonly name = 'metrics';
  readonly #opts: MetricsOptions;
  readonly #sampler = new LinuxSampler();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: Partial<MetricsOptions> = {}) {
    this.#opts = {
      minIntervalMs: 30_000,
      maxIntervalMs: 60_000,
      random: Math.random,
      now: Date.now,
      ...opts,
      ...fromEnv(),
    };
  }

  start(ctx: AgentContext): void {
    if (process.platform !== 'linux') {
      ctx.logger.info('metrics sampling is implemented for Linux only in this version');
      return;
    }
    this.#sampler.sample(this.#opts.now()); // primes the rate counters
    this.#schedule(ctx);
  }

  #schedule(ctx: AgentContext): void {
    if (this.#stopped) return;
    const { minIntervalMs: lo, maxIntervalMs: hi } = this.#opts;
    this.#timer = setTimeout(
      () => {
        try {
          const time = this.#opts.now();
          const { values, top } = this.#sampler.sample(time);
          ctx
            .report({ type: 'metrics.batch', samples: [{ time, values, top: top.slice(0, 20) }] })
            .catch((err: unknown) => ctx.logger.warn({ err }, 'metrics batch not queued'));
        } catch (err) {
          ctx.logger.warn({ err }, 'metrics sampling failed; next round will retry');
        }
        this.#schedule(ctx);
      },
      lo + (hi - lo) * this.#opts.random(),
    );
    this.#timer.unref?.();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
