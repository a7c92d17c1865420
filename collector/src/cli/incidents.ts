/**
 * Incident commands: `outpost incidents list|queues|show|open|ack|take|assign|comment|escalate|deescalate|pause|
 * resume|resolve|close|reopen|log-call|retriage`. They only call the API; the collector checks, authorises and audits.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { IncidentAction } from '../api/routes.js';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { count, level } from './flags.js';
import { ago, printJson, printObject, printRows, printText, say, when } from './output.js';
import { describeEvent } from './timeline.js';

type Row = Record<string, unknown>;
const target = commandTarget;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;

/** Query string from defined values; arrays repeat the key. */
export const qs = (params: Record<string, unknown>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '' || v === false) continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
};
const crit = (v: string) => {
  const c = v.toUpperCase();
  if (!/^P[1-4]$/.test(c)) throw new InvalidArgumentError('expected P1, P2, P3 or P4');
  return c;
};
/** An instant given as ISO 8601 (`2026-01-13T17:30+01:00`) or epoch milliseconds. */
export const instant = (v: string): number => {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  // Beyond ±8.64e15 ms a Date is invalid: `99999999999999999999` is a typo, not a time.
  if (!Number.isFinite(new Date(t).getTime()))
    throw new InvalidArgumentError('expected an ISO 8601 time or epoch milliseconds');
  return t;
};

/** Who has the ticket, by name (with the id in `show`, where there is room to tell two people of one name apart). */
const assignee = (r: Row, withId: boolean): string => {
  if (r.assignee === null || r.assignee === undefined) return '-';
  if (typeof r.assigneeName !== 'string') return String(r.assignee);
  return withId ? `${r.assigneeName} (${String(r.assignee)})` : r.assigneeName;
};

const LIST_COLUMNS = [
  { key: 'id', title: 'id' },
  { key: 'criticality', title: 'crit' },
  { key: 'tier', title: 'tier' },
  { key: 'status', title: 'status', format: (r: Row) => `${String(r.status)}${r.paused ? ' (paused)' : ''}` },
  { key: 'clientId', title: 'client' },
  { key: 'assignee', title: 'assignee', format: (r: Row) => assignee(r, false) },
  { key: 'detectedAt', title: 'detected', format: (r: Row) => when(r.detectedAt) },
  {
    key: 'sla',
    title: 'sla',
    format: (r: Row) => {
      const s = r.sla as Row | null;
      if (!s) return '-';
      if (s.responseBreachedAt !== null || s.resolutionBreachedAt !== null) return 'BREACHED';
      if (r.status === 'resolved' || r.status === 'closed') return 'met';
      return `due ${when(r.acknowledgedAt === null ? s.responseDue : s.resolutionDue)}${s.running ? '' : ' (paused)'}`;
    },
  },
  { key: 'title', title: 'title' },
] as const;

/** Prints a ticket after an action (or JSON), after `done` (what was done, e.g. "comment added") when given. */
function printIncident(cmd: Command, inc: Row, done?: string): void {
  if (isJson(cmd)) {
    printJson(inc);
    return;
  }
  if (done) say`${done} to ${inc.id}\n`;
  say`${inc.id}  ${inc.status}${inc.paused ? ' (paused)' : ''}  ${inc.criticality}  tier ${inc.tier}  assignee ${assignee(inc, true)}\n`;
}

/** Adds `outpost incidents …`. */
export function addIncidentCommands(program: Command): void {
  const inc = program.command('incidents').description('Incidents (tickets): queues, timeline and every action.');
  addIncidentViewCommands(inc);
  addIntakeCommands(inc);
  addRetriageCommand(inc);
  addLifecycleCommands(inc);
}

/** `incidents list|queues|show`: reading tickets. */
function addIncidentViewCommands(inc: Command): void {
  inc
    .command('list')
    .description('List incidents, newest first (filters combine).')
    .option('--status <list>', 'comma-separated: open,acknowledged,resolved,closed')
    .option('--tier <n>', 'tier 1, 2 or 3', level)
    .option('--criticality <P>', 'P1…P4', crit)
    .option('--client <id>', 'only this client')
    .option('--site <id>', 'only this site')
    .option('--agent <id>', 'only incidents concerning this machine')
    .option('--assignee <userId>', 'only assigned to this user')
    .option('--unassigned', 'only unassigned', false)
    .option('--breached', 'only incidents whose SLA was breached', false)
    .option('--limit <n>', 'at most this many', count, 100)
    .action(async function (this: Command, o: Row) {
      const r = await api(target(this), 'GET /api/v1/incidents', {
        query: {
          status: typeof o.status === 'string' ? o.status.split(',').filter(Boolean) : undefined,
          tier: o.tier,
          criticality: o.criticality,
          clientId: o.client,
          siteId: o.site,
          agentId: o.agent,
          assignee: o.assignee,
          unassigned: o.unassigned,
          breached: o.breached ? true : undefined,
          limit: o.limit,
        },
      });
      printRows(r.incidents, LIST_COLUMNS, isJson(this));
      if (!isJson(this)) say`${r.incidents.length} of ${r.total}\n`;
    });

  inc
    .command('queues')
    .description('Open and acknowledged incidents per tier and criticality.')
    .action(async function (this: Command) {
      const r = await api(target(this), 'GET /api/v1/incident-queues');
      printRows(
        r.queues,
        [
          { key: 'tier', title: 'tier' },
          { key: 'criticality', title: 'crit' },
          { key: 'open', title: 'open' },
          { key: 'unassigned', title: 'unassigned' },
        ],
        isJson(this),
      );
    });

  inc
    .command('show <id>')
    .description('One incident with its timeline.')
    .action(async function (this: Command, id: string) {
      const r = await api(target(this), 'GET /api/v1/incidents/:id', { params: { id } });
      if (isJson(this)) printJson(r);
      else printIncidentDetail(r.incident, r.timeline);
    });
}

/** One ticket for people: its fields, SLA due times, explanation and timeline. */
function printIncidentDetail(i: Row, timeline: Row[]): void {
  const sla = i.sla as Row | null;
  printObject(
    {
      id: i.id,
      title: i.title,
      status: `${String(i.status)}${i.paused ? ' (paused: waiting on the customer)' : ''}`,
      criticality: i.criticality,
      tier: i.tier,
      escalationLevel: i.escalationLevel,
      client: i.clientId,
      site: i.siteId,
      machines: (i.agentIds as string[]).join(', ') || '-',
      source: `${String(i.source)} ${String(i.rule)}`,
      type: i.type,
      assignee: assignee(i, true),
      failure: when(i.failureTime),
      detected: when(i.detectedAt),
      acknowledged: when(i.acknowledgedAt),
      resolved: when(i.resolvedAt),
      closed: when(i.closedAt),
      resolutionTime: typeof i.resolutionMs === 'number' ? `${Math.round(i.resolutionMs / 60_000)} min` : '-',
      resolution: i.resolutionNote ? `[${String(i.resolutionCategory)}] ${String(i.resolutionNote)}` : '-',
      responseDue: sla ? `${when(sla.responseDue)}${sla.responseBreachedAt !== null ? ' BREACHED' : ''}` : '-',
      resolutionDue: sla ? `${when(sla.resolutionDue)}${sla.resolutionBreachedAt !== null ? ' BREACHED' : ''}` : '-',
      open: typeof i.detectedAt === 'number' ? ago(i.detectedAt).replace(/ ago$/, '') : '-',
    },
    false,
  );
  const names: Record<string, string> =
    typeof i.assignee === 'string' && typeof i.assigneeName === 'string' ? { [i.assignee]: i.assigneeName } : {};
  if (i.explanation) printText(`\n${String(i.explanation)}\n`);
  say`\ntimeline:\n`;
  printRows(
    timeline,
    [
      { key: 'at', title: 'at', format: (e) => when(e.at) },
      { key: 'actor', title: 'by' },
      { key: 'kind', title: 'what', format: (e) => describeEvent(String(e.kind), (e.data ?? {}) as Row, names) },
    ],
    false,
  );
}

/** `incidents open|log-call`: tickets opened by people. */
function addIntakeCommands(inc: Command): void {
  inc
    .command('open')
    .description('Open an incident by hand (a user called about a fault).')
    .requiredOption('--client <id>', 'client')
    .requiredOption('--site <id>', 'site')
    .requiredOption('--title <text>', 'one line: what is wrong')
    .requiredOption('--type <category>', 'category, e.g. printing, network, email')
    .option('--criticality <P>', 'P1…P4 (or give --impact and --urgency)', crit)
    .option('--impact <n>', '1 high … 3 low', level)
    .option('--urgency <n>', '1 high … 3 low', level)
    .option('--tier <n>', 'first tier (default 1)', level)
    .option('--agent <id...>', 'machines concerned')
    .option('--explanation <text>', 'details')
    .option('--failure-time <time>', 'when the fault started (ISO 8601; default now)', instant)
    .action(async function (this: Command, o: Row) {
      const body = Object.fromEntries(
        Object.entries({
          clientId: o.client,
          siteId: o.site,
          title: o.title,
          type: o.type,
          criticality: o.criticality,
          impact: o.impact,
          urgency: o.urgency,
          tier: o.tier,
          agentIds: o.agent,
          explanation: o.explanation,
          failureTime: o.failureTime,
        }).filter(([, v]) => v !== undefined),
      );
      printIncident(this, await api(target(this), 'POST /api/v1/incidents', { body }));
    });

  inc
    .command('log-call')
    .description(
      'Log a phone call as a ticket with channel "phone": triage rules and the VIP flag apply (docs/0014-requests.md).',
    )
    .argument('<text>', 'what the caller says is wrong')
    .requiredOption('--client <id>', 'client the caller belongs to')
    .requiredOption('--requester <name>', 'who called')
    .option('--email <address>', "the caller's e-mail (matches the requester directory)")
    .option('--phone <number>', "the caller's number")
    .option('--agent <id>', "the caller's machine, when known")
    .option('--criticality <P>', 'P1…P4 (default: what triage chooses)', crit)
    .option('--type <category>', 'category (default: what triage chooses)')
    .action(async function (this: Command, text: string, o: Row) {
      const body = Object.fromEntries(
        Object.entries({
          clientId: o.client,
          requester: o.requester,
          email: o.email,
          phone: o.phone,
          agentId: o.agent,
          text,
          criticality: o.criticality,
          type: o.type,
        }).filter(([, v]) => v !== undefined),
      );
      printIncident(this, await api(target(this), 'POST /api/v1/requests/calls', { body }));
    });
}

/** `incidents retriage`: correct what triage chose. */
function addRetriageCommand(inc: Command): void {
  inc
    .command('retriage')
    .description('Correct the type or criticality triage chose for a ticket (the SLA targets follow).')
    .argument('<id>', 'incident id')
    .requiredOption('--reason <text>', 'why')
    .option('--type <category>', 'new category')
    .option('--criticality <P>', 'new criticality, P1…P4', crit)
    .action(async function (this: Command, id: string, o: Row) {
      const body = Object.fromEntries(
        Object.entries({ type: o.type, criticality: o.criticality, reason: o.reason }).filter(
          ([, v]) => v !== undefined,
        ),
      );
      printIncident(this, await api(target(this), 'POST /api/v1/incidents/:id/retriage', { params: { id }, body }));
    });
}

/** One action on a ticket: `POST /api/v1/incidents/<id>/<name>` with the body built from the arguments. */
function incidentAction(
  inc: Command,
  name: IncidentAction,
  description: string,
  build: (c: Command) => Command,
  body: (...a: unknown[]) => Row,
  done?: string,
): void {
  build(inc.command(name).description(description)).action(async function (this: Command, ...args: unknown[]) {
    const id = args[0] as string;
    printIncident(
      this,
      await api(target(this), `POST /api/v1/incidents/:id/${name}`, { params: { id }, body: body(...args) }),
      done,
    );
  });
}

/** The commander options object among an action's arguments. */
const optsOf = (args: unknown[]) => args.find((a) => typeof a === 'object' && a !== null && !('commands' in a)) as Row;

/** `incidents ack|take|assign|comment|escalate|…|close`: the ticket's lifecycle. */
function addLifecycleCommands(inc: Command): void {
  const action = (
    name: IncidentAction,
    description: string,
    build: (c: Command) => Command,
    body: (...a: unknown[]) => Row,
    done?: string,
  ) => incidentAction(inc, name, description, build, body, done);

  action(
    'ack',
    'Acknowledge (stops the response clock).',
    (c) => c.argument('<id>'),
    () => ({}),
  );
  action(
    'take',
    'Assign the incident to yourself (acknowledges it).',
    (c) => c.argument('<id>'),
    () => ({}),
  );
  action(
    'assign',
    'Assign to a user.',
    (c) => c.argument('<id>').argument('<userId>').option('--reason <text>', 'why'),
    (_id, userId, o) => ({ userId, ...((o as Row).reason ? { reason: (o as Row).reason } : {}) }),
  );
  action(
    'comment',
    'Add a comment to the timeline.',
    (c) =>
      c.argument('<id>').argument('<text>').option('--public', 'for the requester: shown on the self-service page'),
    (_id, text, o) => ({ text, ...((o as Row).public ? { public: true } : {}) }),
    'comment added',
  );
  for (const [name, description] of [
    ['escalate', 'Move to the next tier (the reason is kept).'],
    ['deescalate', 'Move back one tier (the reason is kept).'],
    ['pause', 'Waiting on the customer: pause the SLA clock.'],
    ['reopen', 'Reopen a resolved or closed incident within the reopen window.'],
  ] as const)
    action(
      name,
      description,
      (c) => c.argument('<id>').requiredOption('--reason <text>', 'why'),
      (...a) => ({ reason: optsOf(a).reason }),
    );
  action(
    'resume',
    'The customer answered: the SLA clock runs again.',
    (c) => c.argument('<id>'),
    () => ({}),
  );
  action(
    'resolve',
    'Resolve with a note and a category (fixed, workaround, configuration, hardware, software, user, third-party, no-fault-found, duplicate).',
    (c) =>
      c
        .argument('<id>')
        .requiredOption('--category <category>', 'resolution category')
        .requiredOption('--note <text>', 'what was done'),
    (...a) => ({ category: optsOf(a).category, note: optsOf(a).note }),
  );
  action(
    'close',
    'Close a resolved incident.',
    (c) => c.argument('<id>'),
    () => ({}),
  );
}
