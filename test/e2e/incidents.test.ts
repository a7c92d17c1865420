/**
 * Incidents and contracts through the API of a collector on loopback (buildApp + a real listener), with a fake clock:
 * a contract with business hours, a ticket opened by hand, worked and breached; refusals change nothing; every
 * action is in the audit log; the CLI shows the ticket with its timeline.
 */
import { type ApiTarget, apiCall } from '@outpost/collector';
import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector } from '../support/collector.js';

type Row = Record<string, unknown>;
type Incident = Row & { id: string; status: string; tier: number; sla: Row | null };
const M = 60_000;
/** Tuesday 13 January 2026, 17:30 in Paris (CET, UTC+1). */
const T0 = Date.parse('2026-01-13T17:30:00+01:00');

async function refused(p: Promise<unknown>): Promise<OutpostError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostError);
  return err as OutpostError;
}

describe('incidents over the API', () => {
  it('contract, manual ticket, actions, SLA breach, refusals that change nothing, audit and CLI', async () => {
    const clock = { t: T0, now: () => clock.t };
    await using c = await startTestCollector(
      {
        incidents: { tickMs: 3_600_000, autoResolveHoldMs: 300_000, reopenWindowMs: 86_400_000 },
        auth: { sessionTtlHours: 720, initialAdminEmail: 'admin@outpost.local' },
      },
      { clock },
    );
    const base = { server: c.apiUrl, caFingerprint: c.fingerprint };
    const userOf = async (clientId: string, role: string): Promise<ApiTarget & { id: string }> => {
      const email = `${role}-${clientId}@acme.test`;
      const u = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/users', {
        email,
        name: role,
        password: 'correct horse battery staple',
        roles: [{ role, clientId }],
      });
      const login = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
        email,
        password: 'correct horse battery staple',
      });
      return { ...base, token: login.token, id: u.id };
    };
    const tech = await userOf(c.clientId, 'tier1');
    const viewer = await userOf(c.clientId, 'viewer');
    const other = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Globex' });
    const outsider = await userOf(other.id, 'tier3');

    // Contract: Mon–Fri 09:00–18:00 Paris; P2 respond in 1 h, resolve in 4 h.
    const cal = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/calendars', {
      name: 'Office',
      clientId: c.clientId,
      timezone: 'Europe/Paris',
      kind: 'hours',
      hours: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', '18:00']]])),
      holidays: ['2026-05-01'],
    });
    const contract = {
      name: 'Gold',
      calendarId: cal.id,
      targets: { P2: { responseMinutes: 60, resolutionMinutes: 240 } },
      nearBreachRatio: 0.75,
      penalties: { currency: 'EUR', perBreach: { P2: 150 } },
    };
    await apiCall(c.admin, 'PUT', `/api/v1/clients/${c.clientId}/contract`, contract);

    // Impossible calendars and a malformed contract: 400 with a code, nothing stored.
    for (const bad of [
      { hours: { mon: [['18:00', '09:00']] } },
      { timezone: 'Europe/Atlantis' },
      { holidays: ['2026-02-30'] },
    ]) {
      const e = await refused(
        apiCall(c.admin, 'POST', '/api/v1/calendars', {
          name: 'Bad',
          clientId: c.clientId,
          timezone: 'Europe/Paris',
          kind: 'hours',
          hours: { mon: [['09:00', '18:00']] },
          ...bad,
        }),
      );
      expect(e.code).toBe('OUTPOST_E_CALENDAR_INVALID');
    }
    expect((await apiCall<{ calendars: Row[] }>(c.admin, 'GET', '/api/v1/calendars')).calendars).toHaveLength(1);
    const malformed = await refused(
      apiCall(c.admin, 'PUT', `/api/v1/clients/${c.clientId}/contract`, {
        ...contract,
        targets: { P1: { responseMinutes: 120, resolutionMinutes: 30 } },
      }),
    );
    expect(malformed.code).toBe('OUTPOST_E_CONTRACT_INVALID');
    expect((await refused(apiCall(c.admin, 'PUT', '/api/v1/clients/cl_nope/contract', contract))).code).toBe(
      'OUTPOST_E_NOT_FOUND',
    );
    // Only admins manage contracts; technicians and viewers read them.
    expect((await refused(apiCall(tech, 'PUT', `/api/v1/clients/${c.clientId}/contract`, contract))).code).toBe(
      'OUTPOST_E_FORBIDDEN',
    );
    expect(await apiCall<Row>(viewer, 'GET', `/api/v1/clients/${c.clientId}/contract`)).toMatchObject({
      targets: contract.targets,
    });

    // A technician opens a ticket by hand (impact 2 × urgency 1 = P2) on Tuesday evening.
    const opened = await apiCall<Incident>(tech, 'POST', '/api/v1/incidents', {
      clientId: c.clientId,
      siteId: c.siteId,
      title: 'Accounting cannot print',
      type: 'printing',
      impact: 2,
      urgency: 1,
    });
    expect(opened).toMatchObject({ status: 'open', criticality: 'P2', tier: 1, source: 'manual' });
    expect(opened.sla).toMatchObject({
      responseDue: Date.parse('2026-01-14T09:30:00+01:00'),
      resolutionDue: Date.parse('2026-01-14T12:30:00+01:00'),
      running: true,
    });
    // Unknown client (admin may act on any): 404; a viewer: 403; another client's technician: 404, as for an unknown
    // id (what a user may not see does not exist).
    const unknown = await refused(
      apiCall(c.admin, 'POST', '/api/v1/incidents', {
        clientId: 'cl_nope',
        siteId: c.siteId,
        title: 'x',
        type: 'x',
        criticality: 'P3',
      }),
    );
    expect(unknown.code).toBe('OUTPOST_E_NOT_FOUND');
    expect((await refused(apiCall(viewer, 'POST', `/api/v1/incidents/${opened.id}/ack`, {}))).code).toBe(
      'OUTPOST_E_FORBIDDEN',
    );
    expect((await refused(apiCall(outsider, 'GET', `/api/v1/incidents/${opened.id}`))).code).toBe(
      'OUTPOST_E_NOT_FOUND',
    );
    expect((await apiCall<{ total: number }>(outsider, 'GET', '/api/v1/incidents')).total).toBe(0);

    // A transition not allowed from "open": 409, and the row is unchanged.
    const before = await apiCall<{ incident: Incident; timeline: Row[] }>(
      tech,
      'GET',
      `/api/v1/incidents/${opened.id}`,
    );
    clock.t += M;
    const bad = await refused(apiCall(tech, 'POST', `/api/v1/incidents/${opened.id}/close`, {}));
    expect([bad.code, bad.status]).toEqual(['OUTPOST_E_TRANSITION_INVALID', 409]);
    expect(await apiCall(tech, 'GET', `/api/v1/incidents/${opened.id}`)).toEqual(before);

    // Overnight nothing fires; Wednesday 09:31 the response target is breached: tier 2 after the near-breach pass.
    clock.t = Date.parse('2026-01-14T09:16:00+01:00');
    expect(await c.collector.incidents.tick()).toMatchObject({ warnings: 1, breaches: 0 });
    clock.t = Date.parse('2026-01-14T09:31:00+01:00');
    expect(await c.collector.incidents.tick()).toMatchObject({ warnings: 0, breaches: 1 });
    const breached = await apiCall<{ incidents: Incident[] }>(tech, 'GET', '/api/v1/incidents?breached=true');
    expect(breached.incidents.map((i) => [i.id, i.tier])).toEqual([[opened.id, 3]]);
    const queues = await apiCall<{ queues: Row[] }>(tech, 'GET', '/api/v1/incident-queues');
    expect(queues.queues).toEqual([{ tier: 3, criticality: 'P2', open: 1, unassigned: 1 }]);

    // Work the ticket.
    const id = opened.id;
    await apiCall(tech, 'POST', `/api/v1/incidents/${id}/take`, {});
    await apiCall(tech, 'POST', `/api/v1/incidents/${id}/comment`, { text: 'Driver update broke the queue' });
    await apiCall(tech, 'POST', `/api/v1/incidents/${id}/deescalate`, { reason: 'known fix, tier 1 handles it' });
    await apiCall(tech, 'POST', `/api/v1/incidents/${id}/pause`, { reason: 'waiting for the user' });
    await apiCall(tech, 'POST', `/api/v1/incidents/${id}/resume`, {});
    clock.t += 20 * M;
    const resolved = await apiCall<Incident>(tech, 'POST', `/api/v1/incidents/${id}/resolve`, {
      note: 'Rolled back the printer driver',
      category: 'software',
    });
    expect(resolved).toMatchObject({ status: 'resolved', resolutionMs: clock.t - T0, tier: 2 });
    expect(
      (await refused(apiCall(tech, 'POST', `/api/v1/incidents/${id}/resolve`, { note: 'x', category: 'guess' }))).code,
    ).toBe('OUTPOST_E_BAD_REQUEST');
    await apiCall(tech, 'POST', `/api/v1/incidents/${id}/close`, {});

    const shown = await apiCall<{ incident: Incident; timeline: { kind: string; actor: string }[] }>(
      tech,
      'GET',
      `/api/v1/incidents/${id}`,
    );
    expect(shown.incident.status).toBe('closed');
    expect(shown.timeline.map((e) => e.kind)).toEqual([
      'opened',
      'sla_warning',
      'escalated',
      'sla_breach',
      'escalated',
      'acknowledged',
      'assigned',
      'comment',
      'deescalated',
      'paused',
      'resumed',
      'resolved',
      'closed',
    ]);

    const audit = await apiCall<{ events: { type: string; resource: string | null; result: string }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=200',
    );
    const mine = audit.events.filter((e) => e.resource === `incident:${id}`).map((e) => `${e.type}:${e.result}`);
    expect(mine.reverse()).toEqual([
      'incident.open:success',
      'incidents.write:denied', // the viewer's ack
      'incidents.read:denied', // the outsider's read
      'incident.sla:success',
      'incident.sla:success',
      'incident.take:success',
      'incident.comment:success',
      'incident.deescalate:success',
      'incident.pause:success',
      'incident.resume:success',
      'incident.resolve:success',
      'incident.close:success',
    ]);
    const setup = audit.events.map((e) => e.type).filter((t) => /^(calendar|contract)\./.test(t));
    expect(setup).toEqual(['contract.set', 'calendar.create']);

    // The CLI lists (filters go through as the API expects them) and shows the ticket with its timeline.
    const global = [
      '--server',
      c.apiUrl,
      '--token',
      tech.token!,
      ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
    ];
    const list = spawnNode(outpostBin, [
      ...global,
      '--json',
      'incidents',
      'list',
      '--status',
      'resolved,closed',
      '--breached',
      '--tier',
      '2',
    ]);
    expect(await list.exited).toBe(0);
    expect((JSON.parse(list.stdout()) as Incident[]).map((i) => i.id)).toEqual([id]);
    const cli = spawnNode(outpostBin, [...global, 'incidents', 'show', id], { TZ: 'UTC' });
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toMatch(/status\s+closed/);
    expect(cli.stdout()).toMatch(/resolution\s+\[software\] Rolled back the printer driver/);
    expect(cli.stdout()).toMatch(/SLA response BREACHED/);
    expect(cli.stdout()).toMatch(/responseDue\s+2026-01-14 08:30 BREACHED/);
  });
});
