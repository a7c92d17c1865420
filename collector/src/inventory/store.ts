/** All SQL of the inventory concern: devices and their agents, current rows per probe, change history, staged parts. */
import type { ProbeName } from '@outpost/shared';
import type { SqlDb, SqlParam } from '../db/index.js';

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
 * Store functions of the inventory concern, on SQLite or PostgreSQL (docs/0016-postgres.md). The ingest applies a
 * stream batch through `transaction`, which hands the work a store bound to the transaction (the store itself: the
 * open transaction follows the work's calls through the SqlDb handle).
 */
export class InventoryStore {
  #stagingSweptAt = Number.NEGATIVE_INFINITY;
  /** Byte order for keys and names on PostgreSQL, whatever the database's locale (SQLite's BINARY). */
  readonly #binary: string;
  /** `row_key IN` a JSON array of keys bound as one parameter (PostgreSQL only; SQLite deletes key by key). */
  readonly #keysIn = 'row_key IN (SELECT value FROM json_array_elements_text(CAST(? AS json)))';

  constructor(readonly db: SqlDb) {
    this.#binary = db.dialect === 'postgres' ? ' COLLATE "C"' : '';
  }

  /**
   * Runs `work` atomically (all of it or none) and resolves with its result: inside the stream batch's transaction it
   * joins that one (`atomic`), outside it opens its own. On SQLite a transaction outside waits for any open one, so
   * transactions never interleave; on PostgreSQL each runs on its own connection and sees the other's rows only once
   * committed. On SQLite every call answers without I/O waits, so the work's awaits only yield to promise callbacks
   * already queued, never to timers, sockets or requests; the ingest awaits nothing else inside
   * (docs/0002-inventory.md, "Async store").
   */
  async transaction<T>(work: (tx: InventoryStore) => Promise<T>): Promise<T> {
    return this.db.atomic(() => work(this));
  }

  async agentDevice(agentId: string): Promise<{ deviceId: string; lastSeq: number } | undefined> {
    return this.db.get<{ deviceId: string; lastSeq: number }>(
      'SELECT device_id AS "deviceId", last_seq AS "lastSeq" FROM inv_agents WHERE agent_id = ?',
      [agentId],
    );
  }

  async agentsOfDevice(deviceId: string): Promise<string[]> {
    const rows = await this.db.all<{ a: string }>(
      `SELECT agent_id AS a FROM inv_agents WHERE device_id = ? ORDER BY mapped_at, agent_id${this.#binary}`,
      [deviceId],
    );
    return rows.map((r) => r.a);
  }

  async mapAgent(agentId: string, deviceId: string, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO inv_agents (agent_id, device_id, mapped_at) VALUES (?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET device_id = excluded.device_id, mapped_at = excluded.mapped_at`,
      [agentId, deviceId, now],
    );
  }

  async setLastSeq(agentId: string, seq: number): Promise<void> {
    await this.db.run(
      'UPDATE inv_agents SET last_seq = CASE WHEN last_seq > ? THEN last_seq ELSE ? END WHERE agent_id = ?',
      [seq, seq, agentId],
    );
  }

  async device(id: string): Promise<DeviceRecord | undefined> {
    const r = await this.db.get<DeviceRow>('SELECT * FROM inv_devices WHERE id = ?', [id]);
    return r && toDevice(r);
  }

  async devices(filter: {
    clientIds?: readonly string[] | undefined;
    siteId?: string | undefined;
  }): Promise<DeviceRecord[]> {
    const rows = await this.db.all<DeviceRow>(
      `SELECT * FROM inv_devices ORDER BY hostname${this.#binary}, id${this.#binary}`,
    );
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
    const rows = await this.db.all<DeviceRow>(
      `SELECT * FROM inv_devices WHERE (serial <> '' AND serial = ?) OR (hw_uuid <> '' AND hw_uuid = ?)`,
      [serial, uuid],
    );
    return rows.map(toDevice);
  }

  async insertDevice(d: DeviceRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO inv_devices (client_id, site_id, current_agent_id, hostname, manufacturer, model, serial, hw_uuid,
         machine_id, macs, virtual, bios_date, last_report, id, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [...deviceParams(d), d.firstSeen],
    );
  }

  async updateDevice(d: DeviceRecord): Promise<void> {
    await this.db.run(
      `UPDATE inv_devices SET client_id = ?, site_id = ?, current_agent_id = ?, hostname = ?, manufacturer = ?,
         model = ?, serial = ?, hw_uuid = ?, machine_id = ?, macs = ?, virtual = ?, bios_date = ?, last_report = ?
       WHERE id = ?`,
      deviceParams(d),
    );
  }

  async rows(deviceId: string, probe: ProbeName): Promise<StoredRow[]> {
    const rows = await this.db.all<{ key: string; data: string; firstSeen: number; updatedAt: number }>(
      `SELECT row_key AS key, data, first_seen AS "firstSeen", updated_at AS "updatedAt" FROM inv_rows
       WHERE device_id = ? AND probe = ? ORDER BY row_key${this.#binary}`,
      [deviceId, probe],
    );
    return rows.map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /** Every row of a probe across devices (fleet queries). */
  async rowsOfProbe(probe: ProbeName): Promise<(StoredRow & { deviceId: string })[]> {
    const rows = await this.db.all<{
      deviceId: string;
      key: string;
      data: string;
      firstSeen: number;
      updatedAt: number;
    }>(
      `SELECT device_id AS "deviceId", row_key AS key, data, first_seen AS "firstSeen", updated_at AS "updatedAt"
       FROM inv_rows WHERE probe = ?`,
      [probe],
    );
    return rows.map((r) => ({ ...r, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  /**
   * Inserts or replaces rows of one probe on a device (data as JSON text); `first_seen` stays as first written. Keys
   * are unique within a call (PostgreSQL refuses a multi-row upsert that touches one row twice).
   */
  async upsertRows(
    deviceId: string,
    probe: ProbeName,
    rows: readonly { key: string; data: string }[],
    now: number,
  ): Promise<void> {
    const last = new Map(rows.map((r) => [r.key, r.data]));
    await this.db.runMany(
      `INSERT INTO inv_rows (device_id, probe, row_key, data, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, probe, row_key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
      [...last].map(([key, data]) => [deviceId, probe, key, data, now, now]),
    );
  }

  /** Deletes rows of one probe on a device by key (one statement on PostgreSQL, one cached statement per key on SQLite). */
  async deleteRows(deviceId: string, probe: ProbeName, keys: readonly string[]): Promise<void> {
    if (!keys.length) return;
    if (this.db.dialect === 'postgres') {
      await this.db.run(`DELETE FROM inv_rows WHERE device_id = ? AND probe = ? AND ${this.#keysIn}`, [
        deviceId,
        probe,
        JSON.stringify(keys),
      ]);
      return;
    }
    await this.db.atomic(async () => {
      for (const k of keys)
        await this.db.run('DELETE FROM inv_rows WHERE device_id = ? AND probe = ? AND row_key = ?', [
          deviceId,
          probe,
          k,
        ]);
    });
  }

  async probes(deviceId: string): Promise<ProbeStatus[]> {
    const rows = await this.db.all<Omit<ProbeStatus, 'stale'> & { stale: number }>(
      `SELECT probe, hash, collected_at AS "collectedAt", updated_at AS "updatedAt", stale, error_code AS "errorCode",
         error_message AS "errorMessage" FROM inv_probes WHERE device_id = ? ORDER BY probe${this.#binary}`,
      [deviceId],
    );
    return rows.map((r) => ({ ...r, stale: r.stale === 1 }));
  }

  async probe(deviceId: string, probe: ProbeName): Promise<ProbeStatus | undefined> {
    return (await this.probes(deviceId)).find((p) => p.probe === probe);
  }

  async setProbe(deviceId: string, s: ProbeStatus): Promise<void> {
    await this.db.run(
      `INSERT INTO inv_probes (device_id, probe, hash, collected_at, updated_at, stale, error_code, error_message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, probe) DO UPDATE SET hash = excluded.hash, collected_at = excluded.collected_at,
         updated_at = excluded.updated_at, stale = excluded.stale, error_code = excluded.error_code,
         error_message = excluded.error_message`,
      [deviceId, s.probe, s.hash, s.collectedAt, s.updatedAt, s.stale ? 1 : 0, s.errorCode, s.errorMessage],
    );
  }

  async insertChanges(deviceId: string, agentId: string, time: number, changes: NewChange[]): Promise<void> {
    if (!changes.length) return;
    await this.db.runMany(
      'INSERT INTO inv_changes (device_id, agent_id, time, kind, probe, subject, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      changes.map((c) => [
        deviceId,
        agentId,
        time,
        c.kind,
        c.probe,
        c.subject,
        c.before === undefined ? null : JSON.stringify(c.before),
        c.after === undefined ? null : JSON.stringify(c.after),
      ]),
    );
  }

  async changes(q: {
    deviceId?: string;
    agentId?: string;
    fromMs: number;
    toMs: number;
    limit: number;
  }): Promise<ChangeRecord[]> {
    const device = q.deviceId ?? null;
    const agent = q.agentId ?? null;
    // CAST: PostgreSQL must know a parameter's type, and `? IS NULL` alone does not say it.
    const rows = await this.db.all<ChangeRecord & { before: string | null; after: string | null }>(
      `SELECT id, device_id AS "deviceId", agent_id AS "agentId", time, kind, probe, subject, before, after
       FROM inv_changes
       WHERE (CAST(? AS TEXT) IS NULL OR device_id = ?) AND (CAST(? AS TEXT) IS NULL OR agent_id = ?) AND time >= ?
         AND time <= ? ORDER BY time DESC, id DESC LIMIT ?`,
      [device, device, agent, agent, q.fromMs, q.toMs, q.limit],
    );
    return rows.map((r) => ({
      ...r,
      before: r.before === null ? null : (JSON.parse(r.before) as unknown),
      after: r.after === null ? null : (JSON.parse(r.after) as unknown),
    }));
  }

  /** Moves an agent's history and rows to another device (a clone split). */
  async moveAgentData(agentId: string, from: string, to: string): Promise<void> {
    await this.db.atomic(async () => {
      await this.db.run('UPDATE inv_changes SET device_id = ? WHERE agent_id = ? AND device_id = ?', [
        to,
        agentId,
        from,
      ]);
      await this.db.run('UPDATE inv_rows SET device_id = ? WHERE device_id = ?', [to, from]);
      await this.db.run('UPDATE inv_probes SET device_id = ? WHERE device_id = ?', [to, from]);
    });
  }

  /**
   * Keeps one part of a multi-part set until its last part arrives. An agent sends a set's parts within seconds, so
   * parts older than STAGING_TTL_MS belong to sets that will never complete (the agent reinstalled, or a peer that
   * sends part 1 of endless sets): they are dropped here — this agent's at once, every agent's every 10 minutes —
   * so staging cannot grow the database without bound. A set that loses parts this way fails its wholeness check
   * and the agent is asked for a full snapshot.
   */
  async stage(agentId: string, setId: string, part: number, body: string, now: number): Promise<void> {
    await this.db.atomic(async () => {
      await this.db.run('DELETE FROM inv_staging WHERE agent_id = ? AND received_at < ?', [
        agentId,
        now - STAGING_TTL_MS,
      ]);
      if (now - this.#stagingSweptAt >= 10 * 60_000) {
        this.#stagingSweptAt = now;
        await this.db.run('DELETE FROM inv_staging WHERE received_at < ?', [now - STAGING_TTL_MS]);
      }
      await this.db.run(
        `INSERT INTO inv_staging (agent_id, set_id, part, body, received_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (agent_id, set_id, part) DO UPDATE SET body = excluded.body, received_at = excluded.received_at`,
        [agentId, setId, part, body, now],
      );
    });
  }

  async staged(agentId: string, setId: string): Promise<string[]> {
    const rows = await this.db.all<{ body: string }>(
      'SELECT body FROM inv_staging WHERE agent_id = ? AND set_id = ? ORDER BY part',
      [agentId, setId],
    );
    return rows.map((r) => r.body);
  }

  async unstage(agentId: string, setId: string): Promise<void> {
    await this.db.run('DELETE FROM inv_staging WHERE agent_id = ? AND set_id = ?', [agentId, setId]);
  }

  async noteShared(kind: 'serial' | 'uuid', value: string, now: number): Promise<void> {
    await this.db.run('INSERT INTO inv_shared_ids (kind, value, noted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
      kind,
      value,
      now,
    ]);
  }

  async isShared(kind: 'serial' | 'uuid', value: string): Promise<boolean> {
    return (
      (await this.db.get<{ n: number }>('SELECT 1 AS n FROM inv_shared_ids WHERE kind = ? AND value = ?', [
        kind,
        value,
      ])) !== undefined
    );
  }
}

/** A device's fields in the order the update binds them (the insert adds `first_seen` last). */
function deviceParams(d: DeviceRecord): SqlParam[] {
  return [
    d.clientId,
    d.siteId,
    d.currentAgentId,
    d.hostname,
    d.manufacturer,
    d.model,
    d.serial,
    d.hwUuid,
    d.machineId,
    JSON.stringify(d.macs),
    d.virtual ? 1 : 0,
    d.biosDate,
    d.lastReport,
    d.id,
  ];
}
