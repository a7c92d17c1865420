/**
 * The row schema of every inventory probe (docs/0002-inventory.md). The agent produces these rows, the collector
 * validates and stores them; every column carries its description, which `outpost-agent inventory` and the docs show.
 * Unknown values are empty strings or null, never invented.
 */
import { type Static, type TObject, Type } from '@sinclair/typebox';

const S = (maxLength: number, description: string) => Type.String({ maxLength, description });
const Int = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });
const NInt = (description: string) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()], { description });
const Bool = (description: string) => Type.Boolean({ description });
const NBool = (description: string) => Type.Union([Type.Boolean(), Type.Null()], { description });
const Time = (description: string) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: 8.64e15 }), Type.Null()], {
    description: `${description} (epoch ms)`,
  });
const row = <P extends Parameters<typeof Type.Object>[0]>(props: P) =>
  Type.Object(props, { additionalProperties: false });
const oneOf = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

/** Hardware identity of the machine: one row. */
export const SystemInfoRow = row({
  hostname: S(255, 'host name as the machine reports it'),
  manufacturer: S(128, 'system manufacturer (SMBIOS)'),
  model: S(128, 'system model / product name'),
  serial: S(128, 'system serial number (may be a placeholder such as "To be filled by O.E.M.")'),
  hardware_uuid: S(64, 'SMBIOS system UUID'),
  machine_id: S(64, 'OS installation id (/etc/machine-id, MachineGuid, IOPlatformUUID)'),
  bios_vendor: S(128, 'BIOS / firmware vendor'),
  bios_version: S(128, 'BIOS / firmware version'),
  bios_date: S(10, 'BIOS release date, YYYY-MM-DD'),
  chassis_type: S(64, 'chassis type (desktop, laptop, server, virtual machine…)'),
  virtual: Bool('true when the machine is a virtual machine or a container'),
});

/** Processors: one row. */
export const CpuRow = row({
  model: S(256, 'processor model name'),
  vendor: S(64, 'processor vendor'),
  sockets: Int('physical packages'),
  physical_cores: Int('physical cores over all packages'),
  logical_processors: Int('logical processors the OS knows'),
  available_processors: Int('logical processors this process may run on (what nproc prints)'),
  max_mhz: NInt('maximum frequency in MHz'),
  arch: S(32, 'processor architecture'),
});

/** Memory: the total, plus one row per module when the firmware exposes them. */
export const MemoryRow = row({
  kind: oneOf(['total', 'module'] as const, 'total: the OS view; module: one installed DIMM'),
  slot: S(64, 'module slot / bank locator (empty for the total)'),
  size_bytes: Int('bytes (MemTotal for the total)'),
  swap_bytes: NInt('configured swap bytes (total row only)'),
  type: S(32, 'DDR4, DDR5, LPDDR…'),
  speed_mts: NInt('module speed in MT/s'),
  manufacturer: S(128, 'module manufacturer'),
  part_number: S(128, 'module part number'),
  serial: S(128, 'module serial number'),
});

/** Physical disks and mounted volumes. */
export const DiskRow = row({
  kind: oneOf(['disk', 'volume'] as const, 'disk: a physical (or virtual) drive; volume: a mounted file system'),
  name: S(128, 'device name (sda, nvme0n1, PhysicalDrive0) or volume device'),
  model: S(128, 'drive model'),
  serial: S(128, 'drive serial'),
  type: S(32, 'ssd, hdd, nvme, usb, virtual, or empty'),
  size_bytes: Int('size in bytes'),
  free_bytes: NInt('free bytes (volumes), rounded down to MiB'),
  filesystem: S(32, 'file system type (volumes)'),
  mount: S(512, 'mount point or drive letter (volumes)'),
  smart_health: oneOf(['ok', 'failing', 'unknown'] as const, 'SMART overall health where readable'),
});

/** Network interfaces. */
export const NetworkInterfaceRow = row({
  name: S(128, 'interface name'),
  mac: S(32, 'MAC address, lower case'),
  ipv4: Type.Array(S(64, 'address/prefix'), { maxItems: 64, description: 'IPv4 addresses with prefix length' }),
  ipv6: Type.Array(S(64, 'address/prefix'), { maxItems: 64, description: 'IPv6 addresses with prefix length' }),
  speed_mbps: NInt('link speed in Mbit/s'),
  gateway: S(64, 'default gateway through this interface'),
  is_default: Bool('carries the default route'),
  virtual: Bool('software interface (bridge, veth, tunnel, loopback)'),
});

/** The operating system: one row. */
export const OsVersionRow = row({
  family: oneOf(['linux', 'windows', 'macos', 'other'] as const, 'OS family'),
  name: S(128, 'OS name (Debian GNU/Linux, Windows 11 Pro, macOS)'),
  id: S(64, 'distribution id (debian, ubuntu, rhel) or edition id'),
  version: S(64, 'version (12, 22.04, 23H2, 14.4)'),
  build: S(64, 'build or codename'),
  kernel: S(128, 'kernel version'),
  arch: S(32, 'OS architecture'),
  install_date: Time('installation date'),
  last_boot: Time('last boot'),
  time_zone: S(64, 'IANA or Windows time zone'),
});

/** Local accounts and logged-in sessions. */
export const UserRow = row({
  kind: oneOf(['account', 'session'] as const, 'account: a local account; session: a logged-in session'),
  name: S(128, 'user name'),
  uid: S(64, 'uid or SID'),
  full_name: S(256, 'display name'),
  home: S(512, 'home directory'),
  shell: S(256, 'login shell'),
  admin: Bool('member of an administrators group (sudo, wheel, admin, Administrators)'),
  disabled: Bool('account locked or disabled'),
  system: Bool('system / service account'),
  terminal: S(64, 'session terminal (sessions)'),
  host: S(255, 'remote host of the session'),
  started_at: Time('session start'),
});

/** Installed software from every package database present. */
export const InstalledSoftwareRow = row({
  name: S(256, 'package or product name'),
  version: S(128, 'installed version'),
  arch: S(32, 'architecture'),
  publisher: S(256, 'publisher, vendor or maintainer'),
  install_date: Time('installation date'),
  source: oneOf(
    ['dpkg', 'rpm', 'flatpak', 'snap', 'registry', 'app', 'pkg'] as const,
    'package database: dpkg, rpm, flatpak, snap, registry (Windows uninstall keys), app (macOS bundle), pkg (macOS receipt)',
  ),
  scope: oneOf(['machine', 'user'] as const, 'installed for the machine or for one user'),
  location: S(512, 'install location'),
});

/** Services and daemons. */
export const ServiceRow = row({
  name: S(256, 'service name'),
  display_name: S(256, 'description or display name'),
  state: S(32, 'running, stopped, failed, exited…'),
  start_mode: S(32, 'enabled/auto, disabled, manual, static…'),
  kind: oneOf(['systemd', 'sysv', 'windows', 'launchd'] as const, 'service manager'),
  path: S(512, 'unit file, binary path or plist'),
});

/** OS activation and antivirus products. */
export const LicenceRow = row({
  kind: oneOf(['os_activation', 'antivirus'] as const, 'os_activation: the OS licence; antivirus: one AV product'),
  product: S(256, 'product name'),
  state: S(32, 'licensed, unlicensed, grace, notification (activation); enabled, disabled, snoozed (AV)'),
  channel: S(64, 'licence channel (Retail, OEM, Volume…)'),
  enabled: NBool('real-time protection on (antivirus)'),
  up_to_date: NBool('definitions up to date (antivirus)'),
  definitions_date: Time('date of the signature set (antivirus)'),
  expires_at: Time('licence or subscription expiry where the product exposes it'),
  version: S(128, 'product or engine version'),
});

/** Pending updates, installed hotfixes and the reboot-required flag. */
export const PendingPatchRow = row({
  kind: oneOf(
    ['update', 'hotfix', 'reboot_required'] as const,
    'update: pending; hotfix: installed (Windows); reboot_required: a reboot is pending',
  ),
  name: S(256, 'package name or update title'),
  installed_version: S(128, 'installed version'),
  candidate_version: S(128, 'version the update brings'),
  security: Bool('a security update'),
  classification: S(64, 'Security Updates, Critical Updates, security, bugfix…'),
  severity: S(32, 'Critical, Important, Moderate, Low, or empty'),
  kb: S(32, 'KB number (Windows)'),
  source: oneOf(
    ['apt', 'dnf', 'yum', 'windows_update', 'softwareupdate', 'os'] as const,
    'where the update comes from',
  ),
  installed_at: Time('installation date (hotfixes)'),
});

/** Every probe's row schema, by probe name. */
export const PROBE_ROWS = {
  system_info: SystemInfoRow,
  cpu: CpuRow,
  memory: MemoryRow,
  disks: DiskRow,
  network_interfaces: NetworkInterfaceRow,
  os_version: OsVersionRow,
  users: UserRow,
  installed_software: InstalledSoftwareRow,
  services: ServiceRow,
  licences: LicenceRow,
  pending_patches: PendingPatchRow,
} as const satisfies Record<string, TObject>;

/** A probe name. */
export type ProbeName = keyof typeof PROBE_ROWS;
/** Every probe name, in report order. */
export const PROBE_NAMES = Object.keys(PROBE_ROWS) as ProbeName[];
/** The row type of one probe. */
export type ProbeRow<P extends ProbeName> = Static<(typeof PROBE_ROWS)[P]>;
/** Any probe's row. */
export type AnyProbeRow = ProbeRow<ProbeName>;

/** Columns that identify a row within its probe: a diff upserts and removes rows by this key. */
export const PROBE_KEYS: { [P in ProbeName]: readonly (keyof ProbeRow<P> & string)[] } = {
  system_info: [],
  cpu: [],
  memory: ['kind', 'slot'],
  disks: ['kind', 'name', 'mount'],
  network_interfaces: ['name'],
  os_version: [],
  users: ['kind', 'name', 'terminal', 'uid'],
  installed_software: ['source', 'scope', 'name', 'arch'],
  services: ['kind', 'name'],
  licences: ['kind', 'product'],
  pending_patches: ['kind', 'source', 'name', 'kb'],
};

/** The identifying key of a row (its key columns joined; a one-row probe has the empty key). */
export function rowKey(probe: ProbeName, r: Record<string, unknown>): string {
  return (PROBE_KEYS[probe] as readonly string[]).map((k) => String(r[k] ?? '')).join('\u001f');
}

/** Column name → description, read from the row schema. */
export function probeColumns(probe: ProbeName): { name: string; description: string }[] {
  const props = PROBE_ROWS[probe].properties as Record<string, { description?: string }>;
  return Object.entries(props).map(([name, s]) => ({ name, description: s.description ?? '' }));
}
