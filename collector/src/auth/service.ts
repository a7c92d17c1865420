/** The auth concern's logic: users, login (password + optional TOTP), sessions, API tokens. No fastify here. */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../config.js';
import type { Db } from '../db/index.js';
import type { Actor, RoleBinding } from './permissions.js';
import {
  checkPasswordPolicy,
  generatePassword,
  generateTotpSecret,
  hashPassword,
  newToken,
  parseToken,
  tokenMatches,
  totpUri,
  verifyPassword,
  verifyTotp,
} from './secrets.js';
import { AuthStore, type TokenRecord, type UserRecord } from './store.js';
import { LoginThrottle, type ThrottleKeys } from './throttle.js';

/** What proves, again, that the caller is the account's owner before a credential changes. */
export interface Proof {
  password: string;
  /** The current one-time code; required when the account has TOTP on. */
  totp?: string | undefined;
}

/** A user as routes may show it (no secrets). */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  roles: RoleBinding[];
  totpEnabled: boolean;
  createdAt: number;
  disabled: boolean;
}

/** Public view of a session or API token (never its secret or hash). */
export interface PublicToken {
  id: string;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const toPublicUser = (u: UserRecord): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  roles: u.bindings,
  totpEnabled: u.totpEnabled,
  createdAt: u.createdAt,
  disabled: u.disabledAt !== null,
});
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

/** Users, credentials and the actors they authenticate as. */
export class AuthService {
  readonly store: AuthStore;
  readonly throttle: LoginThrottle;
  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: AuthOptions,
  ) {
    this.store = new AuthStore(db);
    this.throttle = new LoginThrottle(this.store, clock);
  }

  /** Refuses (429, audited) an attempt whose source or account is still waiting after failures. */
  async #refuseIfThrottled(
    keys: ThrottleKeys,
    type: string,
    actor: { kind: string; id: string | null; name: string },
    remoteIp: string,
  ): Promise<void> {
    const { waitMs, key } = await this.throttle.blocked(keys);
    if (waitMs <= 0) return;
    const retryAfterSec = Math.ceil(waitMs / 1000);
    await this.audit.record({
      type,
      code: 'OUTPOST_E_LOGIN_THROTTLED',
      result: 'denied',
      actor,
      remoteIp,
      details: { by: key, retryAfterSec },
    });
    this.logger.warn({ type, by: key, remoteIp, account: actor.name, retryAfterSec }, 'attempt throttled');
    throw new OutpostError('OUTPOST_E_LOGIN_THROTTLED', {
      message: `Too many failed attempts ${key === 'source' ? 'from this address' : 'on this account'}: retry in ${retryAfterSec} s`,
      details: { retryAfterSec },
    });
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
    if (await this.store.userByEmail(input.email)) {
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `A user with e-mail ${input.email} already exists` });
    }
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
    await this.store.insertUser(user);
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
    await this.#refuseIfThrottled(
      keys,
      'auth.login',
      { kind: 'user', id: null, name: input.email.slice(0, 254) },
      remoteIp,
    );
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

  /**
   * Checks the caller's password (and current code when TOTP is on) again before a credential changes: a bearer
   * token alone never changes a password, an e-mail or the second factor. Throttled and audited like a login.
   */
  async #reauthenticate(actor: Actor, proof: Proof, remoteIp: string, type: string): Promise<UserRecord> {
    if (actor.kind !== 'user')
      throw new OutpostError('OUTPOST_E_FORBIDDEN', { message: 'Only users have credentials' });
    const user = await this.store.userById(actor.id);
    if (!user) throw new OutpostError('OUTPOST_E_UNAUTHENTICATED');
    const who = { kind: 'user', id: user.id, name: user.email };
    const keys = LoginThrottle.keys(remoteIp, user.email);
    await this.#refuseIfThrottled(keys, type, who, remoteIp);
    const refuse = async (reason: 'password' | 'totp_required' | 'totp_invalid', message?: string) => {
      if (reason !== 'totp_required') await this.throttle.failed(keys);
      await this.audit.record({
        type,
        code: 'OUTPOST_E_REAUTH_FAILED',
        result: 'failure',
        actor: who,
        resource: `user:${user.id}`,
        remoteIp,
        details: { reason },
      });
      return new OutpostError('OUTPOST_E_REAUTH_FAILED', message ? { message } : {});
    };
    if (user.totpEnabled && user.totpSecret && !proof.totp)
      throw await refuse('totp_required', 'This account has a second factor: send the current one-time code too');
    if (!(await verifyPassword(proof.password, user.passwordHash))) throw await refuse('password');
    if (user.totpEnabled && user.totpSecret) {
      const step = verifyTotp(user.totpSecret, proof.totp ?? '', this.clock.now());
      if (step === undefined || !(await this.store.claimTotpStep(user.id, step))) throw await refuse('totp_invalid');
    }
    await this.throttle.succeeded(keys);
    return user;
  }

  /**
   * Starts TOTP enrolment (or replaces the factor): a new secret kept beside the active one, which stays in force
   * until a code from the new secret confirms it (`enableTotp`). Needs the password, and the current code if on.
   */
  async beginTotp(actor: Actor, proof: Proof, remoteIp: string): Promise<{ secret: string; uri: string }> {
    const user = await this.#reauthenticate(actor, proof, remoteIp, 'auth.totp.setup');
    const secret = generateTotpSecret();
    await this.store.setPendingTotp(user.id, secret);
    await this.audit.record({
      type: 'auth.totp.setup',
      code: 'OUTPOST_I_TOTP_SETUP',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${user.id}`,
      remoteIp,
      details: { replacing: user.totpEnabled },
    });
    return { secret, uri: totpUri(secret, user.email) };
  }

  /** Confirms the secret from `beginTotp` with a code from it; from then on login needs a code of that secret. */
  async enableTotp(actor: Actor, code: string): Promise<void> {
    if (actor.kind !== 'user') throw new OutpostError('OUTPOST_E_FORBIDDEN');
    const user = await this.store.userById(actor.id);
    if (!user?.totpPendingSecret) throw new OutpostError('OUTPOST_E_CONFLICT', { message: 'Start TOTP setup first' });
    const step = verifyTotp(user.totpPendingSecret, code, this.clock.now());
    if (step === undefined || !(await this.store.claimTotpStep(user.id, step)))
      throw new OutpostError('OUTPOST_E_TOTP_INVALID');
    await this.store.setTotp(user.id, user.totpPendingSecret, true);
    await this.audit.record({
      type: 'auth.totp.enable',
      code: 'OUTPOST_I_TOTP_ENABLED',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${user.id}`,
    });
  }

  /** Switches the second factor off: needs the password and the current code. */
  async disableTotp(actor: Actor, proof: Proof, remoteIp: string): Promise<void> {
    const user = await this.#reauthenticate(actor, proof, remoteIp, 'auth.totp.disable');
    if (!user.totpEnabled) throw new OutpostError('OUTPOST_E_CONFLICT', { message: 'TOTP is not enabled' });
    await this.store.setTotp(user.id, null, false);
    await this.audit.record({
      type: 'auth.totp.disable',
      code: 'OUTPOST_I_TOTP_DISABLED',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${user.id}`,
      remoteIp,
    });
  }

  /**
   * Changes the caller's password (current password and code required). Every session and API token of the user
   * ends, except the console session that made the change: it has just proved password and code, and a browser
   * should not be logged out by its own change. An API token that made the change ends too (it lives for months
   * and may be the leaked credential); the CLI logs in again.
   */
  async changePassword(
    actor: Actor,
    input: Proof & { newPassword: string },
    remoteIp: string,
  ): Promise<{ endedTokens: number }> {
    const user = await this.#reauthenticate(actor, input, remoteIp, 'auth.password.change');
    const reason = checkPasswordPolicy(input.newPassword);
    if (reason)
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: `Password refused: ${reason}`,
        details: { field: 'newPassword' },
      });
    await this.store.setPassword(user.id, await hashPassword(input.newPassword));
    const keep = actor.kind === 'user' && actor.via === 'session' ? actor.tokenId : undefined;
    const endedTokens = await this.store.revokeUserTokens(user.id, this.clock.now(), keep);
    await this.audit.record({
      type: 'auth.password.change',
      code: 'OUTPOST_I_PASSWORD_CHANGED',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${user.id}`,
      remoteIp,
      details: { endedTokens, keptSession: keep ?? null },
    });
    return { endedTokens };
  }

  /** Changes the caller's e-mail (the login name): current password and code required. */
  async changeEmail(actor: Actor, input: Proof & { email: string }, remoteIp: string): Promise<PublicUser> {
    const user = await this.#reauthenticate(actor, input, remoteIp, 'auth.email.change');
    const other = await this.store.userByEmail(input.email);
    if (other && other.id !== user.id)
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `A user with e-mail ${input.email} already exists` });
    await this.store.setEmail(user.id, input.email);
    await this.audit.record({
      type: 'auth.email.change',
      code: 'OUTPOST_I_EMAIL_CHANGED',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${user.id}`,
      remoteIp,
      details: { from: user.email, to: input.email },
    });
    return toPublicUser({ ...user, email: input.email });
  }

  /**
   * Disables (or enables again) a user; the caller has already authorised the action. A disabled user cannot log
   * in, and every session and API token of theirs ends at once (enabling again does not bring them back).
   */
  async setUserDisabled(actor: Actor, userId: string, disabled: boolean): Promise<PublicUser> {
    const user = await this.store.userById(userId);
    if (!user) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No user ${userId}` });
    if (disabled && actor.kind === 'user' && actor.id === userId)
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: 'You cannot disable your own account' });
    const now = this.clock.now();
    if (disabled === (user.disabledAt !== null)) return toPublicUser(user);
    await this.store.setDisabled(userId, disabled ? now : null);
    const endedTokens = disabled ? await this.store.revokeUserTokens(userId, now) : 0;
    await this.audit.record({
      type: disabled ? 'user.disable' : 'user.enable',
      code: disabled ? 'OUTPOST_I_USER_DISABLED' : 'OUTPOST_I_USER_ENABLED',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${userId}`,
      details: { email: user.email, ...(disabled ? { endedTokens } : {}) },
    });
    return toPublicUser({ ...user, disabledAt: disabled ? now : null });
  }
}

/** The audit log's view of an actor. */
export function actorRef(actor: Actor): { kind: string; id: string; name: string } {
  return actor.kind === 'user'
    ? { kind: 'user', id: actor.id, name: actor.email }
    : { kind: 'system', id: 'system', name: 'collector' };
}
