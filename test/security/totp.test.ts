/** Login with a second factor: required once enabled, checked, and a code cannot be used twice. */
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../collector/src/auth/secrets.js';
import { startTestCollector, type TestCollector } from '../support/collector.js';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => c?.[Symbol.asyncDispose]());

describe('TOTP', () => {
  it('is required after it is enabled, and a code works once', async () => {
    const base: ApiTarget = { server: c.apiUrl, caFingerprint: c.fingerprint };
    const email = 'totp-user@example.com';
    const password = 'a long enough password';
    await apiCall(c.admin, 'POST', '/api/v1/users', {
      email,
      name: 'T',
      password,
      roles: [{ role: 'viewer', clientId: c.clientId }],
    });
    const session = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', { email, password });
    const me = { ...base, token: session.token };
    const setup = await apiCall<{ secret: string; uri: string }>(me, 'POST', '/api/v1/auth/totp/setup', {
      password,
    });
    expect(setup.uri).toContain('otpauth://totp/');
    await expect(
      apiCall(me, 'POST', '/api/v1/auth/totp/enable', {
        code: '000000' === totpCode(setup.secret, Date.now()) ? '111111' : '000000',
      }),
    ).rejects.toMatchObject({
      code: 'OUTPOST_E_TOTP_INVALID',
    });
    // The next step's code is valid (±1 step) and has not been used yet.
    await apiCall(me, 'POST', '/api/v1/auth/totp/enable', { code: totpCode(setup.secret, Date.now() - 30_000) });

    await expect(apiCall(base, 'POST', '/api/v1/auth/login', { email, password })).rejects.toMatchObject({
      code: 'OUTPOST_E_TOTP_REQUIRED',
    });
    const code = totpCode(setup.secret, Date.now());
    const ok = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', { email, password, totp: code });
    expect(ok.token).toMatch(/^ost_/);
    await expect(apiCall(base, 'POST', '/api/v1/auth/login', { email, password, totp: code })).rejects.toMatchObject({
      code: 'OUTPOST_E_TOTP_INVALID',
    });
    const failures = (
      await apiCall<{ events: { code: string }[] }>(c.admin, 'GET', '/api/v1/audit?type=auth.login&limit=100')
    ).events.map((e) => e.code);
    expect(failures).toEqual(expect.arrayContaining(['OUTPOST_E_TOTP_REQUIRED', 'OUTPOST_E_TOTP_INVALID']));
  });
});
