/**
 * The inventory routes' response schemas, closed: the serializer writes exactly these fields (an allow-list), and the
 * answers' TypeScript types are inferred from them, so a probe's rows reach callers typed by their probe instead of
 * `Record<string, unknown>` (docs/0002-inventory.md, "Closed rows").
 */
import { PROBE_NAMES, type ProbeName, storedRowSchema } from '@outpost/shared';
import { type Static, type TUnion, Type } from '@sinclair/typebox';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) =>
  Type.Union([t, Type.Null()]);
const closed = { additionalProperties: false } as const;

/** A device (one machine, whatever agents it had). */
export const DeviceSchema = Type.Object(
  {
    id: Type.String(),
    clientId: Type.String(),
    siteId: Type.String(),
    currentAgentId: Type.String(),
    hostname: Type.String(),
    manufacturer: Type.String(),
    model: Type.String(),
    serial: Type.String(),
    hwUuid: Type.String(),
    virtual: Type.Boolean(),
    biosDate: Type.String(),
    firstSeen: Type.Integer(),
    lastReport: Type.Integer(),
  },
  closed,
);

/** End-of-life status of a device's OS. */
export const EolSchema = Type.Object(
  {
    label: Nullable(Type.String()),
    supportedUntil: Nullable(Type.Integer()),
    endOfLife: Type.Boolean(),
    estimated: Type.Boolean(),
  },
  closed,
);

/** One probe's status and rows on a device; `probe` tells which row schema its rows follow. */
function probeEntrySchema<P extends ProbeName>(probe: P) {
  return Type.Object(
    {
      probe: Type.Literal(probe),
      hash: Type.String(),
      collectedAt: Type.Integer(),
      updatedAt: Type.Integer(),
      stale: Type.Boolean(),
      errorCode: Nullable(Type.String()),
      errorMessage: Nullable(Type.String()),
      rows: Type.Array(storedRowSchema(probe)),
    },
    closed,
  );
}

type EntrySchemas = { [P in ProbeName]: ReturnType<typeof probeEntrySchema<P>> }[ProbeName];
/**
 * Any probe's entry: a union discriminated by `probe`. Built from the probe list, so its type is stated (the map
 * alone would give one member whose `probe` is any name and whose rows are any probe's).
 */
export const ProbeEntrySchema = Type.Union(PROBE_NAMES.map((p) => probeEntrySchema(p))) as TUnion<EntrySchemas[]>;
/** One probe's entry, typed by its probe (`ProbeEntry<'cpu'>`), or any probe's (the union). */
export type ProbeEntry<P extends ProbeName = ProbeName> = {
  [Q in P]: Static<ReturnType<typeof probeEntrySchema<Q>>>;
}[P];

/** `GET /api/v1/agents/:id/inventory`: one device's current inventory. */
export const InventoryAnswerSchema = Type.Object(
  { device: DeviceSchema, agents: Type.Array(Type.String()), eol: EolSchema, probes: Type.Array(ProbeEntrySchema) },
  closed,
);
/** The answer of `GET /api/v1/agents/:id/inventory`. */
export type InventoryAnswer = Static<typeof InventoryAnswerSchema>;
