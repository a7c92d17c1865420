/** os_version on macOS: sw_vers, uname, kern.boottime, the setup-done marker's birth time as install date. */
import type { ProbeRow } from '@outpost/shared';
import { keyValues } from './darwin.js';
import { badOutput, type ProbeContext } from './probe.js';

/**
 * The macOS version `sw_vers` prints, with its Rapid Security Response suffix when one is installed (macOS 13+ prints
 * `ProductVersionExtra: (a)` beside `ProductVersion: 13.3.1`; Apple names that version "13.3.1 (a)").
 */
export function macosVersion(swVers: string): string {
  const kv = keyValues(swVers);
  const version = kv.get('ProductVersion') ?? '';
  const extra = kv.get('ProductVersionExtra') ?? '';
  return version && extra ? `${version} ${extra}` : version;
}

/** Parses `sw_vers`, `uname -r -m`, `sysctl kern.boottime` and `stat -f %B /var/db/.AppleSetupDone`. */
export function parseOsVersionDarwin(
  swVers: string,
  uname: string,
  boottime: string,
  setupDone: string,
  timeZone: string,
): ProbeRow<'os_version'>[] {
  const kv = keyValues(swVers);
  const version = macosVersion(swVers);
  if (!version) badOutput('os_version', 'sw_vers printed no ProductVersion', swVers);
  const [kernel = '', arch = ''] = uname.trim().split(/\s+/);
  const boot = /sec = (\d+)/.exec(boottime)?.[1];
  const installed = Number(setupDone.trim());
  return [
    {
      family: 'macos',
      name: kv.get('ProductName') ?? 'macOS',
      id: 'macos',
      version,
      build: kv.get('BuildVersion') ?? '',
      kernel,
      arch,
      install_date: Number.isInteger(installed) && installed > 0 ? installed * 1000 : null,
      last_boot: boot ? Number(boot) * 1000 : null,
      time_zone: timeZone,
    },
  ];
}

/** Collects the one os_version row. */
export async function collectOsVersionDarwin(ctx: ProbeContext): Promise<ProbeRow<'os_version'>[]> {
  const [sw, uname, boot, setup] = await Promise.all([
    ctx.exec('sw_vers', []),
    ctx.exec('uname', ['-r', '-m']),
    ctx.exec('sysctl', ['kern.boottime']),
    ctx.exec('stat', ['-f', '%B', '/var/db/.AppleSetupDone']).catch(() => ''),
  ]);
  return parseOsVersionDarwin(sw, uname, boot, setup, Intl.DateTimeFormat().resolvedOptions().timeZone);
}
