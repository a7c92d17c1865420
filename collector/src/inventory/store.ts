/** All SQL of the inventory concern: devices and their agents, current rows per probe, change history, staged parts. */
import type { ProbeName } from '@outpost/shared';
import { type Db, prepared, sqlOf } from '../db/index.js';

export { inventoryMigrations } from './schema.js';

/** A device (one machine, whatever agents it had). */
export interface DeviceRecord {
  id: string;
  clientId: string;
  siteId: string;
  currentAgentId: string;
  hostname: string;
  manufacturer: string;
  model: string;
  serial: string;
  hwUuid: string;
  machineId: string;
  macs: string[];
  virtual: boolean;
  biosDate: string;
  firstSeen: number;
  lastReport: number;
}

interface DeviceRow {
  id: string;
  client_id: string;
  site_id: string;
  current_agent_id: string;
  hostname: string;
  manufacturer: string;
  model: string;
  serial: string;
  hw_uuid: string;
  machine_id: string;
  macs: string;
  virtual: number;
  bios_date: string;
  first_seen: number;
  last_report: number;
}

const toDevice = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  clientId: r.client_id,
  siteId: r.site_id,
  currentAgentId: r.current_agent_id,
  hostname: r.hostname,
  manufacturer: r.manufacturer,
  model: r.model,
  serial: r.serial,
  hwUuid: r.hw_uuid,
  machineId: r.machine_id,
  macs: JSON.parse(r.macs) as string[],
  virtual: r.virtual === 1,
  biosDate: r.bios_date,
  firstSeen: r.first_seen,
  lastReport: r.last_report,
});

/** A stored row of one probe. */
export interface StoredRow {
  key: string;
  data: Record<string, unknown>;
  firstSeen: number;
  updatedAt: number;
}

/** A probe's status on a device. */
export interface ProbeStatus {
  probe: ProbeName;
  hash: string;
  collectedAt: number;
  updatedAt: number;
  stale: boolean;
  errorCode: string | null;
  errorMessage: string | null;
}

/** One change-history entry. */
export interface ChangeRecord {
  id: number;
  deviceId: string;
  agentId: string;
  time: number;
  kind: string;
  probe: string;
  subject: string;
  before: unknown;
  after: unknown;
}

/** A change to insert. */
export type NewChange = Omit<ChangeRecord, 'id' | 'deviceId' | 'agentId' | 'time'>;

/** How long a part of a multi-part set waits for the rest (see `stage`). */
export const STAGING_TTL_MS = 60 * 60_000;

/**
 * Store functions of the inventory concern: async at the surface so a PostgreSQL store can implement them, synchronous
 * SQLite inside. The ingest applies a stream batch through `transaction`, which hands the work a store bound to the
 * transaction (here the store itself: SQLite has one connection; a PostgreSQL store would hand one bound to its client).
 */
export class InventoryStore {
  #stagingSweptAt = Number.NEGATIVE_INFINITY;
  constructor(readonly db: Db) {}

  /**
   * Runs `work` in one transaction (all of it or none) and resolves with its result, through the connection's SqlDb
   * (docs/0016-postgres.md): inside the stream batch's transaction it is a savepoint of that one (its own BEGIN there
   * failed: "cannot start a transaction within a transaction"), outside it waits for any open transaction, so
   * transactions never interleave. Every function of this store answers without I/O waits (better-sqlite3 is
   * synchronous), so the work's awaits only yield to promise callbacks already queued, never to timers, sockets or
   * requests; the ingest awaits nothing else inside (docs/0002-inventory.md, "Async store").
   */
  async transaction<T>(work: (tx: InventoryStore) => Promise<T>): Promise<T> {
    return sqlOf(this.db).transaction(() => work(this));
  }

  async agentDevice(agentId: string): Promise<{ deviceId: string; lastSeq: number } | undefined> {
    return prepared<[string], { deviceId: string; lastSeq: number }>(
      this.db,
      'SELECT device_id AS deviceId, last_seq AS lastSeq FROM inv_agents WHERE agent_id = ?',
    ).get(agentId);
  }

  async agentsOfDevice(deviceId: string): Promise<string[]> {
    return prepared<[string], { a: string }>(
      this.db,
      'SELECT agent_id AS a FROM inv_agents WHERE device_id = ? ORDER BY mapped_at',
    )
      .all(deviceId)
      .map((r) => r.a);
  }

  async mapAgent(agentId: string, deviceId: string, now: number): Promise<void> {
    prepared(
      this.db,
      `INSERT INTO inv_agents (agent_id, device_id, mapped_at) VALUES (?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET device_id = excluded.device_id, mapped_at = excluded.mapped_at`,
    ).run(agentId, deviceId, now);
  }

  async setLastSeq(agentId: string, seq: number): Promise<void> {
    prepared(this.db, 'UPDATE inv_agents SET last_seq = MAX(last_seq, ?) WHERE agent_id = ?').run(seq, agentId);
  }

  async device(id: string): Promise<DeviceRecord | undefined> {
    const r = prepared<[string], DeviceRow>(this.db, 'SELECT * FROM inv_devices WHERE id = ?').get(id);
    return r && toDevice(r);
  }

  async devices(filter: {
    clientIds?: readonly string[] | undefined;
    siteId?: string | undefined;
  }): Promise<DeviceRecord[]> {
    const rows = prepared<[], DeviceRow>(this.db, 'SELECT * FROM inv_devices ORDER BY hostname, id').all();
    return rows
      .filter(
        (r) =>
          (!filter.clientIds || filter.clientIds.includes(r.client_id)) &&
          (!filter.siteId || r.site_id === filter.siteId),
      )
      .map(toDevice);
  }

  /** Devices sharing a serial or a hardware UUID (identity candidates). */
  async candidates(serial: string, uuid: string): Promise<DeviceRecord[]> {
    return prepared<[string, string], DeviceRow>(
      this.db,
      `SELECT * FROM inv_devices WHERE (serial <> '' AND serial = ?) OR (hw_uuid <> '' AND hw_uuid = ?)`,
    )
      .all(serial, uuid)
      .map(toDevice);
  }

  async insertDevice(d: DeviceRecord): Promise<void> {
    prepared(
      this.db,
      `INSERT INTO inv_devices (id, client_id, site_id, current_agent_id, hostname, manufacturer, model, serial, hw_uuid,
         machine_id, macs, virtual, bios_date, first_seen, last_report) VALUES (@id, @clientId, @siteId, @currentAgentId,
         @hostname, @manufacturer, @model, @serial, @hwUuid, @machineId, @macs, @virtual, @biosDate, @firstSeen, @lastReport)`,
    ).run(deviceParams(d));
  }

  async updateDevice(d: DeviceRecord): Promise<void> {
    prepared(
      this.db,
      `UPDATE inv_devices SET client_id=@clientId, site_id=@siteId, current_agent_id=@currentAgentId, hostname=@hostname,
         manufacturer=@manufacturer, model=@model, serial=@serial, hw_uuid=@hwUuid, machine_id=@machineId, macs=@macs,
         virtual=@virtual, bios_date=@biosDate, last_report=@lastReport WHERE id=@id`,
    ).run(deviceParams(d));
  }

  async rows(deviceId: string, probe: ProbeName): Promise<StoredRow[]> {
    return prepared<[string, string], { key: string; data: string; firstSeen: number; updatedAt: number }>(
      this.db,
      'SELECT row_key AS key, data, first_seen AS firstSeen, updated_at AS updatedAt FROM inv_rows WHERE device_id = ? AND probe = ? ORDER BY row_key',
    )
      .all(deviceId, probe)
      .map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** Every row of a probe across devices (fleet queries). */
  async rowsOfProbe(probe: ProbeName): Promise<(StoredRow & { deviceId: string })[]> {
    return prepared<[string], { deviceId: string; key: string; data: string; firstSeen: number; updatedAt: number }>(
      this.db,
      'SELECT device_id AS deviceId, row_key AS key, data, first_seen AS firstSeen, updated_at AS updatedAt FROM inv_rows WHERE probe = ?',
    )
      .all(probe)
      .map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** Inserts or replaces rows of one probe on a device (data as JSON text); `first_seen` stays as first written. */
  async upsertRows(
    deviceId: string,
    probe: ProbeName,
    rows: readonly { key: string; data: string }[],
    now: number,
  ): Promise<void> {
    const stmt = prepared(
      this.db,
      `INSERT INTO inv_rows (device_id, probe, row_key, data, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, probe, row_key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
    );
    for (const r of rows) stmt.run(deviceId, probe, r.key, r.data, now, now);
  }

  /** Deletes rows of one probe on a device by key. */
  async deleteRows(deviceId: string, probe: ProbeName, keys: readonly string[]): Promise<void> {
    const stmt = prepared(this.db, 'DELETE FROM inv_rows WHERE device_id = ? AND probe = ? AND row_key = ?');
    for (const k of keys) stmt.run(deviceId, probe, k);
  }

  async probes(deviceId: string): Promise<ProbeStatus[]> {
    return prepared<[string], Omit<ProbeStatus, 'stale'> & { stale: number }>(
      this.db,
      `SELECT probe, hash, collected_at AS collectedAt, updated_at AS updatedAt, stale, error_code AS errorCode,
         error_message AS errorMessage FROM inv_probes WHERE device_id = ? ORDER BY probe`,
    )
      .all(deviceId)
      .map((r) => ({ ...r, stale: r.stale === 1 }));
  }

  async probe(deviceId: string, probe: ProbeName): Promise<ProbeStatus | undefined> {
    return (await this.probes(deviceId)).find((p) => p.probe === probe);
  }

  async setProbe(deviceId: string, s: ProbeStatus): Promise<void> {
    prepared(
      this.db,
      `INSERT INTO inv_probes (device_id, probe, hash, collected_at, updated_at, stale, error_code, error_message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, probe) DO UPDATE SET hash = excluded.hash, collected_at = excluded.collected_at,
         updated_at = excluded.updated_at, stale = excluded.stale, error_code = excluded.error_code,
         error_message = excluded.error_message`,
    ).run(deviceId, s.probe, s.hash, s.collectedAt, s.updatedAt, s.stale ? 1 : 0, s.errorCode, s.errorMessage);
  }

  async insertChanges(deviceId: string, agentId: string, time: number, changes: NewChange[]): Promise<void> {
    const stmt = prepared(
      this.db,
      'INSERT INTO inv_changes (device_id, agent_id, time, kind, probe, subject, before, after) VALUES (?,?,?,?,?,?,?,?)',
    );
    for (const c of changes) {
      stmt.run(
        deviceId,
        agentId,
        time,
        c.kind,
        c.probe,
        c.subject,
        c.before === undefined ? null : JSON.stringify(c.before),
        c.after === undefined ? null : JSON.stringify(c.after),
      );
    }
  }

  async changes(q: {
    deviceId?: string;
    agentId?: string;
    fromMs: number;
    toMs: number;
    limit: number;
  }): Promise<ChangeRecord[]> {
    const rows = prepared<
      [{ device: string | null; agent: string | null; from: number; to: number; limit: number }],
      ChangeRecord & { before: string | null; after: string | null }
    >(
      this.db,
      `SELECT id, device_id AS deviceId, agent_id AS agentId, time, kind, probe, subject, before, after FROM inv_changes
       WHERE (@device IS NULL OR device_id = @device) AND (@agent IS NULL OR agent_id = @agent) AND time >= @from
         AND time <= @to ORDER BY time DESC, id DESC LIMIT @limit`,
    ).all({ device: q.deviceId ?? null, agent: q.agentId ?? null, from: q.fromMs, to: q.toMs, limit: q.limit });
    return rows.map((r) => ({
      ...r,
      before: r.before === null ? null : (JSON.parse(r.before) as unknown),
      after: r.after === null ? null : (JSON.parse(r.after) as unknown),
    }));
  }

  /** Moves an agent's history and rows to another device (a clone split). */
  async moveAgentData(agentId: string, from: string, to: string): Promise<void> {
    prepared(this.db, 'UPDATE inv_changes SET device_id = ? WHERE agent_id = ? AND device_id = ?').run(
      to,
      agentId,
      from,
    );
    prepared(this.db, 'UPDATE inv_rows SET device_id = ? WHERE device_id = ?').run(to, from);
    prepared(this.db, 'UPDATE inv_probes SET device_id = ? WHERE device_id = ?').run(to, from);
  }

  /**
   * Keeps one part of a multi-part set until its last part arrives. An agent sends a set's parts within seconds, so
   * parts older than STAGING_TTL_MS belong to sets that will never complete (the agent reinstalled, or a peer that
   * sends part 1 of endless sets): they are dropped here — this agent's at once, every agent's every 10 minutes —
   * so staging cannot grow the database without bound. A set that loses parts this way fails its wholeness check
   * and the agent is asked for a full snapshot.
   */
  async stage(agentId: string, setId: string, part: number, body: string, now: number): Promise<void> {
    prepared(this.db, 'DELETE FROM inv_staging WHERE agent_id = ? AND received_at < ?').run(
      agentId,
      now - STAGING_TTL_MS,
    );
    if (now - this.#stagingSweptAt >= 10 * 60_000) {
      this.#stagingSweptAt = now;
      prepared(this.db, 'DELETE FROM inv_staging WHERE received_at < ?').run(now - STAGING_TTL_MS);
    }
    prepared(
      this.db,
      'INSERT OR REPLACE INTO inv_staging (agent_id, set_id, part, body, received_at) VALUES (?,?,?,?,?)',
    ).run(agentId, setId, part, body, now);
  }

  async staged(agentId: string, setId: string): Promise<string[]> {
    return prepared<[string, string], { body: string }>(
      this.db,
      'SELECT body FROM inv_staging WHERE agent_id = ? AND set_id = ? ORDER BY part',
    )
      .all(agentId, setId)
      .map((r) => r.body);
  }

  async unstage(agentId: string, setId: string): Promise<void> {
    prepared(this.db, 'DELETE FROM inv_staging WHERE agent_id = ? AND set_id = ?').run(agentId, setId);
  }

  async noteShared(kind: 'serial' | 'uuid', value: string, now: number): Promise<void> {
    prepared(this.db, 'INSERT OR IGNORE INTO inv_shared_ids (kind, value, noted_at) VALUES (?, ?, ?)').run(
      kind,
      value,
      now,
    );
  }

  async isShared(kind: 'serial' | 'uuid', value: string): Promise<boolean> {
    return (
      prepared<[string, string], { n: number }>(
        this.db,
        'SELECT 1 AS n FROM inv_shared_ids WHERE kind = ? AND value = ?',
      ).get(kind, value) !== undefined
    );
  }
}

/** A device as named SQL parameters (both the insert and the update bind from it). */
function deviceParams(d: DeviceRecord) {
  return { ...d, macs: JSON.stringify(d.macs), virtual: d.virtual ? 1 : 0 };
}
