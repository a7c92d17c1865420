/**
 * The streaming detection engine (docs/0003-detection.md): fed sample by sample as batches arrive, it hands each
 * sample to the detectors (detectors/: baseline, thresholds, forecast, checks, inventory, absence), which raise and
 * clear through one emitter (maintenance windows, fleet correlation, explanation) on the `IncidentSink`. The engine
 * only orchestrates: it finds where an agent sits and which policy applies, and checkpoints the state
 * (state-codec.ts). Pure logic: no fastify, no SQL.
 */
import type { CheckResult } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { IncidentSink } from '../incidents/signal.js';
import { type BaselineParams, DEFAULT_BASELINE } from './baseline.js';
import { AgentCheckpoints } from './checkpoint.js';
import { FleetCorrelation } from './correlation.js';
import { type AbsenceClock, heard, sweepAbsence } from './detectors/absence.js';
import { type BaselineDetector, detectBaseline } from './detectors/baseline.js';
import { detectChecks, reconcileChecks } from './detectors/checks.js';
import type { DetectorContext } from './detectors/context.js';
import { detectForecast, forecastWatches } from './detectors/forecast.js';
import { detectInventory } from './detectors/inventory.js';
import { coversSeries, detectProcessRules, detectThreshold, reconcileThresholds } from './detectors/thresholds.js';
import { type EngineCounters, SignalEmitter } from './emitter.js';
import { MaintenanceGate, type Suppressed } from './maintenance.js';
import { baselineIgnores, type Policy, type PolicySet, thresholdsOf } from './policy.js';
import type {
  AgentPlace,
  DetectionStateStore,
  EngineSample,
  InventoryFactsOf,
  PresenceView,
  RecentChanges,
} from './ports.js';
import { DetectionState } from './state.js';
import { decodeState, encodeState } from './state-codec.js';

export { describeCheck } from './detectors/checks.js';
export type { EngineCounters } from './emitter.js';
export type { Suppressed } from './maintenance.js';

/** Engine options; everything has a default. */
export interface EngineOptions {
  baseline?: Readonly<BaselineParams>;
  /** Consecutive normal samples before a baseline incident is cleared. */
  baselineClearSamples?: number;
  heartbeatIntervalMs?: number;
  recentChanges?: RecentChanges;
  /** The inventory facts of a machine, for the inventory rules (without it they do not run). */
  inventoryFacts?: InventoryFactsOf;
}

/** What the detection engine is built from. */
export interface DetectionEngineInit {
  /** Where raises and clears go (the incidents service, or a test's recorder). */
  sink: IncidentSink;
  /** Where an agent sits and when it was last heard. */
  presence: PresenceView;
  policies: PolicySet;
  clock: Clock;
  logger: Logger;
  options?: EngineOptions | undefined;
  /**
   * Where each agent's state is checkpointed (checkpoint.ts); without it the state lives in memory only (`snapshot`
   * and `restore` still work). `releaseAfterMs`: how long an agent's state stays after its socket closed here
   * (undefined: it stays, a single node).
   */
  checkpoint?: { store: DetectionStateStore; releaseAfterMs?: number | undefined } | undefined;
}

/** The detection engine. One per collector. */
export class DetectionEngine {
  readonly counters: EngineCounters = { samples: 0, raised: 0, cleared: 0, suppressed: 0 };
  readonly #state = new DetectionState();
  readonly #places = new Map<string, AgentPlace>();
  readonly #maintenance: MaintenanceGate;
  readonly #emit: SignalEmitter;
  readonly #ctx: DetectorContext;
  readonly #baseline: BaselineDetector;
  readonly #absence: AbsenceClock;
  /** The per-agent checkpoint, when the engine has a store. */
  readonly checkpoints: AgentCheckpoints | undefined;

  private readonly presence: PresenceView;
  private readonly policies: PolicySet;
  private readonly logger: Logger;
  private readonly options: EngineOptions;

  constructor(init: DetectionEngineInit) {
    const { sink, clock, logger } = init;
    const options = init.options ?? {};
    this.presence = init.presence;
    this.policies = init.policies;
    this.logger = logger;
    this.options = options;
    this.#maintenance = new MaintenanceGate(this.counters, logger);
    const correlation = new FleetCorrelation();
    this.#emit = new SignalEmitter({
      sink,
      clock,
      logger,
      counters: this.counters,
      maintenance: this.#maintenance,
      correlation,
      recentChanges: options.recentChanges,
    });
    this.#ctx = {
      state: this.#state,
      emit: this.#emit,
      clock,
      placeOf: (agentId) => this.#place(agentId),
      policyOf: (place) => this.#policy(place),
    };
    this.#baseline = {
      emit: this.#emit,
      params: options.baseline ?? DEFAULT_BASELINE,
      clearSamples: options.baselineClearSamples ?? 5,
    };
    this.#absence = { startedAt: clock.now(), heartbeatMs: options.heartbeatIntervalMs ?? 30_000 };
    const cp = init.checkpoint;
    this.checkpoints = cp && new AgentCheckpoints(this.#state, cp.store, cp.releaseAfterMs, logger);
  }

  /** Loads an agent's checkpointed state if this node does not hold it yet: no sample is judged on an empty state. */
  hold(agentId: string): Promise<void> {
    return this.checkpoints ? this.checkpoints.hold(agentId) : Promise.resolve();
  }

  /** Openings a maintenance window held (the latest 1,000), for the window's report. */
  get suppressed(): Suppressed[] {
    return this.#maintenance.suppressed;
  }

  /** Feeds one agent's samples (in time order). Resolves once every resulting raise/clear is handed to the sink. */
  async ingest(agentId: string, samples: readonly EngineSample[]): Promise<void> {
    await this.hold(agentId);
    const place = await this.#place(agentId);
    if (!place) return;
    const policy = this.#policy(place);
    await heard(this.#ctx, agentId);
    for (const sample of samples) {
      if (sample.top?.length) this.#emit.noteTop(agentId, sample.time, sample.top);
      for (const metric in sample.values) {
        const value = sample.values[metric]!;
        this.counters.samples++;
        await this.#step(agentId, place, policy, metric, sample.time, value);
      }
      if (sample.top) await detectProcessRules(this.#ctx, agentId, place, policy, sample.time, sample.top);
    }
    await this.#emit.flushCorrelations();
  }

  /** One sample of one series through the baseline, the thresholds and (disks) the forecast, in that order. */
  async #step(agentId: string, place: AgentPlace, policy: Policy, metric: string, t: number, x: number) {
    const st = this.#state.seriesOf(`${agentId}|${metric}`);
    // Awaits only when a detector has something to hand over: this runs once per sample.
    if (policy.baseline.enabled && !baselineIgnores(policy, metric)) {
      const decided = detectBaseline(this.#baseline, st, agentId, place, policy, metric, t, x);
      if (decided) await decided;
    }
    for (const rule of thresholdsOf(policy))
      if (coversSeries(rule, metric)) await detectThreshold(this.#ctx, agentId, metric, place, policy, rule, t, x);
    if (policy.forecast.enabled && forecastWatches(metric))
      await detectForecast(this.#emit, st, agentId, place, policy, metric, t, x);
  }

  /** Feeds one agent's check results (in time order). */
  async ingestChecks(agentId: string, results: readonly CheckResult[]): Promise<void> {
    await this.hold(agentId);
    const place = await this.#place(agentId);
    if (!place) return;
    const policy = this.#policy(place);
    await heard(this.#ctx, agentId);
    await detectChecks(this.#ctx, agentId, place, policy, results);
    await this.#emit.flushCorrelations();
  }

  /** Runs the inventory rules on one machine (after each inventory report, and in the hourly sweep). */
  async evaluateInventory(agentId: string): Promise<void> {
    await this.#evaluateInventory(agentId);
    await this.#emit.flushCorrelations();
  }

  async #evaluateInventory(agentId: string): Promise<void> {
    const facts = this.options.inventoryFacts;
    if (!facts) return;
    const place = await this.#place(agentId);
    if (!place) return;
    await this.hold(agentId);
    const sources = { facts, recentChanges: this.options.recentChanges };
    await detectInventory(this.#ctx, sources, agentId, place, this.#policy(place));
  }

  /** Runs the inventory rules on every enrolled machine (licences near expiry and patch ages move with time alone). */
  async sweepInventory(): Promise<void> {
    if (!this.options.inventoryFacts) return;
    for (const { agentId } of await this.presence.lastSeen()) {
      // A machine held nowhere else is loaded for its judgement only, and let go after (its checkpoint written).
      const held = this.checkpoints?.holds(agentId) ?? true;
      try {
        await this.#evaluateInventory(agentId);
      } catch (err) {
        this.logger.error({ err, agentId }, 'inventory rules failed on one machine');
      }
      if (!held) void this.checkpoints?.release(agentId);
    }
    await this.#emit.flushCorrelations();
  }

  /** After a policy change: checks no longer in an agent's policy clear their incidents and are forgotten. */
  async reconcileChecks(): Promise<void> {
    await reconcileChecks(this.#ctx);
  }

  /** After a policy change: threshold incidents whose rule is gone are cleared and their state forgotten. */
  async reconcileThresholds(): Promise<void> {
    await reconcileThresholds(this.#ctx);
  }

  /** Absence sweep: agents silent past their grace open an incident. */
  async sweepAbsence(): Promise<void> {
    await sweepAbsence(this.#ctx, this.presence, this.#absence);
    await this.#emit.flushCorrelations();
  }

  /** Serialises every state (for the checkpoint). */
  snapshot(): Map<string, Uint8Array> {
    return encodeState(this.#state);
  }

  /** Restores states written by `snapshot` (after a restart: open incidents are neither re-raised nor lost). */
  restore(entries: ReadonlyMap<string, Uint8Array>): void {
    decodeState(entries, this.#state);
  }

  #policy(place: AgentPlace): Policy {
    return this.policies.for(place.clientId, place.siteId);
  }

  async #place(agentId: string): Promise<AgentPlace | undefined> {
    let place = this.#places.get(agentId);
    if (!place) {
      place = await this.presence.place(agentId);
      if (place) this.#places.set(agentId, place);
    }
    return place;
  }
}
