/** The technicians' commands: each maps flags to one API call and prints a table or JSON. */

import { normalizeFingerprint } from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { addCredentialCommands, readPassword } from './account.js';
import { addAgentTagCommand, agentForPeople, parseTag } from './agent-tags.js';
import { api } from './api.js';
import { addChannelCommands } from './channels.js';
import type { ApiTarget } from './client.js';
import { addClusterCommands } from './cluster.js';
import { addContractCommands } from './contracts.js';
import { addCpCommand } from './cp.js';
import { commandTarget, saveTarget } from './credentials.js';
import { addDetectCommands } from './detect.js';
import { count } from './flags.js';
import { addIncidentCommands } from './incidents.js';
import { addInstallerCommands } from './installers.js';
import { addInventoryCommands } from './inventory.js';
import { addJobCommands } from './jobs.js';
import { addMetricsCommands } from './metrics.js';
import { printObject, printRows, say, when } from './output.js';
import { addPolicyCommands } from './policies.js';
import { addQualityReportCommand } from './quality.js';
import { addReleaseCommands } from './releases.js';
import { addRolloutCommands } from './rollouts.js';
import { addShellCommands } from './shell.js';

/** Parses `7d`, `12h`, `30m` into hours (more than zero, at most a year: what an enrollment token may last). */
export function parseDurationHours(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([mhd])$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30m, 12h or 7d');
  const n = Number(m[1]);
  const hours = m[2] === 'm' ? n / 60 : m[2] === 'h' ? n : n * 24;
  if (!(hours > 0) || hours > 24 * 365) throw new InvalidArgumentError('expected a duration above 0 and up to 365d');
  return hours;
}

/** Global connection flags, shared by every API command. */
const target = commandTarget;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
/** Adds every technician command to the program. */
export function addCommands(program: Command): void {
  addInventoryCommands(program);
  addQualityReportCommand(program);
  addDetectCommands(program);
  addPolicyCommands(program);
  addMetricsCommands(program);
  addShellCommands(program);
  addIncidentCommands(program);
  addContractCommands(program);
  addChannelCommands(program);
  addJobCommands(program);
  addCpCommand(program);
  addInstallerCommands(program, parseDurationHours);
  addReleaseCommands(program);
  addRolloutCommands(program);
  addSessionCommands(program);
  addClientCommands(program);
  const users = addUserCommands(program);
  addCredentialCommands(program, users);
  addEnrollmentTokenCommands(program);
  addAgentCommands(program);
  addAuditCommand(program);
  addClusterCommands(program);
}

/** `login` (password, TOTP → a stored API token) and `whoami`. */
function addSessionCommands(program: Command): void {
  program
    .command('login')
    .description(
      'Log in with e-mail and password (and TOTP code) and store an API token for the other commands. Needs the global --server (and --ca-fingerprint for a self-signed collector).',
    )
    .requiredOption('--email <email>', 'your e-mail')
    .option('--password <password>', 'password (default: OUTPOST_PASSWORD, standard input, or a prompt)')
    .option('--totp <code>', 'current 6-digit code when TOTP is enabled')
    .action(async function (this: Command, o: { email: string; password?: string; totp?: string }) {
      const g = this.optsWithGlobals<{ server?: string; caFingerprint?: string }>();
      const server = g.server || process.env.OUTPOST_SERVER;
      if (!server)
        throw new InvalidArgumentError('login needs --server URL (the collector API, e.g. https://127.0.0.1:8443)');
      let caFingerprint = g.caFingerprint || process.env.OUTPOST_CA_FINGERPRINT;
      try {
        caFingerprint = caFingerprint ? normalizeFingerprint(caFingerprint) : undefined;
      } catch (cause) {
        throw new InvalidArgumentError(`--ca-fingerprint: ${(cause as Error).message}`);
      }
      const base: ApiTarget = { server, caFingerprint };
      const password = await readPassword(o.password);
      const session = await api(base, 'POST /api/v1/auth/login', {
        body: { email: o.email, password, ...(o.totp ? { totp: o.totp } : {}) },
      });
      const created = await api({ ...base, token: session.token }, 'POST /api/v1/auth/api-tokens', {
        body: { name: `cli ${new Date().toISOString().slice(0, 10)}`, expiresInDays: 90 },
      });
      await api({ ...base, token: session.token }, 'POST /api/v1/auth/logout', { body: {} });
      const file = saveTarget({ ...base, token: created.token });
      say`logged in as ${o.email}; API token saved in ${file}\n`;
    });

  program
    .command('whoami')
    .description('Show the user the stored token belongs to.')
    .action(async function (this: Command) {
      printObject(await api(target(this), 'GET /api/v1/auth/me'), isJson(this));
    });
}

/** Clients (customers) and their sites. */
function addClientCommands(program: Command): void {
  const clients = program.command('clients').description('Clients (customers) and their sites.');
  clients
    .command('list')
    .description('List the clients you can see.')
    .action(async function (this: Command) {
      const r = await api(target(this), 'GET /api/v1/clients');
      printRows(
        r.clients,
        [
          { key: 'id', title: 'id' },
          { key: 'name', title: 'name' },
          { key: 'createdAt', title: 'created', format: (x) => when(x.createdAt) },
        ],
        isJson(this),
      );
    });
  clients
    .command('create <name>')
    .description('Create a client (admin).')
    .action(async function (this: Command, name: string) {
      printObject(await api(target(this), 'POST /api/v1/clients', { body: { name } }), isJson(this));
    });

  const sites = program.command('sites').description('Sites of a client.');
  sites
    .command('list <clientId>')
    .description('List the sites of a client.')
    .action(async function (this: Command, clientId: string) {
      const r = await api(target(this), 'GET /api/v1/clients/:clientId/sites', { params: { clientId } });
      printRows(
        r.sites,
        [
          { key: 'id', title: 'id' },
          { key: 'name', title: 'name' },
          { key: 'timezone', title: 'time zone' },
        ],
        isJson(this),
      );
    });
  sites
    .command('create <clientId> <name>')
    .description('Create a site for a client.')
    .option('--timezone <tz>', 'IANA time zone of the site', 'UTC')
    .action(async function (this: Command, clientId: string, name: string, o: { timezone: string }) {
      printObject(
        await api(target(this), 'POST /api/v1/clients/:clientId/sites', {
          params: { clientId },
          body: { name, timezone: o.timezone },
        }),
        isJson(this),
      );
    });
}

/** `users list|create`; returns the group so the credential commands join it. */
function addUserCommands(program: Command): Command {
  const users = program.command('users').description('Technicians and admins.');
  users
    .command('list')
    .description('List users.')
    .action(async function (this: Command) {
      const r = await api(target(this), 'GET /api/v1/users');
      printRows(
        r.users,
        [
          { key: 'id', title: 'id' },
          { key: 'email', title: 'email' },
          { key: 'name', title: 'name' },
          {
            key: 'roles',
            title: 'roles',
            format: (u) => u.roles.map((b) => `${b.role}@${b.clientId ?? '*'}`).join(','),
          },
          { key: 'totpEnabled', title: 'totp' },
          { key: 'disabled', title: 'disabled' },
        ],
        isJson(this),
      );
    });
  users
    .command('create')
    .description('Create a user (admin). Roles: viewer, tier1, tier2, tier3, admin, each on a client or on all (*).')
    .requiredOption('--email <email>', 'e-mail (login)')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--role <role@client...>', 'role binding, e.g. tier1@cl_123 or admin@* (repeatable)')
    .option('--password <password>', 'initial password (default: OUTPOST_PASSWORD or standard input)')
    .action(async function (this: Command, o: { email: string; name: string; role: string[]; password?: string }) {
      const roles = o.role.map((r) => {
        const [role, client] = r.split('@');
        if (!role || !client) throw new InvalidArgumentError(`--role ${r}: expected role@clientId or role@*`);
        return { role, clientId: client === '*' ? null : client };
      });
      const password = await readPassword(o.password);
      printObject(
        await api(target(this), 'POST /api/v1/users', { body: { email: o.email, name: o.name, password, roles } }),
        isJson(this),
      );
    });
  return users;
}

/** Enrollment tokens: create (shown once), list, revoke. */
function addEnrollmentTokenCommands(program: Command): void {
  const tokens = program.command('tokens').description('Enrollment tokens that let agents join a site.');
  tokens
    .command('create')
    .description('Create an enrollment token for a site; the token is shown once.')
    .requiredOption('--site <siteId>', 'site the agents join')
    .option('--expires-in <duration>', 'validity, e.g. 12h or 7d', parseDurationHours, 24 * 7)
    .option('--max-uses <n>', 'how many agents may enroll with it', count, 1)
    .option('--note <text>', 'what the token is for', '')
    .action(async function (this: Command, o: { site: string; expiresIn: number; maxUses: number; note: string }) {
      const r = await api(target(this), 'POST /api/v1/enrollment-tokens', {
        body: { siteId: o.site, expiresInHours: o.expiresIn, maxUses: o.maxUses, note: o.note },
      });
      if (isJson(this)) printObject(r, true);
      else say`${r.token}\n(id ${r.info.id}, ${o.maxUses} use(s), expires ${when(r.info.expiresAt)})\n`;
    });
  tokens
    .command('list')
    .description('List enrollment tokens (never their secrets).')
    .option('--site <siteId>', 'only this site')
    .action(async function (this: Command, o: { site?: string }) {
      const r = await api(target(this), 'GET /api/v1/enrollment-tokens', { query: { siteId: o.site } });
      printRows(
        r.tokens,
        [
          { key: 'id', title: 'id' },
          { key: 'siteId', title: 'site' },
          { key: 'status', title: 'status' },
          { key: 'uses', title: 'uses', format: (t) => `${String(t.uses)}/${String(t.maxUses)}` },
          { key: 'expiresAt', title: 'expires', format: (t) => when(t.expiresAt) },
          { key: 'note', title: 'note' },
        ],
        isJson(this),
      );
    });
  tokens
    .command('revoke <id>')
    .description('Revoke an enrollment token.')
    .action(async function (this: Command, id: string) {
      printObject(
        await api(target(this), 'POST /api/v1/enrollment-tokens/:id/revoke', { params: { id }, body: {} }),
        isJson(this),
      );
    });
}

/** Enrolled agents: list, show, tag, revoke. */
function addAgentCommands(program: Command): void {
  const agents = program.command('agents').description('Enrolled agents.');
  agents
    .command('list')
    .description('List agents, with filters.')
    .option('--client <clientId>', 'only this client')
    .option('--site <siteId>', 'only this site')
    .option('--status <status>', 'online, offline or revoked')
    .option('--search <text>', 'hostname contains')
    .option('--tag <tag>', 'only agents with this tag', parseTag)
    .option('--limit <n>', 'at most this many', count, 100)
    .action(async function (
      this: Command,
      o: { client?: string; site?: string; status?: string; search?: string; tag?: string; limit: number },
    ) {
      const r = await api(target(this), 'GET /api/v1/agents', {
        query: { clientId: o.client, siteId: o.site, status: o.status, search: o.search, tag: o.tag, limit: o.limit },
      });
      printRows(
        r.agents,
        [
          { key: 'id', title: 'id' },
          { key: 'hostname', title: 'hostname' },
          { key: 'status', title: 'status' },
          {
            key: 'os',
            title: 'os',
            format: (a) => `${a.os.distro} ${a.os.release}`,
          },
          { key: 'agentVersion', title: 'version' },
          { key: 'lastSeenAt', title: 'last seen', format: (a) => when(a.lastSeenAt) },
          { key: 'tags', title: 'tags', format: (a) => agentForPeople(a).tags },
        ],
        isJson(this),
      );
    });
  agents
    .command('show <id>')
    .description('Show one agent.')
    .action(async function (this: Command, id: string) {
      const a = await api(target(this), 'GET /api/v1/agents/:id', { params: { id } });
      printObject(isJson(this) ? a : agentForPeople(a), isJson(this));
    });
  addAgentTagCommand(agents);
  agents
    .command('revoke <id>')
    .description('Revoke an agent: its socket is closed now and it is refused from then on.')
    .action(async function (this: Command, id: string) {
      printObject(
        await api(target(this), 'POST /api/v1/agents/:id/revoke', { params: { id }, body: {} }),
        isJson(this),
      );
    });
}

/** `audit`: the audit log, newest first. */
function addAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('Read the audit log, newest first.')
    .option('--agent <agentId>', 'only events about this agent')
    .option('--type <type>', 'only this event type, e.g. agent.revoke')
    .option('--limit <n>', 'at most this many', count, 50)
    .action(async function (this: Command, o: { agent?: string; type?: string; limit: number }) {
      const r = await api(target(this), 'GET /api/v1/audit', {
        query: { agentId: o.agent, type: o.type, limit: o.limit },
      });
      printRows(
        r.events,
        [
          { key: 'index', title: '#' },
          { key: 'time', title: 'time', format: (e) => when(e.time) },
          { key: 'actor', title: 'actor', format: (e) => e.actor.name },
          { key: 'type', title: 'type' },
          { key: 'result', title: 'result' },
          { key: 'code', title: 'code' },
          { key: 'resource', title: 'resource' },
        ],
        isJson(this),
      );
    });
}
