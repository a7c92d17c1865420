/**
 * The contracts store on SQLite and PostgreSQL: calendars and contracts upserted (one contract per client, set again
 * replaces it), read back as written (JSON, fractions); rotations with their overrides in time order, scoped to a
 * client plus the shared ones, the client's own rotation of a tier before the shared one.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { CalendarView, ContractView, RotationView } from './schemas.js';
import { ContractsStore, contractsMigrations } from './store.js';

const calendar = (id: string, name: string, clientId: string | null, o: Partial<CalendarView> = {}): CalendarView => ({
  id,
  name,
  clientId,
  timezone: 'Europe/Paris',
  kind: 'hours',
  hours: { mon: [['09:00', '18:00']], tue: [['09:00', '12:30']] },
  holidays: ['2026-05-01'],
  createdAt: 10,
  updatedAt: 10,
  ...o,
});

const contract = (clientId: string, o: Partial<ContractView> = {}): ContractView => ({
  id: `ct_${clientId}`,
  clientId,
  name: 'Gold',
  calendarId: 'ca_1',
  siteCalendars: { si_plant: 'ca_2' },
  targets: { P1: { responseMinutes: 15, resolutionMinutes: 240 }, P3: { responseMinutes: 0.5, resolutionMinutes: 1 } },
  nearBreachRatio: 0.8,
  penalties: { currency: 'EUR', perBreach: { P1: 250.5 }, capPerPeriod: null },
  updatedAt: 20,
  ...o,
});

type Rotation = Omit<RotationView, 'overrides'>;
const rotation = (id: string, clientId: string | null, tier: 1 | 2 | 3, createdAt: number): Rotation => ({
  id,
  clientId,
  tier,
  name: `${id} rota`,
  startAt: 1_000,
  shiftHours: 7.5,
  members: ['us_a', 'us_b'],
  createdAt,
});

describeStores('contracts store', contractsMigrations, (db) => {
  it('upserts calendars and lists those of the clients asked for plus the shared ones, by name', async () => {
    const s = new ContractsStore(db());
    await s.upsertCalendar(calendar('ca_1', 'Office', null));
    await s.upsertCalendar(calendar('ca_2', 'Always', 'cl_1', { kind: '24x7', hours: {} }));
    await s.upsertCalendar(calendar('ca_3', 'Plant', 'cl_2'));
    const renamed = calendar('ca_1', 'Business hours', 'cl_9', { createdAt: 99, updatedAt: 50, holidays: [] });
    await s.upsertCalendar(renamed);
    // An upsert keeps the calendar's owner and creation time.
    expect(await s.calendar('ca_1')).toEqual({ ...renamed, clientId: null, createdAt: 10 });
    expect(await s.calendar('ca_none')).toBeUndefined();
    expect((await s.listCalendars()).map((c) => c.id)).toEqual(['ca_2', 'ca_1', 'ca_3']);
    expect((await s.listCalendars(['cl_1'])).map((c) => c.id)).toEqual(['ca_2', 'ca_1']);
    expect((await s.listCalendars([])).map((c) => c.id)).toEqual(['ca_1']);
  });

  it('keeps one contract per client: setting it again replaces it', async () => {
    const s = new ContractsStore(db());
    await s.upsertCalendar(calendar('ca_1', 'Office', null));
    await s.upsertCalendar(calendar('ca_2', 'Always', null));
    await s.setContract(contract('cl_1'));
    expect(await s.contract('cl_1')).toEqual(contract('cl_1'));
    const replaced = contract('cl_1', {
      id: 'ct_other',
      name: 'Silver',
      calendarId: 'ca_2',
      siteCalendars: {},
      nearBreachRatio: 0.65,
      penalties: null,
      updatedAt: 30,
    });
    await s.setContract(replaced);
    expect(await s.contract('cl_1')).toEqual({ ...replaced, id: 'ct_cl_1' });
    expect(await s.contract('cl_2')).toBeUndefined();
  });

  it('reads rotations with their overrides in time order, scoped, and the client’s own before the shared one', async () => {
    const s = new ContractsStore(db());
    await s.insertRotation(rotation('ro_shared', null, 1, 1));
    await s.insertRotation(rotation('ro_cl1', 'cl_1', 1, 2));
    await s.insertRotation(rotation('ro_cl2', 'cl_2', 2, 3));
    await s.insertOverride('ro_cl1', 'ov_2', { userId: 'us_c', from: 500, to: 600, reason: "it's ?" });
    await s.insertOverride('ro_cl1', 'ov_1', { userId: 'us_d', from: 100, to: 200, reason: 'holiday' });
    await s.insertOverride('ro_shared', 'ov_3', { userId: 'us_e', from: 50, to: 60, reason: 'swap' });
    expect(await s.rotation('ro_cl1')).toEqual({
      ...rotation('ro_cl1', 'cl_1', 1, 2),
      overrides: [
        { id: 'ov_1', userId: 'us_d', from: 100, to: 200, reason: 'holiday' },
        { id: 'ov_2', userId: 'us_c', from: 500, to: 600, reason: "it's ?" },
      ],
    });
    expect((await s.rotation('ro_cl2'))?.overrides).toEqual([]);
    expect(await s.rotation('ro_none')).toBeUndefined();
    expect((await s.listRotations()).map((r) => [r.id, r.overrides.length])).toEqual([
      ['ro_shared', 1],
      ['ro_cl1', 2],
      ['ro_cl2', 0],
    ]);
    expect((await s.listRotations(['cl_2'])).map((r) => r.id)).toEqual(['ro_shared', 'ro_cl2']);
    expect((await s.rotationFor('cl_1', 1))?.id).toBe('ro_cl1');
    expect((await s.rotationFor('cl_3', 1))?.id).toBe('ro_shared');
    expect((await s.rotationFor('cl_1', 3))?.id).toBeUndefined();
  });
});
