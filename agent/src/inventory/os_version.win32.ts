/** os_version on Windows: Win32_OperatingSystem, the CurrentVersion registry key (23H2, UBR, edition) and the time zone. */
import type { ProbeRow } from '@outpost/shared';
import { type ProbeContext, str } from './probe.js';
import { dateOf, objectOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parseOsVersionWindows` reads. */
export const OS_VERSION_PS = [
  '$o=Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version,BuildNumber,OSArchitecture,InstallDate,LastBootUpTime',
  "$r=Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' | Select-Object DisplayVersion,ReleaseId,UBR,EditionID,CurrentBuild",
  '[pscustomobject]@{OS=$o;CurrentVersion=$r;TimeZone=(Get-TimeZone).Id} | ConvertTo-Json -Depth 3 -Compress',
].join('; ');

/** Parses the script's JSON into the one os_version row. */
export function parseOsVersionWindows(json: unknown): ProbeRow<'os_version'>[] {
  const o = objectOf('os_version', json, 'the os_version output');
  const os = objectOf('os_version', o.OS, 'OS');
  const cv =
    typeof o.CurrentVersion === 'object' && o.CurrentVersion !== null
      ? (o.CurrentVersion as Record<string, unknown>)
      : {};
  const build = str(os.BuildNumber) || str(cv.CurrentBuild);
  const ubr = str(cv.UBR);
  return [
    {
      family: 'windows',
      name: str(os.Caption)
        .replace(/^Microsoft\s+/, '')
        .trim(),
      id: str(cv.EditionID),
      version: str(cv.DisplayVersion) || str(cv.ReleaseId),
      build: ubr ? `${build}.${ubr}` : build,
      kernel: str(os.Version),
      arch: str(os.OSArchitecture),
      install_date: dateOf(os.InstallDate),
      last_boot: dateOf(os.LastBootUpTime),
      time_zone: str(o.TimeZone),
    },
  ];
}

/** Collects the one os_version row. */
export async function collectOsVersionWindows(ctx: ProbeContext): Promise<ProbeRow<'os_version'>[]> {
  return parseOsVersionWindows(await powershellJson(ctx, 'os_version', OS_VERSION_PS));
}
