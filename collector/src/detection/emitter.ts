/**
 * The one way out of the detectors: a finding goes through the maintenance gate and fleet correlation, gets its
 * explanation (recent changes, top processes), and is raised on the `IncidentSink`; clears go straight to the sink.
 */
import type { TopProcess } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { Criticality, DetectionSignal, IncidentSink, SignalSource } from '../incidents/signal.js';
import type { FleetCorrelation } from './correlation.js';
import { describe } from './explain.js';
import type { MaintenanceGate } from './maintenance.js';
import type { Policy } from './policy.js';
import type { AgentPlace, MachineChange, RecentChanges } from './ports.js';

/** What a detector found on one machine. */
export interface Finding {
  key: string;
  source: SignalSource;
  rule: string;
  type: string;
  criticality: Criticality;
  failureTime: number;
  title: string;
  what: string;
  context: Record<string, unknown>;
}

/** Counters for the metrics endpoint and the bench. */
export interface EngineCounters {
  samples: number;
  raised: number;
  cleared: number;
  suppressed: number;
}

/** How many members a correlation incident names in its text (all of them are its machines). */
const NAMED_MEMBERS = 20;

/** What the latest fault of a correlation incident's batch said, to word the batch's raise. */
interface CorrelatedFault {
  place: AgentPlace;
  policy: Policy;
  finding: Finding;
  recent: ReadonlyMap<string, number>;
  explanation: string;
}

/** How far from the failure a top-process list still explains it. */
const TOP_WINDOW_MS = 15 * 60_000;

/** What an emitter works with: where incidents go, the gates a finding passes, and the machine's history. */
export interface SignalEmitterInit {
  sink: IncidentSink;
  clock: Clock;
  logger: Logger;
  counters: EngineCounters;
  maintenance: MaintenanceGate;
  correlation: FleetCorrelation;
  /** What changed on a machine before a fault (none: explanations go without). */
  recentChanges: RecentChanges | undefined;
}

/** Raises and clears on the sink, counting both. */
export class SignalEmitter {
  /** The latest top-process list per agent, for explanations. */
  readonly #top = new Map<string, { time: number; top: TopProcess[] }>();
  readonly #latest = new Map<string, CorrelatedFault>();

  private readonly sink: IncidentSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly counters: EngineCounters;
  private readonly maintenance: MaintenanceGate;
  private readonly correlation: FleetCorrelation;
  private readonly recentChanges: RecentChanges | undefined;

  constructor(init: SignalEmitterInit) {
    this.sink = init.sink;
    this.clock = init.clock;
    this.logger = init.logger;
    this.counters = init.counters;
    this.maintenance = init.maintenance;
    this.correlation = init.correlation;
    this.recentChanges = init.recentChanges;
  }

  /** Remembers an agent's latest top processes. */
  noteTop(agentId: string, time: number, top: TopProcess[]): void {
    this.#top.set(agentId, { time, top });
  }

  /** Raises a finding (or the site's correlation incident); false when a maintenance window held it. */
  async raise(place: AgentPlace, agentId: string, policy: Policy, s: Finding): Promise<boolean> {
    const now = this.clock.now();
    if (this.maintenance.holds(policy, place, now, s.key, s.title)) return false;
    const recent = this.correlation.note(place.siteId, s.source, s.rule, agentId, now, policy.correlation.windowSec);
    const top = this.#top.get(agentId);
    const changes = await this.#changes(agentId, s.failureTime);
    const topNow = top && Math.abs(top.time - s.failureTime) < TOP_WINDOW_MS ? top.top : undefined;
    const explanation = describe({ what: s.what, since: s.failureTime, top: topNow, changes });
    if (recent.size >= policy.correlation.minAgents) {
      await this.#raiseCorrelated(place, agentId, policy, s, recent, explanation, now);
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

  /** Clears an incident by key. */
  async clear(key: string, at: number, note: string): Promise<void> {
    await this.sink.clear(key, at, note);
    this.counters.cleared++;
  }

  /** What changed on the machine in the day before the failure (none when the history is unavailable). */
  async #changes(agentId: string, failureTime: number): Promise<MachineChange[]> {
    if (!this.recentChanges) return [];
    return this.recentChanges(agentId, failureTime - 86_400_000, failureTime).catch((err: unknown) => {
      this.logger.warn({ err, agentId }, 'recent changes unavailable for the explanation');
      return [];
    });
  }

  /**
   * The same fault on many machines of a site: one major incident; the individual ones are folded into it. The first
   * raise names every member so far; a machine that joins later waits for the end of the batch (`flushCorrelations`),
   * so a mass failure writes the incident once per batch instead of once per machine.
   */
  async #raiseCorrelated(
    place: AgentPlace,
    agentId: string,
    policy: Policy,
    s: Finding,
    recent: ReadonlyMap<string, number>,
    explanation: string,
    now: number,
  ): Promise<void> {
    const key = `correlation:${place.siteId}:${s.source}:${s.rule}`;
    this.#latest.set(key, { place, policy, finding: s, recent, explanation });
    if (!this.correlation.firstMerge(key)) {
      this.correlation.join(key, agentId);
      return;
    }
    const agents = [...recent.keys()];
    await this.#raiseCorrelation(key, agents, now);
    for (const a of agents) if (a !== agentId) await this.clear(s.key.replace(agentId, a), now, `merged into ${key}`);
  }

  /** Raises the machines that joined correlation incidents since their last raise: the end of an ingest or a sweep. */
  async flushCorrelations(): Promise<void> {
    const now = this.clock.now();
    for (const { correlationKey, agents } of this.correlation.takePending())
      await this.#raiseCorrelation(correlationKey, agents, now);
  }

  /** One raise of a correlation incident adding `agents` (the sink adds members to what it already has). */
  async #raiseCorrelation(key: string, agents: string[], now: number): Promise<void> {
    const latest = this.#latest.get(key);
    if (!latest) throw new Error(`no finding recorded for ${key}`);
    const { place, policy, finding: s, recent, explanation } = latest;
    const members = [...recent.keys()];
    const named = members.slice(0, NAMED_MEMBERS).join(', ');
    const more = members.length > NAMED_MEMBERS ? ` and ${members.length - NAMED_MEMBERS} more` : '';
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
      title: `${s.rule}: ${members.length} machines of one site at once`,
      explanation: `${members.length} machines of this site show the same fault within ${policy.correlation.windowSec} s (${named}${more}). Latest: ${explanation}`,
      context: { ...s.context, agentCount: members.length, agents: members.slice(0, NAMED_MEMBERS) },
    };
    await this.sink.raise(signal);
    this.counters.raised++;
  }
}
