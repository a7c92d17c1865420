/**
 * Changes to a user's credentials and state: second factor, password, e-mail, disabling. A bearer token alone never
 * changes a credential: each change checks the password (and the current code when TOTP is on) again, throttled and
 * audited like a login (docs/0008-auth.md). No fastify here.
 */
import { OutpostError } from '@outpost/shared';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../config.js';
import type { Actor, RoleBinding } from './permissions.js';
import {
  checkPasswordPolicy,
  generateTotpSecret,
  hashPassword,
  totpUri,
  verifyPassword,
  verifyTotp,
} from './secrets.js';
import type { AuthStore, UserRecord } from './store.js';
import { LoginThrottle } from './throttle.js';
import { actorRef, type PublicUser, toPublicUser } from './views.js';

/** What proves, again, that the caller is the account's owner before a credential changes. */
export interface Proof {
  password: string;
  /** The current one-time code; required when the account has TOTP on. */
  totp?: string | undefined;
}

/** What Credentials is built from (one options object, not positional arguments). */
export interface CredentialsInit {
  store: AuthStore;
  audit: AuditLog;
  clock: Clock;
  throttle: LoginThrottle;
}

/** The credential changes of the auth concern. */
export class Credentials {
  private readonly store: AuthStore;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly throttle: LoginThrottle;
  constructor(init: CredentialsInit) {
    const { store, audit, clock, throttle } = init;
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.throttle = throttle;
  }

  readonly #accessEnded: ((userId: string, why: string) => void)[] = [];
  /**
   * Called when a user is disabled (after their tokens ended) or their roles change, with the reason to record:
   * concerns holding live connections of that user (the technician sockets of sessions) cut them, so nothing the
   * user opened outlives the access it was authorised under.
   */
  onAccessEnded(listener: (userId: string, why: string) => void): void {
    this.#accessEnded.push(listener);
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
    const release = await this.throttle.enforce(keys, type, who, remoteIp);
    try {
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
    } finally {
      release();
    }
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
   * Replaces a user's roles; the caller has already authorised the action (`user.manage`). The next request of theirs
   * is judged by the new roles (roles are read per request); their live shells and transfers end at once, as for a
   * disabled user, since they were authorised under the old roles. Duplicates collapse. An admin cannot take the
   * global admin role from themself (nobody might be left to give it back).
   */
  async setUserRoles(actor: Actor, userId: string, roles: readonly RoleBinding[]): Promise<PublicUser> {
    const user = await this.store.userById(userId);
    if (!user) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No user ${userId}` });
    const unique = [...new Map(roles.map((r) => [`${r.role}@${r.clientId ?? '*'}`, r])).values()];
    const globalAdmin = (list: readonly RoleBinding[]) => list.some((b) => b.role === 'admin' && b.clientId === null);
    if (actor.kind === 'user' && actor.id === userId && globalAdmin(user.bindings) && !globalAdmin(unique))
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message: 'You cannot remove your own administrator role on every client',
      });
    await this.store.setBindings(userId, unique);
    for (const listener of this.#accessEnded) listener(userId, 'roles changed');
    await this.audit.record({
      type: 'user.roles',
      code: 'OUTPOST_I_USER_ROLES_CHANGED',
      result: 'success',
      actor: actorRef(actor),
      resource: `user:${userId}`,
      details: { email: user.email, from: user.bindings, to: unique },
    });
    return toPublicUser({ ...user, bindings: unique });
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
    if (disabled) for (const listener of this.#accessEnded) listener(userId, 'user disabled');
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
