/** All SQL of the tenants concern: clients and their sites. */
import { type Db, type Migration, prepared } from '../db/index.js';

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

/** Store functions of the tenants concern. */
export class TenantsStore {
  constructor(private readonly db: Db) {}

  async insertClient(c: Client): Promise<void> {
    prepared(this.db, 'INSERT INTO clients (id, name, created_at) VALUES (?, ?, ?)').run(c.id, c.name, c.createdAt);
  }

  async clientByName(name: string): Promise<Client | undefined> {
    return prepared<[string], Client>(
      this.db,
      'SELECT id, name, created_at AS createdAt FROM clients WHERE name = ?',
    ).get(name);
  }

  async client(id: string): Promise<Client | undefined> {
    return prepared<[string], Client>(
      this.db,
      'SELECT id, name, created_at AS createdAt FROM clients WHERE id = ?',
    ).get(id);
  }

  async listClients(ids?: readonly string[]): Promise<Client[]> {
    if (ids) {
      return prepared<[string], Client>(
        this.db,
        'SELECT id, name, created_at AS createdAt FROM clients WHERE id IN (SELECT value FROM json_each(?)) ORDER BY name',
      ).all(JSON.stringify(ids));
    }
    return prepared<[], Client>(this.db, 'SELECT id, name, created_at AS createdAt FROM clients ORDER BY name').all();
  }

  async insertSite(s: Site): Promise<void> {
    prepared(this.db, 'INSERT INTO sites (id, client_id, name, timezone, created_at) VALUES (?, ?, ?, ?, ?)').run(
      s.id,
      s.clientId,
      s.name,
      s.timezone,
      s.createdAt,
    );
  }

  async site(id: string): Promise<Site | undefined> {
    return prepared<[string], Site>(
      this.db,
      'SELECT id, client_id AS clientId, name, timezone, created_at AS createdAt FROM sites WHERE id = ?',
    ).get(id);
  }

  async siteByName(clientId: string, name: string): Promise<Site | undefined> {
    return prepared<[string, string], Site>(
      this.db,
      'SELECT id, client_id AS clientId, name, timezone, created_at AS createdAt FROM sites WHERE client_id = ? AND name = ?',
    ).get(clientId, name);
  }

  async listSites(clientId: string): Promise<Site[]> {
    return prepared<[string], Site>(
      this.db,
      'SELECT id, client_id AS clientId, name, timezone, created_at AS createdAt FROM sites WHERE client_id = ? ORDER BY name',
    ).all(clientId);
  }
}
