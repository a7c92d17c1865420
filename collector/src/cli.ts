/** `outpost`: the collector server and the technicians' CLI. Flags are parsed here; commands live in cli/. */
import { endQuietlyOnClosedPipe } from '@outpost/shared';
import { Command, InvalidArgumentError } from 'commander';
import { addCommands } from './cli/commands.js';
import { intIn } from './cli/flags.js';
import type { MigrateFlags } from './cli/migrate.js';
import { printError, sayErr } from './cli/output.js';
import type { ServeFlags } from './cli/serve.js';
import { COLLECTOR_VERSION } from './version.js';

const port = intIn(0, 65535, 'a port number');

const program = new Command('outpost')
  .description(
    'Outpost: remote monitoring and management. `outpost serve` runs the collector; the other commands are for technicians.',
  )
  .version(COLLECTOR_VERSION)
  .option('--server <url>', 'collector API URL (default: from `outpost login`, or OUTPOST_SERVER)')
  .option('--token <token>', 'API token (default: from `outpost login`, or OUTPOST_TOKEN)')
  .option('--ca-fingerprint <sha256>', 'pin the collector certificate (default: from `outpost login`)')
  .option('--json', 'print JSON instead of tables', false)
  .showHelpAfterError();

program
  .command('serve')
  .description('Run the collector (API, console and agent endpoint) on embedded SQLite, or PostgreSQL (storage.url).')
  .option('-c, --config <file>', 'configuration file (JSON or YAML); flags override it')
  .option('--data-dir <dir>', 'directory for the database and the generated certificate')
  .option('--host <host>', 'API listen address')
  .option('--port <port>', 'API listen port', port)
  .option('--agents-host <host>', 'agent endpoint listen address (default: the API listener)')
  .option('--agents-port <port>', 'agent endpoint listen port (default: the API listener)', port)
  .option('--no-tls', 'serve plain HTTP (only behind a TLS-terminating proxy, or for development)')
  .option('--cert <file>', 'TLS certificate (PEM); default: a generated self-signed one')
  .option('--key <file>', 'TLS private key (PEM)')
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace')
  .option('--install-service', 'install this executable as the hardened systemd service `outpost` (root), then exit')
  .option('--uninstall-service', 'stop and remove the service (configuration and data stay unless --purge), then exit')
  .option('--purge', 'with --uninstall-service: also remove /etc/outpost/collector.json and the data')
  .option('--root <dir>', 'with --install-service/--uninstall-service: write under this directory, run no systemctl')
  // Loaded on demand: the server (Fastify, SQLite, every concern) is most of start-up, and only `serve` needs it.
  .action(async (flags: ServeFlags) => (await import('./cli/serve.js')).serve(flags));

program
  .command('migrate')
  .description(
    'Copy this collector’s SQLite database into an empty PostgreSQL database (the collector stopped), then point storage.url at it.',
  )
  .requiredOption(
    '--to <url>',
    'postgres://user@host:port/database (the password from PGPASSWORD rather than the command line)',
  )
  .option('-c, --config <file>', 'configuration file (JSON or YAML) whose dataDir holds the database')
  .option('--data-dir <dir>', 'directory holding outpost.db (default: the configuration’s, else ./outpost-data)')
  .action(async (flags: Omit<MigrateFlags, 'json'>, cmd: Command) =>
    (await import('./cli/migrate.js')).migrateCommand({
      ...flags,
      json: cmd.optsWithGlobals<{ json?: boolean }>().json === true,
    }),
  );

addCommands(program);

endQuietlyOnClosedPipe();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof InvalidArgumentError) {
    sayErr`error: ${err.message}\n`;
    process.exitCode = 1;
  } else printError(err);
}
