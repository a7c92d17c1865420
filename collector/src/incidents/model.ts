/** The incident ticket: its fields, the priority matrix and the state machine. Pure: no I/O. */
import { OutpostError } from '@outpost/shared';
import type { Criticality, SignalSource, Tier } from './signal.js';

/** Ticket states, in the order they normally go. */
export const STATUSES = ['open', 'acknowledged', 'resolved', 'closed'] as const;
/** A ticket state. */
export type Status = (typeof STATUSES)[number];

/** Where an incident came from: a detector, or a person. */
export type IncidentSource = SignalSource | 'manual';

/**
 * How the ticket reached the desk (docs/0014-requests.md): detection, a technician opening it, or a user's request
 * through the agent, e-mail, Slack, Teams or a phone call.
 */
/** Resolution categories reports group by. */
export const RESOLUTION_CATEGORIES = [
  'fixed',
  'workaround',
  'configuration',
  'hardware',
  'software',
  'user',
  'third-party',
  'no-fault-found',
  'duplicate',
  'auto-cleared',
] as const;

export const CHANNELS = ['detection', 'technician', 'agent', 'email', 'slack', 'teams', 'phone'] as const;
/** A ticket's channel. */
export type Channel = (typeof CHANNELS)[number];

/** The SLA clock of one ticket (absent when the client has no contract target for this criticality). */
export interface SlaClock {
  contractId: string;
  calendarId: string;
  responseTargetMs: number;
  resolutionTargetMs: number;
  nearBreachRatio: number;
  /** Covered time consumed before the current running segment. */
  consumedMs: number;
  /** Start of the running segment; null while paused or stopped. */
  runningSince: number | null;
  responseDue: number | null;
  resolutionDue: number | null;
  responseWarnAt: number | null;
  resolutionWarnAt: number | null;
  responseWarned: boolean;
  resolutionWarned: boolean;
  responseBreachedAt: number | null;
  resolutionBreachedAt: number | null;
}

/** An incident. Times are epoch ms. */
export interface Incident {
  id: string;
  clientId: string;
  siteId: string;
  agentIds: string[];
  /** Deduplication key (detected incidents); null for manual ones. */
  key: string | null;
  source: IncidentSource;
  /** How it reached the desk (detection, technician, or a user's channel). */
  channel: Channel;
  rule: string;
  type: string;
  title: string;
  explanation: string;
  context: Record<string, unknown> | null;
  criticality: Criticality;
  impact: number | null;
  urgency: number | null;
  tier: Tier;
  status: Status;
  failureTime: number;
  detectedAt: number;
  acknowledgedAt: number | null;
  resolvedAt: number | null;
  closedAt: number | null;
  /** resolvedAt − failureTime: how long the service was degraded. */
  resolutionMs: number | null;
  assignee: string | null;
  escalationLevel: number;
  /** Waiting on the customer: the SLA clock is paused. */
  paused: boolean;
  /** Since when detection says the condition is clear (auto-resolve after the hold time). */
  clearSince: number | null;
  reopenCount: number;
  resolutionNote: string | null;
  resolutionCategory: string | null;
  createdBy: string;
  updatedAt: number;
  sla: SlaClock | null;
  /** The earliest SLA instant the engine must look at again (null: nothing pending). */
  nextSlaAt: number | null;
}

/** Timeline entry kinds. */
export type TimelineKind =
  | 'opened'
  | 'detection'
  | 'condition_clear'
  | 'acknowledged'
  | 'assigned'
  | 'comment'
  | 'escalated'
  | 'deescalated'
  | 'paused'
  | 'resumed'
  | 'sla_warning'
  | 'sla_breach'
  | 'resolved'
  | 'closed'
  | 'reopened'
  | 'notification'
  | 'session'
  | 'retriaged';

/** One timeline entry. */
export interface TimelineEntry {
  id: number;
  incidentId: string;
  at: number;
  kind: TimelineKind;
  actor: string;
  data: Record<string, unknown>;
}

/** Impact × urgency (1 = high, 3 = low) → criticality, the usual ITIL matrix. */
export function priorityOf(impact: number, urgency: number): Criticality {
  const sum = impact + urgency;
  return sum <= 2 ? 'P1' : sum === 3 ? 'P2' : sum === 4 ? 'P3' : 'P4';
}

/** Where each action may start from. */
const ALLOWED: Record<string, readonly Status[]> = {
  acknowledge: ['open'],
  assign: ['open', 'acknowledged'],
  escalate: ['open', 'acknowledged'],
  deescalate: ['open', 'acknowledged'],
  pause: ['open', 'acknowledged'],
  resume: ['open', 'acknowledged'],
  resolve: ['open', 'acknowledged'],
  close: ['resolved'],
  reopen: ['resolved', 'closed'],
  comment: ['open', 'acknowledged', 'resolved', 'closed'],
  retriage: ['open', 'acknowledged'],
};

/** Throws OUTPOST_E_TRANSITION_INVALID unless `action` may apply to an incident in `status`. */
export function checkTransition(inc: Pick<Incident, 'id' | 'status'>, action: keyof typeof ALLOWED): void {
  if (!ALLOWED[action]!.includes(inc.status))
    throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', {
      message: `Cannot ${action} incident ${inc.id}: it is ${inc.status}`,
      details: { status: inc.status, action, allowedFrom: ALLOWED[action] },
    });
}

/** True when criticality a is more severe than b. */
export const moreSevere = (a: Criticality, b: Criticality): boolean => a < b;
