/**
 * The inventory family (docs/0002-inventory.md). `inventory.report` is sequenced: it carries, per probe, either a full
 * snapshot or a row-level diff against the state named by `baseHash`, and the hash of the state after it. A set too
 * large for one message is split into `parts` sharing a `setId`; the collector applies it when the last part arrives.
 * `inventory.request` asks the agent for full snapshots (after a hash mismatch, or on a technician's demand).
 */
import { type Static, Type } from '@sinclair/typebox';
import { PROBE_NAMES, type ProbeName } from '../inventory/rows.js';
import { EpochMs, message, Seq, Str, strict } from './common.js';

/** The most rows one set part may carry. */
export const INVENTORY_MAX_ROWS_PER_PART = 5000;
/** The budget an agent keeps each inventory message under (the collector refuses frames over 1 MiB). */
export const INVENTORY_MESSAGE_BUDGET_BYTES = 768 * 1024;

const Hash = Type.String({ pattern: '^[A-Za-z0-9_-]{0,32}$', maxLength: 32 });
/**
 * A row on the wire: an object of at most 64 columns. Its columns are checked against the probe's closed row schema
 * (`firstBadRow`) where the collector applies the set, not here: a row that does not match then refuses its probe's
 * set (OUTPOST_E_INVENTORY_ROW, shown as the probe's error) instead of closing the socket, which would stop every
 * message behind it in the agent's outbox, metrics and events included, on each reconnect (docs/0002-inventory.md, "Closed rows").
 */
// The key pattern says what a column name looks like (schema readers and the protocol fuzzer use it); a key outside
// it is not refused here but by `firstBadRow`, which refuses every column its probe does not have.
const WireRow = Type.Record(Type.String({ pattern: '^[a-z0-9_]{1,64}$' }), Type.Unknown(), { maxProperties: 64 });
const ProbeNameSchema = Type.Union(PROBE_NAMES.map((p) => Type.Literal(p)));

const common = {
  /** Identifies the set across its parts. */
  setId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
  part: Type.Integer({ minimum: 1, maximum: 10_000 }),
  parts: Type.Integer({ minimum: 1, maximum: 10_000 }),
  /** When the probe ran. */
  collectedAt: EpochMs,
  /** Hash of the probe's rows after this set is applied. */
  hash: Hash,
};

function setSchema<P extends ProbeName>(probe: P) {
  return Type.Object(
    {
      probe: Type.Literal(probe),
      /** full: replaces every row; diff: upserts and removes rows of the state whose hash is `baseHash`. */
      mode: Type.Union([Type.Literal('full'), Type.Literal('diff')]),
      baseHash: Hash,
      ...common,
      /** Rows to add or replace; unchecked until `firstBadRow` passes them (see `WireRow`). */
      upserts: Type.Array(WireRow, { maxItems: INVENTORY_MAX_ROWS_PER_PART }),
      /** Keys (see `rowKey`) of rows that disappeared. */
      removes: Type.Array(Str(2048), { maxItems: INVENTORY_MAX_ROWS_PER_PART }),
    },
    strict,
  );
}

/** A probe that failed: its previous rows stay, its error is shown. */
export const InventoryProbeError = Type.Object(
  {
    probe: ProbeNameSchema,
    mode: Type.Literal('error'),
    ...common,
    code: Type.String({ pattern: '^[A-Z0-9_]{1,64}$' }),
    message: Str(1024),
  },
  strict,
);

/** One probe's change set (or one part of it). */
export const InventorySet = Type.Union([...PROBE_NAMES.map((p) => setSchema(p)), InventoryProbeError]);
export type InventorySet = Static<typeof InventorySet>;

/** Agent → collector, sequenced: inventory changes of one or more probes. */
export const InventoryReport = message('inventory.report', {
  seq: Seq,
  time: EpochMs,
  /** Why it was sent: the first snapshot, a collector request, or a scheduled run. */
  reason: Type.Union([Type.Literal('initial'), Type.Literal('request'), Type.Literal('scheduled')]),
  sets: Type.Array(InventorySet, { minItems: 1, maxItems: 64 }),
});
export type InventoryReport = Static<typeof InventoryReport>;

/** Collector → agent: send full snapshots of these probes (all when empty). Idempotent by id. */
export const InventoryRequest = message('inventory.request', {
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  expiresAt: EpochMs,
  probes: Type.Array(ProbeNameSchema, { maxItems: 64 }),
});
export type InventoryRequest = Static<typeof InventoryRequest>;
