/**
 * All SQL of the users' self-service page (docs/0014-requests.md, "Self-service"): single-use sign-in links and user
 * sessions, both kept as SHA-256 hashes only (a copy of the database signs nobody in), and which tickets an e-mail
 * address may see. Kept apart from the technicians' tokens on purpose: a user session can never be mistaken for one.
 */
import type { Migration, SqlDb } from '../db/index.js';

/** The self-service schema (requests concern's range, 0710+). */
export const selfServiceMigrations: Migration[] = [
  {
    id: '0710_self_service',
    concern: 'requests',
    sql: `
      CREATE TABLE self_links (
        hash TEXT PRIMARY KEY, email TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX self_links_expiry ON self_links (expires_at);
      CREATE TABLE self_sessions (
        hash TEXT PRIMARY KEY, email TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );
      CREATE INDEX self_sessions_expiry ON self_sessions (expires_at);
    `,
  },
];

/** Store functions of the self-service page (async, like every store). */
export class SelfServiceStore {
  constructor(private readonly db: SqlDb) {}

  /** True when the address names a requester of the directory or the sender of a request (lower-cased). */
  async knows(email: string): Promise<boolean> {
    const row = await this.db.get<{ one: number }>(
      `SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM requesters WHERE email = ?)
         OR EXISTS (SELECT 1 FROM requests WHERE lower(requester_contact) = ?)`,
      [email, email],
    );
    return row !== undefined;
  }

  /**
   * The tickets of the person behind this address, newest first: requests whose record names a directory entry with
   * this e-mail, or this e-mail as the contact given.
   */
  async ticketsOf(email: string, limit: number): Promise<string[]> {
    const rows = await this.db.all<{ incident_id: string }>(
      `SELECT incident_id FROM requests
       WHERE requester_id IN (SELECT id FROM requesters WHERE email = ?) OR lower(requester_contact) = ?
       ORDER BY created_at DESC, incident_id LIMIT ?`,
      [email, email, limit],
    );
    return rows.map((r) => r.incident_id);
  }

  async addLink(hash: string, email: string, now: number, expiresAt: number): Promise<void> {
    await this.db.run('INSERT INTO self_links (hash, email, created_at, expires_at) VALUES (?, ?, ?, ?)', [
      hash,
      email,
      now,
      expiresAt,
    ]);
  }

  /**
   * Marks the link used and returns its address, or undefined when it is unknown, used or expired. One statement:
   * of two nodes taking the same link at once, one gets the address (the row lock decides on PostgreSQL).
   */
  async takeLink(hash: string, now: number): Promise<string | undefined> {
    const row = await this.db.get<{ email: string }>(
      'UPDATE self_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING email',
      [now, hash, now],
    );
    return row?.email;
  }

  async addSession(hash: string, email: string, now: number, expiresAt: number): Promise<void> {
    await this.db.run('INSERT INTO self_sessions (hash, email, created_at, expires_at) VALUES (?, ?, ?, ?)', [
      hash,
      email,
      now,
      expiresAt,
    ]);
  }

  /** The address of a live session, or undefined. */
  async session(hash: string, now: number): Promise<string | undefined> {
    const row = await this.db.get<{ email: string }>(
      'SELECT email FROM self_sessions WHERE hash = ? AND expires_at > ?',
      [hash, now],
    );
    return row?.email;
  }

  async endSession(hash: string): Promise<void> {
    await this.db.run('DELETE FROM self_sessions WHERE hash = ?', [hash]);
  }

  /** Forgets links and sessions past their expiry (called when a new link is asked for: no timer of its own). */
  async sweep(now: number): Promise<void> {
    await this.db.run('DELETE FROM self_links WHERE expires_at <= ?', [now]);
    await this.db.run('DELETE FROM self_sessions WHERE expires_at <= ?', [now]);
  }
}
