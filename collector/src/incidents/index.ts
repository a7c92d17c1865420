/**
 * The incidents concern owns the ticket: incidents raised by detection or opened by technicians, their state machine
 * (open → acknowledged → resolved → closed, reopen within a window), tiers and escalation, SLA clocks on the ticket,
 * auto-resolution and flap protection, and the timeline. It must never read detection's, contracts' or
 * notifications' tables (it calls their functions through the ports in core.ts) nor decide permissions (routes call
 * the guard). docs/0004-incidents.md.
 */

export type { IncidentNotice, IncidentNotifier, IncidentOptions, NoticeEvent, SlaProvider } from './core.js';
export type { TickResult } from './engine.js';
export {
  CHANNELS,
  type Channel,
  checkTransition,
  type Incident,
  type IncidentSource,
  priorityOf,
  type SlaClock,
  STATUSES,
  type Status,
  type TimelineEntry,
  type TimelineKind,
} from './model.js';
export { incidentsRoutes } from './routes.js';
export {
  type IncidentDeps,
  IncidentService,
  type IncidentServiceOptions,
  type ManualIncident,
  RESOLUTION_CATEGORIES,
} from './service.js';
export type { Criticality, DetectionSignal, IncidentSink, RaiseResult, SignalSource, Tier } from './signal.js';
export { type IncidentQuery, incidentsMigrations } from './store.js';
