/** All SQL of the auth concern: users, their role bindings, console sessions and API tokens. */
import type { Migration, SqlDb } from '../db/index.js';
import { inJsonList, jsonList } from '../db/json-list.js';
import type { Role, RoleBinding } from './permissions.js';

/** The auth concern's schema. */
export const authMigrations: Migration[] = [
  {
    id: '0002_auth',
    concern: 'auth',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        totp_secret TEXT,
        totp_enabled INTEGER NOT NULL DEFAULT 0,
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER
      );
      CREATE TABLE user_roles (
        user_id TEXT NOT NULL REFERENCES users (id),
        client_id TEXT,
        role TEXT NOT NULL,
        UNIQUE (user_id, client_id, role)
      );
      CREATE TABLE auth_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id),
        kind TEXT NOT NULL CHECK (kind IN ('session', 'api_token')),
        name TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX auth_tokens_user ON auth_tokens (user_id);
    `,
  },
  {
    // Issue 17: a TOTP secret being set up waits beside the active one (setting up no longer switches the factor
    // off), and failed logins are counted per source and per account in a table, so throttling survives a restart.
    id: '0002_auth_hardening',
    concern: 'auth',
    sql: `
      ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
      UPDATE users SET totp_pending_secret = totp_secret, totp_secret = NULL
        WHERE totp_enabled = 0 AND totp_secret IS NOT NULL;
      CREATE TABLE auth_throttle (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at INTEGER NOT NULL,
        blocked_until INTEGER NOT NULL
      );
      CREATE INDEX auth_throttle_last ON auth_throttle (last_failure_at);
    `,
  },
];

/** A user as the auth concern sees it (with secrets: never returned by a route). */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  totpSecret: string | null;
  totpEnabled: boolean;
  /** A secret from `totp/setup` not yet confirmed: it replaces `totpSecret` only when a code from it is shown. */
  totpPendingSecret: string | null;
  totpLastStep: number;
  createdAt: number;
  disabledAt: number | null;
  bindings: RoleBinding[];
}

/** Failed attempts counted under one key (`source:<ip>` or `account:<e-mail>`). */
export interface ThrottleRecord {
  key: string;
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

/** A session or API token row (its hash only). */
export interface TokenRecord {
  id: string;
  userId: string;
  kind: 'session' | 'api_token';
  name: string;
  hash: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  totp_secret: string | null;
  totp_enabled: number;
  totp_pending_secret: string | null;
  totp_last_step: number;
  created_at: number;
  disabled_at: number | null;
}
interface TokenRow {
  id: string;
  user_id: string;
  kind: 'session' | 'api_token';
  name: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id,
  userId: r.user_id,
  kind: r.kind,
  name: r.name,
  hash: r.hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

// A global binding (no client) sorts first on both engines: PostgreSQL puts NULL last unless told.
const BINDINGS_ORDER = 'ORDER BY client_id NULLS FIRST, role';
const INSERT_BINDING = 'INSERT INTO user_roles (user_id, client_id, role) VALUES (?, ?, ?)';

/** Store functions of the auth concern, on SQLite or PostgreSQL. */
export class AuthStore {
  constructor(private readonly db: SqlDb) {}

  async #bindings(userId: string): Promise<RoleBinding[]> {
    const rows = await this.db.all<{ client_id: string | null; role: Role }>(
      `SELECT client_id, role FROM user_roles WHERE user_id = ? ${BINDINGS_ORDER}`,
      [userId],
    );
    return rows.map((r) => ({ clientId: r.client_id, role: r.role }));
  }

  #user(row: UserRow, bindings: RoleBinding[]): UserRecord {
    return {
      id: row.id,
      email: row.email,
      name: row.name,
      passwordHash: row.password_hash,
      totpSecret: row.totp_secret,
      totpEnabled: row.totp_enabled === 1,
      totpPendingSecret: row.totp_pending_secret,
      totpLastStep: row.totp_last_step,
      createdAt: row.created_at,
      disabledAt: row.disabled_at,
      bindings,
    };
  }

  async #one(row: UserRow | undefined): Promise<UserRecord | undefined> {
    return row && this.#user(row, await this.#bindings(row.id));
  }

  async countUsers(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM users'))?.n ?? 0;
  }

  async userById(id: string): Promise<UserRecord | undefined> {
    return this.#one(await this.db.get<UserRow>('SELECT * FROM users WHERE id = ?', [id]));
  }

  /** The user of this e-mail address in any case (the column is NOCASE on both engines). */
  async userByEmail(email: string): Promise<UserRecord | undefined> {
    return this.#one(await this.db.get<UserRow>('SELECT * FROM users WHERE email = ?', [email]));
  }

  /** Users holding at least one binding on one of `clientIds` (all users when undefined), with their bindings. */
  async listUsers(clientIds?: readonly string[]): Promise<UserRecord[]> {
    const d = this.db.dialect;
    const rows = clientIds
      ? await this.db.all<UserRow>(
          `SELECT * FROM users WHERE id IN (SELECT user_id FROM user_roles WHERE ${inJsonList(d, 'client_id')}) ORDER BY email`,
          [jsonList(clientIds)],
        )
      : await this.db.all<UserRow>('SELECT * FROM users ORDER BY email');
    if (rows.length === 0) return [];
    // Every listed user's bindings in one query, not one per user (a round trip each on PostgreSQL).
    const bindings = await this.db.all<{ user_id: string; client_id: string | null; role: Role }>(
      `SELECT user_id, client_id, role FROM user_roles WHERE ${inJsonList(d, 'user_id')} ${BINDINGS_ORDER}`,
      [jsonList(rows.map((r) => r.id))],
    );
    const byUser = new Map<string, RoleBinding[]>();
    for (const b of bindings) {
      const list = byUser.get(b.user_id) ?? [];
      list.push({ clientId: b.client_id, role: b.role });
      byUser.set(b.user_id, list);
    }
    return rows.map((r) => this.#user(r, byUser.get(r.id) ?? []));
  }

  async insertUser(
    u: Omit<UserRecord, 'totpSecret' | 'totpEnabled' | 'totpPendingSecret' | 'totpLastStep' | 'disabledAt'>,
  ): Promise<boolean> {
    return this.db.atomic(async () => {
      // Two admins creating one e-mail at once: the unique index picks one winner, the other learns it here.
      const r = await this.db.run(
        'INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [u.id, u.email, u.name, u.passwordHash, u.createdAt],
      );
      if (r.changes !== 1) return false;
      await this.db.runMany(
        INSERT_BINDING,
        u.bindings.map((b) => [u.id, b.clientId, b.role]),
      );
      return true;
    });
  }

  /** Replaces a user's role bindings, all at once (one transaction: never a moment with none). */
  async setBindings(userId: string, bindings: readonly RoleBinding[]): Promise<void> {
    await this.db.atomic(async () => {
      await this.db.run('DELETE FROM user_roles WHERE user_id = ?', [userId]);
      await this.db.runMany(
        INSERT_BINDING,
        bindings.map((b) => [userId, b.clientId, b.role]),
      );
    });
  }

  /** Sets the active TOTP secret (null: none) and clears any pending one. */
  async setTotp(userId: string, secret: string | null, enabled: boolean): Promise<void> {
    await this.db.run('UPDATE users SET totp_secret = ?, totp_enabled = ?, totp_pending_secret = NULL WHERE id = ?', [
      secret,
      enabled ? 1 : 0,
      userId,
    ]);
  }

  /** Keeps a secret being set up beside the active one, which stays in force until the new one is confirmed. */
  async setPendingTotp(userId: string, secret: string): Promise<void> {
    await this.db.run('UPDATE users SET totp_pending_secret = ? WHERE id = ?', [secret, userId]);
  }

  async setPassword(userId: string, passwordHash: string): Promise<void> {
    await this.db.run('UPDATE users SET password_hash = ? WHERE id = ?', [passwordHash, userId]);
  }

  async setEmail(userId: string, email: string): Promise<void> {
    await this.db.run('UPDATE users SET email = ? WHERE id = ?', [email, userId]);
  }

  /** Disables (a time) or enables (null) a user. */
  async setDisabled(userId: string, at: number | null): Promise<void> {
    await this.db.run('UPDATE users SET disabled_at = ? WHERE id = ?', [at, userId]);
  }

  /** Revokes every live session and API token of a user but `exceptId`; returns how many ended. */
  async revokeUserTokens(userId: string, time: number, exceptId?: string): Promise<number> {
    const r = await this.db.run(
      'UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS DISTINCT FROM ?',
      [time, userId, exceptId ?? null],
    );
    return r.changes;
  }

  async throttle(key: string): Promise<ThrottleRecord | undefined> {
    return this.db.get<ThrottleRecord>(
      'SELECT key, failures, last_failure_at AS "lastFailureAt", blocked_until AS "blockedUntil" FROM auth_throttle WHERE key = ?',
      [key],
    );
  }

  async putThrottle(t: ThrottleRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO auth_throttle (key, failures, last_failure_at, blocked_until) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
       blocked_until = excluded.blocked_until`,
      [t.key, t.failures, t.lastFailureAt, t.blockedUntil],
    );
  }

  async clearThrottle(key: string): Promise<void> {
    await this.db.run('DELETE FROM auth_throttle WHERE key = ?', [key]);
  }

  /** Forgets counters whose last failure is older than `before` (they would start over anyway). */
  async pruneThrottle(before: number): Promise<number> {
    return (await this.db.run('DELETE FROM auth_throttle WHERE last_failure_at < ?', [before])).changes;
  }

  /**
   * Records the TOTP step used so the same code cannot be replayed; false if it was already used. One conditional
   * UPDATE: of two logins with the same code (on two nodes too) exactly one changes the row.
   */
  async claimTotpStep(userId: string, step: number): Promise<boolean> {
    const r = await this.db.run('UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?', [
      step,
      userId,
      step,
    ]);
    return r.changes === 1;
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO auth_tokens (id, user_id, kind, name, hash, created_at, expires_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)',
      [t.id, t.userId, t.kind, t.name, t.hash, t.createdAt, t.expiresAt],
    );
  }

  async tokenById(id: string): Promise<TokenRecord | undefined> {
    const row = await this.db.get<TokenRow>('SELECT * FROM auth_tokens WHERE id = ?', [id]);
    return row && toToken(row);
  }

  async listTokens(userId: string, kind: TokenRecord['kind']): Promise<TokenRecord[]> {
    const rows = await this.db.all<TokenRow>(
      'SELECT * FROM auth_tokens WHERE user_id = ? AND kind = ? ORDER BY created_at DESC',
      [userId, kind],
    );
    return rows.map(toToken);
  }

  async touchToken(id: string, time: number): Promise<void> {
    await this.db.run('UPDATE auth_tokens SET last_used_at = ? WHERE id = ?', [time, id]);
  }

  async revokeToken(id: string, time: number): Promise<boolean> {
    return (
      (await this.db.run('UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [time, id]))
        .changes === 1
    );
  }
}
