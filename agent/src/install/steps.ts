/**
 * What install and uninstall ask of the service manager, as data: the commands per phase for systemd and launchd.
 * The runner (service.ts) executes them; tests read them (launchd's are never executed here: no Mac).
 */
import { type InstallLayout, LAUNCHD_LABEL, SYSTEMD_UNIT } from './layout.js';
import { launchdPlist, systemdUnit } from './units.js';

/** One command; `mayFail` when its failure is an expected answer (a unit already gone, a daemon not loaded). */
export interface Step {
  argv: readonly string[];
  mayFail?: boolean;
}

/** A service manager's definition file and commands. */
export interface ServicePlan {
  /** systemd or launchd: named in messages. */
  manager: string;
  /** The definition file's text. */
  definition(layout: InstallLayout): string;
  /** After the definition file was written or changed: make the manager read it and start it at boot. */
  register(definitionChanged: boolean): Step[];
  /** Exits 0 when the service is enabled at boot (install skips `register` when nothing changed and it is). */
  isEnabled: Step;
  /** Exits 0 when the service is running. */
  isActive: Step;
  /** Start a stopped service, or restart a running one (a new executable, definition or configuration). */
  start(restart: boolean): Step[];
  /** Stop it and keep it from starting at boot: before the definition file is removed. */
  remove: Step[];
  /** After the definition file was removed. */
  afterRemove: Step[];
}

/** systemd (Linux). */
export const SYSTEMD: ServicePlan = {
  manager: 'systemd',
  definition: (layout) => systemdUnit(layout.execStart),
  register: (changed) => [
    ...(changed ? [{ argv: ['systemctl', 'daemon-reload'] }] : []),
    { argv: ['systemctl', 'enable', SYSTEMD_UNIT] },
  ],
  isEnabled: { argv: ['systemctl', 'is-enabled', '--quiet', SYSTEMD_UNIT], mayFail: true },
  isActive: { argv: ['systemctl', 'is-active', '--quiet', SYSTEMD_UNIT], mayFail: true },
  start: (restart) => [{ argv: ['systemctl', restart ? 'restart' : 'start', SYSTEMD_UNIT] }],
  // `disable --now` stops the agent process only (KillMode=process): shells a technician left open end on their own.
  remove: [{ argv: ['systemctl', 'disable', '--now', SYSTEMD_UNIT], mayFail: true }],
  afterRemove: [
    { argv: ['systemctl', 'daemon-reload'] },
    { argv: ['systemctl', 'reset-failed', SYSTEMD_UNIT], mayFail: true },
  ],
};

const target = `system/${LAUNCHD_LABEL}`;

/** launchd (macOS): `bootstrap`/`bootout` of the system domain, the current launchctl verbs (load/unload are legacy). */
export const LAUNCHD: ServicePlan = {
  manager: 'launchd',
  definition: (layout) => launchdPlist(layout.execStart, layout.targetInstallDir),
  register: (changed) => [
    // A changed plist is only read by a fresh bootstrap; bootout fails when the daemon was not loaded.
    ...(changed ? [{ argv: ['launchctl', 'bootout', target], mayFail: true }] : []),
    { argv: ['launchctl', 'enable', target] },
    { argv: ['launchctl', 'bootstrap', 'system', `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`], mayFail: !changed },
  ],
  isEnabled: { argv: ['launchctl', 'print', target], mayFail: true },
  isActive: { argv: ['launchctl', 'print', target], mayFail: true },
  // RunAtLoad starts it at bootstrap; kickstart -k kills and restarts a running one.
  start: (restart) => [{ argv: ['launchctl', 'kickstart', ...(restart ? ['-k'] : []), target] }],
  remove: [{ argv: ['launchctl', 'bootout', target], mayFail: true }],
  afterRemove: [],
};

/** The plan of `platform`, or undefined where install registers no service. */
export function servicePlan(platform: NodeJS.Platform = process.platform): ServicePlan | undefined {
  return platform === 'linux' ? SYSTEMD : platform === 'darwin' ? LAUNCHD : undefined;
}
