/** The incidents concern's schema: tickets, the machines they concern, their timelines and notices. */
import type { Migration } from '../db/index.js';

export const incidentsMigrations: Migration[] = [
  {
    id: '0310_incidents',
    concern: 'incidents',
    sql: `
      CREATE TABLE incidents (
        id TEXT PRIMARY KEY, client_id TEXT NOT NULL, site_id TEXT NOT NULL, dedup_key TEXT, source TEXT NOT NULL,
        rule TEXT NOT NULL, type TEXT NOT NULL, title TEXT NOT NULL, explanation TEXT NOT NULL, context TEXT,
        criticality TEXT NOT NULL CHECK (criticality IN ('P1','P2','P3','P4')), impact INTEGER, urgency INTEGER,
        tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 3),
        status TEXT NOT NULL CHECK (status IN ('open','acknowledged','resolved','closed')),
        failure_time INTEGER NOT NULL, detected_at INTEGER NOT NULL, acknowledged_at INTEGER, resolved_at INTEGER,
        closed_at INTEGER, resolution_ms INTEGER, assignee TEXT, escalation_level INTEGER NOT NULL DEFAULT 0,
        paused INTEGER NOT NULL DEFAULT 0, clear_since INTEGER, reopen_count INTEGER NOT NULL DEFAULT 0,
        resolution_note TEXT, resolution_category TEXT, created_by TEXT NOT NULL, updated_at INTEGER NOT NULL,
        sla TEXT, next_sla_at INTEGER, breached INTEGER NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX incidents_open_key ON incidents (dedup_key) WHERE status IN ('open','acknowledged');
      CREATE INDEX incidents_key_resolved ON incidents (dedup_key, resolved_at);
      CREATE INDEX incidents_queue ON incidents (status, tier, criticality);
      CREATE INDEX incidents_client_time ON incidents (client_id, detected_at);
      CREATE INDEX incidents_next_sla ON incidents (next_sla_at) WHERE next_sla_at IS NOT NULL;
      CREATE INDEX incidents_clear ON incidents (clear_since) WHERE clear_since IS NOT NULL;
      CREATE TABLE incident_agents (
        incident_id TEXT NOT NULL REFERENCES incidents (id), agent_id TEXT NOT NULL, PRIMARY KEY (incident_id, agent_id)
      );
      CREATE INDEX incident_agents_agent ON incident_agents (agent_id);
      CREATE TABLE incident_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL REFERENCES incidents (id), at INTEGER NOT NULL,
        kind TEXT NOT NULL, actor TEXT NOT NULL, data TEXT NOT NULL
      );
      CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
    `,
  },
  {
    // The notices a ticket change owes notifications, written in the ticket's own transaction (the handoff outbox).
    id: '0350_incident_notices',
    concern: 'incidents',
    sql: `
      CREATE TABLE incident_notices (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
        incident_id TEXT NOT NULL REFERENCES incidents (id), event TEXT NOT NULL, at INTEGER NOT NULL,
        incident TEXT NOT NULL, detail TEXT NOT NULL, handed_off_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL, last_error TEXT
      );
      CREATE INDEX incident_notices_pending ON incident_notices (seq) WHERE handed_off_at IS NULL;
    `,
  },
  {
    // Users' requests share the queue (docs/0014-requests.md): each ticket says how it reached the desk. Tickets
    // from before were detected, or opened by a technician.
    id: '0311_incident_requests',
    concern: 'incidents',
    sql: `
      ALTER TABLE incidents ADD COLUMN channel TEXT NOT NULL DEFAULT 'detection';
      UPDATE incidents SET channel = 'technician' WHERE source = 'manual';
      CREATE INDEX incidents_client_channel ON incidents (client_id, channel, detected_at);
    `,
  },
];

/** A notice waiting in (or handed off from) the incidents concern's handoff table. */
