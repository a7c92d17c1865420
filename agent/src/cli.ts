/**
 * `outpost-agent`: flags are parsed here and nowhere else; every command maps to one function of the commands
 * concern, loaded when the command runs. This module imports only what parsing needs (commander, the version, the
 * default paths), so `--version` and `--help` stay fast (docs/0009-packaging.md, "Footprint").
 */
import { endQuietlyOnClosedPipe } from '@outpost/shared/cli-output';
import { Command, InvalidArgumentError } from 'commander';
import type { CliGlobals } from './commands/globals.js';
import { loadCommands } from './commands/load.js';
import { defaultPaths } from './config/paths.js';
import { installCommands } from './install/cli.js';
import { inventoryCommand } from './inventory/cli.js';
import { AGENT_VERSION } from './version.js';

/** A diagnostic count or interval: a whole number up to a million (`1e20` test events is a typo, not a plan). */
const positiveInt = (v: string) => {
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > 1_000_000)
    throw new InvalidArgumentError('expected a whole number from 0 to 1000000');
  return n;
};

endQuietlyOnClosedPipe();

const defaults = defaultPaths();
const program = new Command('outpost-agent')
  .description('The Outpost agent: reports this machine to an Outpost collector over one outbound WebSocket.')
  .version(AGENT_VERSION)
  .option(
    '-c, --config <file>',
    `configuration file (default: ${defaults.configFile}; OUTPOST_AGENT_CONFIG sets another)`,
  )
  .option(
    '--log-level <level>',
    'fatal, error, warn, info, debug or trace: JSON log lines on stderr (default: info for `run`, none for the other commands; OUTPOST_LOG_LEVEL sets it too)',
  )
  .showHelpAfterError();

program
  .command('enroll')
  .description(
    'Enroll this machine with a collector using an enrollment token (creates the key pair, writes the configuration).',
  )
  .requiredOption('--server <url>', 'collector URL, e.g. https://outpost.example.com:8443')
  .requiredOption('--token <token>', 'enrollment token from `outpost tokens create`')
  .option(
    '--ca-fingerprint <sha256>',
    "pin the collector's certificate by its SHA-256 fingerprint (printed by `outpost serve`)",
  )
  .option(
    '--state-dir <dir>',
    `directory for the key, the outbox and the status file (default: beside --config, else ${defaults.stateDir})`,
  )
  .option('--force', 're-enroll a machine that is already enrolled (new key, new agent id)', false)
  .action(async (o: { server: string; token: string; caFingerprint?: string; stateDir?: string; force: boolean }) =>
    (await loadCommands()).enrollCommand(o, globals()),
  );

program
  .command('run')
  .description('Run the agent in the foreground (what the service manager starts).')
  .option('--test-events <count>', 'emit this many diagnostic events to check the pipeline end to end', positiveInt, 0)
  .option('--test-interval <ms>', 'milliseconds between diagnostic events', positiveInt, 100)
  .action(async (opts: { testEvents: number; testInterval: number }) =>
    (await loadCommands()).runCommand(opts, globals()),
  );

program
  .command('status')
  .description('Show the enrollment, the connection state and the outbox backlog of this machine’s agent.')
  .option('--json', 'print JSON', false)
  .action(async (opts: { json: boolean }) => (await loadCommands()).statusCommand(opts, globals()));

program
  .command('update-watch')
  .description(
    'Watch an update in flight and roll it back if the new version does not become healthy (started by the agent itself from the old version; docs/0011-releases.md).',
  )
  .requiredOption('--state-dir <dir>', 'the agent state directory holding update/marker.json')
  .action(async (o: { stateDir: string }) => (await loadCommands()).updateWatchCommand(o, globals()));

program
  .command('request')
  .description(
    'Ask the support desk for help from this machine: files a ticket with this machine, your user name and a snapshot attached, and prints its number. `--status <ticket>` shows one of yours.',
  )
  .argument('[text...]', 'what is wrong, in your own words')
  .option('--status <ticket>', 'show the status of a request you filed (its ticket number or reference)')
  .option('--json', 'print JSON', false)
  .action(async (text: string[], o: { status?: string; json: boolean }) =>
    (await loadCommands()).requestCommand({ text: text.join(' '), ...o }, globals()),
  );

inventoryCommand(program);
installCommands(program);

/**
 * The global flags, defaulted: the configuration file from --config, else OUTPOST_AGENT_CONFIG, else the platform's
 * place; the log level from --log-level, else OUTPOST_LOG_LEVEL, else undefined (each command picks its own).
 */
function globals(): CliGlobals {
  const g = program.opts<{ config?: string; logLevel?: string }>();
  // With --config alone the state lives beside the file, as with OUTPOST_AGENT_CONFIG alone.
  const paths = g.config ? defaultPaths({ ...process.env, OUTPOST_AGENT_CONFIG: g.config }) : defaults;
  const configFrom = g.config
    ? '--config'
    : process.env.OUTPOST_AGENT_CONFIG
      ? 'OUTPOST_AGENT_CONFIG'
      : `the default ${process.getuid?.() === 0 ? 'for root' : 'for this user'}`;
  return {
    config: paths.configFile,
    stateDir: paths.stateDir,
    logLevel: g.logLevel || process.env.OUTPOST_LOG_LEVEL || undefined,
    configFrom,
  };
}

await program.parseAsync(process.argv);
