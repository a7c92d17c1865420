/**
 * installed_software on Windows: the Uninstall registry keys, 64-bit and 32-bit (WOW6432Node), for the machine and
 * for every loaded user hive, as Programs and Features lists them: entries without a DisplayName, system components
 * and updates of another product (ParentKeyName) are left out.
 */
import type { ProbeRow } from '@outpost/shared';
import { intOrNull, type ProbeContext, str, timeOrNull } from './probe.js';
import { listOf, objectOf, powershellJson } from './windows.js';

const UNINSTALL = 'Microsoft\\Windows\\CurrentVersion\\Uninstall\\*';
/** The PowerShell script whose JSON `parseUninstallKeys` reads. */
export const INSTALLED_SOFTWARE_PS = [
  `$k=@('Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\${UNINSTALL}','Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\${UNINSTALL}','Registry::HKEY_USERS\\*\\SOFTWARE\\${UNINSTALL}','Registry::HKEY_USERS\\*\\SOFTWARE\\WOW6432Node\\${UNINSTALL}')`,
  '$e=@(Get-ItemProperty -Path $k -ErrorAction SilentlyContinue | Select-Object DisplayName,DisplayVersion,Publisher,InstallDate,InstallLocation,SystemComponent,ParentKeyName,PSPath)',
  '[pscustomobject]@{Is64BitOperatingSystem=[Environment]::Is64BitOperatingSystem;Entries=$e} | ConvertTo-Json -Depth 3 -Compress',
].join('; ');

/** Parses the registry entries into software rows (on 32-bit Windows every entry is x86, and there is no WOW6432Node). */
export function parseUninstallKeys(json: unknown): ProbeRow<'installed_software'>[] {
  const o = objectOf('installed_software', json, 'the registry output');
  const is64bitOs = o.Is64BitOperatingSystem !== false;
  const rows: ProbeRow<'installed_software'>[] = [];
  for (const e of listOf('installed_software', o.Entries ?? null)) {
    const name = str(e.DisplayName).trim();
    if (!name || intOrNull(e.SystemComponent) === 1 || str(e.ParentKeyName)) continue;
    const path = str(e.PSPath);
    const wow = /\\WOW6432Node\\/i.test(path);
    rows.push({
      name,
      version: str(e.DisplayVersion).trim(),
      arch: wow || !is64bitOs ? 'x86' : 'x64',
      publisher: str(e.Publisher).trim(),
      install_date: timeOrNull(str(e.InstallDate).trim()),
      source: 'registry',
      scope: /HKEY_USERS\\/i.test(path) ? 'user' : 'machine',
      location: str(e.InstallLocation).trim(),
    });
  }
  return rows;
}

/** Collects the software rows. */
export async function collectSoftwareWindows(ctx: ProbeContext): Promise<ProbeRow<'installed_software'>[]> {
  return parseUninstallKeys(await powershellJson(ctx, 'installed_software', INSTALLED_SOFTWARE_PS));
}
