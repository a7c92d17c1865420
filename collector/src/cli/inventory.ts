/**
 * Inventory and report commands: `outpost inventory show|history|query …` and
 * `outpost report perimeter --site S|--client C --out file.html|.csv|.json`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { FleetQuery } from '../api/routes.js';
import { jsonForTerminal } from '../text/index.js';
import { api, apiText, type RouteAnswer } from './api.js';
import { commandTarget } from './credentials.js';
import { count, days, years } from './flags.js';
import { checkWritable, printJson, printRows, printText, reportFormat, say, when, writeOutputFile } from './output.js';

type Row = Record<string, unknown>;
const target = commandTarget;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
const FLEET_COLUMNS = [
  { key: 'hostname', title: 'host' },
  { key: 'agentId', title: 'agent' },
  { key: 'subject', title: 'subject' },
  { key: 'detail', title: 'detail' },
  { key: 'time', title: 'time', format: (r: Row) => when(r.time) },
] as const;

/**
 * The columns `inventory show` prints per probe, in this order: what identifies a row first (a patch's package name,
 * a program's version), at most what fits a terminal. Stored rows have their keys sorted, so "the first six keys"
 * would be alphabetical and leave these out. Other columns are in `--json`.
 */
export const SHOWN_COLUMNS: Record<string, string[]> = {
  system_info: ['hostname', 'manufacturer', 'model', 'serial', 'bios_version', 'bios_date', 'chassis_type', 'virtual'],
  cpu: ['model', 'sockets', 'physical_cores', 'logical_processors', 'max_mhz', 'arch'],
  memory: ['kind', 'slot', 'size_bytes', 'type', 'speed_mts', 'manufacturer'],
  disks: ['kind', 'name', 'model', 'type', 'size_bytes', 'free_bytes', 'mount', 'smart_health'],
  network_interfaces: ['name', 'mac', 'ipv4', 'speed_mbps', 'gateway', 'is_default'],
  os_version: ['name', 'version', 'build', 'kernel', 'arch', 'install_date', 'last_boot'],
  users: ['kind', 'name', 'full_name', 'admin', 'disabled', 'terminal', 'started_at'],
  installed_software: ['name', 'version', 'publisher', 'source', 'install_date'],
  services: ['name', 'state', 'start_mode', 'kind'],
  licences: ['kind', 'product', 'state', 'enabled', 'up_to_date', 'expires_at'],
  pending_patches: ['kind', 'name', 'installed_version', 'candidate_version', 'security', 'severity', 'kb', 'source'],
};

/** The columns to show for a probe's rows: the chosen ones it has, or (an unknown probe) its first six. */
export function shownColumns(probe: string, rows: readonly Row[]): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r)));
  const chosen = SHOWN_COLUMNS[probe]?.filter((c) => present.has(c));
  return chosen?.length ? chosen : [...present].slice(0, 6);
}

/** One machine's inventory as the API answers it. */
type InventoryView = RouteAnswer<'GET /api/v1/agents/:id/inventory'>;

/** One machine's inventory for people: the device, its OS support, then a table per probe. */
function printInventory(r: InventoryView): void {
  const d = r.device;
  say`device ${d.id}  host ${d.hostname}  ${d.manufacturer} ${d.model}  serial ${d.serial || '-'}\n`;
  say`OS supported until ${when(r.eol.supportedUntil)}${r.eol.endOfLife ? ' (END OF LIFE)' : ''}\n\n`;
  for (const p of r.probes) {
    say`== ${p.probe}  (${p.rows.length} rows, collected ${when(p.collectedAt)}${p.stale ? ', resync pending' : ''})\n`;
    if (p.errorCode) say`error ${p.errorCode}: ${p.errorMessage ?? ''}\n`;
    // Each probe's rows have their own closed type; the table only needs them as column → value records.
    const rows: readonly Row[] = p.rows;
    const cols = shownColumns(p.probe, rows);
    if (cols.length)
      printRows(
        rows,
        cols.map((c) => ({ key: c, title: c })),
        false,
      );
    say`\n`;
  }
}

/** Adds the inventory and report commands. */
export function addInventoryCommands(program: Command): void {
  const inv = program.command('inventory').description('Hardware, software, licences and patches of the machines.');
  addMachineInventoryCommands(inv);
  addFleetQueryCommands(inv);
  addPerimeterReportCommand(program);
}

/** `inventory show|history`: one machine. */
function addMachineInventoryCommands(inv: Command): void {
  inv
    .command('show <agent>')
    .description("One machine's current inventory (all probes, or one).")
    .option('--probe <name>', 'only this probe')
    .action(async function (this: Command, agent: string, o: { probe?: string }) {
      const r = await api(target(this), 'GET /api/v1/agents/:id/inventory', {
        params: { id: agent },
        query: { probe: o.probe },
      });
      if (isJson(this)) printJson(r);
      else printInventory(r);
    });

  inv
    .command('history <agent>')
    .description("One machine's change history (software, hardware, patches, AV and licence state).")
    .option('--since <days>', 'only the last N days', days)
    .option('--limit <n>', 'at most this many', count, 200)
    .action(async function (this: Command, agent: string, o: { since?: number; limit: number }) {
      // A century back reaches before 1970: that is "everything", not a negative time the collector would refuse.
      const from = o.since === undefined ? 0 : Math.max(0, Math.round(Date.now() - o.since * 86_400_000));
      const r = await api(target(this), 'GET /api/v1/agents/:id/inventory/history', {
        params: { id: agent },
        query: { from, limit: o.limit },
      });
      printRows(
        r.changes,
        [
          { key: 'time', title: 'time', format: (c) => when(c.time) },
          { key: 'kind', title: 'kind' },
          { key: 'subject', title: 'subject' },
          { key: 'before', title: 'before', format: (c) => (c.before === null ? '-' : JSON.stringify(c.before)) },
          { key: 'after', title: 'after', format: (c) => (c.after === null ? '-' : JSON.stringify(c.after)) },
        ],
        isJson(this),
      );
    });
}

/** `inventory query software|patches|antivirus|eol|age`: fleet-wide questions, as a table or CSV. */
function addFleetQueryCommands(inv: Command): void {
  const query = inv
    .command('query')
    .description('Fleet-wide questions (scope with --client or --site; --csv for a spreadsheet).');
  const fleet = (
    name: string,
    description: string,
    path: FleetQuery,
    opts: (c: Command) => Command,
    params: (o: Row) => Row,
  ) => {
    opts(
      query
        .command(name)
        .description(description)
        .option('--client <id>', 'only this client')
        .option('--site <id>', 'only this site')
        .option('--csv', 'print CSV', false),
    ).action(async function (this: Command, o: Row) {
      const p = { clientId: o.client, siteId: o.site, ...params(o) };
      if (o.csv) {
        printText(
          await apiText(target(this), `GET /api/v1/inventory/query/${path}`, { query: { ...p, format: 'csv' } }),
        );
        return;
      }
      const r = await api(target(this), `GET /api/v1/inventory/query/${path}`, { query: p });
      printRows(r.rows, FLEET_COLUMNS, isJson(this));
    });
  };
  fleet(
    'software',
    'Machines running software X (name contains), optionally below version Y.',
    'software',
    (c) =>
      c
        .requiredOption('--name <name>', 'software name (substring, any case)')
        .option('--below <version>', 'only versions below this'),
    (o) => ({ name: o.name, below: o.below }),
  );
  fleet(
    'patches',
    'Pending security patches older than N days (--all: every pending update).',
    'patches',
    (c) => c.option('--older-than <days>', 'days', days, 14).option('--all', 'not only security updates', false),
    (o) => ({ olderThanDays: o.olderThan, all: o.all }),
  );
  fleet(
    'antivirus',
    'Antivirus disabled, out of date, or expiring within N days.',
    'antivirus',
    (c) => c.option('--within <days>', 'days', days, 30),
    (o) => ({ withinDays: o.within }),
  );
  fleet(
    'eol',
    'Machines whose OS is past its end of life (or reaches it within N days).',
    'eol',
    (c) => c.option('--within <days>', 'days', days, 0),
    (o) => ({ withinDays: o.within }),
  );
  fleet(
    'age',
    'Machines older than N years.',
    'age',
    (c) => c.option('--older-than <years>', 'years', years, 5),
    (o) => ({ years: o.olderThan }),
  );
}

/** `report perimeter`: the perimeter documentation of a client or a site, to a file. */
function addPerimeterReportCommand(program: Command): void {
  const report =
    program.commands.find((c) => c.name() === 'report') ??
    program.command('report').description('Reports for the service manager.');
  report
    .command('perimeter')
    .description(
      'The perimeter documentation of a client or a site: summary and one section per machine (HTML or CSV).',
    )
    .option('--client <id>', 'the client')
    .option('--site <id>', 'the site')
    .requiredOption('--out <file>', 'output file: .html, .csv or .json (the extension chooses the format)')
    .option('--obsolete-years <n>', 'a machine this old is obsolete', years, 5)
    .action(async function (this: Command, o: { client?: string; site?: string; out: string; obsoleteYears: number }) {
      if (!o.client === !o.site) throw new InvalidArgumentError('give exactly one of --client or --site');
      const format = reportFormat(o.out, undefined);
      checkWritable(o.out);
      const query = { clientId: o.client, siteId: o.site, format, obsoleteYears: o.obsoleteYears };
      const body =
        format === 'json'
          ? jsonForTerminal(await api(target(this), 'GET /api/v1/reports/perimeter', { query }))
          : await apiText(target(this), 'GET /api/v1/reports/perimeter', { query });
      writeOutputFile(o.out, body);
      say`wrote ${o.out} (${Buffer.byteLength(body)} bytes)\n`;
    });
}
