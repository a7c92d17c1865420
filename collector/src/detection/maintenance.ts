/**
 * Maintenance windows at the moment an incident would open: inside one of the policy's windows (on the site's wall
 * clock) the opening is suppressed, logged, counted and kept for the window's report. Clears are never held.
 */
import type { Logger } from 'pino';
import { inMaintenance, type Policy } from './policy.js';
import type { AgentPlace } from './ports.js';

/** A suppressed opening, logged and kept for the report of a maintenance window. */
export interface Suppressed {
  key: string;
  at: number;
  title: string;
}

/** How many suppressed openings are kept (the oldest go first). */
const KEPT = 1000;

/** Decides whether a window holds an opening, and remembers the ones it held. */
export class MaintenanceGate {
  readonly suppressed: Suppressed[] = [];

  constructor(
    private readonly counters: { suppressed: number },
    private readonly logger: Logger,
  ) {}

  /** True when a maintenance window holds this opening now (then it is counted, kept and logged). */
  holds(policy: Policy, place: AgentPlace, now: number, key: string, title: string): boolean {
    if (!inMaintenance(policy.maintenance, now, place.timezone)) return false;
    this.counters.suppressed++;
    this.suppressed.push({ key, at: now, title });
    if (this.suppressed.length > KEPT) this.suppressed.shift();
    this.logger.info({ key, title }, 'maintenance window: incident not opened');
    return true;
  }
}
