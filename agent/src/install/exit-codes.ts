/**
 * The exit codes of `outpost-agent install` and `uninstall`, for MDM, GPO and shell loops that branch on them
 * (docs/0009-packaging.md, "Install as a service"). Windows uses msiexec's codes, which Intune and SCCM already
 * understand; a POSIX exit status is 8 bits, so Linux and macOS use small codes of their own. Nothing else in the
 * install concern names a number.
 */
import { OutpostError } from '@outpost/shared/errors';

/** What an install or uninstall ended with. */
export type InstallOutcome = 'success' | 'fatal' | 'badArguments' | 'rebootRequired' | 'anotherInstall' | 'notRoot';

/** Linux and macOS. */
export const POSIX_EXIT_CODES: Readonly<Record<InstallOutcome, number>> = {
  success: 0,
  fatal: 1,
  badArguments: 2,
  rebootRequired: 3,
  anotherInstall: 4,
  notRoot: 5,
};

/** Windows: msiexec's (ERROR_SUCCESS_REBOOT_REQUIRED, ERROR_INSTALL_FAILURE, ERROR_INSTALL_ALREADY_RUNNING, ERROR_INVALID_COMMAND_LINE). */
export const WINDOWS_EXIT_CODES: Readonly<Record<InstallOutcome, number>> = {
  success: 0,
  fatal: 1603,
  badArguments: 1639,
  rebootRequired: 3010,
  anotherInstall: 1618,
  // msiexec has no exit code of its own for "not elevated": an MSI run without rights fails with 1603.
  notRoot: 1603,
};

/** The exit code of `outcome` on `platform`. */
export function exitCodeFor(outcome: InstallOutcome, platform: NodeJS.Platform = process.platform): number {
  return (platform === 'win32' ? WINDOWS_EXIT_CODES : POSIX_EXIT_CODES)[outcome];
}

/** The outcome an error of an install or uninstall maps to: only a few codes are not plain failures. */
export function outcomeOf(err: unknown): InstallOutcome {
  if (!(err instanceof OutpostError)) return 'fatal';
  switch (err.code) {
    case 'OUTPOST_E_INSTALL_ARGUMENTS':
    case 'OUTPOST_E_ENROLL_TOKEN_INVALID':
      return 'badArguments';
    case 'OUTPOST_E_INSTALL_LOCKED':
      return 'anotherInstall';
    case 'OUTPOST_E_INSTALL_NOT_ROOT':
      return 'notRoot';
    default:
      return 'fatal';
  }
}
