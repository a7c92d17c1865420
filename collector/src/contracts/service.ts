/** Contracts logic: calendars, per-client contracts (targets, penalties), SLA terms for an incident, on-call duty. */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { Criticality, Tier } from '../incidents/signal.js';
import { Coverage, checkCalendar } from './calendar.js';
import type {
  CalendarInput,
  CalendarView,
  ContractInput,
  ContractView,
  OnCallView,
  OverrideInput,
  RotationInput,
  RotationView,
} from './schemas.js';
import { ContractsStore } from './store.js';

/** The SLA terms that apply to one incident, snapshotted on the ticket when it opens. */
export interface SlaTerms {
  contractId: string;
  calendarId: string;
  responseMs: number;
  resolutionMs: number;
  nearBreachRatio: number;
}

/** What contracts need from other concerns (wired in app.ts). */
export interface ContractsDeps {
  clientExists(id: string): Promise<boolean>;
  siteClient(siteId: string): Promise<string | undefined>;
  /** The user if they may be named on the client's rotations (`AuthService.memberOf`; null: a shared rotation). */
  member(userId: string, clientId: string | null): Promise<{ email: string } | undefined>;
}

/** What the contracts service is built from. */
export interface ContractsInit {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
  deps: ContractsDeps;
}

const newId = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;
const bad = (message: string, field: string) =>
  new OutpostError('OUTPOST_E_CONTRACT_INVALID', { message, details: { field } });

/** Who is on duty in a rotation at `at` (an override wins; the latest one added when several overlap). */
export function dutyAt(rot: RotationView, at: number): { userId: string; override: boolean; until: number } {
  for (let i = rot.overrides.length - 1; i >= 0; i--) {
    const o = rot.overrides[i]!;
    if (at >= o.from && at < o.to) return { userId: o.userId, override: true, until: o.to };
  }
  const shiftMs = rot.shiftHours * 3_600_000;
  const shift = Math.floor((at - rot.startAt) / shiftMs);
  const n = rot.members.length;
  return { userId: rot.members[((shift % n) + n) % n]!, override: false, until: rot.startAt + (shift + 1) * shiftMs };
}

/** Calendars, contracts and rotations. */
export class Contracts {
  readonly #store: ContractsStore;
  readonly #coverage = new Map<string, { updatedAt: number; coverage: Coverage }>();
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly deps: ContractsDeps;
  constructor(init: ContractsInit) {
    this.#store = new ContractsStore(init.db);
    this.audit = init.audit;
    this.clock = init.clock;
    this.deps = init.deps;
  }

  async #checkClient(clientId: string | null): Promise<void> {
    if (clientId !== null && !(await this.deps.clientExists(clientId)))
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No client ${clientId}`, details: { clientId } });
  }

  async #audit(actor: Actor, type: string, code: string, clientId: string | null, resource: string, details = {}) {
    await this.audit.record({ type, code, result: 'success', actor: actorRef(actor), clientId, resource, details });
  }

  /** Creates a calendar, or replaces calendar `id`. */
  async saveCalendar(actor: Actor, input: CalendarInput, id?: string): Promise<CalendarView> {
    const existing = id ? await this.#store.calendar(id) : undefined;
    if (id && !existing) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No calendar ${id}` });
    // Before the client's existence: whether another client exists is not the caller's to learn from this answer.
    if (existing && existing.clientId !== input.clientId) throw bad('A calendar cannot change client', 'clientId');
    await this.#checkClient(input.clientId);
    const spec = checkCalendar(input);
    const now = this.clock.now();
    const view: CalendarView = {
      id: existing?.id ?? newId('cal'),
      name: input.name,
      clientId: input.clientId,
      timezone: spec.timezone,
      kind: spec.kind,
      hours: spec.hours,
      holidays: spec.holidays,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.#store.upsertCalendar(view);
    // Two saves within one millisecond share an updatedAt: drop the cached evaluator rather than trust the stamp.
    this.#coverage.delete(view.id);
    await this.#audit(
      actor,
      existing ? 'calendar.update' : 'calendar.create',
      'OUTPOST_I_CALENDAR_SAVED',
      view.clientId,
      `calendar:${view.id}`,
      {
        name: view.name,
        timezone: view.timezone,
        kind: view.kind,
      },
    );
    return view;
  }

  calendar(id: string): Promise<CalendarView | undefined> {
    return this.#store.calendar(id);
  }

  listCalendars(clientIds?: readonly string[]): Promise<CalendarView[]> {
    return this.#store.listCalendars(clientIds);
  }

  /** The evaluator for a calendar (cached until the calendar changes). */
  async coverage(calendarId: string): Promise<Coverage> {
    const cal = await this.#store.calendar(calendarId);
    if (!cal) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No calendar ${calendarId}` });
    const hit = this.#coverage.get(calendarId);
    if (hit && hit.updatedAt === cal.updatedAt) return hit.coverage;
    const coverage = new Coverage(checkCalendar(cal as Parameters<typeof checkCalendar>[0]));
    this.#coverage.set(calendarId, { updatedAt: cal.updatedAt, coverage });
    return coverage;
  }

  /** Sets (creates or replaces) the client's contract. Nothing changes when any part is invalid. */
  async setContract(actor: Actor, clientId: string, input: ContractInput): Promise<ContractView> {
    await this.#checkClient(clientId);
    const usable = async (calId: string, field: string) => {
      const cal = await this.#store.calendar(calId);
      // Another client's calendar is answered as an unknown one: the caller may not be able to see that client.
      if (!cal || (cal.clientId !== null && cal.clientId !== clientId))
        throw bad(`No calendar ${calId} for client ${clientId}`, field);
    };
    await usable(input.calendarId, 'calendarId');
    for (const [siteId, calId] of Object.entries(input.siteCalendars ?? {})) {
      if ((await this.deps.siteClient(siteId)) !== clientId)
        throw bad(`Site ${siteId} is not a site of ${clientId}`, `siteCalendars.${siteId}`);
      await usable(calId, `siteCalendars.${siteId}`);
    }
    for (const [crit, t] of Object.entries(input.targets)) {
      if (!t) continue;
      if (t.resolutionMinutes < t.responseMinutes)
        throw bad(`${crit}: the resolution target is shorter than the response target`, `targets.${crit}`);
    }
    const previous = await this.#store.contract(clientId);
    const view: ContractView = {
      id: previous?.id ?? newId('ct'),
      clientId,
      name: input.name,
      calendarId: input.calendarId,
      siteCalendars: input.siteCalendars ?? {},
      targets: input.targets,
      nearBreachRatio: input.nearBreachRatio ?? 0.8,
      penalties: input.penalties
        ? {
            currency: input.penalties.currency,
            perBreach: input.penalties.perBreach as Record<string, number>,
            capPerPeriod: input.penalties.capPerPeriod ?? null,
          }
        : null,
      updatedAt: this.clock.now(),
    };
    await this.#store.setContract(view);
    await this.#audit(actor, 'contract.set', 'OUTPOST_I_CONTRACT_SET', clientId, `contract:${view.id}`, {
      name: view.name,
      calendarId: view.calendarId,
      targets: view.targets,
    });
    return view;
  }

  contract(clientId: string): Promise<ContractView | undefined> {
    return this.#store.contract(clientId);
  }

  /** The SLA terms for an incident of this client, site and criticality (undefined: no contract or no target). */
  async slaFor(clientId: string, siteId: string, criticality: Criticality): Promise<SlaTerms | undefined> {
    const c = await this.#store.contract(clientId);
    const t = c?.targets[criticality];
    if (!c || !t) return undefined;
    return {
      contractId: c.id,
      calendarId: c.siteCalendars[siteId] ?? c.calendarId,
      responseMs: Math.round(t.responseMinutes * 60_000),
      resolutionMs: Math.round(t.resolutionMinutes * 60_000),
      nearBreachRatio: c.nearBreachRatio,
    };
  }

  /** True when the site's contract calendar covers `at` (no contract: never covered, so on-call is used). */
  async inCoverage(clientId: string, siteId: string, at: number): Promise<boolean> {
    const c = await this.#store.contract(clientId);
    if (!c) return false;
    return (await this.coverage(c.siteCalendars[siteId] ?? c.calendarId)).covers(at);
  }

  async createRotation(actor: Actor, input: RotationInput): Promise<RotationView> {
    await this.#checkClient(input.clientId);
    for (const [i, u] of input.members.entries())
      if (!(await this.deps.member(u, input.clientId))) throw bad(`No user ${u}`, `members.${i}`);
    const view: RotationView = { ...input, id: newId('rot'), createdAt: this.clock.now(), overrides: [] };
    await this.#store.insertRotation(view);
    await this.#audit(
      actor,
      'oncall.rotation.create',
      'OUTPOST_I_ROTATION_CREATED',
      input.clientId,
      `rotation:${view.id}`,
      {
        tier: input.tier,
        members: input.members,
      },
    );
    return view;
  }

  async addOverride(actor: Actor, rotationId: string, input: OverrideInput): Promise<RotationView> {
    const rot = await this.#store.rotation(rotationId);
    if (!rot) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No rotation ${rotationId}` });
    if (input.to <= input.from) throw bad('An override must end after it starts', 'to');
    if (!(await this.deps.member(input.userId, rot.clientId))) throw bad(`No user ${input.userId}`, 'userId');
    const id = newId('ovr');
    await this.#store.insertOverride(rotationId, id, input);
    await this.#audit(
      actor,
      'oncall.override.create',
      'OUTPOST_I_OVERRIDE_CREATED',
      rot.clientId,
      `rotation:${rotationId}`,
      {
        ...input,
      },
    );
    return (await this.#store.rotation(rotationId))!;
  }

  rotation(id: string): Promise<RotationView | undefined> {
    return this.#store.rotation(id);
  }

  listRotations(clientIds?: readonly string[]): Promise<RotationView[]> {
    return this.#store.listRotations(clientIds);
  }

  /** Who is on duty for a client's tier at `at` (the client's rotation, else the shared one). */
  async onCall(clientId: string, tier: Tier, at = this.clock.now()): Promise<OnCallView | undefined> {
    const rot = await this.#store.rotationFor(clientId, tier);
    if (!rot) return undefined;
    const duty = dutyAt(rot, at);
    // Paged for this client's ticket: someone who lost their role here since is not told about it.
    const email = (await this.deps.member(duty.userId, clientId))?.email;
    if (!email) return undefined;
    return { userId: duty.userId, email, rotationId: rot.id, override: duty.override, until: duty.until };
  }
}
