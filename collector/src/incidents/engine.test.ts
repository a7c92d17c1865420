import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ContractInput } from '../contracts/index.js';
import { DetectionEngine, PolicySet, parsePolicy } from '../detection/index.js';
import { type Harness, harness, paris } from './harness.fixture.js';

const M = 60_000;
const H = 60 * M;
const SYSTEM = { kind: 'system', id: 'system' } as const;

/** Office hours Mon–Fri 09:00–18:00 Paris with 1 May; the plant site runs 24/7. P2: respond in 1 h, resolve in 4 h. */
async function withContract(start: number): Promise<Harness> {
  const h = await harness({ start });
  const office = await h.contracts.saveCalendar(SYSTEM, {
    name: 'Office',
    clientId: h.client.id,
    timezone: 'Europe/Paris',
    kind: 'hours',
    hours: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', '18:00']]])) as Record<
      string,
      [string, string][]
    >,
    holidays: ['2026-05-01'],
  });
  const allDay = await h.contracts.saveCalendar(SYSTEM, {
    name: '24/7',
    clientId: null,
    timezone: 'UTC',
    kind: '24x7',
  });
  const contract: ContractInput = {
    name: 'Gold',
    calendarId: office.id,
    siteCalendars: { [h.plant.id]: allDay.id },
    targets: { P2: { responseMinutes: 60, resolutionMinutes: 240 } },
    nearBreachRatio: 0.75,
  };
  await h.contracts.setContract(SYSTEM, h.client.id, contract);
  return h;
}

const openP2 = (h: Harness, siteId = h.site.id) =>
  h.incidents.open(SYSTEM, {
    clientId: h.client.id,
    siteId,
    title: 'Printer queue stuck',
    type: 'printing',
    criticality: 'P2',
  });

async function tickAt(h: Harness, at: number) {
  h.clock.t = at;
  return h.incidents.tick();
}

describe('SLA clock on business hours', () => {
  it('stops overnight; near breach then breach each escalate one tier and notify; ack stops the response clock', async () => {
    const h = await withContract(paris('2026-01-13T17:30', 1)); // Tuesday evening
    const inc = await openP2(h);
    expect(inc.tier).toBe(1);
    expect(inc.sla?.responseDue).toBe(paris('2026-01-14T09:30', 1));
    expect(inc.sla?.resolutionDue).toBe(paris('2026-01-14T12:30', 1));

    expect(await tickAt(h, paris('2026-01-13T23:00', 1))).toMatchObject({ warnings: 0, breaches: 0 });
    expect(await tickAt(h, paris('2026-01-14T09:14', 1))).toMatchObject({ warnings: 0, breaches: 0 });
    expect((await h.incidents.get(inc.id))?.tier).toBe(1);

    expect(await tickAt(h, paris('2026-01-14T09:16', 1))).toMatchObject({ warnings: 1, breaches: 0 });
    let now = (await h.incidents.get(inc.id))!;
    expect([now.tier, now.escalationLevel]).toEqual([2, 1]);
    expect(await h.incidents.list({ breached: true })).toMatchObject({ total: 0 });

    expect(await tickAt(h, paris('2026-01-14T09:31', 1))).toMatchObject({ warnings: 0, breaches: 1 });
    now = (await h.incidents.get(inc.id))!;
    expect([now.tier, now.escalationLevel]).toEqual([3, 2]);
    expect(now.sla?.responseBreachedAt).toBe(paris('2026-01-14T09:30', 1));
    expect((await h.incidents.list({ breached: true })).incidents.map((i) => i.id)).toEqual([inc.id]);
    // The same pass never fires twice.
    expect(await tickAt(h, paris('2026-01-14T09:32', 1))).toMatchObject({ warnings: 0, breaches: 0 });

    const sla = h.notices.filter((n) => n.event.startsWith('sla_'));
    expect(sla.map((n) => [n.event, n.detail.clock, n.incident.tier])).toEqual([
      ['sla_warning', 'response', 2],
      ['sla_breach', 'response', 3],
    ]);
    expect(sla[1]?.detail.at).toBe(paris('2026-01-14T09:30', 1));

    // Acknowledging stops the response clock; the resolution clock still warns at 75 % (Wed 11:30).
    h.clock.t = paris('2026-01-14T09:40', 1);
    await h.incidents.acknowledge(SYSTEM, inc.id);
    expect(await tickAt(h, paris('2026-01-14T11:29', 1))).toMatchObject({ warnings: 0 });
    expect(await tickAt(h, paris('2026-01-14T11:31', 1))).toMatchObject({ warnings: 1 });
    now = (await h.incidents.get(inc.id))!;
    expect([now.tier, now.escalationLevel]).toEqual([3, 3]);
    const kinds = (await h.incidents.timeline(inc.id)).map((e) => e.kind);
    expect(kinds).toEqual([
      'opened',
      'sla_warning',
      'escalated',
      'sla_breach',
      'escalated',
      'acknowledged',
      'sla_warning',
      'escalated',
    ]);
    // Every SLA escalation is in the audit log, by the system.
    const audited = (await h.audit.list({ type: 'incident.sla', limit: 10 })).map((a) => a.resource);
    expect(audited).toEqual([`incident:${inc.id}`, `incident:${inc.id}`, `incident:${inc.id}`]);
  });

  it('skips the weekend and a public holiday', async () => {
    const h = await withContract(paris('2026-01-16T17:00', 1)); // Friday
    const weekend = await openP2(h);
    expect(weekend.sla?.resolutionDue).toBe(paris('2026-01-19T12:00', 1));
    // Sunday: the response target (Friday 18:00) is breached once, without a stale warning; the resolution clock
    // has not moved since Friday evening.
    expect(await tickAt(h, paris('2026-01-18T12:00', 1))).toMatchObject({ warnings: 0, breaches: 1 });
    expect((await h.incidents.get(weekend.id))?.sla).toMatchObject({
      responseBreachedAt: paris('2026-01-16T18:00', 1),
      resolutionBreachedAt: null,
      resolutionWarned: false,
    });

    h.clock.t = paris('2026-04-30T17:00', 2); // Thursday before 1 May
    const holiday = await openP2(h);
    expect(holiday.sla?.responseDue).toBe(paris('2026-04-30T18:00', 2));
    expect(holiday.sla?.resolutionDue).toBe(paris('2026-05-04T12:00', 2));
  });

  it('keeps business hours through the spring-forward and fall-back weekends', async () => {
    const h = await withContract(paris('2026-03-27T17:30', 1));
    const spring = await openP2(h);
    // Monday 09:30 CEST is 07:30 UTC, not 08:30.
    expect(new Date(spring.sla!.responseDue!).toISOString()).toBe('2026-03-30T07:30:00.000Z');
    expect(await tickAt(h, paris('2026-03-30T09:29', 2))).toMatchObject({ breaches: 0 });
    expect(await tickAt(h, paris('2026-03-30T09:30', 2))).toMatchObject({ breaches: 1 });

    const h2 = await withContract(paris('2026-10-23T17:30', 2));
    const autumn = await openP2(h2);
    expect(new Date(autumn.sla!.responseDue!).toISOString()).toBe('2026-10-26T08:30:00.000Z');
    expect(await tickAt(h2, paris('2026-10-26T09:29', 1))).toMatchObject({ breaches: 0 });
    expect(await tickAt(h2, paris('2026-10-26T09:30', 1))).toMatchObject({ breaches: 1 });
  });

  it('runs around the clock on a 24/7 site', async () => {
    const h = await withContract(paris('2026-01-17T03:00', 1)); // Saturday night
    const inc = await openP2(h, h.plant.id);
    expect(inc.sla?.responseDue).toBe(paris('2026-01-17T04:00', 1));
    expect(await tickAt(h, paris('2026-01-17T04:00', 1))).toMatchObject({ breaches: 1 });
  });
});

describe('a calendar that never covers anything', () => {
  it('still opens the ticket, without a clock, and says why', async () => {
    const h = await harness({ start: paris('2026-01-13T10:00', 1) });
    const mondays = Array.from({ length: 170 }, (_, i) =>
      new Date(Date.UTC(2026, 0, 12) + i * 7 * 86_400_000).toISOString().slice(0, 10),
    );
    const cal = await h.contracts.saveCalendar(SYSTEM, {
      name: 'Mondays, all holidays',
      clientId: h.client.id,
      timezone: 'Europe/Paris',
      kind: 'hours',
      hours: { mon: [['09:00', '10:00']] },
      holidays: mondays,
    });
    await h.contracts.setContract(SYSTEM, h.client.id, {
      name: 'Odd',
      calendarId: cal.id,
      targets: { P2: { responseMinutes: 60, resolutionMinutes: 240 } },
    });
    const inc = await openP2(h);
    expect(inc.sla).toBeNull();
    expect((await h.incidents.timeline(inc.id))[0]?.data.slaError).toMatch(/covers no time/);
  });
});

describe('a busy pass', () => {
  it('handles every ticket due in one pass, past the page size', async () => {
    const h = await withContract(paris('2026-01-13T10:00', 1));
    for (let i = 0; i < 620; i++)
      await h.incidents.raise({
        key: `threshold:ag_${i}:cpu`,
        clientId: h.client.id,
        siteId: h.site.id,
        agentIds: [`ag_${i}`],
        source: 'threshold',
        rule: 'cpu',
        type: 'performance',
        criticality: 'P2',
        tier: 1,
        failureTime: h.clock.t,
        detectedAt: h.clock.t,
        title: 'CPU',
        explanation: 'busy',
      });
    expect(await tickAt(h, paris('2026-01-13T11:00', 1))).toMatchObject({ warnings: 0, breaches: 620 });
    expect((await h.incidents.list({ breached: true, limit: 1 })).total).toBe(620);
  });
});

describe('waiting on the customer', () => {
  it('pauses the clock (no breach while paused) and resumes with the covered time left', async () => {
    const h = await withContract(paris('2026-01-13T10:00', 1));
    const inc = await openP2(h);
    h.clock.t = paris('2026-01-13T10:20', 1);
    await h.incidents.acknowledge(SYSTEM, inc.id);
    h.clock.t = paris('2026-01-13T11:00', 1);
    const paused = await h.incidents.pause(SYSTEM, inc.id, 'waiting for the user to reboot');
    expect(paused.paused).toBe(true);
    expect(paused.sla).toMatchObject({ consumedMs: H, runningSince: null });
    expect(paused.nextSlaAt).toBeNull();

    // The original resolution due time (14:00) passes while paused: nothing fires.
    expect(await tickAt(h, paris('2026-01-13T16:00', 1))).toMatchObject({ warnings: 0, breaches: 0 });

    h.clock.t = paris('2026-01-13T17:00', 1);
    const resumed = await h.incidents.resume(SYSTEM, inc.id);
    // 3 h left: 1 h on Tuesday (17–18), 2 h on Wednesday morning.
    expect(resumed.sla?.resolutionDue).toBe(paris('2026-01-14T11:00', 1));
    // The response was given before the pause: its due instant stays what it was.
    expect(resumed.sla?.responseDue).toBe(paris('2026-01-13T11:00', 1));
    expect(await tickAt(h, paris('2026-01-14T10:59', 1))).toMatchObject({ breaches: 0, warnings: 1 });
    expect(await tickAt(h, paris('2026-01-14T11:00', 1))).toMatchObject({ breaches: 1 });
    const kinds = (await h.incidents.timeline(inc.id)).map((e) => e.kind);
    expect(kinds.slice(0, 4)).toEqual(['opened', 'acknowledged', 'paused', 'resumed']);
  });
});

describe('maintenance windows', () => {
  it('a signal suppressed by detection opens no ticket and starts no SLA clock', async () => {
    // Monday 12 January 2026, 00:00–02:00 UTC is a maintenance window; the plant runs 24/7 with P2 targets.
    const h = await withContract(Date.UTC(2026, 0, 12, 0, 30));
    const policy = parsePolicy(
      'baseline: { enabled: false }\nabsence: { enabled: false }\nthresholds: [{ metric: cpu.total_pct, value: 90, forSec: 0, criticality: P2 }]\nmaintenance: [{ days: [1], start: "00:00", minutes: 120 }]',
    );
    const engine = new DetectionEngine({
      sink: h.incidents,
      presence: {
        place: async (id) => ({ clientId: h.client.id, siteId: h.plant.id, hostname: id }),
        lastSeen: async () => [],
      },
      policies: new PolicySet([policy]),
      clock: h.clock,
      logger: pino({ level: 'silent' }),
      options: { heartbeatIntervalMs: 30_000 },
    });
    await engine.ingest('ag_1', [{ time: h.clock.t, values: { 'cpu.total_pct': 99 } }]);
    expect(engine.suppressed).toHaveLength(1);
    expect(await h.incidents.list({})).toMatchObject({ total: 0 });
    expect(await tickAt(h, Date.UTC(2026, 0, 12, 1, 59))).toMatchObject({ warnings: 0, breaches: 0 });
    expect(h.notices).toEqual([]);

    // After the window the same fault opens a ticket whose clock starts then, not at the suppressed sample.
    h.clock.t = Date.UTC(2026, 0, 12, 2, 30);
    await engine.ingest('ag_2', [{ time: h.clock.t, values: { 'cpu.total_pct': 99 } }]);
    const { incidents } = await h.incidents.list({});
    expect(incidents).toHaveLength(1);
    expect(incidents[0]?.sla?.responseDue).toBe(Date.UTC(2026, 0, 12, 3, 30));
  });
});
