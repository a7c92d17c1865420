/**
 * The streaming detection engine (docs/0004-detection.md): per series state in memory, fed sample by sample as
 * batches arrive; raises and clears incidents through the `IncidentSink`. Pure logic: no fastify, no SQL.
 */
import type { CheckResult, CheckSpec, TopProcess } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { Criticality, DetectionSignal, IncidentSink, SignalSource } from '../incidents/signal.js';
import {
  BASELINE_STATE_LENGTH,
  type BaselineParams,
  baselineCount,
  baselineStep,
  baselineView,
  DEFAULT_BASELINE,
  newBaselineState,
} from './baseline.js';
import { describe, formatValue } from './explain.js';
import { inventoryFindings } from './inventory-rules.js';
import {
  baselineIgnores,
  checksFor,
  inMaintenance,
  type Policy,
  type PolicySet,
  PROC_CPU_PREFIX,
  ruleCovers,
  type ThresholdRule,
  thresholdsOf,
} from './policy.js';
import type { AgentPlace, EngineSample, InventoryFactsOf, PresenceView, RecentChanges } from './ports.js';

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

const EXTRA = 9;
const PROC_CPU = PROC_CPU_PREFIX;

/** One threshold rule on one series: breach start, clear start, whether its incident is open. */
interface RuleState {
  breach: number;
  clear: number;
  open: boolean;
}

interface SeriesState {
  b: Float64Array;
  open: boolean;
  /**
   * The open baseline incident is a level shift up (1) or down (-1), else 0: it clears once no shift that way is
   * building any more (the series is back, or its baseline has taken the new level as normal).
   */
  shift: number;
  calm: number;
  // threshold state of checkpoints written before it was kept per rule (`RuleState`): read once, to seed the rules
  tBreach: number;
  tClear: number;
  tOpen: boolean;
  // forecast: anchor time and value, smoothed growth per ms
  fOpen: boolean;
  fT: number;
  fX: number;
  fSlope: number;
}

/** A suppressed opening, logged and kept for the report of a maintenance window. */
export interface Suppressed {
  key: string;
  at: number;
  title: string;
}

/** Counters for the metrics endpoint and the bench. */
export interface EngineCounters {
  samples: number;
  raised: number;
  cleared: number;
  suppressed: number;
}

/** The detection engine. One per collector. */
export class DetectionEngine {
  readonly #series = new Map<string, SeriesState>();
  /** Threshold state per `agentId|metric|op value`: two rules on one series (the shipped one and yours) never mix. */
  readonly #rules = new Map<string, RuleState>();
  readonly #places = new Map<string, AgentPlace>();
  readonly #top = new Map<string, { time: number; top: TopProcess[] }>();
  readonly #absent = new Set<string>();
  /** Open inventory-rule keys (`inventory:<agent>:<finding>`). */
  readonly #invOpen = new Set<string>();
  /** Check state per `agentId|checkId`: consecutive failures, the first failure's time, whether its incident is open. */
  readonly #checks = new Map<string, { fails: number; first: number; open: boolean }>();
  /** Recent faults per site and rule, for fleet correlation: agentId → time. */
  readonly #recent = new Map<string, Map<string, number>>();
  readonly #correlated = new Set<string>();
  readonly suppressed: Suppressed[] = [];
  readonly counters: EngineCounters = { samples: 0, raised: 0, cleared: 0, suppressed: 0 };
  readonly #params: Readonly<BaselineParams>;
  readonly #clearSamples: number;
  readonly #heartbeatMs: number;
  readonly #startedAt: number;

  constructor(
    private readonly sink: IncidentSink,
    private readonly presence: PresenceView,
    private readonly policies: PolicySet,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: EngineOptions = {},
  ) {
    this.#params = options.baseline ?? DEFAULT_BASELINE;
    this.#clearSamples = options.baselineClearSamples ?? 5;
    this.#heartbeatMs = options.heartbeatIntervalMs ?? 30_000;
    this.#startedAt = clock.now();
  }

  /** Feeds one agent's samples (in time order). Resolves once every resulting raise/clear is handed to the sink. */
  async ingest(agentId: string, samples: readonly EngineSample[]): Promise<void> {
    const place = await this.#place(agentId);
    if (!place) return;
    const policy = this.policies.for(place.clientId, place.siteId);
    await this.#heard(agentId);
    for (const sample of samples) {
      if (sample.top?.length) this.#top.set(agentId, { time: sample.time, top: sample.top });
      for (const metric in sample.values) {
        const value = sample.values[metric]!;
        this.counters.samples++;
        await this.#step(agentId, place, policy, metric, sample.time, value);
      }
      if (sample.top) await this.#processRules(agentId, place, policy, sample.time, sample.top);
    }
  }

  /**
   * Threshold rules on one program's CPU, `proc.cpu_pct:<name>` (% of one core, summed over its processes), read from
   * the sample's top list: a program absent from it counts as 0. Only thresholds: per-program series come and go too
   * often for a baseline, and a runaway program on a busy machine barely moves the machine's total.
   */
  async #processRules(agentId: string, place: AgentPlace, policy: Policy, t: number, top: readonly TopProcess[]) {
    for (const rule of thresholdsOf(policy)) {
      if (!rule.metric.startsWith(PROC_CPU)) continue;
      const name = rule.metric.slice(PROC_CPU.length);
      let x = 0;
      const pids: number[] = [];
      for (const p of top)
        if (p.name === name) {
          x += p.cpuPct;
          pids.push(p.pid);
        }
      const detail = pids.length ? ` (${name}: pid ${pids.slice(0, 5).join(', ')})` : '';
      await this.#threshold(agentId, rule.metric, place, policy, rule, t, x, detail);
    }
  }

  /**
   * The state of one rule on one series. A series checkpointed before rules had their own state hands its open
   * threshold incident to the first rule that asks (it had one rule, or one shared state: either way it clears).
   */
  #ruleState(agentId: string, metric: string, r: ThresholdRule): RuleState {
    const id = `${agentId}|${metric}|${r.op}${r.value}`;
    let st = this.#rules.get(id);
    if (!st) {
      st = { breach: -1, clear: -1, open: false };
      const legacy = this.#series.get(`${agentId}|${metric}`);
      if (legacy?.tOpen) {
        st = { breach: legacy.tBreach, clear: legacy.tClear, open: true };
        legacy.tOpen = false;
        legacy.tBreach = -1;
        legacy.tClear = -1;
      }
      this.#rules.set(id, st);
    }
    return st;
  }

  #state(id: string): SeriesState {
    let st = this.#series.get(id);
    if (!st) {
      st = {
        b: newBaselineState(),
        ...{ open: false, shift: 0, calm: 0, tBreach: -1, tClear: -1, tOpen: false },
        ...{ fOpen: false, fT: -1, fX: 0, fSlope: 0 },
      };
      this.#series.set(id, st);
    }
    return st;
  }

  async #heard(agentId: string): Promise<void> {
    if (this.#absent.has(agentId)) {
      this.#absent.delete(agentId);
      await this.#clear(`absence:${agentId}`, this.clock.now(), 'agent reporting again');
    }
  }

  /**
   * Feeds one agent's check results (in time order): `checksFailAfter` consecutive failures open a `check` incident
   * whose failure time is the first failing result; one passing result clears it.
   */
  async ingestChecks(agentId: string, results: readonly CheckResult[]): Promise<void> {
    const place = await this.#place(agentId);
    if (!place) return;
    const policy = this.policies.for(place.clientId, place.siteId);
    await this.#heard(agentId);
    const specs = new Map(checksFor(policy, agentId).map((c) => [c.id, c]));
    for (const r of results) {
      // A result of a check the policy no longer gives this agent (sent before the new list arrived) is kept as a
      // series but opens nothing.
      if (!specs.has(r.checkId)) continue;
      const id = `${agentId}|${r.checkId}`;
      let st = this.#checks.get(id);
      if (!st) {
        st = { fails: 0, first: -1, open: false };
        this.#checks.set(id, st);
      }
      const key = `check:${agentId}:${r.checkId}`;
      const spec = specs.get(r.checkId);
      const what = spec ? describeCheck(spec) : `check ${r.checkId}`;
      if (r.ok) {
        st.fails = 0;
        st.first = -1;
        if (st.open) {
          st.open = false;
          await this.#clear(key, r.time, `${what} passing again: ${r.message}`);
        }
        continue;
      }
      if (st.fails++ === 0) st.first = r.time;
      if (st.open || st.fails < policy.checksFailAfter) continue;
      st.open = true;
      await this.#raise(place, agentId, policy, {
        key,
        source: 'check',
        rule: `check:${spec?.kind ?? 'unknown'}:${r.checkId}`,
        type: 'availability',
        criticality: 'P2',
        failureTime: st.first,
        title: `${what} failing on ${place.hostname ?? agentId}`,
        what: `${what} failed ${st.fails} times in a row: ${r.message}`,
        context: { checkId: r.checkId, check: spec ?? null, message: r.message, value: r.value ?? null },
      });
    }
  }

  /**
   * Runs the inventory rules on one machine (after each inventory report, and in the hourly sweep): findings that
   * appeared open an incident, findings that went away clear theirs.
   */
  async evaluateInventory(agentId: string): Promise<void> {
    const factsOf = this.options.inventoryFacts;
    if (!factsOf) return;
    const place = await this.#place(agentId);
    if (!place) return;
    const policy = this.policies.for(place.clientId, place.siteId);
    const now = this.clock.now();
    const prefix = `inventory:${agentId}:`;
    const facts = policy.inventory.enabled ? await factsOf(agentId) : undefined;
    const changes =
      facts && this.options.recentChanges
        ? await this.options.recentChanges(agentId, now - policy.inventory.hardwareWindowDays * 86_400_000, now)
        : [];
    const found = facts ? inventoryFindings(facts, changes, policy, now) : [];
    const current = new Set(found.map((f) => prefix + f.id));
    for (const key of this.#invOpen) {
      if (key.startsWith(prefix) && !current.has(key)) {
        this.#invOpen.delete(key);
        await this.#clear(key, now, 'inventory no longer shows it');
      }
    }
    for (const f of found) {
      const key = prefix + f.id;
      if (this.#invOpen.has(key)) continue;
      const raised = await this.#raise(place, agentId, policy, {
        key,
        source: 'inventory',
        rule: f.rule,
        type: f.type,
        criticality: f.criticality,
        failureTime: f.since,
        title: f.title,
        what: f.what,
        context: { finding: f.id },
      });
      if (raised) this.#invOpen.add(key);
    }
  }

  /** Runs the inventory rules on every enrolled machine (licences near expiry and patch ages move with time alone). */
  async sweepInventory(): Promise<void> {
    if (!this.options.inventoryFacts) return;
    for (const { agentId } of await this.presence.lastSeen()) {
      try {
        await this.evaluateInventory(agentId);
      } catch (err) {
        this.logger.error({ err, agentId }, 'inventory rules failed on one machine');
      }
    }
  }

  /**
   * After a policy change: checks no longer in an agent's policy clear their open incidents and forget their state
   * (the agent stops running them, so no passing result would ever clear them).
   */
  async reconcileChecks(): Promise<void> {
    for (const [id, st] of this.#checks) {
      const sep = id.indexOf('|');
      const agentId = id.slice(0, sep);
      const checkId = id.slice(sep + 1);
      const place = await this.#place(agentId);
      const kept =
        place && checksFor(this.policies.for(place.clientId, place.siteId), agentId).some((c) => c.id === checkId);
      if (kept) continue;
      this.#checks.delete(id);
      if (st.open) await this.#clear(`check:${agentId}:${checkId}`, this.clock.now(), 'check removed from the policy');
    }
  }

  /**
   * After a policy change: threshold incidents whose rule the agent's policy no longer has are cleared, and their
   * state forgotten (nothing would evaluate them again, so nothing would ever clear them).
   */
  async reconcileThresholds(): Promise<void> {
    for (const [id, st] of this.#rules) {
      const first = id.indexOf('|');
      const last = id.lastIndexOf('|');
      const agentId = id.slice(0, first);
      const metric = id.slice(first + 1, last);
      const rule = id.slice(last + 1);
      const place = await this.#place(agentId);
      const kept =
        place &&
        thresholdsOf(this.policies.for(place.clientId, place.siteId)).some(
          (r) => `${r.op}${r.value}` === rule && (ruleCovers(r, metric) || r.metric === metric),
        );
      if (kept) continue;
      this.#rules.delete(id);
      if (st.open)
        await this.#clear(`threshold:${agentId}:${metric}:${rule}`, this.clock.now(), 'rule removed from the policy');
    }
  }

  async #step(agentId: string, place: AgentPlace, policy: Policy, metric: string, t: number, x: number) {
    const st = this.#state(`${agentId}|${metric}`);
    if (policy.baseline.enabled && !baselineIgnores(policy, metric)) {
      const score = baselineStep(st.b, t, x, this.#params);
      const key = `baseline:${agentId}:${metric}`;
      // The view (an object per call) is built only when a decision needs it: on the hot path of a calm series it
      // was half the engine's time, most of it garbage collection.
      if (score >= this.#params.alarm && !st.open) {
        const view = baselineView(st.b);
        st.open = true;
        st.shift = view.shift ? Math.sign(view.levelDeviation) : 0;
        st.calm = 0;
        const since = Number.isNaN(view.abnormalSince) ? t : view.abnormalSince;
        const how = view.shift
          ? `a sustained shift of ${Math.abs(view.deviation).toFixed(1)}× its usual variation`
          : `${Math.abs(view.deviation).toFixed(1)}× its usual variation`;
        await this.#raise(place, agentId, policy, {
          key,
          source: 'baseline',
          rule: metric,
          type: 'performance',
          criticality: policy.baseline.criticality,
          failureTime: since,
          title: `${metric} abnormal on ${place.hostname ?? agentId}`,
          what: `${metric} is ${formatValue(metric, x)} where about ${formatValue(metric, view.expected)} is normal (${how}, anomaly score ${score.toFixed(2)})`,
          context: { score, value: x, expected: view.expected, deviation: view.deviation, shift: view.shift },
        });
      } else if (st.open) {
        const view = baselineView(st.b);
        // A baseline still learning (relearned after an upgrade) cannot tell calm: the incident waits for it.
        const judged = baselineCount(st.b) > this.#params.warmup;
        const calm =
          st.shift > 0
            ? view.cusumUp === 0
            : st.shift < 0
              ? view.cusumDown === 0
              : Math.abs(view.forecastDeviation) < 2;
        st.calm = judged && calm ? st.calm + 1 : 0;
        if (st.calm >= this.#clearSamples) {
          st.open = false;
          await this.#clear(key, t, `${metric} back to normal`);
        }
      }
    }
    for (const rule of thresholdsOf(policy))
      if (!rule.metric.startsWith(PROC_CPU) && ruleCovers(rule, metric))
        await this.#threshold(agentId, metric, place, policy, rule, t, x);
    if (policy.forecast.enabled && metric.startsWith('disk.used_pct'))
      await this.#forecast(st, agentId, place, policy, metric, t, x);
  }

  async #threshold(
    agentId: string,
    metric: string,
    place: AgentPlace,
    policy: Policy,
    r: ThresholdRule,
    t: number,
    x: number,
    detail = '',
  ) {
    const st = this.#ruleState(agentId, metric, r);
    const breach = r.op === '>' ? x > r.value : x < r.value;
    const clearLevel = r.clear ?? r.value;
    const clear = r.op === '>' ? x <= clearLevel : x >= clearLevel;
    const key = `threshold:${agentId}:${metric}:${r.op}${r.value}`;
    if (!st.open) {
      if (!breach) st.breach = -1;
      else {
        if (st.breach < 0) st.breach = t;
        if (t - st.breach >= r.forSec * 1000) {
          st.open = true;
          st.clear = -1;
          await this.#raise(place, agentId, policy, {
            key,
            source: 'threshold',
            rule: `${r.metric} ${r.op} ${r.value}`,
            type: 'performance',
            criticality: r.criticality ?? 'P3',
            failureTime: st.breach,
            title: `${metric} ${r.op} ${formatValue(metric, r.value)} on ${place.hostname ?? agentId}`,
            what: `${metric} is ${formatValue(metric, x)}, ${r.op === '>' ? 'above' : 'below'} the policy limit of ${formatValue(metric, r.value)} for ${Math.round((t - st.breach) / 1000)} s${detail}`,
            context: { value: x, limit: r.value },
          });
        }
      }
    } else if (clear) {
      if (st.clear < 0) st.clear = t;
      if (t - st.clear >= r.clearSec * 1000) {
        st.open = false;
        st.breach = -1;
        await this.#clear(key, t, `${metric} back within ${formatValue(metric, clearLevel)}`);
      }
    } else st.clear = -1;
  }

  async #forecast(
    st: SeriesState,
    agentId: string,
    place: AgentPlace,
    policy: Policy,
    metric: string,
    t: number,
    x: number,
  ) {
    // Growth rate from anchors at least 10 min apart, smoothed so one jump does not predict a full disk.
    if (st.fT < 0) {
      st.fT = t;
      st.fX = x;
      return;
    }
    if (t - st.fT >= 600_000) {
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
      await this.#raise(place, agentId, policy, {
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
      await this.#clear(key, t, 'growth slowed down');
    }
  }

  /**
   * Absence sweep: an agent silent for `graceIntervals` heartbeats opens an incident. Silence is counted from the later of
   * its last-seen time and this engine's start, so a collector restart gives every agent the full grace to reconnect.
   */
  async sweepAbsence(): Promise<void> {
    const now = this.clock.now();
    for (const { agentId, lastSeenAt, online } of await this.presence.lastSeen()) {
      if (online || this.#absent.has(agentId)) continue;
      const place = await this.#place(agentId);
      if (!place) continue;
      const policy = this.policies.for(place.clientId, place.siteId);
      if (!policy.absence.enabled) continue;
      const since = Math.max(lastSeenAt ?? 0, this.#startedAt);
      const grace = policy.absence.graceIntervals * this.#heartbeatMs;
      if (now - since < grace) continue;
      this.#absent.add(agentId);
      await this.#raise(place, agentId, policy, {
        key: `absence:${agentId}`,
        source: 'absence',
        rule: 'agent.silent',
        type: 'availability',
        criticality: 'P2',
        failureTime: lastSeenAt ?? since,
        title: `${place.hostname ?? agentId} is silent`,
        what: `the agent has not been heard from since ${new Date(lastSeenAt ?? since).toISOString()} (grace ${Math.round(grace / 1000)} s)`,
        context: { lastSeenAt },
      });
    }
  }

  async #raise(
    place: AgentPlace,
    agentId: string,
    policy: Policy,
    s: {
      key: string;
      source: SignalSource;
      rule: string;
      type: string;
      criticality: Criticality;
      failureTime: number;
      title: string;
      what: string;
      context: Record<string, unknown>;
    },
  ): Promise<boolean> {
    const now = this.clock.now();
    if (inMaintenance(policy.maintenance, now, place.timezone)) {
      this.counters.suppressed++;
      this.suppressed.push({ key: s.key, at: now, title: s.title });
      if (this.suppressed.length > 1000) this.suppressed.shift();
      this.logger.info({ key: s.key, title: s.title }, 'maintenance window: incident not opened');
      return false;
    }
    // Fleet correlation: the same rule failing on many machines of a site becomes one major incident.
    const corrKey = `${place.siteId}|${s.source}|${s.rule}`;
    const recent = this.#recent.get(corrKey) ?? new Map<string, number>();
    this.#recent.set(corrKey, recent);
    for (const [a, at] of recent) if (now - at > policy.correlation.windowSec * 1000) recent.delete(a);
    recent.set(agentId, now);
    const top = this.#top.get(agentId);
    const changes = this.options.recentChanges
      ? await this.options.recentChanges(agentId, s.failureTime - 86_400_000, s.failureTime).catch((err: unknown) => {
          this.logger.warn({ err, agentId }, 'recent changes unavailable for the explanation');
          return [];
        })
      : [];
    const topNow = top && Math.abs(top.time - s.failureTime) < 15 * 60_000 ? top.top : undefined;
    const explanation = describe({ what: s.what, since: s.failureTime, top: topNow, changes });
    if (recent.size >= policy.correlation.minAgents) {
      const key = `correlation:${place.siteId}:${s.source}:${s.rule}`;
      const agents = [...recent.keys()];
      const signal: DetectionSignal = {
        key,
        clientId: place.clientId,
        siteId: place.siteId,
        agentIds: agents,
        source: 'correlation',
        rule: s.rule,
        type: s.type,
        criticality: 'P1',
        tier: 2,
        failureTime: s.failureTime,
        detectedAt: now,
        title: `${s.rule}: ${agents.length} machines of one site at once`,
        explanation: `${agents.length} machines of this site show the same fault within ${policy.correlation.windowSec} s (${agents.join(', ')}). Latest: ${explanation}`,
        context: { ...s.context, agents },
      };
      await this.sink.raise(signal);
      this.counters.raised++;
      // The individual incidents are folded into the major one.
      if (!this.#correlated.has(key)) {
        this.#correlated.add(key);
        for (const a of agents)
          if (a !== agentId) await this.#clear(s.key.replace(agentId, a), now, `merged into ${key}`);
      }
      return true;
    }
    await this.sink.raise({
      key: s.key,
      clientId: place.clientId,
      siteId: place.siteId,
      agentIds: [agentId],
      source: s.source,
      rule: s.rule,
      type: s.type,
      criticality: s.criticality,
      tier: 1,
      failureTime: s.failureTime,
      detectedAt: now,
      title: s.title,
      explanation,
      context: { ...s.context, top: topNow ?? [], changes },
    });
    this.counters.raised++;
    return true;
  }

  async #clear(key: string, at: number, note: string): Promise<void> {
    await this.sink.clear(key, at, note);
    this.counters.cleared++;
  }

  async #place(agentId: string): Promise<AgentPlace | undefined> {
    let place = this.#places.get(agentId);
    if (!place) {
      place = await this.presence.place(agentId);
      if (place) this.#places.set(agentId, place);
    }
    return place;
  }

  /** Serialises every series state (for the checkpoint). */
  snapshot(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [id, st] of this.#series) {
      const buf = new Float64Array(BASELINE_STATE_LENGTH + EXTRA);
      buf.set(st.b);
      const o = BASELINE_STATE_LENGTH;
      buf[o] = st.open ? (st.shift > 0 ? 2 : st.shift < 0 ? 3 : 1) : 0;
      buf[o + 1] = st.calm;
      buf[o + 2] = st.tBreach;
      buf[o + 3] = st.tClear;
      buf[o + 4] = st.tOpen ? 1 : 0;
      buf[o + 5] = st.fOpen ? 1 : 0;
      buf[o + 6] = st.fT;
      buf[o + 7] = st.fX;
      buf[o + 8] = st.fSlope;
      out.set(id, new Uint8Array(buf.buffer));
    }
    for (const [id, r] of this.#rules)
      if (r.open || r.breach >= 0)
        out.set(`rule|${id}`, new Uint8Array(new Float64Array([r.breach, r.clear, r.open ? 1 : 0]).buffer));
    for (const a of this.#absent) out.set(`absent|${a}`, new Uint8Array(0));
    for (const k of this.#invOpen) out.set(`inv|${k}`, new Uint8Array(0));
    for (const [id, c] of this.#checks)
      out.set(`check|${id}`, new Uint8Array(new Float64Array([c.fails, c.first, c.open ? 1 : 0]).buffer));
    return out;
  }

  /** Restores series states written by `snapshot` (after a restart: open incidents are neither re-raised nor lost). */
  restore(entries: ReadonlyMap<string, Uint8Array>): void {
    for (const [id, bytes] of entries) {
      if (id.startsWith('absent|')) {
        this.#absent.add(id.slice(7));
        continue;
      }
      if (id.startsWith('inv|')) {
        this.#invOpen.add(id.slice(4));
        continue;
      }
      if (id.startsWith('rule|')) {
        if (bytes.byteLength !== 24) continue;
        const [breach, clear, open] = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 24));
        this.#rules.set(id.slice(5), { breach: breach!, clear: clear!, open: open === 1 });
        continue;
      }
      if (id.startsWith('check|')) {
        if (bytes.byteLength !== 24) continue;
        const [fails, first, open] = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 24));
        this.#checks.set(id.slice(6), { fails: fails!, first: first!, open: open === 1 });
        continue;
      }
      if (bytes.byteLength % 8 !== 0 || bytes.byteLength < EXTRA * 8) continue;
      const buf = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      // The incident state sits after the baseline state: a checkpoint written by a version whose baseline state had
      // another layout relearns the baseline but keeps its open incidents (they still clear, and are not re-raised).
      const o = buf.length - EXTRA;
      this.#series.set(id, {
        b: o === BASELINE_STATE_LENGTH ? buf.slice(0, o) : newBaselineState(),
        open: buf[o]! >= 1,
        shift: buf[o] === 2 ? 1 : buf[o] === 3 ? -1 : 0,
        calm: buf[o + 1]!,
        tBreach: buf[o + 2]!,
        tClear: buf[o + 3]!,
        tOpen: buf[o + 4] === 1,
        fOpen: buf[o + 5] === 1,
        fT: buf[o + 6]!,
        fX: buf[o + 7]!,
        fSlope: buf[o + 8]!,
      });
    }
  }
}

/** A check in words: `HTTP check intranet (https://intranet/)`. */
export function describeCheck(c: CheckSpec): string {
  switch (c.kind) {
    case 'tcp':
      return `TCP check ${c.id} (${c.host}:${c.port})`;
    case 'http':
      return `HTTP check ${c.id} (${c.url})`;
    case 'ping':
      return `ping check ${c.id} (${c.host})`;
    case 'dns':
      return `DNS check ${c.id} (${c.name})`;
    case 'service':
      return `service check ${c.id} (${c.name})`;
    case 'process':
      return `process check ${c.id} (${c.name})`;
  }
}
