import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { harness } from '../incidents/harness.fixture.js';
import type { CalendarInput, ContractInput } from './schemas.js';
import { dutyAt } from './service.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 12, 7, 0); // Monday 08:00 in Paris
const SYSTEM = { kind: 'system', id: 'system' } as const;

const officeInput = (clientId: string | null): CalendarInput => ({
  name: 'Office hours',
  clientId,
  timezone: 'Europe/Paris',
  kind: 'hours',
  hours: { mon: [['09:00', '18:00']], tue: [['09:00', '18:00']] },
  holidays: ['2026-05-01'],
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostError);
  return (err as OutpostError).code;
}

describe('on-call rotations', () => {
  it('says who is on duty now, honours an override, and falls back to the shared rotation', async () => {
    const h = await harness({ start: T0 });
    const [alice, bob, carol] = [await h.user('alice'), await h.user('bob'), await h.user('carol')];
    const rot = await h.contracts.createRotation(SYSTEM, {
      name: 'Tier 1 nights',
      clientId: h.client.id,
      tier: 1,
      startAt: T0,
      shiftHours: 12,
      members: [alice.id, bob.id],
    });
    expect((await h.contracts.onCall(h.client.id, 1, T0 + H))?.userId).toBe(alice.id);
    expect(await h.contracts.onCall(h.client.id, 1, T0 + 13 * H)).toMatchObject({
      userId: bob.id,
      email: 'bob@acme.test',
      override: false,
      until: T0 + 24 * H,
    });
    expect((await h.contracts.onCall(h.client.id, 1, T0 + 25 * H))?.userId).toBe(alice.id);

    await h.contracts.addOverride(SYSTEM, rot.id, {
      userId: carol.id,
      from: T0 + 24 * H,
      to: T0 + 30 * H,
      reason: 'swap',
    });
    expect(await h.contracts.onCall(h.client.id, 1, T0 + 25 * H)).toMatchObject({
      userId: carol.id,
      override: true,
      until: T0 + 30 * H,
    });
    // After the override the rotation takes over again.
    expect((await h.contracts.onCall(h.client.id, 1, T0 + 31 * H))?.userId).toBe(alice.id);
    // The clock default: "now" is the fake clock's time.
    h.clock.t = T0 + 26 * H;
    expect((await h.contracts.onCall(h.client.id, 1))?.userId).toBe(carol.id);

    // No client rotation for tier 2: the shared (all-clients) one answers; none at all for tier 3.
    await h.contracts.createRotation(SYSTEM, {
      name: 'Shared tier 2',
      clientId: null,
      tier: 2,
      startAt: T0,
      shiftHours: 168,
      members: [bob.id],
    });
    expect((await h.contracts.onCall(h.client.id, 2))?.userId).toBe(bob.id);
    expect(await h.contracts.onCall(h.client.id, 3)).toBeUndefined();
    // dutyAt is pure: notifications can evaluate a rotation it already holds.
    expect(dutyAt(rot, T0 - H)).toMatchObject({ userId: bob.id, override: false, until: T0 });
  });

  it('refuses an override that ends before it starts or names no user, and changes nothing', async () => {
    const h = await harness({ start: T0 });
    const alice = await h.user('alice');
    const rot = await h.contracts.createRotation(SYSTEM, {
      name: 'R',
      clientId: h.client.id,
      tier: 1,
      startAt: T0,
      shiftHours: 8,
      members: [alice.id],
    });
    expect(
      await codeOf(h.contracts.addOverride(SYSTEM, rot.id, { userId: alice.id, from: T0 + H, to: T0, reason: 'x' })),
    ).toBe('OUTPOST_E_CONTRACT_INVALID');
    expect(
      await codeOf(h.contracts.addOverride(SYSTEM, rot.id, { userId: 'us_nobody', from: T0, to: T0 + H, reason: 'x' })),
    ).toBe('OUTPOST_E_CONTRACT_INVALID');
    expect(
      await codeOf(
        h.contracts.createRotation(SYSTEM, {
          name: 'R2',
          clientId: h.client.id,
          tier: 1,
          startAt: T0,
          shiftHours: 8,
          members: ['us_x'],
        }),
      ),
    ).toBe('OUTPOST_E_CONTRACT_INVALID');
    expect((await h.contracts.rotation(rot.id))?.overrides).toEqual([]);
    expect(await h.contracts.listRotations()).toHaveLength(1);
  });

  it("names another client's user exactly as an unknown one, and never pages someone for a client they left", async () => {
    const h = await harness({ start: T0 });
    const alice = await h.user('alice');
    const globex = await h.auth.createUser(SYSTEM, {
      email: 'g@globex.test',
      name: 'g',
      password: 'correct horse battery globex',
      roles: [{ role: 'tier3', clientId: h.other.id }],
    });
    const rot = await h.contracts.createRotation(SYSTEM, {
      name: 'R',
      clientId: h.client.id,
      tier: 1,
      startAt: T0,
      shiftHours: 8,
      members: [alice.id],
    });
    const answer = (p: Promise<unknown>, id: string) =>
      p.then(
        () => 'stored',
        (e: OutpostError) =>
          JSON.stringify({ code: e.code, message: e.message, details: e.details }).replaceAll(id, '<id>'),
      );
    const unknownId = `us_${'q'.repeat(globex.id.length - 3)}`;
    const override = (userId: string) =>
      h.contracts.addOverride(SYSTEM, rot.id, { userId, from: T0, to: T0 + H, reason: 'x' });
    const rotation = (userId: string) =>
      h.contracts.createRotation(SYSTEM, {
        name: 'R2',
        clientId: h.client.id,
        tier: 2,
        startAt: T0,
        shiftHours: 8,
        members: [alice.id, userId],
      });
    expect(await answer(override(globex.id), globex.id)).toBe(await answer(override(unknownId), unknownId));
    expect(await answer(override(globex.id), globex.id)).toContain('OUTPOST_E_CONTRACT_INVALID');
    expect(await answer(rotation(globex.id), globex.id)).toBe(await answer(rotation(unknownId), unknownId));
    expect(await answer(rotation(globex.id), globex.id)).toContain('members.1');
    expect((await h.contracts.rotation(rot.id))?.overrides).toEqual([]);
    expect(await h.contracts.listRotations()).toHaveLength(1);
    // A shared rotation may name anyone; a member is paged only for the clients they hold a role on.
    await h.contracts.createRotation(SYSTEM, {
      name: 'Shared',
      clientId: null,
      tier: 3,
      startAt: T0,
      shiftHours: 8,
      members: [globex.id],
    });
    expect(await h.contracts.onCall(h.client.id, 3)).toBeUndefined();
    expect((await h.contracts.onCall(h.other.id, 3))?.userId).toBe(globex.id);
  });
});

describe('contracts and calendars', () => {
  it('gives the SLA terms per criticality, with a site calendar, and audits every change', async () => {
    const h = await harness({ start: T0 });
    const office = await h.contracts.saveCalendar(SYSTEM, officeInput(h.client.id));
    const plant = await h.contracts.saveCalendar(SYSTEM, {
      name: '24/7',
      clientId: null,
      timezone: 'Europe/Paris',
      kind: '24x7',
    });
    const input: ContractInput = {
      name: 'Gold',
      calendarId: office.id,
      siteCalendars: { [h.plant.id]: plant.id },
      targets: {
        P1: { responseMinutes: 15, resolutionMinutes: 240 },
        P3: { responseMinutes: 240, resolutionMinutes: 2880 },
      },
      penalties: { currency: 'EUR', perBreach: { P1: 500, P3: 50 }, capPerPeriod: 5000 },
    };
    const c = await h.contracts.setContract(SYSTEM, h.client.id, input);
    expect(await h.contracts.slaFor(h.client.id, h.site.id, 'P1')).toEqual({
      contractId: c.id,
      calendarId: office.id,
      responseMs: 15 * 60_000,
      resolutionMs: 240 * 60_000,
      nearBreachRatio: 0.8,
    });
    expect((await h.contracts.slaFor(h.client.id, h.plant.id, 'P1'))?.calendarId).toBe(plant.id);
    expect(await h.contracts.slaFor(h.client.id, h.site.id, 'P2')).toBeUndefined();
    expect(await h.contracts.slaFor(h.other.id, h.otherSite.id, 'P1')).toBeUndefined();
    expect(await h.contracts.inCoverage(h.client.id, h.site.id, T0)).toBe(false); // Monday 08:00
    expect(await h.contracts.inCoverage(h.client.id, h.site.id, T0 + 2 * H)).toBe(true);
    expect(await h.contracts.inCoverage(h.client.id, h.plant.id, T0)).toBe(true);
    expect((await h.contracts.contract(h.client.id))?.penalties).toEqual(input.penalties);

    // A replaced calendar is evaluated afresh (Tuesday becomes a holiday).
    await h.contracts.saveCalendar(SYSTEM, { ...officeInput(h.client.id), holidays: ['2026-01-13'] }, office.id);
    expect(await h.contracts.inCoverage(h.client.id, h.site.id, T0 + 26 * H)).toBe(false);

    const audit = await h.audit.list({ limit: 50 });
    expect(audit.map((a) => a.type).filter((t) => /^(calendar|contract)\./.test(t))).toEqual([
      'calendar.update',
      'contract.set',
      'calendar.create',
      'calendar.create',
    ]);
  });

  it('refuses a malformed contract, an impossible calendar and an unknown client, and changes nothing', async () => {
    const h = await harness({ start: T0 });
    const office = await h.contracts.saveCalendar(SYSTEM, officeInput(h.client.id));
    const foreign = await h.contracts.saveCalendar(SYSTEM, officeInput(h.other.id));
    const good: ContractInput = {
      name: 'Gold',
      calendarId: office.id,
      targets: { P1: { responseMinutes: 15, resolutionMinutes: 240 } },
    };
    await h.contracts.setContract(SYSTEM, h.client.id, good);
    const before = await h.contracts.contract(h.client.id);
    const auditBefore = (await h.audit.list({ limit: 100 })).length;

    const bad: [ContractInput, string][] = [
      [{ ...good, targets: { P2: { responseMinutes: 60, resolutionMinutes: 30 } } }, 'OUTPOST_E_CONTRACT_INVALID'],
      [{ ...good, calendarId: 'cal_missing' }, 'OUTPOST_E_CONTRACT_INVALID'],
      [{ ...good, calendarId: foreign.id }, 'OUTPOST_E_CONTRACT_INVALID'],
      [{ ...good, siteCalendars: { [h.otherSite.id]: office.id } }, 'OUTPOST_E_CONTRACT_INVALID'],
    ];
    for (const [input, code] of bad)
      expect(await codeOf(h.contracts.setContract(SYSTEM, h.client.id, input))).toBe(code);
    expect(await codeOf(h.contracts.setContract(SYSTEM, 'cl_nope', good))).toBe('OUTPOST_E_NOT_FOUND');
    expect(await h.contracts.contract(h.client.id)).toEqual(before);
    expect(await h.contracts.contract('cl_nope')).toBeUndefined();

    const impossible: CalendarInput[] = [
      { ...officeInput(h.client.id), hours: { mon: [['18:00', '09:00']] } },
      { ...officeInput(h.client.id), timezone: 'Mars/Olympus' },
      { ...officeInput(h.client.id), holidays: ['2026-02-30'] },
    ];
    for (const input of impossible)
      expect(await codeOf(h.contracts.saveCalendar(SYSTEM, input))).toBe('OUTPOST_E_CALENDAR_INVALID');
    expect(await codeOf(h.contracts.saveCalendar(SYSTEM, officeInput('cl_nope')))).toBe('OUTPOST_E_NOT_FOUND');
    // Replacing a stored calendar with an impossible one leaves the stored one as it was.
    expect(
      await codeOf(
        h.contracts.saveCalendar(SYSTEM, { ...officeInput(h.client.id), timezone: 'Nowhere/City' }, office.id),
      ),
    ).toBe('OUTPOST_E_CALENDAR_INVALID');
    expect(await h.contracts.calendar(office.id)).toEqual(office);
    expect(await h.contracts.listCalendars()).toHaveLength(2);
    expect((await h.audit.list({ limit: 100 })).length).toBe(auditBefore);
  });
});
