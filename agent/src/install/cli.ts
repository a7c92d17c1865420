/**
 * `outpost-agent install` and `uninstall`: flags in, one exit code out (exit-codes.ts). With --silent nothing is
 * printed on success and exactly one line on failure, for MDM and GPO logs; commander's own usage errors are cut to
 * their first line too and exit with the bad-arguments code.
 */
import type { Command } from 'commander';
import { loadCommands } from '../commands/load.js';
import type { InstallFlags, UninstallFlags } from './command.js';
import { exitCodeFor } from './exit-codes.js';

/** Usage errors (a missing --server, an unknown flag) exit with the bad-arguments code, one line when silent. */
function usageErrors(cmd: Command): Command {
  const silent = process.argv.includes('--silent');
  return cmd
    .configureOutput({
      writeErr: (text) => {
        if (!silent) process.stderr.write(text);
        else if (text.startsWith('error:'))
          process.stderr.write(`outpost-agent ${cmd.name()}: ${text.split('\n')[0]}\n`);
      },
    })
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : exitCodeFor('badArguments'));
    });
}

/** Adds `install` and `uninstall` to the agent CLI. */
export function installCommands(program: Command): void {
  const logLevel = () => program.opts<{ logLevel?: string }>().logLevel || process.env.OUTPOST_LOG_LEVEL || 'silent';
  usageErrors(
    program
      .command('install')
      .description(
        'Install this executable as the agent service (root): copy it to /opt/outpost, enroll once, register and start outpost-agent.service. Re-running changes nothing; a newer executable upgrades in place. Exit codes: 0 done, 1 failed, 2 bad arguments, 3 reboot required, 4 another install running, 5 not root.',
      )
      .requiredOption('--server <url>', 'collector URL, e.g. https://outpost.example.com:8443')
      .option(
        '--token <token>',
        'enrollment token (only used when the machine is not enrolled yet; OUTPOST_ENROLL_TOKEN keeps it off the command line)',
      )
      .option('--ca-fingerprint <sha256>', "pin the collector's certificate by its SHA-256 fingerprint")
      .option('--silent', 'print nothing on success and one line on failure', false)
      .option('--force', 'install an older version over a newer one, or another build of the installed version', false)
      .option(
        '--update-root <file>',
        'the release root to trust for self-update (1.root.json from `outpost release keys init`), copied beside the configuration, owner-only; kept when not given',
      )
      .option(
        '--update-root-sha256 <hex>',
        'instead of --update-root: fetch the release root from the collector and trust it only if its SHA-256 is this (printed by `outpost release keys init`; OUTPOST_UPDATE_ROOT_SHA256 too)',
      )
      .option(
        '--executable <path>',
        'the packaged executable to install (default: this one; needed when running from a Node checkout)',
      )
      .option(
        '--root <dir>',
        'for tests and image staging: put every file under DIR, start nothing, no root needed (OUTPOST_INSTALL_ROOT too)',
      ),
  ).action(async (o: InstallFlags) => {
    // The token is on the command line: overwrite it in /proc/<pid>/cmdline, which every user can read.
    process.title = 'outpost-agent install';
    await (await loadCommands()).installRun(o, logLevel());
  });

  usageErrors(
    program
      .command('uninstall')
      .description(
        'Stop and remove the agent service and its executables (root). The configuration and state (identity, outbox) stay for a reinstall unless --purge. Same exit codes as install.',
      )
      .option('--purge', 'also remove the configuration, the state and the native addon cache', false)
      .option('--silent', 'print nothing on success and one line on failure', false)
      .option('--root <dir>', 'for tests: remove what `install --root DIR` put there (OUTPOST_INSTALL_ROOT too)'),
  ).action(async (o: UninstallFlags) => (await loadCommands()).uninstallRun(o, logLevel()));
}
