/**
 * The inventory concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';

const Any = Type.Record(Type.String(), Type.Unknown());
/** A physical or virtual machine, across agent re-installs. */
export const Device = Type.Object({
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
});
/** Where a machine's OS stands against its end of life. */
export const Eol = Type.Object({
  label: Type.Union([Type.String(), Type.Null()]),
  supportedUntil: Type.Union([Type.Integer(), Type.Null()]),
  endOfLife: Type.Boolean(),
  estimated: Type.Boolean(),
});
/** One row of a fleet query. */
export const FleetRow = Type.Object({
  deviceId: Type.String(),
  agentId: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  hostname: Type.String(),
  subject: Type.String(),
  detail: Type.String(),
  time: Type.Union([Type.Integer(), Type.Null()]),
});
/** An agent's latest inventory, per probe. */
export const InventoryView = Type.Object({
  device: Device,
  agents: Type.Array(Type.String()),
  eol: Eol,
  probes: Type.Array(
    Type.Object({
      probe: Type.String(),
      hash: Type.String(),
      collectedAt: Type.Integer(),
      updatedAt: Type.Integer(),
      stale: Type.Boolean(),
      errorCode: Type.Union([Type.String(), Type.Null()]),
      errorMessage: Type.Union([Type.String(), Type.Null()]),
      rows: Type.Array(Any),
    }),
  ),
});

/** An agent's inventory changes. */
export const InventoryHistory = Type.Object({
  changes: Type.Array(
    Type.Object({
      id: Type.Integer(),
      deviceId: Type.String(),
      agentId: Type.String(),
      time: Type.Integer(),
      kind: Type.String(),
      probe: Type.String(),
      subject: Type.String(),
      before: Type.Unknown(),
      after: Type.Unknown(),
    }),
  ),
});

/** The rows of a fleet query, as JSON. */
export const FleetRows = Type.Object({ rows: Type.Array(FleetRow) });

/** What a fleet query answers: its rows (JSON), or their CSV text (`format=csv`). */
export const FleetAnswer = Type.Union([FleetRows, Type.String()]);
