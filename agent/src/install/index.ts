/**
 * The install concern (the design's `service`): puts the agent on a machine as an OS service and takes it off
 * again: the versioned layout self-update swaps, the install lock, the systemd unit and launchd plist, the exit codes
 * MDM and GPO read. It must never change the identity of an enrolled machine (only `uninstall --purge` removes it)
 * and never write the enrollment token anywhere. docs/0009-packaging.md, "Install as a service".
 */
export { installCommands } from './cli.js';
export { exitCodeFor, type InstallOutcome, outcomeOf, POSIX_EXIT_CODES, WINDOWS_EXIT_CODES } from './exit-codes.js';
export { type InstallOptions, type InstallResult, install, installedVersion } from './install.js';
export { type InstallLayout, installLayout, LAUNCHD_LABEL, SYSTEMD_UNIT } from './layout.js';
export { takeInstallLock } from './lock.js';
export { LAUNCHD, SYSTEMD, servicePlan } from './steps.js';
export { type UninstallOptions, type UninstallResult, uninstall } from './uninstall.js';
export { launchdPlist, systemdUnit } from './units.js';
export { compareVersions, isVersion } from './version.js';
