/** Request and response schemas of the contracts concern (calendars, contracts, on-call rotations). */
import { type Static, Type } from '@sinclair/typebox';

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\x00-\\x1f\\x7f]+$' });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Interval = Type.Tuple([Type.String({ maxLength: 5 }), Type.String({ maxLength: 5 })]);
const Criticalities = ['P1', 'P2', 'P3', 'P4'] as const;

/** A coverage calendar as created or replaced. */
export const CalendarInput = Type.Object(
  {
    name: Name,
    /** null: shared by every client (admins only). */
    clientId: Type.Union([Id, Type.Null()]),
    timezone: Type.String({ minLength: 1, maxLength: 64 }),
    kind: Type.Union([Type.Literal('24x7'), Type.Literal('hours')]),
    hours: Type.Optional(Type.Record(Type.String({ maxLength: 3 }), Type.Array(Interval, { maxItems: 8 }))),
    holidays: Type.Optional(Type.Array(Type.String({ maxLength: 10 }), { maxItems: 400 })),
  },
  { additionalProperties: false },
);
/** Calendar input. */
export type CalendarInput = Static<typeof CalendarInput>;

/** A stored calendar. */
export const CalendarView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  clientId: Type.Union([Type.String(), Type.Null()]),
  timezone: Type.String(),
  kind: Type.String(),
  hours: Type.Record(Type.String(), Type.Array(Type.Tuple([Type.String(), Type.String()]))),
  holidays: Type.Array(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});
/** A stored calendar. */
export type CalendarView = Static<typeof CalendarView>;

const Target = Type.Object(
  {
    responseMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 525_600 }),
    resolutionMinutes: Type.Number({ exclusiveMinimum: 0, maximum: 525_600 }),
  },
  { additionalProperties: false },
);

/** A client's support contract as set (one per client; setting it again replaces it). */
export const ContractInput = Type.Object(
  {
    name: Name,
    calendarId: Id,
    /** Sites covered by another calendar (e.g. a plant run 24/7 in three shifts). */
    siteCalendars: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Id)),
    /** Response and resolution targets per criticality; a criticality left out has no SLA. */
    targets: Type.Partial(
      Type.Object({ P1: Target, P2: Target, P3: Target, P4: Target }, { additionalProperties: false }),
    ),
    /** Fraction of a target after which the approaching breach escalates (default 0.8). */
    nearBreachRatio: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
    penalties: Type.Optional(
      Type.Object(
        {
          currency: Type.String({ minLength: 1, maxLength: 16 }),
          perBreach: Type.Partial(
            Type.Object(
              Object.fromEntries(Criticalities.map((c) => [c, Type.Number({ minimum: 0 })])) as Record<
                (typeof Criticalities)[number],
                ReturnType<typeof Type.Number>
              >,
              { additionalProperties: false },
            ),
          ),
          /** Largest total per report period (null: none). */
          capPerPeriod: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
/** Contract input. */
export type ContractInput = Static<typeof ContractInput>;

/** A stored contract. */
export const ContractView = Type.Composite([
  Type.Omit(ContractInput, ['nearBreachRatio', 'siteCalendars', 'penalties']),
  Type.Object({
    id: Type.String(),
    clientId: Type.String(),
    siteCalendars: Type.Record(Type.String(), Type.String()),
    nearBreachRatio: Type.Number(),
    penalties: Type.Union([
      Type.Object({
        currency: Type.String(),
        perBreach: Type.Record(Type.String(), Type.Number()),
        capPerPeriod: Type.Union([Type.Number(), Type.Null()]),
      }),
      Type.Null(),
    ]),
    updatedAt: Type.Integer(),
  }),
]);
/** A stored contract. */
export type ContractView = Static<typeof ContractView>;

/** An on-call rotation for one tier. */
export const RotationInput = Type.Object(
  {
    name: Name,
    clientId: Type.Union([Id, Type.Null()]),
    tier: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)]),
    /** When the first member's first shift starts (epoch ms). */
    startAt: Type.Integer({ minimum: 0 }),
    /** Length of one shift (8 for three shifts a day, 168 for weekly on-call). */
    shiftHours: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 366 }),
    /** User ids, in shift order. */
    members: Type.Array(Id, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
/** Rotation input. */
export type RotationInput = Static<typeof RotationInput>;

/** An override: someone else on duty for a while. */
export const OverrideInput = Type.Object(
  {
    userId: Id,
    from: Type.Integer({ minimum: 0 }),
    to: Type.Integer({ minimum: 0 }),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
/** Override input. */
export type OverrideInput = Static<typeof OverrideInput>;

/** A stored rotation with its overrides. */
export const RotationView = Type.Composite([
  RotationInput,
  Type.Object({
    id: Type.String(),
    createdAt: Type.Integer(),
    overrides: Type.Array(Type.Composite([OverrideInput, Type.Object({ id: Type.String() })])),
  }),
]);
/** A stored rotation. */
export type RotationView = Static<typeof RotationView>;

/** Who is on duty. */
export const OnCallView = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  rotationId: Type.String(),
  override: Type.Boolean(),
  until: Type.Integer(),
});
/** Who is on duty. */
export type OnCallView = Static<typeof OnCallView>;

/** Every business-hours calendar. */
export const CalendarList = Type.Object({ calendars: Type.Array(CalendarView) });

/** Every on-call rotation. */
export const RotationList = Type.Object({ rotations: Type.Array(RotationView) });

/** Who is on call now for a client and tier (null: nobody). */
export const OnCallNow = Type.Object({ onCall: Type.Union([OnCallView, Type.Null()]) });
