/**
 * The policy file on a real collector (buildApp on a temp dir, real SQLite): a malformed file stops the start with a
 * coded error naming the file and field; the API shows the policies in force; a bad reload keeps them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { parsePolicyFile } from './policy-file.js';

const dirs: string[] = [];
const apps: Collector[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(policyText?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-policy-'));
  dirs.push(dir);
  const policyFile = join(dir, 'policy.yaml');
  if (policyText !== undefined) writeFileSync(policyFile, policyText);
  const settings = checkSettings({
    dataDir: dir,
    tls: { enabled: false },
    log: { level: 'silent' },
    detection: { policyFile },
  });
  const start = async (saved?: string) => {
    const app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
    apps.push(app);
    const token =
      saved ??
      (
        (
          await app.api.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { email: app.initialAdmin!.email, password: app.initialAdmin!.password },
          })
        ).json() as { token: string }
      ).token;
    const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
      app.api.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload !== undefined ? { payload: payload as object } : {}),
      });
    return { app, call, token };
  };
  return { policyFile, start };
}

const GOOD = `
- thresholds:
    - { metric: cpu.total_pct, value: 90, forSec: 300 }
- siteId: si_lab
  baseline: { enabled: false }
  maintenance:
    - { days: [0], start: "02:00", minutes: 60 }
`;

describe('detection policy file', () => {
  it('refuses to start on a malformed policy, naming the file and the field', async () => {
    const { policyFile, start } = setup('thresholds:\n  - { metric: cpu.total_pct, value: "high" }\n');
    const err = await start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('OUTPOST_E_POLICY_INVALID');
    expect((err as OutpostError).message).toContain(policyFile);
    expect((err as OutpostError).message).toContain('/thresholds/0/value');
  });

  it('refuses a missing file and YAML that does not parse', async () => {
    expect(() => parsePolicyFile('a: [1, 2', 'p.yaml')).toThrow(/p\.yaml: not valid JSON or YAML/);
    expect(() => parsePolicyFile('[{"siteId":"s"},{"siteId":"s"}]', 'p.json')).toThrow(/second policy for the site s/);
    const { start } = setup();
    await expect(start()).rejects.toThrow(/cannot read the policy file/);
  });

  it('shows the policies in force; a bad reload keeps them and is reported; a good one replaces them', async () => {
    const { policyFile, start } = setup(GOOD);
    const { app, call } = await start();
    const shown = (await call('GET', '/api/v1/detection/policy')).json() as {
      file: string;
      policies: { siteId?: string; thresholds: { value: number; forSec: number }[]; baseline: { enabled: boolean } }[];
      lastError: null;
    };
    expect(shown.file).toBe(policyFile);
    expect(shown.policies).toHaveLength(2);
    expect(shown.policies[0]!.thresholds[0]).toMatchObject({ value: 90, forSec: 300 });
    expect(shown.policies[1]).toMatchObject({ siteId: 'si_lab', baseline: { enabled: false } });
    expect(app.policies.set.for('cl_x', 'si_lab').baseline.enabled).toBe(false);

    writeFileSync(policyFile, '- absence: { graceIntervals: 1 }\n');
    const bad = await call('POST', '/api/v1/detection/policy/reload');
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { error: { code: string } }).error.code).toBe('OUTPOST_E_POLICY_INVALID');
    const after = (await call('GET', '/api/v1/detection/policy')).json() as {
      policies: unknown[];
      lastError: { code: string; message: string };
    };
    expect(after.policies).toHaveLength(2);
    expect(after.lastError.code).toBe('OUTPOST_E_POLICY_INVALID');
    expect(after.lastError.message).toContain('/absence/graceIntervals');
    expect(app.policies.set.for('cl_x', 'si_lab').baseline.enabled).toBe(false);

    writeFileSync(policyFile, '{"thresholds":[{"metric":"mem.used_pct","value":95}]}');
    const ok = await call('POST', '/api/v1/detection/policy/reload');
    expect(ok.statusCode).toBe(200);
    expect(app.policies.set.for('cl_x', 'si_lab').baseline.enabled).toBe(true);
    expect(app.policies.set.for('cl_x', 'si_lab').thresholds[0]!.metric).toBe('mem.used_pct');
    const audit = await app.audit.list({ limit: 10 });
    const reloads = audit.filter((e) => e.type === 'detection.policy.reload').map((e) => e.result);
    expect(reloads.sort()).toEqual(['failure', 'success']);
  });

  it('lists the file read-only; a stored policy for the same scope overrides it until removed, and survives a restart', async () => {
    const { start } = setup(GOOD);
    const { app, call, token } = await start();
    const ids = async () =>
      (
        (await call('GET', '/api/v1/detection/policies')).json() as { policies: { id: string; inForce: boolean }[] }
      ).policies.map((p) => `${p.id}${p.inForce ? '' : ' (overridden)'}`);
    expect(await ids()).toEqual(['file:default', 'file:site:si_lab']);
    const ro = await call('PUT', '/api/v1/detection/policies/file:site:si_lab', {});
    expect(ro.statusCode).toBe(409);
    expect((ro.json() as { error: { message: string } }).error.message).toContain('edit the file and reload');

    const added = await call('POST', '/api/v1/detection/policies', {
      thresholds: [{ metric: 'swap.used_pct', value: 60 }],
    });
    expect(added.statusCode).toBe(201);
    const id = (added.json() as { id: string }).id;
    expect(await ids()).toEqual(['file:default (overridden)', 'file:site:si_lab', id]);
    expect(app.policies.set.for('cl_x', 'si_other').thresholds[0]!.metric).toBe('swap.used_pct');
    // A reload of the file keeps the stored policy in force over it.
    expect((await call('POST', '/api/v1/detection/policy/reload')).statusCode).toBe(200);
    expect(app.policies.set.for('cl_x', 'si_other').thresholds[0]!.metric).toBe('swap.used_pct');

    await app.close();
    const again = await start(token);
    expect(again.app.policies.set.for('cl_x', 'si_other').thresholds[0]!.metric).toBe('swap.used_pct');
    expect((await again.call('DELETE', `/api/v1/detection/policies/${id}`)).statusCode).toBe(200);
    expect(again.app.policies.set.for('cl_x', 'si_other').thresholds[0]).toMatchObject({
      metric: 'cpu.total_pct',
      value: 90,
    });
  });
});
