/**
 * Notification commands: `outpost channels add|list|show|test|remove|outbox` and `outpost channels routes add|list|remove`.
 * Each maps flags to one API call; secrets go in (`--secret`, `--password`) and never come back out.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { count, intIn } from './flags.js';
import { printJson, printObject, printRows, say, when } from './output.js';

type Row = Record<string, unknown>;
const target = commandTarget;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const port = intIn(1, 65535, 'a port number');
const tiers = (v: string) =>
  list(v).map((t) => {
    const n = Number(t);
    if (![1, 2, 3].includes(n)) throw new InvalidArgumentError('tiers are 1, 2 or 3');
    return n;
  });

const CHANNEL_COLUMNS = [
  { key: 'id', title: 'id' },
  { key: 'name', title: 'name' },
  { key: 'kind', title: 'kind' },
  { key: 'state', title: 'state' },
  { key: 'clientId', title: 'client', format: (r: Row) => r.clientId ?? '(all)' },
  { key: 'target', title: 'target' },
  { key: 'consecutiveFailures', title: 'failures' },
  { key: 'pending', title: 'pending' },
  { key: 'lastSuccessAt', title: 'last success', format: (r: Row) => when(r.lastSuccessAt) },
  { key: 'lastError', title: 'last error' },
] as const;

interface AddFlags {
  kind: string;
  name: string;
  client?: string;
  url?: string;
  secret?: string;
  host?: string;
  port?: number;
  from?: string;
  to?: string[];
  user?: string;
  password?: string;
  secure?: boolean;
  requireTls?: boolean;
}

function channelBody(o: AddFlags): Row {
  const base = { kind: o.kind, name: o.name, clientId: o.client ?? null };
  switch (o.kind) {
    case 'webhook':
      return { ...base, url: o.url, ...(o.secret ? { secret: o.secret } : {}) };
    case 'slack':
    case 'teams':
      return { ...base, url: o.url };
    case 'email':
      return {
        ...base,
        host: o.host,
        port: o.port ?? 587,
        from: o.from,
        to: o.to,
        ...(o.user ? { user: o.user } : {}),
        ...(o.password ? { password: o.password } : {}),
        ...(o.secure ? { secure: true } : {}),
        ...(o.requireTls ? { requireTLS: true } : {}),
      };
    default:
      throw new InvalidArgumentError('--kind is webhook, slack, teams or email');
  }
}

/** Adds the channel and routing commands. */
export function addChannelCommands(program: Command): void {
  const channels = program
    .command('channels')
    .description('Notification channels (webhook, Slack, Teams, e-mail), their health, routes and outbox.');
  addChannelItemCommands(channels);
  addOutboxCommand(channels);
  addRouteCommands(channels);
}

/** `channels add|list|show|test|remove`: the channels themselves and their health. */
function addChannelItemCommands(channels: Command): void {
  channels
    .command('add')
    .description('Add a channel. A webhook without --secret gets a generated HMAC key, printed once.')
    .requiredOption('--kind <kind>', 'webhook, slack, teams or email')
    .requiredOption('--name <name>', 'a name people recognise')
    .option('--client <id>', 'only this client’s incidents (default: every client; global admins only)')
    .option('--url <url>', 'webhook, Slack or Teams incoming-webhook URL')
    .option('--secret <key>', 'webhook HMAC key (16+ characters)')
    .option('--host <host>', 'SMTP server')
    .option('--port <port>', 'SMTP port (default 587)', port)
    .option('--from <address>', 'sender address')
    .option('--to <addresses>', 'recipients, comma-separated', list)
    .option('--user <user>', 'SMTP user')
    .option('--password <password>', 'SMTP password')
    .option('--secure', 'implicit TLS (port 465)')
    .option('--require-tls', 'refuse to send unless STARTTLS succeeds')
    .action(async function (this: Command, o: AddFlags) {
      const r = await api(target(this), 'POST /api/v1/notifications/channels', { body: channelBody(o) });
      printObject(r.channel, isJson(this));
      if (r.secret && !isJson(this)) say`\nHMAC key (shown once; give it to the receiver): ${r.secret}\n`;
      else if (r.secret) printJson({ secret: r.secret }, 0);
    });

  channels
    .command('list')
    .description('Channels with their health: state, consecutive failures, messages pending, last error.')
    .action(async function (this: Command) {
      const r = await api(target(this), 'GET /api/v1/notifications/channels');
      printRows(r.channels, CHANNEL_COLUMNS, isJson(this));
    });

  channels
    .command('show <id>')
    .description('One channel and its health.')
    .action(async function (this: Command, id: string) {
      printObject(await api(target(this), 'GET /api/v1/notifications/channels/:id', { params: { id } }), isJson(this));
    });

  channels
    .command('test <id>')
    .description('Send a test message through the channel now; exits 1 if it was not accepted (it is retried).')
    .action(async function (this: Command, id: string) {
      const r = await api(target(this), 'POST /api/v1/notifications/channels/:id/test', { params: { id }, body: {} });
      if (isJson(this)) printJson(r, 0);
      else if (r.delivered) say`delivered (${r.outboxId})\n`;
      else say`not delivered: ${r.error}\n`;
      if (!r.delivered) process.exitCode = 1;
    });

  channels
    .command('remove <id>')
    .description('Remove a channel, its routes and its undelivered messages.')
    .action(async function (this: Command, id: string) {
      const r = await api(target(this), 'DELETE /api/v1/notifications/channels/:id', { params: { id } });
      say`removed ${id} (${r.dropped} undelivered message(s) dropped)\n`;
    });
}

/** `channels outbox`: queued and delivered messages. */
function addOutboxCommand(channels: Command): void {
  channels
    .command('outbox')
    .description('Queued and delivered messages, newest first.')
    .option('--pending', 'only messages not delivered yet')
    .option('--limit <n>', 'at most this many', count, 100)
    .action(async function (this: Command, o: { pending?: boolean; limit: number }) {
      const r = await api(target(this), 'GET /api/v1/notifications/outbox', {
        query: { limit: o.limit, pending: o.pending === true },
      });
      printRows(
        r.messages,
        [
          { key: 'id', title: 'id' },
          { key: 'channelId', title: 'channel' },
          { key: 'incidentId', title: 'incident' },
          { key: 'event', title: 'event' },
          { key: 'attempts', title: 'attempts' },
          { key: 'deliveredAt', title: 'delivered', format: (m) => when(m.deliveredAt) },
          { key: 'nextAttemptAt', title: 'next attempt', format: (m) => (m.deliveredAt ? '-' : when(m.nextAttemptAt)) },
          { key: 'lastError', title: 'last error' },
        ],
        isJson(this),
      );
    });
}

/** `channels routes add|list|remove`: which incidents go to which channel. */
function addRouteCommands(channels: Command): void {
  const routes = channels.command('routes').description('Which incidents go to which channel.');
  routes
    .command('add')
    .description('Route incidents to a channel (every filter left out matches everything).')
    .requiredOption('--channel <id>', 'the channel')
    .option('--client <id>', 'only this client')
    .option('--min <criticality>', 'least severe criticality that still matches (P1…P4)')
    .option('--tiers <list>', 'tiers, e.g. 2,3', tiers)
    .option('--events <list>', 'events, e.g. opened,sla_breach,escalated', list)
    .option('--on-call', 'outside coverage, address the person on duty for the incident’s tier')
    .option('--outside-coverage', 'only outside the contract’s coverage hours')
    .action(async function (
      this: Command,
      o: {
        channel: string;
        client?: string;
        min?: string;
        tiers?: number[];
        events?: string[];
        onCall?: boolean;
        outsideCoverage?: boolean;
      },
    ) {
      const body: Row = { channelId: o.channel };
      if (o.client) body.clientId = o.client;
      if (o.min) body.minCriticality = o.min.toUpperCase();
      if (o.tiers) body.tiers = o.tiers;
      if (o.events) body.events = o.events;
      if (o.onCall) body.onCall = true;
      if (o.outsideCoverage) body.outsideCoverageOnly = true;
      printObject(await api(target(this), 'POST /api/v1/notifications/routes', { body }), isJson(this));
    });

  routes
    .command('list')
    .description('Routing rules.')
    .action(async function (this: Command) {
      const r = await api(target(this), 'GET /api/v1/notifications/routes');
      printRows(
        r.routes,
        [
          { key: 'id', title: 'id' },
          { key: 'channelId', title: 'channel' },
          { key: 'clientId', title: 'client', format: (x) => x.clientId ?? '(all)' },
          { key: 'minCriticality', title: 'min' },
          { key: 'tiers', title: 'tiers', format: (x) => x.tiers.join(',') },
          { key: 'events', title: 'events', format: (x) => x.events.join(',') },
          { key: 'onCall', title: 'on call' },
          { key: 'outsideCoverageOnly', title: 'outside coverage' },
        ],
        isJson(this),
      );
    });

  routes
    .command('remove <id>')
    .description('Remove a routing rule.')
    .action(async function (this: Command, id: string) {
      await api(target(this), 'DELETE /api/v1/notifications/routes/:id', { params: { id } });
      say`removed ${id}\n`;
    });
}
