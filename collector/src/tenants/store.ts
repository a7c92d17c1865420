/** All SQL of the tenants concern: clients and their sites. SQLite or PostgreSQL. */
import type { Dialect, Migration, SqlDb } from '../db/index.js';

/** The tenants concern's schema. */
export const tenantsMigrations: Migration[] = [
  {
    id: '0003_tenants',
    concern: 'tenants',
    sql: `
      CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, created_at INTEGER NOT NULL);
      CREATE TABLE sites (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients (id),
        name TEXT NOT NULL COLLATE NOCASE,
        timezone TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (client_id, name)
      );
    `,
  },
];

/** A client (a customer of the MSP, or a department). */
export interface Client {
  id: string;
  name: string;
  createdAt: number;
}

/** A site of a client (an office, a plant, a data centre). */
export interface Site {
  id: string;
  clientId: string;
  name: string;
  timezone: string;
  createdAt: number;
}

const CLIENT_COLS = 'id, name, created_at AS "createdAt"';
const SITE_COLS = 'id, client_id AS "clientId", name, timezone, created_at AS "createdAt"';

// One statement text whatever the number of ids (one cached statement, not one per list length): the ids travel as
// one JSON array, unpacked by each engine's own function.
const JSON_IDS: Record<Dialect, string> = {
  sqlite: 'SELECT value FROM json_each(?)',
  postgres: 'SELECT jsonb_array_elements_text(?::jsonb)',
};

/** Store functions of the tenants concern. */
export class TenantsStore {
  constructor(private readonly db: SqlDb) {}

  /**
   * Stores a client; false when the name (any case) or id is taken. The unique index decides, not an earlier read:
   * two nodes creating the same name at once store one.
   */
  async insertClient(c: Client): Promise<boolean> {
    const r = await this.db.run('INSERT INTO clients (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
      c.id,
      c.name,
      c.createdAt,
    ]);
    return r.changes === 1;
  }

  async clientByName(name: string): Promise<Client | undefined> {
    return this.db.get<Client>(`SELECT ${CLIENT_COLS} FROM clients WHERE name = ?`, [name]);
  }

  async client(id: string): Promise<Client | undefined> {
    return this.db.get<Client>(`SELECT ${CLIENT_COLS} FROM clients WHERE id = ?`, [id]);
  }

  async listClients(ids?: readonly string[]): Promise<Client[]> {
    if (ids) {
      return this.db.all<Client>(
        `SELECT ${CLIENT_COLS} FROM clients WHERE id IN (${JSON_IDS[this.db.dialect]}) ORDER BY name, id`,
        [JSON.stringify(ids)],
      );
    }
    return this.db.all<Client>(`SELECT ${CLIENT_COLS} FROM clients ORDER BY name, id`);
  }

  /** Stores a site; false when its client already has a site of that name (any case) or the id is taken. */
  async insertSite(s: Site): Promise<boolean> {
    const r = await this.db.run(
      'INSERT INTO sites (id, client_id, name, timezone, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [s.id, s.clientId, s.name, s.timezone, s.createdAt],
    );
    return r.changes === 1;
  }

  async site(id: string): Promise<Site | undefined> {
    return this.db.get<Site>(`SELECT ${SITE_COLS} FROM sites WHERE id = ?`, [id]);
  }

  async siteByName(clientId: string, name: string): Promise<Site | undefined> {
    return this.db.get<Site>(`SELECT ${SITE_COLS} FROM sites WHERE client_id = ? AND name = ?`, [clientId, name]);
  }

  async listSites(clientId: string): Promise<Site[]> {
    return this.db.all<Site>(`SELECT ${SITE_COLS} FROM sites WHERE client_id = ? ORDER BY name, id`, [clientId]);
  }
}
