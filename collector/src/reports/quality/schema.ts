/**
 * The service-quality report's JSON shape, closed: the route answers with it as its response schema, so the
 * serializer writes exactly these fields (an allow-list), and the report's TypeScript types are inferred from it.
 */
import { type Static, Type } from '@sinclair/typebox';

const closed = { additionalProperties: false } as const;
const Count = Type.Integer({ minimum: 0 });
const Ms = Type.Union([Type.Number(), Type.Null()]);
const ByCriticality = Type.Object({ P1: Count, P2: Count, P3: Count, P4: Count }, closed);
const Criticality = Type.Union([Type.Literal('P1'), Type.Literal('P2'), Type.Literal('P3'), Type.Literal('P4')]);

/** Figures of one period. */
export const PeriodFiguresSchema = Type.Object(
  {
    from: Type.Number(),
    to: Type.Number(),
    incidents: Count,
    byCriticality: ByCriticality,
    byType: Type.Array(Type.Object({ type: Type.String(), count: Count, byCriticality: ByCriticality }, closed)),
    acknowledged: Count,
    resolved: Count,
    /** Mean time to acknowledge, ms (null when none was acknowledged). */
    mttaMs: Ms,
    /** Mean time to resolve, ms (null when none was resolved). */
    mttrMs: Ms,
    sla: Type.Array(
      Type.Object(
        {
          criticality: Type.Union([Criticality, Type.Literal('all')]),
          withSla: Count,
          responseMet: Count,
          resolutionMet: Count,
          /** Share of incidents with an SLA whose response and resolution targets were both met, 0–1 (null: none). */
          compliance: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
        },
        closed,
      ),
    ),
    breaches: Type.Object({ response: Count, resolution: Count, byCriticality: ByCriticality }, closed),
    penalty: Type.Union([
      Type.Object(
        {
          currency: Type.String(),
          amount: Type.Number(),
          uncapped: Type.Number(),
          cap: Type.Union([Type.Number(), Type.Null()]),
        },
        closed,
      ),
      Type.Null(),
    ]),
    topRules: Type.Array(Type.Object({ rule: Type.String(), count: Count }, closed)),
    /**
     * Users' requests (docs/0014-requests.md): how many came in by each channel, and their recurring causes — the
     * request types seen at least twice, with how they were resolved.
     */
    requests: Type.Object(
      {
        total: Count,
        byChannel: Type.Record(Type.String(), Count),
        recurringCauses: Type.Array(
          Type.Object({ type: Type.String(), count: Count, resolutions: Type.Record(Type.String(), Count) }, closed),
        ),
      },
      closed,
    ),
    topMachines: Type.Array(Type.Object({ agentId: Type.String(), hostname: Type.String(), count: Count }, closed)),
  },
  closed,
);

/** The report: the period asked for and the one of equal length before it. */
export const QualityReportSchema = Type.Object(
  {
    clientId: Type.String(),
    clientName: Type.String(),
    generatedAt: Type.Number(),
    current: PeriodFiguresSchema,
    previous: PeriodFiguresSchema,
  },
  closed,
);

/** Figures of one period. */
export type PeriodFigures = Static<typeof PeriodFiguresSchema>;
/** The whole report. */
export type QualityReport = Static<typeof QualityReportSchema>;
