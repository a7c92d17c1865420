/** Request and response schemas of the notifications routes. Secrets (HMAC keys, SMTP passwords) are never shown. */
import { type Static, Type } from '@sinclair/typebox';
import { NullableString, NullableTime } from '../http/schemas.js';

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\x00-\\x1f\\x7f]+$' });
const ClientRef = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]);
const Url = Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://' });
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s<>]+@[^@\\s<>]+$' });

/** Events a route can select. */
export const NOTICE_EVENTS = [
  'opened',
  'reopened',
  'acknowledged',
  'assigned',
  'escalated',
  'deescalated',
  'sla_warning',
  'sla_breach',
  'resolved',
  'closed',
] as const;

/** A channel to create. */
export const ChannelInput = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('webhook'),
      name: Name,
      clientId: ClientRef,
      url: Url,
      /** HMAC-SHA256 key; generated (and shown once) when absent. */
      secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Union([Type.Literal('slack'), Type.Literal('teams')]),
      name: Name,
      clientId: ClientRef,
      url: Url,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('email'),
      name: Name,
      clientId: ClientRef,
      host: Type.String({ minLength: 1, maxLength: 255 }),
      port: Type.Integer({ minimum: 1, maximum: 65535 }),
      /** Implicit TLS (port 465). */
      secure: Type.Optional(Type.Boolean()),
      /** Refuse to send unless STARTTLS succeeds. */
      requireTLS: Type.Optional(Type.Boolean()),
      user: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      password: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      from: Email,
      to: Type.Array(Email, { minItems: 1, maxItems: 50 }),
    },
    { additionalProperties: false },
  ),
]);
/** Channel input. */
export type ChannelInput = Static<typeof ChannelInput>;

/** A channel as shown, with its health. */
export const ChannelView = Type.Object({
  id: Type.String(),
  clientId: NullableString,
  name: Type.String(),
  kind: Type.String(),
  /** Where it delivers, without secrets (URL origin, SMTP host and recipients). */
  target: Type.String(),
  createdAt: Type.Integer(),
  state: Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('unused')]),
  consecutiveFailures: Type.Integer(),
  lastError: NullableString,
  lastFailureAt: NullableTime,
  lastSuccessAt: NullableTime,
  pending: Type.Integer(),
  incidentRaised: Type.Boolean(),
});
/** A channel as shown. */
export type ChannelView = Static<typeof ChannelView>;

/** A routing rule to create. */
export const RouteInput = Type.Object(
  {
    channelId: Type.String({ minLength: 1, maxLength: 64 }),
    /** Only incidents of this client (null: every client the channel may serve). */
    clientId: Type.Optional(ClientRef),
    /** Least severe criticality that still matches (P4: all). */
    minCriticality: Type.Optional(
      Type.Union([Type.Literal('P1'), Type.Literal('P2'), Type.Literal('P3'), Type.Literal('P4')]),
    ),
    tiers: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 3 }), { minItems: 1, maxItems: 3 })),
    events: Type.Optional(
      Type.Array(Type.Union(NOTICE_EVENTS.map((e) => Type.Literal(e))), { minItems: 1, maxItems: 10 }),
    ),
    /** Address the message to whoever is on call for the incident's tier. */
    onCall: Type.Optional(Type.Boolean()),
    /** Only outside the contract's coverage hours (nights, weekends, holidays). */
    outsideCoverageOnly: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
/** Route input. */
export type RouteInput = Static<typeof RouteInput>;

/** A routing rule as shown. */
export const RouteView = Type.Object({
  id: Type.String(),
  channelId: Type.String(),
  clientId: NullableString,
  minCriticality: Type.String(),
  tiers: Type.Array(Type.Integer()),
  events: Type.Array(Type.String()),
  onCall: Type.Boolean(),
  outsideCoverageOnly: Type.Boolean(),
  createdAt: Type.Integer(),
});

/** A queued or delivered message as shown. */
export const OutboxView = Type.Object({
  id: Type.String(),
  channelId: Type.String(),
  incidentId: NullableString,
  clientId: Type.String(),
  event: Type.String(),
  createdAt: Type.Integer(),
  attempts: Type.Integer(),
  nextAttemptAt: Type.Integer(),
  lastError: NullableString,
  deliveredAt: NullableTime,
});

/** Every channel the caller may see. */
export const ChannelList = Type.Object({ channels: Type.Array(ChannelView) });

/** A created channel, with the signing secret of a webhook shown once. */
export const CreatedChannel = Type.Object({ channel: ChannelView, secret: Type.Optional(Type.String()) });

/** A removed channel and how many undelivered messages went with it. */
export const ChannelRemoved = Type.Object({ dropped: Type.Integer() });

/** The outcome of a test message. */
export const ChannelTested = Type.Object({
  outboxId: Type.String(),
  delivered: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
});

/** Every routing rule. */
export const RouteList = Type.Object({ routes: Type.Array(RouteView) });

/** A page of the outbox. */
export const OutboxList = Type.Object({ messages: Type.Array(OutboxView) });
