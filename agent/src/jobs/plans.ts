/**
 * What a job runs, as argv (never a shell line: a package name cannot become a command), per package manager and
 * platform (docs/0010-jobs.md; the flags are those of shared/notes/updates.md §3.2). Pure functions, tested by the
 * argv they return; the ones for Windows and macOS have never been run here.
 */
import type { JobSpec, RebootPolicy } from '@outpost/shared';

/** A package manager or OS updater a plan can drive. */
export type Manager = 'apt' | 'dnf' | 'zypper' | 'wua' | 'winget' | 'softwareupdate';

/** One command of a plan. */
export interface Step {
  cmd: string;
  args: string[];
  /** Added to the agent's environment. */
  env: Record<string, string>;
  /** Exit codes that count as success besides 0. */
  okCodes: number[];
  /** Exit codes that mean success and a reboot is needed (zypper 102). */
  rebootCodes: number[];
  /** Exit codes after which the same step runs once more (zypper 103: it updated itself). */
  againCodes: number[];
}

/** How a plan learns that the machine needs a reboot once its steps are done. */
export type RebootCheck =
  | { kind: 'flag-file'; path: string }
  | { kind: 'exit-code'; step: Step; requiredCode: number }
  | { kind: 'none' };

/** The steps of one job and how to tell whether it left a reboot pending. */
export interface Plan {
  steps: Step[];
  reboot: RebootCheck;
  /** A file to write before the steps run (a script body), removed afterwards. */
  file?: { path: string; content: string; mode: number };
}

const step = (cmd: string, args: string[], o: Partial<Omit<Step, 'cmd' | 'args'>> = {}): Step => ({
  cmd,
  args,
  env: o.env ?? {},
  okCodes: o.okCodes ?? [],
  rebootCodes: o.rebootCodes ?? [],
  againCodes: o.againCodes ?? [],
});

/** apt never asks: no debconf, no needrestart (it could restart the agent), no changelog pager. */
export const APT_ENV = {
  DEBIAN_FRONTEND: 'noninteractive',
  NEEDRESTART_SUSPEND: '1',
  APT_LISTCHANGES_FRONTEND: 'none',
} as const;
/** Seconds apt waits for another apt or dpkg (unattended-upgrades) to release the lock. */
export const APT_LOCK_TIMEOUT_SEC = 600;

/** What the agent knows of where it runs. */
export interface Host {
  platform: NodeJS.Platform;
  /** The package manager found on PATH (first of apt-get, dnf, zypper on Linux; winget on Windows). */
  manager: Manager | undefined;
  /** Extra `-o` options for every apt command (config `packages.aptOptions`). */
  aptOptions: string[];
  /** Root the reboot flag lives under (config `packages.rootDir`, default `/`). */
  rootDir: string;
}

const aptBase = (h: Host) => h.aptOptions.flatMap((o) => ['-o', o]);
const aptWrite = (h: Host) => [
  ...aptBase(h),
  '-y',
  '-q',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
  '-o',
  `Dpkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SEC}`,
];
const debianFlag = (h: Host): RebootCheck => ({
  kind: 'flag-file',
  path: `${h.rootDir.replace(/\/+$/, '')}/var/run/reboot-required`,
});
const dnfReboot: RebootCheck = { kind: 'exit-code', step: step('dnf', ['needs-restarting', '-r']), requiredCode: 1 };
const ZYPPER_OK = { okCodes: [100, 101, 103], rebootCodes: [102], againCodes: [103] };

/** Why a job cannot run on this host. */
export class Unsupported extends Error {}

/** The OS patch plan for this host. */
export function patchPlan(h: Host, scope: 'all' | 'security', jobDir: string): Plan {
  switch (h.manager) {
    case 'apt':
      // apt has no security-only switch that does not rewrite the sources; a patch job applies every update.
      return {
        steps: [
          step('apt-get', [...aptBase(h), '-q', '-o', `Dpkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SEC}`, 'update'], {
            env: APT_ENV,
          }),
          step('apt-get', [...aptWrite(h), 'dist-upgrade'], { env: APT_ENV }),
        ],
        reboot: debianFlag(h),
      };
    case 'dnf':
      return {
        steps: [step('dnf', ['-y', 'upgrade', '--refresh', ...(scope === 'security' ? ['--security'] : [])])],
        reboot: dnfReboot,
      };
    case 'zypper':
      return {
        steps: [
          step('zypper', ['--non-interactive', 'refresh']),
          step(
            'zypper',
            [
              '--non-interactive',
              'patch',
              '--auto-agree-with-licenses',
              ...(scope === 'security' ? ['--category', 'security'] : []),
            ],
            ZYPPER_OK,
          ),
        ],
        reboot: { kind: 'none' }, // exit code 102 of the patch step says it
      };
    case 'wua':
    case 'winget':
      return { ...powershellPlan(h, 'wua.ps1', WUA_SCRIPT, jobDir), reboot: { kind: 'none' } };
    case 'softwareupdate':
      // OS updates on Apple silicon need a user's authentication or MDM; this installs what softwareupdate may.
      return {
        steps: [step('softwareupdate', ['--install', '--all', '--agree-to-license'])],
        reboot: { kind: 'none' },
      };
    default:
      throw new Unsupported(`no supported package manager on this ${h.platform} machine`);
  }
}

/** The software install/remove plan for this host. */
export function softwarePlan(h: Host, action: 'install' | 'remove', packages: string[]): Plan {
  switch (h.manager) {
    case 'apt':
      return {
        steps: [step('apt-get', [...aptWrite(h), action, ...packages], { env: APT_ENV })],
        reboot: debianFlag(h),
      };
    case 'dnf':
      return { steps: [step('dnf', ['-y', action, ...packages])], reboot: dnfReboot };
    case 'zypper':
      return {
        steps: [
          step(
            'zypper',
            ['--non-interactive', action, ...(action === 'install' ? ['--auto-agree-with-licenses'] : []), ...packages],
            ZYPPER_OK,
          ),
        ],
        reboot: { kind: 'none' },
      };
    case 'wua':
    case 'winget':
      return {
        steps: packages.map((p) =>
          step(
            'winget',
            action === 'install'
              ? [
                  'install',
                  '--id',
                  p,
                  '--exact',
                  '--silent',
                  '--accept-package-agreements',
                  '--accept-source-agreements',
                  '--disable-interactivity',
                ]
              : ['uninstall', '--id', p, '--exact', '--silent', '--disable-interactivity'],
          ),
        ),
        reboot: { kind: 'none' },
      };
    default:
      throw new Unsupported(`no package manager for software ${action} on this ${h.platform} machine`);
  }
}

/** The plan that runs a script body from a file in the job directory. */
export function scriptPlan(h: Host, spec: Extract<JobSpec, { kind: 'script' }>, jobDir: string, jobId: string): Plan {
  if (spec.shell === 'powershell') {
    if (h.platform !== 'win32') throw new Unsupported('PowerShell scripts run on Windows agents only');
    return { ...powershellPlan(h, `${jobId}.ps1`, spec.body, jobDir, spec.args), reboot: { kind: 'none' } };
  }
  if (h.platform === 'win32') throw new Unsupported('shell scripts run on Linux and macOS agents only');
  const path = `${jobDir}/${jobId}.sh`;
  return {
    file: { path, content: spec.body, mode: 0o700 },
    steps: [step('/bin/sh', [path, ...spec.args])],
    reboot: { kind: 'none' },
  };
}

function powershellPlan(h: Host, name: string, body: string, dir: string, args: string[] = []) {
  const sep = h.platform === 'win32' ? '\\' : '/';
  const path = `${dir}${sep}${name}`;
  return {
    file: { path, content: body, mode: 0o600 },
    steps: [
      step('powershell.exe', ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', path, ...args]),
    ],
  };
}

/**
 * Windows Update through the WUA COM API as SYSTEM (not PSWindowsUpdate, which each host would have to install).
 * Exit code 0 when nothing failed; prints `REBOOT_REQUIRED` when an update asks for one (read by the component).
 */
export const WUA_SCRIPT = `$ErrorActionPreference = 'Stop'
$s = New-Object -ComObject Microsoft.Update.Session
$r = $s.CreateUpdateSearcher().Search("IsInstalled=0 and Type='Software' and IsHidden=0")
$c = New-Object -ComObject Microsoft.Update.UpdateColl
foreach ($u in $r.Updates) { if (-not $u.EulaAccepted) { $u.AcceptEula() }; [void]$c.Add($u); "update: $($u.Title)" }
if ($c.Count -eq 0) { 'no update'; exit 0 }
$d = $s.CreateUpdateDownloader(); $d.Updates = $c; [void]$d.Download()
$i = $s.CreateUpdateInstaller(); $i.Updates = $c; $res = $i.Install()
"result: $($res.ResultCode) reboot: $($res.RebootRequired)"
if ($res.RebootRequired) { 'REBOOT_REQUIRED' }
if ($res.ResultCode -eq 2 -or $res.ResultCode -eq 3) { exit 0 } else { exit 1 }
`;

/** The command that reboots the machine after `delayMin` minutes, warning users with `message`. */
export function rebootCommand(platform: NodeJS.Platform, reboot: RebootPolicy): Step {
  const message = reboot.message || 'Outpost: restarting to finish updates';
  switch (platform) {
    case 'win32':
      return step('shutdown.exe', ['/r', '/t', String(reboot.delayMin * 60), '/c', message.slice(0, 512)]);
    case 'darwin':
      return step('shutdown', ['-r', `+${reboot.delayMin}`]);
    default:
      return step('shutdown', ['-r', `+${reboot.delayMin}`, message]);
  }
}

/** Whether to reboot once the job is done, by its policy and what the job left behind. */
export function shouldReboot(policy: RebootPolicy['policy'], rebootRequired: boolean, succeeded: boolean): boolean {
  if (policy === 'forced') return succeeded;
  if (policy === 'if-required') return rebootRequired;
  return false;
}
