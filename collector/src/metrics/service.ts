/**
 * The metrics concern's logic: the `metrics.batch` stream sink (store, then feed detection), periodic roll-ups with
 * retention, and the detection checkpoint timer.
 */
import type { CheckResult, ChecksResults, MetricsBatch } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { EngineSample } from '../detection/ports.js';
import type { SinkReactions } from '../stream/index.js';
import type { MetricsStore } from './store.js';

/** What the sink feeds once samples are durable (the detection engine). */
export interface SampleConsumer {
  ingest(agentId: string, samples: readonly EngineSample[]): Promise<void>;
  ingestChecks(agentId: string, results: readonly CheckResult[]): Promise<void>;
}

/** Retention of raw samples and roll-ups. */
export interface MetricsRetention {
  rawMs: number;
  minuteMs: number;
  hourMs: number;
}

/** Defaults: raw 7 days, minutes 30 days, hours 400 days. */
export const DEFAULT_RETENTION: MetricsRetention = {
  rawMs: 7 * 86_400_000,
  minuteMs: 30 * 86_400_000,
  hourMs: 400 * 86_400_000,
};

/** How often samples are rolled up and pruned, and detection's state checkpointed: a minute of slack. */
export const HOUSEKEEPING_INTERVAL_MS = 60_000;

/** What MetricsService is built from (one options object, not positional arguments). */
export interface MetricsServiceInit {
  store: MetricsStore;
  consumer: SampleConsumer | undefined;
  clock: Clock;
  logger: Logger;
  retention?: MetricsRetention;
}

/** Metrics ingestion and housekeeping. */
export class MetricsService {
  #timer: NodeJS.Timeout | undefined;
  samplesStored = 0;

  private readonly store: MetricsStore;
  private readonly consumer: SampleConsumer | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly retention: MetricsRetention;
  constructor(init: MetricsServiceInit) {
    const { store, consumer, clock, logger, retention = DEFAULT_RETENTION } = init;
    this.store = store;
    this.consumer = consumer;
    this.clock = clock;
    this.logger = logger;
    this.retention = retention;
  }

  /**
   * The stream sink: durable when the batch commits, idempotent by (agent, seq); detection sees each stored batch
   * once, after the commit (it may raise incidents, which take their own lock: never inside the batch's transaction).
   */
  async commit(items: readonly { agentId: string; msg: MetricsBatch }[], reactions?: SinkReactions): Promise<void> {
    const fresh = await this.store.insertBatches(
      items.map((i) => ({ agentId: i.agentId, seq: i.msg.seq, samples: i.msg.samples })),
    );
    for (const b of fresh) for (const s of b.samples) this.samplesStored += Object.keys(s.values).length;
    const consumer = this.consumer;
    if (!consumer || fresh.length === 0) return;
    const detect = async () => {
      for (const b of fresh) {
        try {
          await consumer.ingest(b.agentId, b.samples);
        } catch (err) {
          // The samples are stored; a detection failure must not make the agent resend them forever.
          this.logger.error({ err, agentId: b.agentId, seq: b.seq }, 'detection failed on a metrics batch');
        }
      }
    };
    // Outside the stream (an import, a test seeding samples) there is no batch to wait for: detect now.
    if (reactions) reactions.afterCommit(detect);
    else await detect();
  }

  /**
   * The `checks.results` sink: each result is kept as two series, `check.ok:<id>` (1 or 0) and `check.value:<id>`
   * (latency, days left…), with the same (agent, seq) idempotence as metrics; detection sees each message once.
   */
  async commitChecks(
    items: readonly { agentId: string; msg: ChecksResults }[],
    reactions?: SinkReactions,
  ): Promise<void> {
    const fresh = await this.store.insertBatches(
      items.map((i) => ({
        agentId: i.agentId,
        seq: i.msg.seq,
        results: i.msg.results,
        samples: i.msg.results.map((r) => ({
          time: r.time,
          values: {
            [`check.ok:${r.checkId}`]: r.ok ? 1 : 0,
            ...(r.value !== undefined ? { [`check.value:${r.checkId}`]: r.value } : {}),
          },
        })),
      })),
    );
    const consumer = this.consumer;
    if (!consumer || fresh.length === 0) return;
    const detect = async () => {
      for (const b of fresh) {
        try {
          await consumer.ingestChecks(
            b.agentId,
            [...b.results].sort((x, y) => x.time - y.time),
          );
        } catch (err) {
          this.logger.error({ err, agentId: b.agentId, seq: b.seq }, 'detection failed on check results');
        }
      }
    };
    if (reactions) reactions.afterCommit(detect);
    else await detect();
  }

  /** Raw samples of one series (e.g. `check.ok:<id>`) between two times. */
  async samples(agentId: string, name: string, fromMs: number, toMs: number): Promise<{ ts: number; value: number }[]> {
    return (await this.store.samples(agentId, name, fromMs, toMs)).map((r) => ({ ts: r.ts, value: r.value }));
  }

  /** Rolls up and prunes everything older than one minute ago (late samples get a minute of slack). */
  async housekeeping(): Promise<void> {
    await this.store.rollupAndPrune(this.clock.now() - 60_000, this.retention);
  }

  /**
   * Starts periodic housekeeping (every `HOUSEKEEPING_INTERVAL_MS` in the app) and the checkpoint callback. On
   * PostgreSQL the day partitions of raw samples are created at once (nothing on SQLite): until then samples wait in
   * the default partition.
   */
  start(intervalMs: number, checkpoint: () => Promise<void>): void {
    this.store
      .preparePartitions(this.clock.now())
      .catch((err: unknown) => this.logger.error({ err }, 'metrics partitions not created; will retry'));
    this.#timer = setInterval(() => {
      this.housekeeping().catch((err: unknown) => this.logger.error({ err }, 'metrics roll-up failed; will retry'));
      checkpoint().catch((err: unknown) => this.logger.error({ err }, 'detection checkpoint failed; will retry'));
    }, intervalMs).unref();
  }

  /** Stops the timer. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
