/** All SQL of the inventory concern: devices and their agents, current rows per probe, change history, staged parts. */
import type { ProbeName } from '@outpost/shared';
import { type Db, type Migration, prepared } from '../db/index.js';

/** The inventory concern's schema (ids 0100–0199). */
export const inventoryMigrations: Migration[] = [
  {
    id: '0100_inventory',
    concern: 'inventory',
    sql: `
      CREATE TABLE inv_devices (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        current_agent_id TEXT NOT NULL,
        hostname TEXT NOT NULL DEFAULT '',
        manufacturer TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        serial TEXT NOT NULL DEFAULT '',
        hw_uuid TEXT NOT NULL DEFAULT '',
        machine_id TEXT NOT NULL DEFAULT '',
        macs TEXT NOT NULL DEFAULT '[]',
        virtual INTEGER NOT NULL DEFAULT 0,
        bios_date TEXT NOT NULL DEFAULT '',
        first_seen INTEGER NOT NULL,
        last_report INTEGER NOT NULL
      );
      CREATE INDEX inv_devices_client_site ON inv_devices (client_id, site_id);
      CREATE INDEX inv_devices_serial ON inv_devices (serial);
      CREATE INDEX inv_devices_uuid ON inv_devices (hw_uuid);
      CREATE TABLE inv_agents (
        agent_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES inv_devices(id),
        mapped_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX inv_agents_device ON inv_agents (device_id);
      CREATE TABLE inv_probes (
        device_id TEXT NOT NULL REFERENCES inv_devices(id),
        probe TEXT NOT NULL,
        hash TEXT NOT NULL DEFAULT '',
        collected_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        stale INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        PRIMARY KEY (device_id, probe)
      );
      CREATE TABLE inv_rows (
        device_id TEXT NOT NULL,
        probe TEXT NOT NULL,
        row_key TEXT NOT NULL,
        data TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (device_id, probe, row_key)
      ) WITHOUT ROWID;
      CREATE INDEX inv_rows_probe ON inv_rows (probe);
      CREATE TABLE inv_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        time INTEGER NOT NULL,
        kind TEXT NOT NULL,
        probe TEXT NOT NULL,
        subject TEXT NOT NULL,
        before TEXT,
        after TEXT
      );
      CREATE INDEX inv_changes_device_time ON inv_changes (device_id, time);
      CREATE INDEX inv_changes_agent_time ON inv_changes (agent_id, time);
      CREATE TABLE inv_staging (
        agent_id TEXT NOT NULL,
        set_id TEXT NOT NULL,
        part INTEGER NOT NULL,
        body TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, set_id, part)
      );
      CREATE TABLE inv_shared_ids (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        noted_at INTEGER NOT NULL,
        PRIMARY KEY (kind, value)
      );
    `,
  },
];

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

/** Synchronous store functions; the service calls them inside one transaction per batch. */
/** How long a part of a multi-part set waits for the rest (see `stage`). */
export const STAGING_TTL_MS = 60 * 60_000;

export class InventoryStore {
  #stagingSweptAt = Number.NEGATIVE_INFINITY;
  constructor(readonly db: Db) {}

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  agentDevice(agentId: string): { deviceId: string; lastSeq: number } | undefined {
    return prepared<[string], { deviceId: string; lastSeq: number }>(
      this.db,
      'SELECT device_id AS deviceId, last_seq AS lastSeq FROM inv_agents WHERE agent_id = ?',
    ).get(agentId);
  }

  agentsOfDevice(deviceId: string): string[] {
    return prepared<[string], { a: string }>(
      this.db,
      'SELECT agent_id AS a FROM inv_agents WHERE device_id = ? ORDER BY mapped_at',
    )
      .all(deviceId)
      .map((r) => r.a);
  }

  mapAgent(agentId: string, deviceId: string, now: number): void {
    prepared(
      this.db,
      `INSERT INTO inv_agents (agent_id, device_id, mapped_at) VALUES (?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET device_id = excluded.device_id, mapped_at = excluded.mapped_at`,
    ).run(agentId, deviceId, now);
  }

  setLastSeq(agentId: string, seq: number): void {
    prepared(this.db, 'UPDATE inv_agents SET last_seq = MAX(last_seq, ?) WHERE agent_id = ?').run(seq, agentId);
  }

  device(id: string): DeviceRecord | undefined {
    const r = prepared<[string], DeviceRow>(this.db, 'SELECT * FROM inv_devices WHERE id = ?').get(id);
    return r && toDevice(r);
  }

  devices(filter: { clientIds?: readonly string[] | undefined; siteId?: string | undefined }): DeviceRecord[] {
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
  candidates(serial: string, uuid: string): DeviceRecord[] {
    return prepared<[string, string], DeviceRow>(
      this.db,
      `SELECT * FROM inv_devices WHERE (serial <> '' AND serial = ?) OR (hw_uuid <> '' AND hw_uuid = ?)`,
    )
      .all(serial, uuid)
      .map(toDevice);
  }

  insertDevice(d: DeviceRecord): void {
    prepared(
      this.db,
      `INSERT INTO inv_devices (id, client_id, site_id, current_agent_id, hostname, manufacturer, model, serial, hw_uuid,
         machine_id, macs, virtual, bios_date, first_seen, last_report) VALUES (@id, @clientId, @siteId, @currentAgentId,
         @hostname, @manufacturer, @model, @serial, @hwUuid, @machineId, @macs, @virtual, @biosDate, @firstSeen, @lastReport)`,
    ).run(deviceParams(d));
  }

  updateDevice(d: DeviceRecord): void {
    prepared(
      this.db,
      `UPDATE inv_devices SET client_id=@clientId, site_id=@siteId, current_agent_id=@currentAgentId, hostname=@hostname,
         manufacturer=@manufacturer, model=@model, serial=@serial, hw_uuid=@hwUuid, machine_id=@machineId, macs=@macs,
         virtual=@virtual, bios_date=@biosDate, last_report=@lastReport WHERE id=@id`,
    ).run(deviceParams(d));
  }

  rows(deviceId: string, probe: ProbeName): StoredRow[] {
    return prepared<[string, string], { key: string; data: string; firstSeen: number; updatedAt: number }>(
      this.db,
      'SELECT row_key AS key, data, first_seen AS firstSeen, updated_at AS updatedAt FROM inv_rows WHERE device_id = ? AND probe = ? ORDER BY row_key',
    )
      .all(deviceId, probe)
      .map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** Every row of a probe across devices (fleet queries). */
  rowsOfProbe(probe: ProbeName): (StoredRow & { deviceId: string })[] {
    return prepared<[string], { deviceId: string; key: string; data: string; firstSeen: number; updatedAt: number }>(
      this.db,
      'SELECT device_id AS deviceId, row_key AS key, data, first_seen AS firstSeen, updated_at AS updatedAt FROM inv_rows WHERE probe = ?',
    )
      .all(probe)
      .map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  upsertRow(deviceId: string, probe: ProbeName, key: string, data: string, now: number): void {
    prepared(
      this.db,
      `INSERT INTO inv_rows (device_id, probe, row_key, data, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, probe, row_key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
    ).run(deviceId, probe, key, data, now, now);
  }

  deleteRow(deviceId: string, probe: ProbeName, key: string): void {
    prepared(this.db, 'DELETE FROM inv_rows WHERE device_id = ? AND probe = ? AND row_key = ?').run(
      deviceId,
      probe,
      key,
    );
  }

  probes(deviceId: string): ProbeStatus[] {
    return prepared<[string], Omit<ProbeStatus, 'stale'> & { stale: number }>(
      this.db,
      `SELECT probe, hash, collected_at AS collectedAt, updated_at AS updatedAt, stale, error_code AS errorCode,
         error_message AS errorMessage FROM inv_probes WHERE device_id = ? ORDER BY probe`,
    )
      .all(deviceId)
      .map((r) => ({ ...r, stale: r.stale === 1 }));
  }

  probe(deviceId: string, probe: ProbeName): ProbeStatus | undefined {
    return this.probes(deviceId).find((p) => p.probe === probe);
  }

  setProbe(deviceId: string, s: ProbeStatus): void {
    prepared(
      this.db,
      `INSERT INTO inv_probes (device_id, probe, hash, collected_at, updated_at, stale, error_code, error_message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, probe) DO UPDATE SET hash = excluded.hash, collected_at = excluded.collected_at,
         updated_at = excluded.updated_at, stale = excluded.stale, error_code = excluded.error_code,
         error_message = excluded.error_message`,
    ).run(deviceId, s.probe, s.hash, s.collectedAt, s.updatedAt, s.stale ? 1 : 0, s.errorCode, s.errorMessage);
  }

  insertChanges(deviceId: string, agentId: string, time: number, changes: NewChange[]): void {
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

  changes(q: { deviceId?: string; agentId?: string; fromMs: number; toMs: number; limit: number }): ChangeRecord[] {
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
  moveAgentData(agentId: string, from: string, to: string): void {
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
  stage(agentId: string, setId: string, part: number, body: string, now: number): void {
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

  staged(agentId: string, setId: string): string[] {
    return prepared<[string, string], { body: string }>(
      this.db,
      'SELECT body FROM inv_staging WHERE agent_id = ? AND set_id = ? ORDER BY part',
    )
      .all(agentId, setId)
      .map((r) => r.body);
  }

  unstage(agentId: string, setId: string): void {
    prepared(this.db, 'DELETE FROM inv_staging WHERE agent_id = ? AND set_id = ?').run(agentId, setId);
  }

  noteShared(kind: 'serial' | 'uuid', value: string, now: number): void {
    prepared(this.db, 'INSERT OR IGNORE INTO inv_shared_ids (kind, value, noted_at) VALUES (?, ?, ?)').run(
      kind,
      value,
      now,
    );
  }

  isShared(kind: 'serial' | 'uuid', value: string): boolean {
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
