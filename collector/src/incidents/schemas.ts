/** Request and response schemas of the incidents routes. Responses are allow-lists. */
import { Type } from '@sinclair/typebox';
import { NullableString, NullableTime } from '../http/schemas.js';
import { CHANNELS, RESOLUTION_CATEGORIES } from './model.js';

const Crit = Type.Union([Type.Literal('P1'), Type.Literal('P2'), Type.Literal('P3'), Type.Literal('P4')]);
const TierT = Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)]);
const Status = Type.Union(['open', 'acknowledged', 'resolved', 'closed'].map((s) => Type.Literal(s)));
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Level = Type.Integer({ minimum: 1, maximum: 3 });

/** The SLA clock as shown. */
export const SlaView = Type.Object({
  contractId: Type.String(),
  calendarId: Type.String(),
  responseTargetMs: Type.Integer(),
  resolutionTargetMs: Type.Integer(),
  consumedMs: Type.Integer(),
  running: Type.Boolean(),
  responseDue: NullableTime,
  resolutionDue: NullableTime,
  responseBreachedAt: NullableTime,
  resolutionBreachedAt: NullableTime,
});

/** An incident as shown. */
export const IncidentView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  agentIds: Type.Array(Type.String()),
  key: NullableString,
  source: Type.String(),
  /** How the ticket reached the desk: detection, technician, agent, email, slack, teams, phone. */
  channel: Type.String(),
  rule: Type.String(),
  type: Type.String(),
  title: Type.String(),
  explanation: Type.String(),
  context: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  criticality: Type.String(),
  impact: Type.Union([Type.Integer(), Type.Null()]),
  urgency: Type.Union([Type.Integer(), Type.Null()]),
  tier: Type.Integer(),
  status: Type.String(),
  failureTime: Type.Integer(),
  detectedAt: Type.Integer(),
  acknowledgedAt: NullableTime,
  resolvedAt: NullableTime,
  closedAt: NullableTime,
  resolutionMs: NullableTime,
  assignee: NullableString,
  /** The assignee's display name (null when unassigned or unknown). */
  assigneeName: Type.Optional(NullableString),
  escalationLevel: Type.Integer(),
  paused: Type.Boolean(),
  clearSince: NullableTime,
  reopenCount: Type.Integer(),
  resolutionNote: NullableString,
  resolutionCategory: NullableString,
  createdBy: Type.String(),
  updatedAt: Type.Integer(),
  sla: Type.Union([SlaView, Type.Null()]),
});

/** One timeline entry as shown. */
export const TimelineView = Type.Object({
  id: Type.Integer(),
  at: Type.Integer(),
  kind: Type.String(),
  actor: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
});

/** List filters. */
export const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Array(Status, { maxItems: 4 })),
    tier: Type.Optional(Level),
    criticality: Type.Optional(Crit),
    clientId: Type.Optional(Type.String({ maxLength: 64 })),
    siteId: Type.Optional(Type.String({ maxLength: 64 })),
    agentId: Type.Optional(Type.String({ maxLength: 64 })),
    channel: Type.Optional(Type.Union(CHANNELS.map((c) => Type.Literal(c)))),
    assignee: Type.Optional(Type.String({ maxLength: 64 })),
    unassigned: Type.Optional(Type.Boolean()),
    breached: Type.Optional(Type.Boolean()),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);

/** A technician's incident. */
export const OpenBody = Type.Object(
  {
    clientId: Type.String({ minLength: 1, maxLength: 64 }),
    siteId: Type.String({ minLength: 1, maxLength: 64 }),
    agentIds: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 })),
    title: Text(200),
    explanation: Type.Optional(Type.String({ maxLength: 10_000 })),
    type: Text(64),
    criticality: Type.Optional(Crit),
    impact: Type.Optional(Level),
    urgency: Type.Optional(Level),
    tier: Type.Optional(TierT),
    failureTime: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** Bodies of the action routes. */
export const Bodies = {
  reason: Type.Object({ reason: Text(2000) }, { additionalProperties: false }),
  optionalReason: Type.Object({ reason: Type.Optional(Text(2000)) }, { additionalProperties: false }),
  assign: Type.Object({ userId: Text(64), reason: Type.Optional(Text(2000)) }, { additionalProperties: false }),
  comment: Type.Object(
    {
      text: Text(10_000),
      /** For the requester: shown on the self-service page (otherwise the comment stays internal). */
      public: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  resolve: Type.Object(
    { note: Text(10_000), category: Type.Union(RESOLUTION_CATEGORIES.map((c) => Type.Literal(c))) },
    { additionalProperties: false },
  ),
  empty: Type.Object({}, { additionalProperties: false }),
  retriage: Type.Object(
    { type: Type.Optional(Text(64)), criticality: Type.Optional(Crit), reason: Text(2000) },
    { additionalProperties: false },
  ),
};

/** Queue counts per tier and criticality. */
export const QueuesView = Type.Object({
  queues: Type.Array(
    Type.Object({ tier: Type.Integer(), criticality: Type.String(), open: Type.Integer(), unassigned: Type.Integer() }),
  ),
});

/** A page of tickets and the count of all that match. */
export const IncidentList = Type.Object({ incidents: Type.Array(IncidentView), total: Type.Integer() });

/** One ticket with its timeline. */
export const IncidentDetail = Type.Object({
  incident: IncidentView,
  timeline: Type.Array(TimelineView),
  /** Display names of the users the timeline names by id (assigned to, from), for a readable timeline. */
  names: Type.Record(Type.String(), Type.String()),
});

/** The ticket actions, each `POST /api/v1/incidents/:id/<action>` answering the ticket. */
export const INCIDENT_ACTIONS = [
  'ack',
  'take',
  'assign',
  'comment',
  'escalate',
  'deescalate',
  'pause',
  'resume',
  'resolve',
  'close',
  'reopen',
  'retriage',
] as const;
/** A ticket action's name. */
export type IncidentAction = (typeof INCIDENT_ACTIONS)[number];
