/**
 * What `outpost-agent install` and `uninstall` do once their flags are parsed (install/cli.ts): run, print one
 * sentence (nothing with --silent), and set the one exit code for the outcome (exit-codes.ts).
 */
import { OutpostError, printCliError } from '@outpost/shared';
import { createLogger } from '../log.js';
import { exitCodeFor, outcomeOf } from './exit-codes.js';
import { install } from './install.js';
import { uninstall } from './uninstall.js';

/** Flags both commands take. */
export interface CommonFlags {
  silent: boolean;
  root?: string;
}

/** The install flags, as install/cli.ts parsed them. */
export interface InstallFlags extends CommonFlags {
  server: string;
  token?: string;
  caFingerprint?: string;
  force: boolean;
  executable?: string;
  updateRoot?: string;
  updateRootSha256?: string;
}

/** The uninstall flags. */
export interface UninstallFlags extends CommonFlags {
  purge: boolean;
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

/** Installs (or re-installs, or upgrades) and says what changed. */
export async function installRun(o: InstallFlags, logLevel: string): Promise<void> {
  try {
    const r = await install({
      server: o.server,
      token: o.token ?? process.env.OUTPOST_ENROLL_TOKEN,
      caFingerprint: o.caFingerprint,
      force: o.force,
      executable: o.executable,
      updateRoot: o.updateRoot,
      updateRootSha256: o.updateRootSha256 ?? (process.env.OUTPOST_UPDATE_ROOT_SHA256 || undefined),
      root: rootOf(o),
      logger: createLogger(logLevel),
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
}

/** Uninstalls and says what was removed. */
export async function uninstallRun(o: UninstallFlags, logLevel: string): Promise<void> {
  try {
    const r = await uninstall({ purge: o.purge, root: rootOf(o), logger: createLogger(logLevel) });
    if (!o.silent) {
      process.stdout.write(r.removed.length === 0 ? 'nothing to remove\n' : `removed ${r.removed.join(', ')}\n`);
    }
    process.exitCode = exitCodeFor('success');
  } catch (err) {
    fail(err, o.silent, 'uninstall');
  }
}
