/**
 * Password and one-time-code guessing is throttled per source address and per account with a growing delay (issue
 * 17, item 5): a fake clock stands in for the wait, real sockets carry the requests (other sources are other
 * loopback addresses).
 */
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../collector/src/auth/secrets.js';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { rawRequest } from '../support/http.js';

const clock = { t: Date.now(), now: () => clock.t };
let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({}, { clock });
});
afterAll(async () => c?.[Symbol.asyncDispose]());

const PASSWORD = 'the right password, long';
let n = 0;
async function newUser(): Promise<string> {
  const email = `throttle-${++n}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await apiCall(c.admin, 'POST', '/api/v1/users', {
    email,
    name: 'T',
    password: PASSWORD,
    roles: [{ role: 'viewer', clientId: c.clientId }],
  });
  return email;
}
const login = (email: string, password: string, from: string, totp?: string) =>
  rawRequest(c.apiUrl, 'POST', '/api/v1/auth/login', {
    body: { email, password, ...(totp ? { totp } : {}) },
    localAddress: from,
  });

describe('login throttling', () => {
  it('after a few wrong passwords from one source the right one is refused until a growing delay passes', async () => {
    const victim = await newUser();
    const attacker = '127.0.0.21';
    for (let i = 0; i < 6; i++) expect((await login(victim, `wrong ${i}`, attacker)).status).toBe(401);
    // Six failures: blocked for 1 s, then each further failure doubles the delay.
    for (const expected of [1, 2, 4]) {
      const refused = await login(victim, PASSWORD, attacker);
      expect(refused.status).toBe(429);
      expect(refused.json.error?.code).toBe('OUTPOST_E_LOGIN_THROTTLED');
      expect(refused.headers['retry-after']).toBe(String(expected));
      expect(refused.json.error?.details?.retryAfterSec).toBe(expected);
      clock.t += expected * 1000;
      if (expected < 4) expect((await login(victim, 'wrong again', attacker)).status).toBe(401);
    }
    // Once the delay has passed, the right password works, and the success clears the source.
    expect((await login(victim, PASSWORD, attacker)).status).toBe(200);
    expect((await login(victim, 'one more typo', attacker)).status).toBe(401);
    expect((await login(victim, PASSWORD, attacker)).status).toBe(200);

    const audit = await apiCall<{ events: { code: string; result: string }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?type=auth.login&limit=500',
    );
    expect(audit.events.filter((e) => e.code === 'OUTPOST_E_LOGIN_THROTTLED').length).toBeGreaterThanOrEqual(3);
  });

  it('a blocked source does not block another source, nor the real user of the attacked account', async () => {
    const victim = await newUser();
    const other = await newUser();
    const attacker = '127.0.0.22';
    for (let i = 0; i < 9; i++) await login(victim, `guess ${i}`, attacker);
    expect((await login(victim, PASSWORD, attacker)).status).toBe(429);
    // The same attacker's source is blocked for every account…
    expect((await login(other, PASSWORD, attacker)).status).toBe(429);
    // …but the victim, from their own address, and anyone else, log in at once.
    expect((await login(victim, PASSWORD, '127.0.0.23')).status).toBe(200);
    expect((await login(other, PASSWORD, '127.0.0.24')).status).toBe(200);
  });

  it('guessing one account from many sources is slowed per account, for at most a minute', async () => {
    const victim = await newUser();
    // Eleven sources, one failure each: no source is blocked, the account is (10 free failures).
    for (let i = 0; i < 11; i++) expect((await login(victim, `spread ${i}`, `127.0.1.${i + 1}`)).status).toBe(401);
    const refused = await login(victim, PASSWORD, '127.0.2.1');
    expect(refused.status).toBe(429);
    expect(refused.json.error?.message).toMatch(/on this account/);
    // Many more failures never lock the account out for more than a minute.
    for (let i = 0; i < 20; i++) {
      clock.t += 61_000;
      await login(victim, `spread more ${i}`, `127.0.3.${i + 1}`);
    }
    const capped = await login(victim, PASSWORD, '127.0.2.1');
    expect(capped.status).toBe(429);
    expect(Number(capped.headers['retry-after'])).toBeLessThanOrEqual(60);
    clock.t += 60_000;
    expect((await login(victim, PASSWORD, '127.0.2.1')).status).toBe(200);
  });

  it('a burst of concurrent guesses is not checked all at once before the first failure counts', async () => {
    const victim = await newUser();
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => login(victim, `burst ${i}`, '127.0.0.26')));
    const checked = burst.filter((r) => r.status === 401).length;
    expect(checked).toBeLessThanOrEqual(6);
    expect(burst.filter((r) => r.status === 429).length).toBe(30 - checked);
  });

  it('one-time codes are throttled like passwords', async () => {
    const email = await newUser();
    const me = {
      server: c.apiUrl,
      caFingerprint: c.fingerprint,
      token: String((await login(email, PASSWORD, '127.0.0.1')).json.token),
    };
    const setup = await apiCall<{ secret: string }>(me, 'POST', '/api/v1/auth/totp/setup', { password: PASSWORD });
    await apiCall(me, 'POST', '/api/v1/auth/totp/enable', { code: totpCode(setup.secret, clock.now()) });
    clock.t += 30_000;
    const source = '127.0.0.25';
    const right = totpCode(setup.secret, clock.now());
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 6; i++)
      expect((await login(email, PASSWORD, source, wrong)).json.error?.code).toBe('OUTPOST_E_TOTP_INVALID');
    expect((await login(email, PASSWORD, source, right)).status).toBe(429);
    clock.t += 1000;
    expect((await login(email, PASSWORD, source, totpCode(setup.secret, clock.now()))).status).toBe(200);
  });
});
