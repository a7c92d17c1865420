/**
 * Changing a credential needs more than a bearer token (issue 17, item 3): TOTP setup and removal, password and
 * e-mail changes ask for the current password and, when TOTP is on, the current code; a password change ends the
 * user's other sessions and tokens; an admin can disable a user, whose sessions and tokens stop at once.
 */
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../collector/src/auth/secrets.js';
import { startTestCollector, type TestCollector } from '../support/collector.js';

// A fake clock: each one-time code is used in its own 30 s step (a step is accepted once).
const clock = { t: Date.now(), now: () => clock.t };
const nextStep = () => {
  clock.t += 30_000;
};
let c: TestCollector;
let base: ApiTarget;
beforeAll(async () => {
  c = await startTestCollector({}, { clock });
  base = { server: c.apiUrl, caFingerprint: c.fingerprint };
});
afterAll(async () => c?.[Symbol.asyncDispose]());

const PASSWORD = 'first password, long enough';
async function newUser(role = 'viewer'): Promise<{ id: string; email: string; roles: { clientId: string | null }[] }> {
  const email = `cred-${Math.random().toString(36).slice(2, 10)}@example.com`;
  const u = await apiCall<{ id: string; roles: { clientId: string | null }[] }>(c.admin, 'POST', '/api/v1/users', {
    email,
    name: 'C',
    password: PASSWORD,
    roles: [{ role, clientId: role === 'admin' ? null : c.clientId }],
  });
  return { id: u.id, email, roles: u.roles };
}
async function session(email: string, password = PASSWORD, totp?: string): Promise<ApiTarget> {
  const r = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
    email,
    password,
    ...(totp ? { totp } : {}),
  });
  return { ...base, token: r.token };
}
async function apiToken(me: ApiTarget): Promise<ApiTarget> {
  const r = await apiCall<{ token: string }>(me, 'POST', '/api/v1/auth/api-tokens', { name: 'cli' });
  return { ...base, token: r.token };
}
async function withTotp(me: ApiTarget): Promise<string> {
  const setup = await apiCall<{ secret: string }>(me, 'POST', '/api/v1/auth/totp/setup', { password: PASSWORD });
  nextStep();
  await apiCall(me, 'POST', '/api/v1/auth/totp/enable', { code: totpCode(setup.secret, clock.now()) });
  nextStep();
  return setup.secret;
}
const wrongCode = (secret: string) => (totpCode(secret, clock.now()) === '000000' ? '111111' : '000000');
const me = (t: ApiTarget) =>
  apiCall<{ email: string; totpEnabled: boolean; disabled: boolean }>(t, 'GET', '/api/v1/auth/me');

describe('second factor changes', () => {
  it('a bearer token alone cannot replace or remove an enabled second factor', async () => {
    const u = await newUser();
    const s = await session(u.email, PASSWORD, undefined);
    const secret = await withTotp(s);

    // No password at all: refused by the schema. Password without code, wrong code, wrong password: refused.
    await expect(apiCall(s, 'POST', '/api/v1/auth/totp/setup', {})).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    await expect(apiCall(s, 'POST', '/api/v1/auth/totp/setup', { password: PASSWORD })).rejects.toMatchObject({
      code: 'OUTPOST_E_REAUTH_FAILED',
    });
    await expect(
      apiCall(s, 'POST', '/api/v1/auth/totp/setup', { password: PASSWORD, totp: wrongCode(secret) }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_REAUTH_FAILED' });
    await expect(
      apiCall(s, 'POST', '/api/v1/auth/totp/setup', {
        password: 'not the password',
        totp: totpCode(secret, clock.now()),
      }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_REAUTH_FAILED' });
    await expect(
      apiCall(s, 'POST', '/api/v1/auth/totp/disable', { password: PASSWORD, totp: wrongCode(secret) }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_REAUTH_FAILED' });
    expect((await me(s)).totpEnabled).toBe(true);
    // Login still needs a code of the original secret.
    await expect(session(u.email)).rejects.toMatchObject({ code: 'OUTPOST_E_TOTP_REQUIRED' });
    nextStep();
    await session(u.email, PASSWORD, totpCode(secret, clock.now()));

    // With password and code, a replacement is set up; the old factor stays in force until the new one is confirmed.
    nextStep();
    const next = await apiCall<{ secret: string }>(s, 'POST', '/api/v1/auth/totp/setup', {
      password: PASSWORD,
      totp: totpCode(secret, clock.now()),
    });
    expect((await me(s)).totpEnabled).toBe(true);
    nextStep();
    await session(u.email, PASSWORD, totpCode(secret, clock.now()));
    nextStep();
    await apiCall(s, 'POST', '/api/v1/auth/totp/enable', { code: totpCode(next.secret, clock.now()) });
    nextStep();
    await expect(session(u.email, PASSWORD, totpCode(secret, clock.now()))).rejects.toMatchObject({
      code: 'OUTPOST_E_TOTP_INVALID',
    });
    await session(u.email, PASSWORD, totpCode(next.secret, clock.now()));

    // Removing it needs the password and the current code.
    nextStep();
    await apiCall(s, 'POST', '/api/v1/auth/totp/disable', {
      password: PASSWORD,
      totp: totpCode(next.secret, clock.now()),
    });
    expect((await me(s)).totpEnabled).toBe(false);
    await session(u.email);

    const audit = await apiCall<{ events: { type: string; code: string }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=500',
    );
    const codes = audit.events.map((e) => `${e.type} ${e.code}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        'auth.totp.setup OUTPOST_E_REAUTH_FAILED',
        'auth.totp.disable OUTPOST_E_REAUTH_FAILED',
        'auth.totp.setup OUTPOST_I_TOTP_SETUP',
        'auth.totp.disable OUTPOST_I_TOTP_DISABLED',
      ]),
    );
  });

  it('setting up a first factor needs the password too (a stolen token cannot lock the owner out)', async () => {
    const u = await newUser();
    const s = await session(u.email);
    await expect(
      apiCall(s, 'POST', '/api/v1/auth/totp/setup', { password: 'guess guess guess' }),
    ).rejects.toMatchObject({
      code: 'OUTPOST_E_REAUTH_FAILED',
    });
  });
});

describe('password change', () => {
  it('is refused without the current password or code', async () => {
    const u = await newUser();
    const s = await session(u.email);
    const change = (body: Record<string, unknown>) => apiCall(s, 'POST', '/api/v1/auth/password', body);
    await expect(change({ newPassword: 'a brand new password' })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    await expect(
      change({ currentPassword: 'wrong wrong wrong', newPassword: 'a brand new password' }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_REAUTH_FAILED' });
    await expect(change({ currentPassword: PASSWORD, newPassword: 'short' })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    const secret = await withTotp(s);
    await expect(change({ currentPassword: PASSWORD, newPassword: 'a brand new password' })).rejects.toMatchObject({
      code: 'OUTPOST_E_REAUTH_FAILED',
    });
    await expect(
      change({ currentPassword: PASSWORD, newPassword: 'a brand new password', totp: wrongCode(secret) }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_REAUTH_FAILED' });
    // Nothing changed: the old password still logs in.
    nextStep();
    await session(u.email, PASSWORD, totpCode(secret, clock.now()));
  });

  it('ends every other session and API token of the user; the console session that made it stays', async () => {
    const u = await newUser();
    const other = await session(u.email);
    const token = await apiToken(other);
    const changer = await session(u.email);
    const r = await apiCall<{ ok: true; endedTokens: number }>(changer, 'POST', '/api/v1/auth/password', {
      currentPassword: PASSWORD,
      newPassword: 'second password, long enough',
    });
    expect(r.endedTokens).toBe(2);
    await expect(me(other)).rejects.toMatchObject({ code: 'OUTPOST_E_UNAUTHENTICATED' });
    await expect(me(token)).rejects.toMatchObject({ code: 'OUTPOST_E_UNAUTHENTICATED' });
    expect((await me(changer)).email).toBe(u.email);
    await expect(session(u.email)).rejects.toMatchObject({ code: 'OUTPOST_E_LOGIN_FAILED' });
    await session(u.email, 'second password, long enough');
  });

  it('made with an API token, ends that token as well', async () => {
    const u = await newUser();
    const token = await apiToken(await session(u.email));
    await apiCall(token, 'POST', '/api/v1/auth/password', {
      currentPassword: PASSWORD,
      newPassword: 'second password, long enough',
    });
    await expect(me(token)).rejects.toMatchObject({ code: 'OUTPOST_E_UNAUTHENTICATED' });
  });
});

describe('e-mail change', () => {
  it('needs the password, refuses a taken address, and changes the login name', async () => {
    const u = await newUser();
    const taken = await newUser();
    const s = await session(u.email);
    const newEmail = `renamed-${Math.random().toString(36).slice(2, 8)}@example.com`;
    await expect(apiCall(s, 'POST', '/api/v1/auth/email', { email: newEmail })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    await expect(
      apiCall(s, 'POST', '/api/v1/auth/email', { email: newEmail, password: 'nope nope nope' }),
    ).rejects.toMatchObject({
      code: 'OUTPOST_E_REAUTH_FAILED',
    });
    await expect(
      apiCall(s, 'POST', '/api/v1/auth/email', { email: taken.email, password: PASSWORD }),
    ).rejects.toMatchObject({
      code: 'OUTPOST_E_CONFLICT',
    });
    await apiCall(s, 'POST', '/api/v1/auth/email', { email: newEmail, password: PASSWORD });
    await expect(session(u.email)).rejects.toMatchObject({ code: 'OUTPOST_E_LOGIN_FAILED' });
    expect((await me(await session(newEmail))).email).toBe(newEmail);
  });
});

describe('disabling a user', () => {
  it('ends their sessions and tokens at once and refuses their login; enabling lets them log in again', async () => {
    const u = await newUser('tier2');
    const s = await session(u.email);
    const token = await apiToken(s);
    const disabled = await apiCall<{ disabled: boolean }>(c.admin, 'POST', `/api/v1/users/${u.id}/disable`, {});
    expect(disabled.disabled).toBe(true);
    await expect(me(s)).rejects.toMatchObject({ code: 'OUTPOST_E_UNAUTHENTICATED' });
    await expect(me(token)).rejects.toMatchObject({ code: 'OUTPOST_E_UNAUTHENTICATED' });
    await expect(session(u.email)).rejects.toMatchObject({ code: 'OUTPOST_E_LOGIN_FAILED' });

    await apiCall(c.admin, 'POST', `/api/v1/users/${u.id}/enable`, {});
    const again = await session(u.email);
    expect((await me(again)).disabled).toBe(false);
    // Tokens ended by the disabling stay ended.
    await expect(me(token)).rejects.toMatchObject({ code: 'OUTPOST_E_UNAUTHENTICATED' });

    const audit = await apiCall<{ events: { type: string; resource: string }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=500',
    );
    expect(audit.events.filter((e) => e.resource === `user:${u.id}`).map((e) => e.type)).toEqual(
      expect.arrayContaining(['user.disable', 'user.enable']),
    );
  });

  it('is for admins only, and not of oneself', async () => {
    const tech = await newUser('tier3');
    const s = await session(tech.email);
    const victim = await newUser();
    await expect(apiCall(s, 'POST', `/api/v1/users/${victim.id}/disable`, {})).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    // An admin of every client (clientId null) is one: null used to be coerced to "" (an admin of no client).
    const admin = await newUser('admin');
    expect(admin.roles[0]?.clientId).toBeNull();
    const a = await session(admin.email);
    await expect(apiCall(a, 'POST', `/api/v1/users/${admin.id}/disable`, {})).rejects.toMatchObject({
      code: 'OUTPOST_E_CONFLICT',
    });
    await expect(apiCall(a, 'POST', '/api/v1/users/us_000000000000/disable', {})).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
  });
});

describe('editing a user’s roles', () => {
  it('replaces the bindings at once, judged on the next request, audited; admins only, never one’s own admin role', async () => {
    const u = await newUser('tier1');
    const token = await apiToken(await session(u.email));
    const roles = () =>
      apiCall<{ roles: { role: string; clientId: string | null }[] }>(token, 'GET', '/api/v1/auth/me').then(
        (r) => r.roles,
      );
    // Tier 1 may not create enrollment tokens; tier 2 may.
    const enroll = () => apiCall(token, 'POST', '/api/v1/enrollment-tokens', { siteId: c.siteId });
    await expect(enroll()).rejects.toMatchObject({ code: 'OUTPOST_E_FORBIDDEN' });
    const put = (who: ApiTarget, id: string, body: unknown) => apiCall(who, 'PUT', `/api/v1/users/${id}/roles`, body);
    const tier2 = { role: 'tier2', clientId: c.clientId };
    const r = await put(c.admin, u.id, { roles: [tier2, tier2] });
    expect(r).toMatchObject({ roles: [tier2] }); // duplicates collapse
    expect(await roles()).toEqual([tier2]);
    await enroll();
    const audit = await apiCall<{ events: { type: string; resource: string; details: Record<string, unknown> }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=500',
    );
    expect(audit.events.find((e) => e.type === 'user.roles' && e.resource === `user:${u.id}`)?.details).toMatchObject({
      from: [{ role: 'tier1', clientId: c.clientId }],
      to: [tier2],
    });

    // Refused: no role at all, an empty client id (it would mean "every client"), an unknown role or user.
    for (const bad of [
      { roles: [] },
      { roles: [{ role: 'tier1', clientId: '' }] },
      { roles: [{ role: 'root', clientId: null }] },
    ])
      await expect(put(c.admin, u.id, bad)).rejects.toMatchObject({ code: 'OUTPOST_E_BAD_REQUEST' });
    await expect(put(c.admin, 'us_000000000000', { roles: [tier2] })).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
    // Not an admin: refused (a tier-3 technician cannot make themself admin).
    const tech = await newUser('tier3');
    const s = await session(tech.email);
    await expect(put(s, tech.id, { roles: [{ role: 'admin', clientId: null }] })).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    // An admin keeps their own admin role on every client; another admin may change it.
    const admin = await newUser('admin');
    const a = await session(admin.email);
    await expect(put(a, admin.id, { roles: [{ role: 'tier3', clientId: null }] })).rejects.toMatchObject({
      code: 'OUTPOST_E_CONFLICT',
    });
    await put(a, admin.id, {
      roles: [
        { role: 'admin', clientId: null },
        { role: 'tier3', clientId: c.clientId },
      ],
    });
    await put(c.admin, admin.id, { roles: [{ role: 'viewer', clientId: c.clientId }] });
    await expect(put(a, u.id, { roles: [tier2] })).rejects.toMatchObject({ code: 'OUTPOST_E_FORBIDDEN' });
  });
});
