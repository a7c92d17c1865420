/**
 * All SQL of the contracts concern: calendars, one contract per client, on-call rotations and their overrides. SQLite
 * or PostgreSQL.
 */
import type { Migration, SqlDb, SqlParam } from '../db/index.js';
import type { CalendarView, ContractView, OverrideInput, RotationInput, RotationView } from './schemas.js';

/** The contracts concern's schema. */
export const contractsMigrations: Migration[] = [
  {
    id: '0300_contracts',
    concern: 'contracts',
    sql: `
      CREATE TABLE sla_calendars (
        id TEXT PRIMARY KEY, client_id TEXT, name TEXT NOT NULL, timezone TEXT NOT NULL, kind TEXT NOT NULL,
        hours TEXT NOT NULL, holidays TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
      );
      CREATE TABLE sla_contracts (
        id TEXT PRIMARY KEY, client_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
        calendar_id TEXT NOT NULL REFERENCES sla_calendars (id), site_calendars TEXT NOT NULL, targets TEXT NOT NULL,
        near_ratio REAL NOT NULL, penalties TEXT, updated_at INTEGER NOT NULL
      );
      CREATE TABLE oncall_rotations (
        id TEXT PRIMARY KEY, client_id TEXT, tier INTEGER NOT NULL, name TEXT NOT NULL, start_at INTEGER NOT NULL,
        shift_hours REAL NOT NULL, members TEXT NOT NULL, created_at INTEGER NOT NULL
      );
      CREATE INDEX oncall_rotations_scope ON oncall_rotations (client_id, tier);
      CREATE TABLE oncall_overrides (
        id TEXT PRIMARY KEY, rotation_id TEXT NOT NULL REFERENCES oncall_rotations (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL, from_at INTEGER NOT NULL, to_at INTEGER NOT NULL, reason TEXT NOT NULL
      );
    `,
  },
];

type CalendarRow = Omit<CalendarView, 'hours' | 'holidays'> & { hours: string; holidays: string };
const CAL_COLS =
  'id, client_id AS "clientId", name, timezone, kind, hours, holidays, created_at AS "createdAt", updated_at AS "updatedAt"';
const calendarOf = (r: CalendarRow): CalendarView => ({
  ...r,
  hours: JSON.parse(r.hours) as CalendarView['hours'],
  holidays: JSON.parse(r.holidays) as string[],
});

interface ContractRow {
  id: string;
  clientId: string;
  name: string;
  calendarId: string;
  siteCalendars: string;
  targets: string;
  nearBreachRatio: number;
  penalties: string | null;
  updatedAt: number;
}
const contractOf = (r: ContractRow): ContractView => ({
  ...r,
  siteCalendars: JSON.parse(r.siteCalendars) as Record<string, string>,
  targets: JSON.parse(r.targets) as ContractView['targets'],
  penalties: r.penalties ? (JSON.parse(r.penalties) as ContractView['penalties']) : null,
});

interface RotationRow extends Omit<RotationInput, 'members' | 'tier'> {
  id: string;
  tier: 1 | 2 | 3;
  members: string;
  createdAt: number;
}

const ROTATION_COLS =
  'id, client_id AS "clientId", tier, name, start_at AS "startAt", shift_hours AS "shiftHours", members, created_at AS "createdAt"';

/** Store functions of the contracts concern. */
export class ContractsStore {
  constructor(private readonly db: SqlDb) {}

  async upsertCalendar(c: CalendarView): Promise<void> {
    await this.db.run(
      `INSERT INTO sla_calendars (id, client_id, name, timezone, kind, hours, holidays, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone, kind = excluded.kind,
         hours = excluded.hours, holidays = excluded.holidays, updated_at = excluded.updated_at`,
      [
        c.id,
        c.clientId,
        c.name,
        c.timezone,
        c.kind,
        JSON.stringify(c.hours),
        JSON.stringify(c.holidays),
        c.createdAt,
        c.updatedAt,
      ],
    );
  }

  async calendar(id: string): Promise<CalendarView | undefined> {
    const r = await this.db.get<CalendarRow>(`SELECT ${CAL_COLS} FROM sla_calendars WHERE id = ?`, [id]);
    return r && calendarOf(r);
  }

  /** Calendars of the listed clients plus the shared ones (undefined: all). */
  async listCalendars(clientIds?: readonly string[]): Promise<CalendarView[]> {
    const rows = await this.db.all<CalendarRow>(`SELECT ${CAL_COLS} FROM sla_calendars ORDER BY name, id`);
    return rows.filter((r) => !clientIds || r.clientId === null || clientIds.includes(r.clientId)).map(calendarOf);
  }

  async setContract(c: ContractView): Promise<void> {
    await this.db.run(
      `INSERT INTO sla_contracts (id, client_id, name, calendar_id, site_calendars, targets, near_ratio, penalties, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, calendar_id = excluded.calendar_id,
         site_calendars = excluded.site_calendars, targets = excluded.targets, near_ratio = excluded.near_ratio,
         penalties = excluded.penalties, updated_at = excluded.updated_at`,
      [
        c.id,
        c.clientId,
        c.name,
        c.calendarId,
        JSON.stringify(c.siteCalendars),
        JSON.stringify(c.targets),
        c.nearBreachRatio,
        c.penalties ? JSON.stringify(c.penalties) : null,
        c.updatedAt,
      ],
    );
  }

  async contract(clientId: string): Promise<ContractView | undefined> {
    const r = await this.db.get<ContractRow>(
      `SELECT id, client_id AS "clientId", name, calendar_id AS "calendarId", site_calendars AS "siteCalendars", targets,
         near_ratio AS "nearBreachRatio", penalties, updated_at AS "updatedAt" FROM sla_contracts WHERE client_id = ?`,
      [clientId],
    );
    return r && contractOf(r);
  }

  async insertRotation(r: Omit<RotationView, 'overrides'>): Promise<void> {
    await this.db.run(
      `INSERT INTO oncall_rotations (id, client_id, tier, name, start_at, shift_hours, members, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [r.id, r.clientId, r.tier, r.name, r.startAt, r.shiftHours, JSON.stringify(r.members), r.createdAt],
    );
  }

  async insertOverride(rotationId: string, id: string, o: OverrideInput): Promise<void> {
    await this.db.run(
      'INSERT INTO oncall_overrides (id, rotation_id, user_id, from_at, to_at, reason) VALUES (?, ?, ?, ?, ?, ?)',
      [id, rotationId, o.userId, o.from, o.to, o.reason],
    );
  }

  async rotation(id: string): Promise<RotationView | undefined> {
    return (await this.#rotations('WHERE id = ?', [id]))[0];
  }

  /** Rotations of the listed clients plus the shared ones (undefined: all). */
  async listRotations(clientIds?: readonly string[]): Promise<RotationView[]> {
    const all = await this.#rotations('', []);
    return all.filter((r) => !clientIds || r.clientId === null || clientIds.includes(r.clientId));
  }

  /** The rotation for a client and tier, falling back to the shared one. */
  async rotationFor(clientId: string, tier: number): Promise<RotationView | undefined> {
    const rows = await this.#rotations('WHERE tier = ? AND (client_id = ? OR client_id IS NULL)', [tier, clientId]);
    return rows.find((r) => r.clientId === clientId) ?? rows[0];
  }

  /** The rotations `where` selects, with their overrides: two queries, whatever the number of rotations. */
  async #rotations(where: string, params: readonly SqlParam[]): Promise<RotationView[]> {
    const rows = await this.db.all<RotationRow>(
      `SELECT ${ROTATION_COLS} FROM oncall_rotations ${where} ORDER BY created_at, id`,
      params,
    );
    if (rows.length === 0) return [];
    const overrides = await this.db.all<OverrideInput & { id: string; rotationId: string }>(
      `SELECT id, rotation_id AS "rotationId", user_id AS "userId", from_at AS "from", to_at AS "to", reason
       FROM oncall_overrides WHERE rotation_id IN (SELECT id FROM oncall_rotations ${where}) ORDER BY from_at, id`,
      params,
    );
    const byRotation = new Map<string, (OverrideInput & { id: string })[]>();
    for (const { rotationId, ...o } of overrides) {
      const list = byRotation.get(rotationId) ?? [];
      list.push(o);
      byRotation.set(rotationId, list);
    }
    return rows.map((r) => ({
      ...r,
      members: JSON.parse(r.members) as string[],
      overrides: byRotation.get(r.id) ?? [],
    }));
  }
}
