/**
 * All SQL of the leases concern: one row per named piece of once-only work, saying which node holds it, until when,
 * and under which fencing epoch. SQLite or PostgreSQL. Every instant is the database's clock, never the node's: two
 * nodes whose clocks disagree still agree on whether a lease has expired, because only the database decides.
 */
import type { Migration, SqlDb } from '../db/index.js';

/** The leases concern's schema. Times are milliseconds since the epoch by the database's clock. */
export const leasesMigrations: Migration[] = [
  {
    id: '0800_leases',
    concern: 'leases',
    sql: `
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        acquired_at INTEGER NOT NULL,
        renewed_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
];

/** A lease as its holder knows it: the epoch fences its work, `expiresAt` is by the database's clock. */
export interface LeaseGrant {
  name: string;
  holder: string;
  epoch: number;
  expiresAt: number;
}

/** A lease row as an operator (or a test) reads it, with the database's time of the reading. */
export interface LeaseRow extends LeaseGrant {
  acquiredAt: number;
  renewedAt: number;
  /** The database's clock when the row was read: `expiresAt <= now` means anyone may take it. */
  now: number;
}

/** The database's clock in milliseconds: `clock_timestamp()` on PostgreSQL, not `now()` (fixed per transaction). */
function nowMs(db: SqlDb): string {
  return db.dialect === 'postgres'
    ? '(extract(epoch from clock_timestamp()) * 1000)::bigint'
    : "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
}

/**
 * Taken when free, expired, or held by the same node (a node restarting under its stable id need not wait out its own
 * lease); every take increments the epoch. On PostgreSQL two nodes racing for one name serialise on its row (or on
 * its unique key when the row does not exist yet) and the loser's WHERE, evaluated again on the winner's row, fails.
 */
const acquireSql = (now: string) => `
  INSERT INTO leases (name, holder, epoch, acquired_at, renewed_at, expires_at)
  VALUES (?, ?, 1, ${now}, ${now}, ${now} + ?)
  ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    epoch = leases.epoch + 1,
    acquired_at = excluded.acquired_at,
    renewed_at = excluded.renewed_at,
    expires_at = excluded.expires_at
  WHERE leases.expires_at <= excluded.acquired_at OR leases.holder = excluded.holder
  RETURNING name, holder, epoch, expires_at AS "expiresAt"`;

/** Renewed only by its holder under the same epoch, and only while not expired: a late renewal is a lost lease. */
const renewSql = (now: string) => `
  UPDATE leases SET renewed_at = ${now}, expires_at = ${now} + ?
  WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > ${now}
  RETURNING name, holder, epoch, expires_at AS "expiresAt"`;

/** Store functions of the leases concern. */
export class LeaseStore {
  readonly #acquire: string;
  readonly #renew: string;
  readonly #release: string;
  readonly #holds: string;
  readonly #list: string;

  constructor(private readonly db: SqlDb) {
    const now = nowMs(db);
    this.#acquire = acquireSql(now);
    this.#renew = renewSql(now);
    this.#release = `UPDATE leases SET expires_at = ${now} WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > ${now}`;
    // FOR SHARE on PostgreSQL: inside a transaction the row stays locked until commit, so a takeover (an UPDATE of the
    // row) waits for the fenced write to commit instead of slipping in between the check and the write.
    this.#holds = `SELECT epoch FROM leases WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > ${now}${
      db.dialect === 'postgres' ? ' FOR SHARE' : ''
    }`;
    this.#list = `SELECT name, holder, epoch, acquired_at AS "acquiredAt", renewed_at AS "renewedAt",
      expires_at AS "expiresAt", ${now} AS now FROM leases ORDER BY name`;
  }

  /** Takes the lease for `ttlMs` when it is free, expired or already this holder's; undefined when another holds it. */
  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    return this.db.get<LeaseGrant>(this.#acquire, [name, holder, ttlMs]);
  }

  /** Extends a held lease to `ttlMs` from now; undefined when it expired or was taken over (the holder lost it). */
  renew(lease: LeaseGrant, ttlMs: number): Promise<LeaseGrant | undefined> {
    return this.db.get<LeaseGrant>(this.#renew, [ttlMs, lease.name, lease.holder, lease.epoch]);
  }

  /** Lets the lease go at once (a clean stop), so another node need not wait for its expiry. True when it was held. */
  async release(lease: LeaseGrant): Promise<boolean> {
    return (await this.db.run(this.#release, [lease.name, lease.holder, lease.epoch])).changes === 1;
  }

  /**
   * The fencing check: true while `lease` is still held under its epoch and not expired. Called inside the
   * transaction of a write a stale holder must not make; on PostgreSQL it also keeps a takeover out until that
   * transaction ends.
   */
  async holds(lease: LeaseGrant): Promise<boolean> {
    return (await this.db.get(this.#holds, [lease.name, lease.holder, lease.epoch])) !== undefined;
  }

  /**
   * Runs `fn` in one transaction with the fencing check first: its writes commit only if `lease` was still held under
   * its epoch (on PostgreSQL the row stays share-locked until commit, so no takeover lands in between). False, and
   * `fn` not run, when the lease was lost.
   */
  fenced(lease: LeaseGrant, fn: () => Promise<void>): Promise<boolean> {
    return this.db.transaction(async () => {
      if (!(await this.holds(lease))) return false;
      await fn();
      return true;
    });
  }

  /** Every lease, by name, with the database's time of reading. */
  list(): Promise<LeaseRow[]> {
    return this.db.all<LeaseRow>(this.#list);
  }
}
