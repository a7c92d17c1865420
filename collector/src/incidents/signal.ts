/**
 * The signal detection raises and the sink incidents implements (detection notices faults; incidents turns them into
 * tickets).
 * Detection never writes incident tables; it calls an `IncidentSink`. The incidents concern implements it.
 * Fixed before either side was written so both could be built at once (docs/0003-detection.md, docs/0004-incidents.md).
 */

/** P1 is the most severe. */
export type Criticality = 'P1' | 'P2' | 'P3' | 'P4';
/** Support tier that should take the incident first. */
export type Tier = 1 | 2 | 3;

/** What noticed the fault. */
export type SignalSource =
  | 'baseline' // adaptive baseline on a metric
  | 'threshold' // policy threshold with a duration
  | 'forecast' // e.g. volume full within 24 h
  | 'absence' // agent silent
  | 'check' // a policy check failing (service, port, HTTP, ping, DNS…)
  | 'inventory' // inventory rule (antivirus, licence, patch age, EOL OS, unapproved software)
  | 'correlation' // the same fault on many machines of a site at once
  | 'rollout'; // a release rollout halted: its wave's failures crossed the threshold

/** One detection: "this condition is abnormal now". Raising the same key again updates the open incident. */
export interface DetectionSignal {
  /** Deduplication key: one open incident per key (e.g. `baseline:ag_…:cpu.total`, `correlation:si_…:absence`). */
  key: string;
  clientId: string;
  siteId: string;
  /** Machines concerned (several for a correlated major incident). */
  agentIds: string[];
  source: SignalSource;
  /** The rule, check or policy entry that fired (e.g. `cpu.total`, `check:http:intranet`). */
  rule: string;
  /** Category shown to technicians and used by reports (e.g. `performance`, `availability`, `security`). */
  type: string;
  criticality: Criticality;
  tier: Tier;
  /** The first abnormal sample's time (not the detection time). Epoch ms. */
  failureTime: number;
  /** When detection decided. Epoch ms. */
  detectedAt: number;
  /** One line: what is wrong. */
  title: string;
  /** Plain words: what, how far from normal, since when, top processes, what changed on the machine in 24 h. */
  explanation: string;
  /** Structured context kept with the incident (scores, values, top processes, recent changes). JSON-serialisable. */
  context?: Record<string, unknown>;
}

/** The outcome of raising a signal. */
export interface RaiseResult {
  incidentId: string;
  /** `opened`: a new incident; `updated`: the open one for this key; `reopened`: a recently resolved one came back. */
  outcome: 'opened' | 'updated' | 'reopened';
}

/**
 * What detection calls. Implementations must be idempotent: raising an already-open key only updates it, clearing an
 * unknown key does nothing. Auto-resolution (condition clear for long enough), flap protection (reopen instead of a new
 * incident within the reopen window) and maintenance-window bookkeeping on the ticket side belong to incidents.
 */
export interface IncidentSink {
  raise(signal: DetectionSignal): Promise<RaiseResult>;
  /** The condition behind `key` is clear as of `at` (epoch ms). */
  clear(key: string, at: number, note?: string): Promise<void>;
}
