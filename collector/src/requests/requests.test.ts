/**
 * Users' requests as tickets, on a real collector (buildApp on a temp dir, real SQLite, `inject`): a phone call logged
 * by a tier-1 technician lands in the same queue with its channel, requester (VIP from the directory), triage by the
 * client's keyword rules; the technician corrects the triage; admins alone manage the directory and rules; another
 * client's call is refused like an unknown client; oversized text is refused with a code and stores nothing; HTML in
 * a request stays text in the quality report, which counts requests by channel and their recurring causes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { QualityReportSchema } from '../reports/quality/index.js';

let app: Collector;
let dir: string;
let admin: string;
let tier1: string;
let viewer: string;
let clientA: string;
let clientB: string;

type Json = Record<string, unknown>;
const call = async (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => {
  const r = await app.api.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { payload: body as Json }),
  });
  return { status: r.statusCode, json: () => r.json() as Json, text: r.body };
};
const ok = async (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => {
  const r = await call(token, method, url, body);
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.text}`);
  return r.json();
};

async function userToken(email: string, role: string, clientId: string): Promise<string> {
  const password = 'a long enough password 123';
  await ok(admin, 'POST', '/api/v1/users', { email, name: email, password, roles: [{ role, clientId }] });
  const r = await app.api.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  return (r.json() as { token: string }).token;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-requests-'));
  const settings = checkSettings({ dataDir: join(dir, 'data'), tls: { enabled: false }, log: { level: 'silent' } });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
  const r = await app.api.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: app.initialAdmin!.email, password: app.initialAdmin!.password },
  });
  admin = (r.json() as { token: string }).token;
  clientA = (await ok(admin, 'POST', '/api/v1/clients', { name: 'Acme' })).id as string;
  clientB = (await ok(admin, 'POST', '/api/v1/clients', { name: 'Globex' })).id as string;
  for (const c of [clientA, clientB])
    await ok(admin, 'POST', `/api/v1/clients/${c}/sites`, { name: 'HQ', timezone: 'Europe/Paris' });
  tier1 = await userToken('t1@acme.test', 'tier1', clientA);
  viewer = await userToken('v@acme.test', 'viewer', clientA);
  await ok(admin, 'POST', `/api/v1/clients/${clientA}/triage-rules`, {
    keywords: ['printer', 'imprimante'],
    type: 'printer',
    criticality: 'P4',
  });
  await ok(admin, 'POST', `/api/v1/clients/${clientA}/triage-rules`, {
    keywords: ['vpn'],
    type: 'network',
    criticality: 'P2',
    tier: 2,
  });
  await ok(admin, 'POST', `/api/v1/clients/${clientA}/requesters`, {
    name: 'Alice Boss',
    email: 'Alice@Acme.test',
    vip: true,
    handles: ['login:alice', 'slack:U0ALICE'],
  });
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a phone call logged as a ticket', () => {
  let id: string;

  it('opens an incident with channel phone, the VIP requester from the directory and the triage rule applied', async () => {
    const inc = await ok(tier1, 'POST', '/api/v1/requests/calls', {
      clientId: clientA,
      requester: 'Alice',
      email: 'alice@acme.test',
      text: 'The VPN drops every ten minutes\nsince this morning',
    });
    id = inc.id as string;
    expect(inc).toMatchObject({
      channel: 'phone',
      type: 'network',
      // The rule says P2; Alice is a VIP: one step up.
      criticality: 'P1',
      tier: 2,
      status: 'open',
      title: 'Phone request from Alice Boss: The VPN drops every ten minutes',
    });
    const req = await ok(tier1, 'GET', `/api/v1/incidents/${id}/request`);
    expect(req).toMatchObject({ channel: 'phone', requesterName: 'Alice Boss', vip: true, agentId: null });
    expect(req.triage).toMatchObject({ rule: { keyword: 'vpn' }, vipRaised: true });
    const queue = await ok(tier1, 'GET', '/api/v1/incidents?channel=phone');
    expect((queue.incidents as Json[]).map((i) => i.id)).toEqual([id]);
    const shown = await ok(tier1, 'GET', `/api/v1/incidents/${id}`);
    expect((shown.timeline as Json[])[0]).toMatchObject({ kind: 'opened', data: { channel: 'phone' } });
  });

  it('lets the tier-1 technician correct the triage (timeline says from what to what), not a viewer', async () => {
    const after = await ok(tier1, 'POST', `/api/v1/incidents/${id}/retriage`, {
      type: 'vpn',
      criticality: 'P3',
      reason: 'only one user affected',
    });
    expect(after).toMatchObject({ type: 'vpn', criticality: 'P3' });
    const shown = await ok(tier1, 'GET', `/api/v1/incidents/${id}`);
    expect((shown.timeline as Json[]).at(-1)).toMatchObject({
      kind: 'retriaged',
      data: { from: { type: 'network', criticality: 'P1' }, to: { type: 'vpn', criticality: 'P3' } },
    });
    const refused = await call(viewer, 'POST', `/api/v1/incidents/${id}/retriage`, { type: 'x', reason: 'no' });
    expect(refused.status).toBe(403);
    const empty = await call(tier1, 'POST', `/api/v1/incidents/${id}/retriage`, { reason: 'nothing' });
    expect(empty.json()).toMatchObject({ error: { code: 'OUTPOST_E_BAD_REQUEST' } });
  });

  it("refuses another client's call like an unknown client, and an oversized request, storing nothing", async () => {
    const before = (await ok(admin, 'GET', '/api/v1/incidents')).total;
    const other = await call(tier1, 'POST', '/api/v1/requests/calls', {
      clientId: clientB,
      requester: 'Mallory',
      text: 'help',
    });
    expect(other.status).toBe(404);
    const huge = await call(tier1, 'POST', '/api/v1/requests/calls', {
      clientId: clientA,
      requester: 'Bob',
      text: 'x'.repeat(10_001),
    });
    expect(huge.status).toBe(400);
    expect(huge.json()).toMatchObject({ error: { code: 'OUTPOST_E_BAD_REQUEST' } });
    expect((await ok(admin, 'GET', '/api/v1/incidents')).total).toBe(before);
  });

  it('keeps the directory and the rules to admins; technicians read them', async () => {
    const r = await call(tier1, 'POST', `/api/v1/clients/${clientA}/requesters`, { name: 'Eve', vip: true });
    expect(r.status).toBe(403);
    const rule = await call(tier1, 'POST', `/api/v1/clients/${clientA}/triage-rules`, {
      keywords: ['x'],
      type: 'x',
    });
    expect(rule.status).toBe(403);
    const list = await ok(tier1, 'GET', `/api/v1/clients/${clientA}/requesters`);
    expect((list.requesters as Json[]).map((x) => x.email)).toEqual(['alice@acme.test']);
    expect((await call(tier1, 'GET', `/api/v1/clients/${clientB}/requesters`)).status).toBe(404);
    const dup = await call(admin, 'POST', `/api/v1/clients/${clientA}/requesters`, {
      name: 'Alice again',
      email: 'alice@acme.test',
    });
    expect(dup.json()).toMatchObject({ error: { code: 'OUTPOST_E_CONFLICT' } });
  });
});

describe('the quality report', () => {
  it('counts requests by channel and their recurring causes; HTML in a request stays text', async () => {
    for (const text of ['<script>alert(1)</script> printer jammed', 'Imprimante hors ligne']) {
      const inc = await ok(tier1, 'POST', '/api/v1/requests/calls', { clientId: clientA, requester: 'Bob', text });
      expect(inc.type).toBe('printer');
      await ok(tier1, 'POST', `/api/v1/incidents/${inc.id as string}/resolve`, {
        note: 'toner',
        category: 'hardware',
      });
    }
    await ok(tier1, 'POST', '/api/v1/incidents', {
      clientId: clientA,
      siteId: (await app.tenants.listSites(clientA))[0]!.id,
      title: 'Technician ticket',
      type: 'maintenance',
      criticality: 'P4',
    });
    const day = (t: number) => new Date(t).toISOString().slice(0, 10);
    const q = `clientId=${clientA}&from=${day(Date.now() - 86_400_000)}&to=${day(Date.now() + 86_400_000)}`;
    const json = await ok(tier1, 'GET', `/api/v1/reports/quality?${q}&format=json`);
    // The JSON is exactly the report's closed schema (what a script reading it can rely on).
    expect([...Value.Errors(QualityReportSchema, json)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    const current = json.current as { requests: Json };
    expect(current.requests).toEqual({
      total: 3,
      byChannel: { phone: 3 },
      recurringCauses: [{ type: 'printer', count: 2, resolutions: { hardware: 2 } }],
    });
    const html = (await call(tier1, 'GET', `/api/v1/reports/quality?${q}&format=html`)).text;
    expect(html).toContain("Users' requests");
    expect(html).not.toContain('<script>alert');
    const csv = (await call(tier1, 'GET', `/api/v1/reports/quality?${q}&format=csv`)).text;
    expect(csv).toContain('requests_channel,phone,3,0');
    expect(csv).toContain('recurring_cause,printer,2,');
  });
});

describe('the origin of a request (a Message-ID, a chat message id)', () => {
  it("names a ticket of its own client only: another client's copy is refused, never answered with that ticket", async () => {
    const origin = `email:<${Date.now()}.payroll@mail.acme.test>`;
    const mail = (clientId: string, from: string) =>
      app.requests.file({
        clientId,
        channel: 'email',
        origin,
        text: 'The payroll export fails for the March run',
        requester: { name: from, email: from },
      });
    const first = await mail(clientA, 'alice@acme.test');
    expect(first.created).toBe(true);
    // A sender of client B reusing A's Message-ID: before, B's filing returned A's ticket (then acknowledged to B).
    await expect(mail(clientB, 'mallory@globex.test')).rejects.toMatchObject({ code: 'OUTPOST_E_CONFLICT' });
    // A's own resend is still the same ticket.
    const again = await mail(clientA, 'alice@acme.test');
    expect(again).toMatchObject({ created: false, incident: { id: first.incident.id, clientId: clientA } });
  });
});
