/**
 * The auth store on SQLite and PostgreSQL: users found by e-mail in any case and unique whatever the case, role
 * bindings replaced whole and listed global-first, TOTP steps claimed once (also when two logins race), sessions and
 * API tokens revoked selectively, and login-throttle counters upserted and pruned.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { SqlDb } from '../db/index.js';
import type { RoleBinding } from './permissions.js';
import { AuthStore, authMigrations, type TokenRecord } from './store.js';

const user = (id: string, email: string, bindings: RoleBinding[] = [{ clientId: null, role: 'admin' }]) => ({
  id,
  email,
  name: `User ${id}`,
  passwordHash: `hash-${id}`,
  createdAt: 100,
  bindings,
});

const tok = (id: string, userId: string, kind: TokenRecord['kind'], createdAt: number): TokenRecord => ({
  id,
  userId,
  kind,
  name: id,
  hash: `h-${id}`,
  createdAt,
  expiresAt: kind === 'session' ? createdAt + 1000 : null,
  lastUsedAt: null,
  revokedAt: null,
});

describeStores('auth store', authMigrations, (db: () => SqlDb) => {
  it('stores users with their bindings, finds them by e-mail in any case, and keeps e-mails unique in any case', async () => {
    const store = new AuthStore(db());
    expect(await store.countUsers()).toBe(0);
    await store.insertUser(
      user('us_1', 'Ada@Example.com', [
        { clientId: 'cl_b', role: 'tier1' },
        { clientId: null, role: 'admin' },
        { clientId: 'cl_a', role: 'tier2' },
      ]),
    );
    await store.insertUser(user('us_2', 'bob@example.com', [{ clientId: 'cl_b', role: 'tier2' }]));
    await store.insertUser(user('us_3', 'carol@example.com', []));
    expect(await store.countUsers()).toBe(3);

    const ada = await store.userByEmail('ada@EXAMPLE.com');
    expect(ada).toEqual({
      id: 'us_1',
      email: 'Ada@Example.com',
      name: 'User us_1',
      passwordHash: 'hash-us_1',
      totpSecret: null,
      totpEnabled: false,
      totpPendingSecret: null,
      totpLastStep: 0,
      createdAt: 100,
      disabledAt: null,
      // The global binding first on both engines (PostgreSQL sorts NULL last unless told).
      bindings: [
        { clientId: null, role: 'admin' },
        { clientId: 'cl_a', role: 'tier2' },
        { clientId: 'cl_b', role: 'tier1' },
      ],
    });
    expect(await store.userById('us_1')).toEqual(ada);
    expect(await store.userById('us_none')).toBeUndefined();
    expect(await store.userByEmail('nobody@example.com')).toBeUndefined();

    // A second account under the same address in another case is refused, and nothing of it is kept.
    expect(await store.insertUser(user('us_4', 'ADA@example.COM', [{ clientId: 'cl_a', role: 'tier1' }]))).toBe(false);
    expect(await store.userById('us_4')).toBeUndefined();
    expect(await store.countUsers()).toBe(3);

    const all = await store.listUsers();
    expect(all.map((u) => u.id)).toEqual(['us_1', 'us_2', 'us_3']);
    expect(all[0]).toEqual(ada);
    expect(all[2]?.bindings).toEqual([]);
    expect((await store.listUsers(['cl_b'])).map((u) => [u.id, u.bindings.length])).toEqual([
      ['us_1', 3],
      ['us_2', 1],
    ]);
    expect((await store.listUsers(['cl_a'])).map((u) => u.id)).toEqual(['us_1']);
    expect(await store.listUsers([])).toEqual([]);
  });

  it('lets exactly one of two creations of one address at once win (two admins, or two nodes)', async () => {
    const store = new AuthStore(db());
    const race = await Promise.all([
      store.insertUser(user('us_5', 'dan@example.com', [{ clientId: 'cl_a', role: 'tier1' }])),
      store.insertUser(user('us_6', 'DAN@example.com', [{ clientId: 'cl_b', role: 'tier2' }])),
    ]);
    expect(race.filter(Boolean)).toHaveLength(1);
    expect(await store.countUsers()).toBe(1);
    // The loser left no role bindings behind: the winner's are the only ones.
    const winner = (await store.listUsers())[0]!;
    expect(winner.id).toBe(race[0] ? 'us_5' : 'us_6');
    expect(winner.bindings).toHaveLength(1);
    expect(await store.listUsers([race[0] ? 'cl_b' : 'cl_a'])).toEqual([]);
  });

  it('replaces bindings whole, and changes e-mail, password and the disabled mark', async () => {
    const store = new AuthStore(db());
    await store.insertUser(user('us_1', 'ada@example.com'));
    await store.setBindings('us_1', [
      { clientId: 'cl_b', role: 'tier1' },
      { clientId: 'cl_a', role: 'tier3' },
    ]);
    expect((await store.userById('us_1'))?.bindings).toEqual([
      { clientId: 'cl_a', role: 'tier3' },
      { clientId: 'cl_b', role: 'tier1' },
    ]);
    await store.setBindings('us_1', []);
    expect((await store.userById('us_1'))?.bindings).toEqual([]);
    await store.setEmail('us_1', 'Ada.L@example.com');
    await store.setPassword('us_1', 'new-hash');
    await store.setDisabled('us_1', 500);
    expect(await store.userByEmail('ada.l@example.com')).toMatchObject({
      email: 'Ada.L@example.com',
      passwordHash: 'new-hash',
      disabledAt: 500,
    });
    await store.setDisabled('us_1', null);
    expect((await store.userById('us_1'))?.disabledAt).toBeNull();
  });

  it('keeps a pending TOTP secret beside the active one and claims each step once, also under racing logins', async () => {
    const store = new AuthStore(db());
    await store.insertUser(user('us_1', 'ada@example.com'));
    await store.setPendingTotp('us_1', 'PENDING');
    expect(await store.userById('us_1')).toMatchObject({
      totpSecret: null,
      totpEnabled: false,
      totpPendingSecret: 'PENDING',
    });
    await store.setTotp('us_1', 'ACTIVE', true);
    expect(await store.userById('us_1')).toMatchObject({
      totpSecret: 'ACTIVE',
      totpEnabled: true,
      totpPendingSecret: null,
    });
    expect(await store.claimTotpStep('us_1', 10)).toBe(true);
    expect(await store.claimTotpStep('us_1', 10)).toBe(false);
    expect(await store.claimTotpStep('us_1', 9)).toBe(false);
    const racing = await Promise.all(Array.from({ length: 6 }, () => store.claimTotpStep('us_1', 11)));
    expect(racing.filter(Boolean)).toHaveLength(1);
    expect((await store.userById('us_1'))?.totpLastStep).toBe(11);
  });

  it('lists, touches and revokes sessions and API tokens, all of a user but one', async () => {
    const store = new AuthStore(db());
    await store.insertUser(user('us_1', 'ada@example.com'));
    await store.insertUser(user('us_2', 'bob@example.com'));
    await store.insertToken(tok('se_1', 'us_1', 'session', 10));
    await store.insertToken(tok('se_2', 'us_1', 'session', 20));
    await store.insertToken(tok('at_1', 'us_1', 'api_token', 30));
    await store.insertToken(tok('se_3', 'us_2', 'session', 40));
    expect((await store.listTokens('us_1', 'session')).map((t) => t.id)).toEqual(['se_2', 'se_1']);
    expect(await store.tokenById('at_1')).toEqual(tok('at_1', 'us_1', 'api_token', 30));
    await store.touchToken('se_1', 55);
    expect((await store.tokenById('se_1'))?.lastUsedAt).toBe(55);

    expect(await store.revokeUserTokens('us_1', 60, 'se_2')).toBe(2);
    expect((await store.tokenById('se_2'))?.revokedAt).toBeNull();
    expect((await store.tokenById('at_1'))?.revokedAt).toBe(60);
    expect(await store.revokeUserTokens('us_1', 70)).toBe(1);
    expect((await store.tokenById('se_1'))?.revokedAt).toBe(60);
    expect(await store.revokeToken('se_3', 80)).toBe(true);
    expect(await store.revokeToken('se_3', 90)).toBe(false);
    expect((await store.tokenById('se_3'))?.revokedAt).toBe(80);
    expect(await store.tokenById('se_none')).toBeUndefined();
  });

  it('upserts, clears and prunes login-throttle counters', async () => {
    const store = new AuthStore(db());
    await store.putThrottle({ key: 'source:10.0.0.1', failures: 1, lastFailureAt: 100, blockedUntil: 0 });
    await store.putThrottle({ key: 'source:10.0.0.1', failures: 6, lastFailureAt: 200, blockedUntil: 1200 });
    await store.putThrottle({ key: 'account:ada@example.com', failures: 2, lastFailureAt: 50, blockedUntil: 0 });
    expect(await store.throttle('source:10.0.0.1')).toEqual({
      key: 'source:10.0.0.1',
      failures: 6,
      lastFailureAt: 200,
      blockedUntil: 1200,
    });
    expect(await store.pruneThrottle(100)).toBe(1);
    expect(await store.throttle('account:ada@example.com')).toBeUndefined();
    await store.clearThrottle('source:10.0.0.1');
    expect(await store.throttle('source:10.0.0.1')).toBeUndefined();
  });
});
