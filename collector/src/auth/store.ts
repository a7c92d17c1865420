/** All SQL of the auth concern: users, their role bindings, console sessions and API tokens. */
import { type Db, type Migration, prepared } from '../db/index.js';
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
];

/** A user as the auth concern sees it (with secrets: never returned by a route). */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  totpSecret: string | null;
  totpEnabled: boolean;
  totpLastStep: number;
  createdAt: number;
  disabledAt: number | null;
  bindings: RoleBinding[];
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

/** Store functions of the auth concern; async at the boundary so another store can replace SQLite. */
export class AuthStore {
  constructor(private readonly db: Db) {}

  #bindings(userId: string): RoleBinding[] {
    return prepared<[string], { client_id: string | null; role: Role }>(
      this.db,
      'SELECT client_id, role FROM user_roles WHERE user_id = ? ORDER BY client_id, role',
    )
      .all(userId)
      .map((r) => ({ clientId: r.client_id, role: r.role }));
  }

  #user(row: UserRow | undefined): UserRecord | undefined {
    if (!row) return undefined;
    return {
      id: row.id,
      email: row.email,
      name: row.name,
      passwordHash: row.password_hash,
      totpSecret: row.totp_secret,
      totpEnabled: row.totp_enabled === 1,
      totpLastStep: row.totp_last_step,
      createdAt: row.created_at,
      disabledAt: row.disabled_at,
      bindings: this.#bindings(row.id),
    };
  }

  async countUsers(): Promise<number> {
    return prepared<[], { n: number }>(this.db, 'SELECT count(*) AS n FROM users').get()!.n;
  }

  async userById(id: string): Promise<UserRecord | undefined> {
    return this.#user(prepared<[string], UserRow>(this.db, 'SELECT * FROM users WHERE id = ?').get(id));
  }

  async userByEmail(email: string): Promise<UserRecord | undefined> {
    return this.#user(prepared<[string], UserRow>(this.db, 'SELECT * FROM users WHERE email = ?').get(email));
  }

  /** Users holding at least one binding on one of `clientIds` (all users when undefined). */
  async listUsers(clientIds?: readonly string[]): Promise<UserRecord[]> {
    const rows = clientIds
      ? prepared<[string], UserRow>(
          this.db,
          'SELECT * FROM users WHERE id IN (SELECT user_id FROM user_roles WHERE client_id IN (SELECT value FROM json_each(?))) ORDER BY email',
        ).all(JSON.stringify(clientIds))
      : prepared<[], UserRow>(this.db, 'SELECT * FROM users ORDER BY email').all();
    return rows.map((r) => this.#user(r)!);
  }

  async insertUser(u: Omit<UserRecord, 'totpSecret' | 'totpEnabled' | 'totpLastStep' | 'disabledAt'>): Promise<void> {
    this.db.transaction(() => {
      prepared(this.db, 'INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)').run(
        u.id,
        u.email,
        u.name,
        u.passwordHash,
        u.createdAt,
      );
      const bind = prepared(this.db, 'INSERT INTO user_roles (user_id, client_id, role) VALUES (?, ?, ?)');
      for (const b of u.bindings) bind.run(u.id, b.clientId, b.role);
    })();
  }

  async setTotp(userId: string, secret: string | null, enabled: boolean): Promise<void> {
    prepared(this.db, 'UPDATE users SET totp_secret = ?, totp_enabled = ? WHERE id = ?').run(
      secret,
      enabled ? 1 : 0,
      userId,
    );
  }

  /** Records the TOTP step used so the same code cannot be replayed; false if it was already used. */
  async claimTotpStep(userId: string, step: number): Promise<boolean> {
    return (
      prepared(this.db, 'UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?').run(
        step,
        userId,
        step,
      ).changes === 1
    );
  }

  async insertToken(t: TokenRecord): Promise<void> {
    prepared(
      this.db,
      'INSERT INTO auth_tokens (id, user_id, kind, name, hash, created_at, expires_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)',
    ).run(t.id, t.userId, t.kind, t.name, t.hash, t.createdAt, t.expiresAt);
  }

  async tokenById(id: string): Promise<TokenRecord | undefined> {
    const row = prepared<[string], TokenRow>(this.db, 'SELECT * FROM auth_tokens WHERE id = ?').get(id);
    return row && toToken(row);
  }

  async listTokens(userId: string, kind: TokenRecord['kind']): Promise<TokenRecord[]> {
    return prepared<[string, string], TokenRow>(
      this.db,
      'SELECT * FROM auth_tokens WHERE user_id = ? AND kind = ? ORDER BY created_at DESC',
    )
      .all(userId, kind)
      .map(toToken);
  }

  async touchToken(id: string, time: number): Promise<void> {
    prepared(this.db, 'UPDATE auth_tokens SET last_used_at = ? WHERE id = ?').run(time, id);
  }

  async revokeToken(id: string, time: number): Promise<boolean> {
    return (
      prepared(this.db, 'UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(time, id)
        .changes === 1
    );
  }
}
