/**
 * The inventory concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox and shared only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';

/** A device, its OS's end of life, and an agent's latest inventory per probe: closed schemas (answers.ts). */
export { DeviceSchema as Device, EolSchema as Eol, InventoryAnswerSchema as InventoryView } from './answers.js';
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
