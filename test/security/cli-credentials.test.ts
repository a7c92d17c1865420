/**
 * The credential commands of the `outpost` CLI as a user runs them (real processes, a real collector): `passwd`
 * ends the CLI's own token and the new password logs in; an admin's `users disable` stops a user at once.
 */
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';

const dir = tempDir('cli-credentials');
let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

async function run(config: string, args: string[]) {
  await using p = spawnNode(outpostBin, args, {
    OUTPOST_CLI_CONFIG: join(dir.path, config),
    OUTPOST_SERVER: '',
    OUTPOST_TOKEN: '',
    OUTPOST_CA_FINGERPRINT: '',
    OUTPOST_PASSWORD: '',
  });
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr() };
}
const login = (config: string, email: string, password: string) =>
  run(config, [
    '--server',
    c.apiUrl,
    '--ca-fingerprint',
    c.fingerprint!,
    'login',
    '--email',
    email,
    '--password',
    password,
  ]);

describe('outpost passwd and users disable', () => {
  it('passwd changes the password and ends the CLI token; users disable/enable switch a user', async () => {
    const email = 'cli-cred@example.com';
    const user = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/users', {
      email,
      name: 'Cli',
      password: 'old password, long enough',
      roles: [{ role: 'tier1', clientId: c.clientId }],
    });
    expect((await login('user.json', email, 'old password, long enough')).code).toBe(0);

    const wrong = await run('user.json', [
      'passwd',
      '--current-password',
      'not my password',
      '--new-password',
      'new password, long enough',
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/OUTPOST_E_REAUTH_FAILED/);

    const ok = await run('user.json', [
      'passwd',
      '--current-password',
      'old password, long enough',
      '--new-password',
      'new password, long enough',
    ]);
    expect(ok.out).toMatch(/password changed; 1 session\(s\) and API token\(s\) ended/);
    expect(ok.code).toBe(0);
    expect((await run('user.json', ['whoami'])).out).toMatch(/OUTPOST_E_UNAUTHENTICATED/);
    expect((await login('user.json', email, 'old password, long enough')).out).toMatch(/OUTPOST_E_LOGIN_FAILED/);
    expect((await login('user.json', email, 'new password, long enough')).code).toBe(0);

    expect((await login('admin.json', c.collector.initialAdmin!.email, c.collector.initialAdmin!.password)).code).toBe(
      0,
    );
    const disabled = await run('admin.json', ['--json', 'users', 'disable', user.id]);
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.out).disabled).toBe(true);
    expect((await run('user.json', ['whoami'])).out).toMatch(/OUTPOST_E_UNAUTHENTICATED/);
    expect((await login('user.json', email, 'new password, long enough')).out).toMatch(/OUTPOST_E_LOGIN_FAILED/);
    expect((await run('admin.json', ['users', 'enable', user.id])).code).toBe(0);
    expect((await login('user.json', email, 'new password, long enough')).code).toBe(0);
  });
});
