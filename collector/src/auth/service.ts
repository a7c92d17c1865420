/** The auth concern's logic: users, login (password + optional TOTP), sessions, API tokens. No fastify here. */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import { Credentials } from './credentials.js';
import { type Actor, holdsRoleOn, type RoleBinding } from './permissions.js';
import {
  checkPasswordPolicy,
  generatePassword,
  hashPassword,
  newToken,
  parseToken,
  tokenMatches,
  verifyPassword,
  verifyTotp,
} from './secrets.js';
import { AuthStore, type TokenRecord, type UserRecord } from './store.js';
import { LoginThrottle } from './throttle.js';
import { actorRef, type PublicUser, toPublicUser } from './views.js';

export { actorRef, type PublicUser } from './views.js';

/** Public view of a session or API token (never its secret or hash). */
export interface PublicToken {
  id: string;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const toPublicToken = (t: TokenRecord): PublicToken => ({
  id: t.id,
  name: t.name,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt,
  lastUsedAt: t.lastUsedAt,
  revokedAt: t.revokedAt,
});

/** Options of the auth service. */
export interface AuthOptions {
  sessionTtlMs: number;
  initialAdminEmail: string;
}

// A dummy hash verified when the e-mail is unknown, so response time does not reveal which accounts exist.
let dummyHash: Promise<string> | undefined;

/** What AuthService is built from (one options object, not positional arguments). */
export interface AuthServiceInit {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  options: AuthOptions;
}

/** Users, credentials and the actors they authenticate as. */
export class AuthService {
  readonly store: AuthStore;
  readonly throttle: LoginThrottle;
  /** Password, e-mail and second-factor changes, and disabling users. */
  readonly credentials: Credentials;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: AuthOptions;
  constructor(init: AuthServiceInit) {
    const { db, audit, clock, logger, options } = init;
    this.audit = audit;
    this.clock = clock;
    this.logger = logger;
    this.options = options;
    this.store = new AuthStore(db);
    this.throttle = new LoginThrottle({ store: this.store, clock, audit, logger });
    this.credentials = new Credentials({ store: this.store, audit, clock, throttle: this.throttle });
  }

  /** Creates the first admin when there is no user yet; returns the generated credentials once. */
  async ensureInitialAdmin(): Promise<{ email: string; password: string } | undefined> {
    if ((await this.store.countUsers()) > 0) return undefined;
    const password = generatePassword();
    const user = await this.createUser(
      { kind: 'system', id: 'system' },
      {
        email: this.options.initialAdminEmail,
        name: 'Administrator',
        password,
        roles: [{ role: 'admin', clientId: null }],
      },
    );
    this.logger.info({ userId: user.id, email: user.email }, 'initial admin created');
    return { email: user.email, password };
  }

  /** Creates a user; the caller has already authorised the action. */
  async createUser(
    actor: Actor,
    input: { email: string; name: string; password: string; roles: RoleBinding[] },
  ): Promise<PublicUser> {
    const reason = checkPasswordPolicy(input.password);
    if (reason)
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: `Password refused: ${reason}`,
        details: { field: 'password' },
      });
    const taken = () =>
      new OutpostError('OUTPOST_E_CONFLICT', { message: `A user with e-mail ${input.email} already exists` });
    if (await this.store.userByEmail(input.email)) throw taken();
    const user: UserRecord = {
      id: `us_${randomBytes(6).toString('hex')}`,
      email: input.email,
      name: input.name,
      passwordHash: await hashPassword(input.password),
      totpSecret: null,
      totpEnabled: false,
      totpLastStep: 0,
      totpPendingSecret: null,
      createdAt: this.clock.now(),
      disabledAt: null,
      bindings: input.roles,
    };
    if (!(await this.store.insertUser(user))) throw taken();
    await this.audit.record({
      type: 'user.create',
      code: 'OUTPOST_I_USER_CREATED',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${user.id}`,
      details: { email: user.email, roles: user.bindings },
    });
    return toPublicUser(user);
  }

  async getUser(id: string): Promise<PublicUser | undefined> {
    const u = await this.store.userById(id);
    return u && toPublicUser(u);
  }

  /**
   * The user `id` as a resource of `clientId` may name them (an incident's assignee, a rotation member, an override):
   * enabled and holding a role on that client or on every client (`holdsRoleOn`). Anyone else is `undefined`, exactly
   * like an unknown id, so a request body naming another client's user learns nothing (DESIGN.md, "Identity and
   * trust") and nobody is handed a ticket they cannot see.
   */
  async memberOf(id: string, clientId: string | null): Promise<PublicUser | undefined> {
    const u = await this.getUser(id);
    return u && !u.disabled && holdsRoleOn(u.roles, clientId) ? u : undefined;
  }

  async listUsers(clientIds?: readonly string[]): Promise<PublicUser[]> {
    return (await this.store.listUsers(clientIds)).map(toPublicUser);
  }

  /** Password (+ TOTP when enabled) → a console session token. Every failure is audited. */
  async login(
    input: { email: string; password: string; totp?: string | undefined },
    remoteIp: string,
  ): Promise<{ token: string; expiresAt: number; user: PublicUser }> {
    const keys = LoginThrottle.keys(remoteIp, input.email);
    // Before the password is even checked: while a source or an account waits, the right password is refused too.
    const release = await this.throttle.enforce(
      keys,
      'auth.login',
      { kind: 'user', id: null, name: input.email.slice(0, 254) },
      remoteIp,
    );
    try {
      const user = await this.store.userByEmail(input.email);
      dummyHash ??= hashPassword('x'.repeat(16));
      const ok = await verifyPassword(input.password, user ? user.passwordHash : await dummyHash);
      const fail = async (code: 'OUTPOST_E_LOGIN_FAILED' | 'OUTPOST_E_TOTP_REQUIRED' | 'OUTPOST_E_TOTP_INVALID') => {
        await this.audit.record({
          type: 'auth.login',
          code,
          result: 'failure',
          actor: { kind: 'user', id: user?.id ?? null, name: input.email.slice(0, 254) },
          remoteIp,
        });
        // A missing code after the right password is no guess; a wrong password or a wrong code is.
        if (code !== 'OUTPOST_E_TOTP_REQUIRED') await this.throttle.failed(keys);
        return new OutpostError(code);
      };
      if (!user || !ok || user.disabledAt !== null) throw await fail('OUTPOST_E_LOGIN_FAILED');
      if (user.totpEnabled && user.totpSecret) {
        if (!input.totp) throw await fail('OUTPOST_E_TOTP_REQUIRED');
        const step = verifyTotp(user.totpSecret, input.totp, this.clock.now());
        if (step === undefined || !(await this.store.claimTotpStep(user.id, step)))
          throw await fail('OUTPOST_E_TOTP_INVALID');
      }
      await this.throttle.succeeded(keys);
      const issued = await this.#issue(user.id, 'session', 'console', this.clock.now() + this.options.sessionTtlMs);
      await this.audit.record({
        type: 'auth.login',
        code: 'OUTPOST_I_LOGIN',
        result: 'success',
        actor: { kind: 'user', id: user.id, name: user.email },
        remoteIp,
      });
      return { token: issued.token, expiresAt: issued.record.expiresAt!, user: toPublicUser(user) };
    } finally {
      release();
    }
  }

  async #issue(userId: string, kind: TokenRecord['kind'], name: string, expiresAt: number | null) {
    const t = newToken(kind === 'session' ? 'ost' : 'opt');
    const record: TokenRecord = {
      id: t.id,
      userId,
      kind,
      name,
      hash: t.hash,
      createdAt: this.clock.now(),
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.store.insertToken(record);
    return { token: t.token, record };
  }

  /** A bearer token → the actor, or undefined when it is unknown, expired, revoked or its user disabled. */
  async authenticate(bearer: string): Promise<Actor | undefined> {
    const parsed = parseToken(bearer);
    if (!parsed || (parsed.prefix !== 'ost' && parsed.prefix !== 'opt')) return undefined;
    const record = await this.store.tokenById(parsed.id);
    if (!record || !tokenMatches(bearer, record.hash) || record.revokedAt !== null) return undefined;
    if ((record.kind === 'session') !== (parsed.prefix === 'ost')) return undefined;
    const now = this.clock.now();
    if (record.expiresAt !== null && record.expiresAt <= now) return undefined;
    const user = await this.store.userById(record.userId);
    if (!user || user.disabledAt !== null) return undefined;
    // Last use is informative; writing it at most once a minute keeps authentication off the write path.
    if (record.lastUsedAt === null || now - record.lastUsedAt > 60_000) await this.store.touchToken(record.id, now);
    return {
      kind: 'user',
      id: user.id,
      email: user.email,
      bindings: user.bindings,
      via: record.kind,
      tokenId: record.id,
    };
  }

  /** Ends the caller's session or token. */
  async logout(actor: Actor): Promise<void> {
    if (actor.kind !== 'user') return;
    await this.store.revokeToken(actor.tokenId, this.clock.now());
  }

  /** Creates a personal API token for the CLI; the secret is returned once. */
  async createApiToken(
    actor: Actor,
    name: string,
    expiresInDays: number | undefined,
  ): Promise<{ token: string; info: PublicToken }> {
    if (actor.kind !== 'user') throw new OutpostError('OUTPOST_E_FORBIDDEN', { message: 'Only users own API tokens' });
    const expiresAt = expiresInDays === undefined ? null : this.clock.now() + expiresInDays * 86_400_000;
    const issued = await this.#issue(actor.id, 'api_token', name, expiresAt);
    await this.audit.record({
      type: 'auth.api_token.create',
      code: 'OUTPOST_I_API_TOKEN_CREATED',
      result: 'success',
      actor: actorRef(actor),
      resource: `api_token:${issued.record.id}`,
      details: { name, expiresAt },
    });
    return { token: issued.token, info: toPublicToken(issued.record) };
  }

  async listApiTokens(actor: Actor): Promise<PublicToken[]> {
    if (actor.kind !== 'user') return [];
    return (await this.store.listTokens(actor.id, 'api_token')).map(toPublicToken);
  }

  /** Revokes one of the caller's own API tokens. */
  async revokeApiToken(actor: Actor, id: string): Promise<void> {
    const record = await this.store.tokenById(id);
    if (actor.kind !== 'user' || !record || record.userId !== actor.id || record.kind !== 'api_token') {
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No API token ${id}` });
    }
    await this.store.revokeToken(id, this.clock.now());
    await this.audit.record({
      type: 'auth.api_token.revoke',
      code: 'OUTPOST_I_API_TOKEN_REVOKED',
      result: 'success',
      actor: actorRef(actor),
      resource: `api_token:${id}`,
    });
  }
}
