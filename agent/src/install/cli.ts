/**
 * `outpost-agent install` and `uninstall`: flags in, one exit code out (exit-codes.ts). With --silent nothing is
 * printed on success and exactly one line on failure, for MDM and GPO logs; commander's own usage errors are cut to
 * their first line too and exit with the bad-arguments code.
 */
import { OutpostError, printCliError } from '@outpost/shared';
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import { exitCodeFor, outcomeOf } from './exit-codes.js';
import { install } from './install.js';
import { uninstall } from './uninstall.js';

interface CommonFlags {
  silent: boolean;
  root?: string;
}

/** The `--root` prefix from the flag, else OUTPOST_INSTALL_ROOT, else '/'. */
function rootOf(flags: CommonFlags): string {
  return flags.root || process.env.OUTPOST_INSTALL_ROOT || '/';
}

/** Reports a failure (one line when silent) and sets the exit code for it. */
function fail(err: unknown, silent: boolean, verb: string): void {
  if (silent) {
    const line =
      err instanceof OutpostError
        ? `${err.code}: ${err.message}`
        : `unexpected failure: ${String((err as Error)?.message ?? err)}`;
    process.stderr.write(`outpost-agent ${verb}: ${line.replace(/\s+/g, ' ')}\n`);
  } else {
    printCliError(err);
  }
  process.exitCode = exitCodeFor(outcomeOf(err));
}

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
        '--executable <path>',
        'the packaged executable to install (default: this one; needed when running from a Node checkout)',
      )
      .option(
        '--root <dir>',
        'for tests and image staging: put every file under DIR, start nothing, no root needed (OUTPOST_INSTALL_ROOT too)',
      ),
  ).action(
    async (
      o: CommonFlags & { server: string; token?: string; caFingerprint?: string; force: boolean; executable?: string },
    ) => {
      // The token is on the command line: overwrite it in /proc/<pid>/cmdline, which every user can read.
      process.title = 'outpost-agent install';
      try {
        const r = await install({
          server: o.server,
          token: o.token ?? process.env.OUTPOST_ENROLL_TOKEN,
          caFingerprint: o.caFingerprint,
          force: o.force,
          executable: o.executable,
          root: rootOf(o),
          logger: createLogger(logLevel()),
        });
        if (!o.silent) {
          process.stdout.write(
            r.changes.length === 0
              ? `outpost-agent ${r.version} is installed as agent ${r.agentId}${rootOf(o) === '/' ? ' and running' : ''}; nothing changed\n`
              : `installed outpost-agent ${r.version}${r.previousVersion && r.previousVersion !== r.version ? ` (was ${r.previousVersion})` : ''} as agent ${r.agentId}: ${r.changes.join('; ')}\n`,
          );
        }
        process.exitCode = exitCodeFor('success');
      } catch (err) {
        fail(err, o.silent, 'install');
      }
    },
  );

  usageErrors(
    program
      .command('uninstall')
      .description(
        'Stop and remove the agent service and its executables (root). The configuration and state (identity, outbox) stay for a reinstall unless --purge. Same exit codes as install.',
      )
      .option('--purge', 'also remove the configuration, the state and the native addon cache', false)
      .option('--silent', 'print nothing on success and one line on failure', false)
      .option('--root <dir>', 'for tests: remove what `install --root DIR` put there (OUTPOST_INSTALL_ROOT too)'),
  ).action(async (o: CommonFlags & { purge: boolean }) => {
    try {
      const r = await uninstall({ purge: o.purge, root: rootOf(o), logger: createLogger(logLevel()) });
      if (!o.silent) {
        process.stdout.write(r.removed.length === 0 ? 'nothing to remove\n' : `removed ${r.removed.join(', ')}\n`);
      }
      process.exitCode = exitCodeFor('success');
    } catch (err) {
      fail(err, o.silent, 'uninstall');
    }
  });
}
