/**
 * The login throttle on a real SQLite file: growing, capped delays, and counters that survive a restart; on both
 * engines, failures counted at once on several nodes are all counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, auditMigrations } from '../audit/index.js';
import { describeStores } from '../db/dialects.fixture.js';
import { migrate, openDatabase, type SqlDb, sqlOf } from '../db/index.js';
import { AuthStore, authMigrations } from './store.js';
import { ACCOUNT_POLICY, LoginThrottle, SOURCE_POLICY, sourceOf, throttleDelayMs } from './throttle.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(file: string) {
  const db = openDatabase(file);
  migrate(db, [...auditMigrations, ...authMigrations]);
  return db;
}

describe('throttle delays', () => {
  it('are free for a few failures, then double, up to the cap; the account cap is the softer one', () => {
    expect([5, 6, 7, 8].map((n) => throttleDelayMs(SOURCE_POLICY, n))).toEqual([0, 1000, 2000, 4000]);
    expect(throttleDelayMs(SOURCE_POLICY, 1000)).toBe(SOURCE_POLICY.maxMs);
    expect(throttleDelayMs(ACCOUNT_POLICY, 10)).toBe(0);
    expect(throttleDelayMs(ACCOUNT_POLICY, 1000)).toBe(60_000);
    expect(ACCOUNT_POLICY.maxMs).toBeLessThan(SOURCE_POLICY.maxMs);
    expect(ACCOUNT_POLICY.free).toBeGreaterThan(SOURCE_POLICY.free);
  });
});

describe('sourceOf', () => {
  it('counts an IPv4 address as itself and an IPv6 address by its /64', () => {
    expect(sourceOf('10.0.0.1')).toBe('10.0.0.1');
    expect(sourceOf('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(sourceOf('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(sourceOf('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(sourceOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceOf('::1')).toBe('0:0:0:0::/64');
    expect(sourceOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('LoginThrottle', () => {
  it('keeps a blocked source blocked across a restart, and forgets it after a quiet hour', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-throttle-'));
    dirs.push(dir);
    const file = join(dir, 'outpost.db');
    const clock = { t: 1_000_000, now: () => clock.t };
    const keys = LoginThrottle.keys('10.0.0.1', 'Someone@Example.com');
    expect(keys.account).toBe('account:someone@example.com');

    let db = open(file);
    const first = new LoginThrottle({
      store: new AuthStore(sqlOf(db)),
      clock,
      audit: new AuditLog(sqlOf(db), clock, logger),
      logger,
    });
    for (let i = 0; i < 8; i++) await first.failed(keys);
    expect(await first.blocked(keys)).toEqual({ waitMs: 4000, key: 'source' });
    db.close();

    db = open(file);
    const second = new LoginThrottle({
      store: new AuthStore(sqlOf(db)),
      clock,
      audit: new AuditLog(sqlOf(db), clock, logger),
      logger,
    });
    clock.t += 1000;
    expect(await second.blocked(keys)).toEqual({ waitMs: 3000, key: 'source' });
    // Another source and another account are not affected.
    expect((await second.blocked(LoginThrottle.keys('10.0.0.2', 'other@example.com'))).waitMs).toBe(0);
    // After a quiet hour the count starts over: one more failure is free again.
    clock.t += 3_600_001;
    await second.failed(keys);
    expect((await second.blocked(keys)).waitMs).toBe(0);
    // A success clears both counters.
    for (let i = 0; i < 7; i++) await second.failed(keys);
    expect((await second.blocked(keys)).waitMs).toBeGreaterThan(0);
    await second.succeeded(keys);
    expect((await second.blocked(keys)).waitMs).toBe(0);
    db.close();
  });
});

describeStores('LoginThrottle shared by nodes', [...auditMigrations, ...authMigrations], (db: () => SqlDb) => {
  it('counts every one of many failures made at once on two nodes, and blocks as many failures deserve', async () => {
    const clock = { t: 5_000_000, now: () => clock.t };
    const node = () =>
      new LoginThrottle({ store: new AuthStore(db()), clock, audit: new AuditLog(db(), clock, logger), logger });
    const [a, b] = [node(), node()];
    const keys = LoginThrottle.keys('10.0.0.7', 'target@example.com');
    // Twelve wrong passwords checked at the same moment, half on each node: a read-then-write count kept one of them.
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).failed(keys)));
    const store = new AuthStore(db());
    expect((await store.throttle(keys.source))?.failures).toBe(12);
    expect((await store.throttle(keys.account))?.failures).toBe(12);
    // 12 failures: the source (5 free) waits 2^6 s, the account (10 free) 2^1 s.
    expect(await a.blocked(keys)).toEqual({ waitMs: throttleDelayMs(SOURCE_POLICY, 12), key: 'source' });
    expect(throttleDelayMs(SOURCE_POLICY, 12)).toBe(64_000);
  });
});
