/**
 * Support-contract commands: `outpost contracts calendars|set|show|rotations|oncall` (overrides: `outpost contracts rotations override`). Definitions come from a
 * JSON or YAML file (`--file`) or from flags; the collector checks them (an impossible calendar or a malformed
 * contract is refused with a coded error and nothing is stored).
 */
import { readFileSync } from 'node:fs';
import { OutpostError } from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { level, numberIn } from './flags.js';
import { instant } from './incidents.js';
import { printJson, printObject, printRows, say, when } from './output.js';

type Row = Record<string, unknown>;
const target = commandTarget;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
const out = (cmd: Command, v: Row) => (isJson(cmd) ? printJson(v) : printObject(v, false));

/** Reads a JSON or YAML object from a file. */
function readDefinition(file: string): Row {
  let parsed: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    parsed = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      cause,
      message: `Cannot read ${file}: ${(cause as Error).message}`,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: `${file} must hold an object` });
  return parsed as Row;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** `mon-fri=09:00-12:00,14:00-18:00` → hours for each day of the range (repeatable). */
export function parseHours(specs: string[]): Record<string, [string, string][]> {
  const hours: Record<string, [string, string][]> = {};
  for (const spec of specs) {
    const m = /^([a-z]{3})(?:-([a-z]{3}))?=(.+)$/.exec(spec.trim().toLowerCase());
    const from = m ? DAYS.indexOf(m[1]!) : -1;
    const to = m?.[2] ? DAYS.indexOf(m[2]) : from;
    if (!m || from < 0 || to < 0) throw new InvalidArgumentError(`bad --hours ${spec}: use e.g. mon-fri=09:00-18:00`);
    const intervals = m[3]!.split(',').map((iv) => {
      const [s, e] = iv.split('-');
      if (!s || !e) throw new InvalidArgumentError(`bad interval ${iv}: use HH:MM-HH:MM`);
      return [s, e] as [string, string];
    });
    for (let d = from; ; d = (d + 1) % 7) {
      hours[DAYS[d]!] = [...(hours[DAYS[d]!] ?? []), ...intervals];
      if (d === to) break;
    }
  }
  return hours;
}
const collect = (v: string, prev: string[] = []) => [...prev, v];
const clientOrShared = (v: string | undefined) => (v === undefined || v === 'shared' ? null : v);

/** Adds `outpost contracts …`. */
export function addContractCommands(program: Command): void {
  const ct = program
    .command('contracts')
    .description('Support contracts: coverage calendars, targets and penalties per client, on-call rotations.');
  addCalendarCommands(ct);
  addClientContractCommands(ct);
  addOnCallCommands(ct);
}

/** `contracts calendars list|show|create|update`: coverage calendars. */
function addCalendarCommands(ct: Command): void {
  const cal = ct.command('calendars').description('Coverage calendars (business hours, holidays, 24x7).');
  cal
    .command('list')
    .description('Calendars you can see.')
    .action(async function (this: Command) {
      const r = await api(target(this), 'GET /api/v1/calendars');
      printRows(
        r.calendars,
        [
          { key: 'id', title: 'id' },
          { key: 'name', title: 'name' },
          { key: 'clientId', title: 'client', format: (c) => c.clientId ?? 'shared' },
          { key: 'timezone', title: 'zone' },
          { key: 'kind', title: 'kind' },
          { key: 'holidays', title: 'holidays', format: (c) => (c.holidays as string[]).length },
        ],
        isJson(this),
      );
    });
  cal.command('show <id>').action(async function (this: Command, id: string) {
    out(this, await api(target(this), 'GET /api/v1/calendars/:id', { params: { id } }));
  });
  const calendarBody = (o: Row): Row =>
    o.file
      ? readDefinition(o.file as string)
      : {
          name: o.name,
          clientId: clientOrShared(o.client as string | undefined),
          timezone: o.timezone,
          kind: o.kind,
          ...((o.hours as string[]).length ? { hours: parseHours(o.hours as string[]) } : {}),
          holidays: o.holiday,
        };
  for (const verb of ['create', 'update'] as const) {
    const c = cal
      .command(verb === 'create' ? 'create' : 'update <id>')
      .description(
        verb === 'create'
          ? 'Create a calendar from --file (JSON/YAML) or flags.'
          : 'Replace a calendar from --file or flags.',
      )
      .option(
        '--file <file>',
        'definition: {name, clientId, timezone, kind, hours: {mon: [["09:00","18:00"]]}, holidays}',
      )
      .option('--name <name>', 'name')
      .option('--client <id>', 'owning client (omit or "shared" for every client: admins only)')
      .option('--timezone <zone>', 'IANA time zone', 'UTC')
      .option('--kind <kind>', 'hours or 24x7', 'hours')
      .option('--hours <spec>', 'e.g. mon-fri=09:00-18:00 (repeatable)', collect, [])
      .option('--holiday <date>', 'YYYY-MM-DD (repeatable)', collect, []);
    c.action(async function (this: Command, ...args: unknown[]) {
      const o = (verb === 'create' ? args[0] : args[1]) as Row;
      const body = calendarBody(o);
      const r =
        verb === 'create'
          ? await api(target(this), 'POST /api/v1/calendars', { body })
          : await api(target(this), 'PUT /api/v1/calendars/:id', { params: { id: args[0] as string }, body });
      out(this, r);
    });
  }
}

/** `contracts show|set`: one client's contract. */
function addClientContractCommands(ct: Command): void {
  ct.command('show <clientId>')
    .description("A client's contract: calendar, targets per criticality, penalties.")
    .action(async function (this: Command, clientId: string) {
      out(this, await api(target(this), 'GET /api/v1/clients/:clientId/contract', { params: { clientId } }));
    });
  ct.command('set <clientId>')
    .description(
      "Create or replace a client's contract from a JSON/YAML file: {name, calendarId, siteCalendars?, targets: {P1: {responseMinutes, resolutionMinutes}, …}, nearBreachRatio?, penalties?: {currency, perBreach: {P1: 500}, capPerPeriod?}}.",
    )
    .requiredOption('--file <file>', 'the contract definition')
    .action(async function (this: Command, clientId: string, o: { file: string }) {
      out(
        this,
        await api(target(this), 'PUT /api/v1/clients/:clientId/contract', {
          params: { clientId },
          body: readDefinition(o.file),
        }),
      );
    });
}

/** `contracts rotations list|create|override` and `contracts oncall`: who is on duty. */
function addOnCallCommands(ct: Command): void {
  const rot = ct.command('rotations').description('On-call rotations per tier, with overrides.');
  rot.command('list').action(async function (this: Command) {
    const r = await api(target(this), 'GET /api/v1/oncall/rotations');
    printRows(
      r.rotations,
      [
        { key: 'id', title: 'id' },
        { key: 'name', title: 'name' },
        { key: 'clientId', title: 'client', format: (x) => x.clientId ?? 'shared' },
        { key: 'tier', title: 'tier' },
        { key: 'shiftHours', title: 'shift h' },
        { key: 'members', title: 'members', format: (x) => (x.members as string[]).join(',') },
        { key: 'overrides', title: 'overrides', format: (x) => (x.overrides as Row[]).length },
      ],
      isJson(this),
    );
  });
  rot
    .command('create')
    .description('Create a rotation from --file or flags.')
    .option('--file <file>', 'definition: {name, clientId, tier, startAt, shiftHours, members}')
    .option('--name <name>', 'name')
    .option('--client <id>', 'client (omit or "shared" for every client)')
    .option('--tier <n>', 'tier 1, 2 or 3', level)
    .option('--start <time>', 'first shift start (ISO 8601)', instant)
    .option('--shift-hours <h>', 'shift length in hours', numberIn(0, 24 * 366, { exclusiveMin: true, what: 'hours' }))
    .option('--members <ids>', 'comma-separated user ids, in shift order')
    .action(async function (this: Command, o: Row) {
      const body = o.file
        ? readDefinition(o.file as string)
        : {
            name: o.name,
            clientId: clientOrShared(o.client as string | undefined),
            tier: o.tier,
            startAt: o.start,
            shiftHours: o.shiftHours,
            members: typeof o.members === 'string' ? o.members.split(',').filter(Boolean) : [],
          };
      out(this, await api(target(this), 'POST /api/v1/oncall/rotations', { body }));
    });
  rot
    .command('override <rotationId>')
    .description('Put someone else on duty for a while.')
    .requiredOption('--user <id>', 'who is on duty instead')
    .requiredOption('--from <time>', 'start (ISO 8601)', instant)
    .requiredOption('--to <time>', 'end (ISO 8601)', instant)
    .requiredOption('--reason <text>', 'why')
    .action(async function (this: Command, id: string, o: { user: string; from: number; to: number; reason: string }) {
      out(
        this,
        await api(target(this), 'POST /api/v1/oncall/rotations/:id/overrides', {
          params: { id },
          body: { userId: o.user, from: o.from, to: o.to, reason: o.reason },
        }),
      );
    });

  ct.command('oncall')
    .description("Who is on duty for a client's tier (now, or --at).")
    .requiredOption('--client <id>', 'client')
    .requiredOption('--tier <n>', 'tier 1, 2 or 3', level)
    .option('--at <time>', 'instant (ISO 8601)', instant)
    .action(async function (this: Command, o: { client: string; tier: number; at?: number }) {
      const r = await api(target(this), 'GET /api/v1/oncall/now', {
        query: { clientId: o.client, tier: o.tier, at: o.at },
      });
      if (isJson(this)) printJson(r);
      else if (!r.onCall) say`nobody: no rotation for this client and tier\n`;
      else
        say`${r.onCall.email} (${r.onCall.userId}) until ${when(r.onCall.until)}${r.onCall.override ? ' [override]' : ''}\n`;
    });
}
