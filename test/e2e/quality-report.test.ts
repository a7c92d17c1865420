/**
 * The service-quality report through the API and the real `outpost report quality` process: figures for a client's
 * period, HTML and CSV, per-client authorisation and audit, and clear refusals for bad input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import type { OutpostError } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';

let c: TestCollector;
const dir = tempDir('e2e-quality');

beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => (err as OutpostError).code,
  );

describe('service-quality report', () => {
  it('reports a period of incidents as JSON, HTML and CSV, from the API and the CLI, and audits it', async () => {
    for (const [title, criticality] of [
      ['Mail down', 'P1'],
      ['Printer jam', 'P3'],
      ['Printer jam again', 'P3'],
    ] as const) {
      await apiCall(c.admin, 'POST', '/api/v1/incidents', {
        clientId: c.clientId,
        siteId: c.siteId,
        title,
        type: title.startsWith('Printer') ? 'printing' : 'mail',
        criticality,
      });
    }
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const q = `clientId=${c.clientId}&from=${today}&to=${tomorrow}`;
    const json = await apiCall<{
      clientName: string;
      current: { incidents: number; byCriticality: Record<string, number>; byType: { type: string; count: number }[] };
      previous: { incidents: number };
    }>(c.admin, 'GET', `/api/v1/reports/quality?${q}&format=json`);
    expect(json.clientName).toBe('Acme');
    expect(json.current.incidents).toBe(3);
    expect(json.current.byCriticality).toEqual({ P1: 1, P2: 0, P3: 2, P4: 0 });
    expect(json.current.byType[0]).toEqual(expect.objectContaining({ type: 'printing', count: 2 }));
    expect(json.previous.incidents).toBe(0);

    const global = [
      '--server',
      c.apiUrl,
      '--token',
      c.admin.token!,
      ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
    ];
    const quality = (...extra: string[]) =>
      spawnNode(outpostBin, [
        ...global,
        'report',
        'quality',
        '--client',
        c.clientId,
        '--from',
        today,
        '--to',
        tomorrow,
        ...extra,
      ]);
    const html = join(dir.path, 'quality.html');
    const cli = quality('--out', html);
    expect(await cli.exited).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toMatch(/data-figure="Incidents">3</);
    const csv = quality('--format', 'csv');
    expect(await csv.exited).toBe(0);
    expect(csv.stdout()).toContain('summary,incidents,3,0');

    const audit = await apiCall<{ events: { type: string; result: string; resource: string }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=200',
    );
    const reads = audit.events.filter((e) => e.type === 'report.quality' && e.result === 'success');
    expect(reads.map((e) => e.resource)).toEqual([1, 2, 3].map(() => `client:${c.clientId}`));
  });

  it('refuses bad input and other clients with a clear error, writing no report', async () => {
    const day = '2026-10-01';
    const other = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Globex' });
    const email = `viewer-${Date.now()}@acme.test`;
    await apiCall(c.admin, 'POST', '/api/v1/users', {
      email,
      name: 'viewer',
      password: 'pw-long-enough-1',
      roles: [{ role: 'viewer', clientId: c.clientId }],
    });
    const login = await apiCall<{ token: string }>(c.admin, 'POST', '/api/v1/auth/login', {
      email,
      password: 'pw-long-enough-1',
    });
    const viewer: ApiTarget = { ...c.admin, token: login.token };
    const get = (t: ApiTarget, query: string) => apiCall(t, 'GET', `/api/v1/reports/quality?${query}`);
    expect(await refusal(get(c.admin, `clientId=cl_nope&from=${day}&to=2026-11-01`))).toBe('OUTPOST_E_NOT_FOUND');
    expect(await refusal(get(c.admin, `clientId=${c.clientId}&from=2026-11-01&to=${day}`))).toBe(
      'OUTPOST_E_BAD_REQUEST',
    );
    expect(await refusal(get(c.admin, `clientId=${c.clientId}&from=2026-02-30&to=2026-03-01`))).toBe(
      'OUTPOST_E_BAD_REQUEST',
    );
    expect(await refusal(get(c.admin, `clientId=${c.clientId}&from=yesterday&to=${day}`))).toBe(
      'OUTPOST_E_BAD_REQUEST',
    );
    // Another client's report: as for an unknown client (what a user may not see does not exist).
    expect(await refusal(get(viewer, `clientId=${other.id}&from=${day}&to=2026-11-01`))).toBe('OUTPOST_E_NOT_FOUND');
    // The viewer may read its own client's report.
    await expect(get(viewer, `clientId=${c.clientId}&from=${day}&to=2026-11-01&format=json`)).resolves.toBeTruthy();
    const cli = spawnNode(outpostBin, [
      '--server',
      c.apiUrl,
      'report',
      'quality',
      '--client',
      c.clientId,
      '--from',
      'last-week',
      '--to',
      day,
    ]);
    expect(await cli.exited).not.toBe(0);
    expect(cli.stderr()).toMatch(/expected a date such as 2026-10-01/);
  });
});
