/**
 * The perimeter report's JSON shape, closed: the route answers with it as its response schema, so the serializer
 * writes exactly these fields (an allow-list) and the TypeScript types of the report are inferred from it.
 */
import { type Static, Type } from '@sinclair/typebox';

const Nullable = <T extends ReturnType<typeof Type.Number> | ReturnType<typeof Type.Boolean>>(t: T) =>
  Type.Union([t, Type.Null()]);
const closed = { additionalProperties: false } as const;

/** One machine's section. */
export const MachineSectionSchema = Type.Object(
  {
    deviceId: Type.String(),
    agentId: Type.String(),
    siteId: Type.String(),
    hostname: Type.String(),
    manufacturer: Type.String(),
    model: Type.String(),
    serial: Type.String(),
    biosDate: Type.String(),
    ageYears: Nullable(Type.Number()),
    obsolete: Type.Boolean(),
    os: Type.String(),
    osSupportedUntil: Nullable(Type.Number()),
    osEndOfLife: Type.Boolean(),
    cpu: Type.String(),
    memoryBytes: Nullable(Type.Number()),
    disks: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          model: Type.String(),
          sizeBytes: Type.Number(),
          type: Type.String(),
          health: Type.String(),
        },
        closed,
      ),
    ),
    volumes: Type.Array(
      Type.Object(
        {
          mount: Type.String(),
          filesystem: Type.String(),
          sizeBytes: Type.Number(),
          freeBytes: Nullable(Type.Number()),
        },
        closed,
      ),
    ),
    pendingPatches: Type.Number(),
    pendingSecurity: Type.Number(),
    criticalPatches: Type.Array(
      Type.Object({ name: Type.String(), detail: Type.String(), ageDays: Type.Number() }, closed),
    ),
    rebootRequired: Type.Boolean(),
    antivirus: Type.Array(
      Type.Object(
        {
          product: Type.String(),
          enabled: Nullable(Type.Boolean()),
          upToDate: Nullable(Type.Boolean()),
          expiresAt: Nullable(Type.Number()),
        },
        closed,
      ),
    ),
    activation: Type.String(),
    softwareCount: Type.Number(),
    software: Type.Array(
      Type.Object({ name: Type.String(), version: Type.String(), publisher: Type.String() }, closed),
    ),
  },
  closed,
);

/** The whole report. */
export const PerimeterReportSchema = Type.Object(
  {
    title: Type.String(),
    generatedAt: Type.Number(),
    summary: Type.Object(
      {
        machines: Type.Number(),
        obsolete: Type.Number(),
        endOfLifeOs: Type.Number(),
        withCriticalPatches: Type.Number(),
        avExpiring30: Type.Number(),
        avExpiring60: Type.Number(),
        avExpiring90: Type.Number(),
        avDisabled: Type.Number(),
      },
      closed,
    ),
    machines: Type.Array(MachineSectionSchema),
  },
  closed,
);

/** One machine's section. */
export type MachineSection = Static<typeof MachineSectionSchema>;
/** The whole report. */
export type PerimeterReport = Static<typeof PerimeterReportSchema>;
