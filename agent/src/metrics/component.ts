/** The sampling loop as an `AgentComponent`. */
import type { AgentComponent, AgentContext } from '../runtime/commands.js';
import { DarwinSampler } from './darwin.js';
import { LinuxSampler } from './linux.js';
import type { Round, Sampler } from './sampler.js';
import { WindowsSampler } from './win32.js';

/** Interval settings; the env var `OUTPOST_METRICS_INTERVAL_MS` (fixed interval) wins when set. */
export interface MetricsOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  random: () => number;
  now: () => number;
  /** The sampler; by default the one of this platform (`samplerFor`). */
  sampler?: Sampler & { stop?(): void };
}

function fromEnv(): Partial<MetricsOptions> {
  const v = Number(process.env.OUTPOST_METRICS_INTERVAL_MS);
  return Number.isFinite(v) && v >= 50 ? { minIntervalMs: v, maxIntervalMs: v } : {};
}

/** The sampler of a platform, or undefined where there is none. */
export function samplerFor(platform: NodeJS.Platform): (Sampler & { stop?(): void }) | undefined {
  switch (platform) {
    case 'linux': {
      const linux = new LinuxSampler();
      return { sample: async (now: number): Promise<Round> => ({ ...linux.sample(now), problems: [] }) };
    }
    case 'darwin':
      return new DarwinSampler();
    case 'win32':
      return new WindowsSampler();
    default:
      return undefined;
  }
}

/** Samples and reports metrics while the agent runs (Linux, macOS, Windows). */
export class MetricsComponent implements AgentComponent {
  readonly name = 'metrics';
  readonly #opts: MetricsOptions;
  #sampler: (Sampler & { stop?(): void }) | undefined;
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
    this.#sampler = this.#opts.sampler ?? samplerFor(process.platform);
    if (!this.#sampler) {
      ctx.logger.info(
        { platform: process.platform },
        'no metrics sampler for this platform (there is one for Linux, macOS and Windows): metrics are off',
      );
      return;
    }
    // The first round primes the rate counters and is not reported. Not awaited: the runtime starts components one
    // after the other before it connects, and Windows' first round includes starting PowerShell.
    void this.#round(ctx, false).then(() => this.#schedule(ctx));
  }

  /** One round; a failure is logged and the next round retries. Never throws. */
  async #round(ctx: AgentContext, report: boolean): Promise<void> {
    try {
      const time = this.#opts.now();
      const { values, top, problems } = await this.#sampler!.sample(time);
      if (problems.length > 0) {
        ctx.logger.warn({ platform: process.platform, problems }, 'metrics round incomplete; next round will retry');
      }
      if (!report || this.#stopped) return;
      ctx
        .report({ type: 'metrics.batch', samples: [{ time, values, top: top.slice(0, 20) }] })
        .catch((err: unknown) => ctx.logger.warn({ err }, 'metrics batch not queued'));
    } catch (err) {
      ctx.logger.warn({ err }, 'metrics sampling failed; next round will retry');
    }
  }

  #schedule(ctx: AgentContext): void {
    if (this.#stopped) return;
    const { minIntervalMs: lo, maxIntervalMs: hi } = this.#opts;
    this.#timer = setTimeout(
      () => {
        // The next round is planned when this one is done, so a slow tool never stacks rounds.
        void this.#round(ctx, true).then(() => this.#schedule(ctx));
      },
      lo + (hi - lo) * this.#opts.random(),
    );
    this.#timer.unref?.();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#sampler?.stop?.();
  }
}
