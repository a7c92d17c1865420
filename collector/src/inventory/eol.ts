/**
 * The shipped, dated table of operating-system end-of-life dates (last reviewed 2025-06; sources: Microsoft
 * lifecycle pages, Ubuntu release cycle, Debian LTS, Red Hat life cycle, Apple's security-update practice).
 * Dates are the end of the last free security support (Debian: LTS; Windows 10/11: Home/Pro unless the edition is
 * Enterprise/Education; macOS: Apple publishes none, so the date is the expected release of the version that
 * drops it, marked estimated). Update it with each release; `TABLE_DATE` says how current it is.
 */

/** When the table was last reviewed. */
export const EOL_TABLE_DATE = '2025-06-01';

interface EolEntry {
  family: 'linux' | 'windows' | 'macos';
  /** distribution ids (linux), or a regular expression on the OS name (windows). */
  ids?: string[];
  name?: RegExp;
  /** Version prefix: '12', '22.04', '22H2', '14'. */
  version?: string;
  enterprise?: boolean;
  label: string;
  until: string;
  estimated?: boolean;
}

const D = (family: EolEntry['family'], label: string, until: string, more: Partial<EolEntry> = {}): EolEntry => ({
  family,
  label,
  until,
  ...more,
});
const RHEL = ['rhel', 'centos', 'rocky', 'almalinux', 'ol'];

/** The table. */
export const EOL_TABLE: readonly EolEntry[] = [
  D('windows', 'Windows 7', '2020-01-14', { name: /windows 7/i }),
  D('windows', 'Windows 8.1', '2023-01-10', { name: /windows 8\.1/i }),
  D('windows', 'Windows 10 LTSC 2019', '2029-01-09', { name: /windows 10.*ltsc 2019|windows 10.*ltsc$/i }),
  D('windows', 'Windows 10 LTSC 2021', '2027-01-12', { name: /windows 10.*ltsc 2021/i }),
  D('windows', 'Windows 10', '2025-10-14', { name: /windows 10/i }),
  D('windows', 'Windows 11 21H2 Enterprise', '2024-10-08', { name: /windows 11/i, version: '21H2', enterprise: true }),
  D('windows', 'Windows 11 22H2 Enterprise', '2025-10-14', { name: /windows 11/i, version: '22H2', enterprise: true }),
  D('windows', 'Windows 11 23H2 Enterprise', '2026-11-10', { name: /windows 11/i, version: '23H2', enterprise: true }),
  D('windows', 'Windows 11 24H2 Enterprise', '2027-10-12', { name: /windows 11/i, version: '24H2', enterprise: true }),
  D('windows', 'Windows 11 21H2', '2023-10-10', { name: /windows 11/i, version: '21H2' }),
  D('windows', 'Windows 11 22H2', '2024-10-08', { name: /windows 11/i, version: '22H2' }),
  D('windows', 'Windows 11 23H2', '2025-11-11', { name: /windows 11/i, version: '23H2' }),
  D('windows', 'Windows 11 24H2', '2026-10-13', { name: /windows 11/i, version: '24H2' }),
  D('windows', 'Windows Server 2008 R2', '2020-01-14', { name: /server 2008/i }),
  D('windows', 'Windows Server 2012 R2', '2023-10-10', { name: /server 2012/i }),
  D('windows', 'Windows Server 2016', '2027-01-12', { name: /server 2016/i }),
  D('windows', 'Windows Server 2019', '2029-01-09', { name: /server 2019/i }),
  D('windows', 'Windows Server 2022', '2031-10-14', { name: /server 2022/i }),
  D('windows', 'Windows Server 2025', '2034-10-10', { name: /server 2025/i }),
  D('linux', 'Ubuntu 16.04 LTS', '2021-04-30', { ids: ['ubuntu'], version: '16.04' }),
  D('linux', 'Ubuntu 18.04 LTS', '2023-05-31', { ids: ['ubuntu'], version: '18.04' }),
  D('linux', 'Ubuntu 20.04 LTS', '2025-05-31', { ids: ['ubuntu'], version: '20.04' }),
  D('linux', 'Ubuntu 22.04 LTS', '2027-06-01', { ids: ['ubuntu'], version: '22.04' }),
  D('linux', 'Ubuntu 24.04 LTS', '2029-05-31', { ids: ['ubuntu'], version: '24.04' }),
  D('linux', 'Ubuntu 24.10', '2025-07-10', { ids: ['ubuntu'], version: '24.10' }),
  D('linux', 'Ubuntu 25.04', '2026-01-15', { ids: ['ubuntu'], version: '25.04' }),
  D('linux', 'Debian 9', '2022-06-30', { ids: ['debian'], version: '9' }),
  D('linux', 'Debian 10', '2024-06-30', { ids: ['debian'], version: '10' }),
  D('linux', 'Debian 11', '2026-08-31', { ids: ['debian'], version: '11' }),
  D('linux', 'Debian 12', '2028-06-30', { ids: ['debian'], version: '12' }),
  D('linux', 'Debian 13', '2030-06-30', { ids: ['debian'], version: '13' }),
  D('linux', 'CentOS 8', '2021-12-31', { ids: ['centos'], version: '8' }),
  D('linux', 'RHEL 7 and derivatives', '2024-06-30', { ids: RHEL, version: '7' }),
  D('linux', 'RHEL 8 and derivatives', '2029-05-31', { ids: RHEL, version: '8' }),
  D('linux', 'RHEL 9 and derivatives', '2032-05-31', { ids: RHEL, version: '9' }),
  D('macos', 'macOS 11 Big Sur', '2023-09-26', { version: '11' }),
  D('macos', 'macOS 12 Monterey', '2024-09-16', { version: '12' }),
  D('macos', 'macOS 13 Ventura', '2025-09-15', { version: '13', estimated: true }),
  D('macos', 'macOS 14 Sonoma', '2026-09-15', { version: '14', estimated: true }),
  D('macos', 'macOS 15 Sequoia', '2027-09-15', { version: '15', estimated: true }),
];

/** End-of-life status of one OS. */
export interface EolStatus {
  /** The table entry that matched, or null when the OS is not in the table. */
  label: string | null;
  /** Supported until (epoch ms), null when unknown. */
  supportedUntil: number | null;
  /** True when the date is past. */
  endOfLife: boolean;
  estimated: boolean;
}

const versionMatches = (prefix: string, version: string) =>
  version === prefix || version.startsWith(`${prefix}.`) || version.toUpperCase() === prefix.toUpperCase();

/** Looks an OS (the os_version row's fields) up in the table. */
export function eolStatus(os: { family: string; id: string; name: string; version: string }, now: number): EolStatus {
  for (const e of EOL_TABLE) {
    if (e.family !== os.family) continue;
    if (e.ids && !e.ids.includes(os.id.toLowerCase())) continue;
    if (e.name && !e.name.test(os.name)) continue;
    if (e.version && !versionMatches(e.version, os.version)) continue;
    if (e.enterprise !== undefined && e.enterprise !== /enterprise|education/i.test(`${os.name} ${os.id}`)) continue;
    const until = Date.parse(`${e.until}T23:59:59Z`);
    return { label: e.label, supportedUntil: until, endOfLife: until < now, estimated: e.estimated === true };
  }
  return { label: null, supportedUntil: null, endOfLife: false, estimated: false };
}
