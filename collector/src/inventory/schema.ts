/** The inventory concern's tables: devices and their agents, current rows per probe, change history, staged parts. */
import type { Migration } from '../db/index.js';

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
