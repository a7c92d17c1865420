/**
 * An in-memory `IncidentSink` that keeps one open incident per key and logs every transition. Used by unit tests and
 * by the collector until the incidents concern is wired in its place; it holds no ticket logic (SLA, escalation).
 */
import type { Logger } from 'pino';
import type { DetectionSignal, IncidentSink, RaiseResult } from '../incidents/signal.js';

/** One transition seen by the sink. */
export type SinkEvent =
  | { kind: 'raise'; signal: DetectionSignal; outcome: RaiseResult['outcome'] }
  | { kind: 'clear'; key: string; at: number; note: string | undefined };

/** Records raises and clears; `open` holds the currently open incidents by key. */
export class MemoryIncidentSink implements IncidentSink {
  readonly open = new Map<string, DetectionSignal & { incidentId: string }>();
  readonly events: SinkEvent[] = [];
  #next = 1;
  readonly #listeners = new Set<(e: SinkEvent) => void>();

  constructor(private readonly logger?: Logger) {}

  async raise(signal: DetectionSignal): Promise<RaiseResult> {
    const existing = this.open.get(signal.key);
    const incidentId = existing?.incidentId ?? `in_mem_${this.#next++}`;
    const outcome = existing ? 'updated' : 'opened';
    // As the incidents concern does: a raise on an open key adds its machines to those the incident has.
    const agentIds = existing ? [...new Set([...existing.agentIds, ...signal.agentIds])] : signal.agentIds;
    this.open.set(signal.key, { ...signal, agentIds, incidentId });
    this.#emit({ kind: 'raise', signal, outcome });
    this.logger?.warn({ key: signal.key, incidentId, outcome, failureTime: signal.failureTime }, signal.title);
    return { incidentId, outcome };
  }

  async clear(key: string, at: number, note?: string): Promise<void> {
    if (!this.open.delete(key)) return;
    this.#emit({ kind: 'clear', key, at, note });
    this.logger?.info({ key, at, note }, 'detection condition cleared');
  }

  /** Calls `fn` on every transition (tests wait on it instead of sleeping). */
  onEvent(fn: (e: SinkEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit(e: SinkEvent): void {
    this.events.push(e);
    for (const fn of this.#listeners) fn(e);
  }
}
