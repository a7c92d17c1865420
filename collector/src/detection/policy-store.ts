/**
 * All SQL of detection's own table: the policies added through the API (`/api/v1/detection/policies`), one per scope
 * (collector default, a client, a site), kept as the document that was submitted. docs/0003-detection.md, "Policies
 * in the database". The table is declared with detection's schema in store.ts.
 */
import type { SqlDb } from '../db/index.js';

/** One stored policy: where it applies, the submitted document (JSON text), who wrote it and when. */
export interface StoredPolicy {
  id: string;
  /** `default`, `client:<id>` or `site:<id>`. */
  scope: string;
  /** The client that owns it (for a site policy, the site's client); null for the collector default. */
  clientId: string | null;
  siteId: string | null;
  document: string;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
}

const COLUMNS = `id, scope, client_id AS "clientId", site_id AS "siteId", document, created_at AS "createdAt",
  created_by AS "createdBy", updated_at AS "updatedAt", updated_by AS "updatedBy"`;

/** Store functions of the stored policies, on SQLite or PostgreSQL. */
export class PolicyStore {
  constructor(private readonly db: SqlDb) {}

  /** Every stored policy, oldest first. */
  list(): Promise<StoredPolicy[]> {
    return this.db.all<StoredPolicy>(`SELECT ${COLUMNS} FROM detection_policies ORDER BY created_at, id`);
  }

  /** Inserts a policy; false when its scope (or id) already has one — whichever writer came second, on any node. */
  async insert(p: StoredPolicy): Promise<boolean> {
    const r = await this.db.run(
      `INSERT INTO detection_policies
         (id, scope, client_id, site_id, document, created_at, created_by, updated_at, updated_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [p.id, p.scope, p.clientId, p.siteId, p.document, p.createdAt, p.createdBy, p.updatedAt, p.updatedBy],
    );
    return r.changes === 1;
  }

  /** Replaces a policy's document; false when it is gone. */
  async update(id: string, document: string, at: number, by: string): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE detection_policies SET document = ?, updated_at = ?, updated_by = ? WHERE id = ?',
      [document, at, by, id],
    );
    return r.changes === 1;
  }

  /** Deletes a policy; false when it was not there. */
  async remove(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM detection_policies WHERE id = ?', [id])).changes === 1;
  }
}
