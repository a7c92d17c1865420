/** The agents concern's tables and their history: enrolled agents (public keys only), enrollment tokens (hashes only). */
import type { Migration } from '../db/index.js';

/** The agents concern's schema. */
export const agentsMigrations: Migration[] = [
  {
    id: '0004_agents',
    concern: 'agents',
    sql: `
      CREATE TABLE enrollment_tokens (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        max_uses INTEGER NOT NULL CHECK (max_uses > 0),
        uses INTEGER NOT NULL DEFAULT 0,
        revoked_at INTEGER
      );
      CREATE INDEX enrollment_tokens_site ON enrollment_tokens (site_id);
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        public_key TEXT NOT NULL UNIQUE,
        hostname TEXT NOT NULL,
        os_platform TEXT NOT NULL,
        os_distro TEXT NOT NULL,
        os_release TEXT NOT NULL,
        kernel TEXT NOT NULL,
        arch TEXT NOT NULL,
        cpu_model TEXT NOT NULL,
        cpu_cores INTEGER NOT NULL,
        memory_bytes INTEGER NOT NULL,
        agent_version TEXT NOT NULL,
        protocol_version INTEGER NOT NULL,
        enrolled_at INTEGER NOT NULL,
        enrollment_token_id TEXT NOT NULL,
        last_seen_at INTEGER,
        last_ip TEXT,
        revoked_at INTEGER,
        revoked_by TEXT
      );
      CREATE INDEX agents_client_site ON agents (client_id, site_id);
    `,
  },
  {
    // The console's fleet table pages through thousands of agents sorted by these columns.
    id: '0004_agents_fleet_indexes',
    concern: 'agents',
    sql: `
      CREATE INDEX agents_hostname ON agents (hostname, id);
      CREATE INDEX agents_last_seen ON agents (last_seen_at, id);
      CREATE INDEX agents_os ON agents (os_platform, os_distro);
    `,
  },
  {
    // Tags (issue 15): short labels admins put on machines so jobs and rollouts can name a group (`ring-test`,
    // `kiosk`). One row per (agent, tag); the second index answers "which agents have tag X" for targets.
    id: '0007_agent_tags',
    concern: 'agents',
    sql: `
      CREATE TABLE agent_tags (
        agent_id TEXT NOT NULL REFERENCES agents (id),
        tag TEXT NOT NULL,
        added_at INTEGER NOT NULL,
        added_by TEXT NOT NULL,
        PRIMARY KEY (agent_id, tag)
      ) WITHOUT ROWID;
      CREATE INDEX agent_tags_tag ON agent_tags (tag, agent_id);
    `,
  },
  {
    // Naming a machine (`label`) counts the client's agents with its hostname in any case, once per incident, notice
    // and absence. Without this index each count scanned the client's agents: 15,000 machines going absent at once
    // stalled the collector for minutes (docs/bench/agents.md).
    id: '0008_agents_client_hostname',
    concern: 'agents',
    sql: 'CREATE INDEX agents_client_hostname ON agents (client_id, hostname COLLATE NOCASE);',
  },
];
