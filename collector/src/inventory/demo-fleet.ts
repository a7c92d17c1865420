/**
 * A synthetic machine's inventory (for tests, the demo and the bench): every probe's rows, realistic in shape and
 * size, and the `inventory.report` messages an agent would send for them.
 */
import {
  type InventoryReport,
  type InventorySet,
  PROBE_NAMES,
  type ProbeName,
  type ProbeRow,
  rowsHash,
} from '@outpost/shared';

/** What varies between demo machines. */
export interface DemoMachine {
  hostname: string;
  serial: string;
  uuid: string;
  mac: string;
  manufacturer?: string;
  biosDate?: string;
  os?: { family: 'linux' | 'windows' | 'macos'; name: string; id: string; version: string };
  packages?: number;
  software?: { name: string; version: string }[];
  patches?: { name: string; security: boolean; severity?: string; kb?: string }[];
  antivirus?: { product: string; enabled: boolean; expiresAt: number | null }[];
}

// whole: a data table, one literal row set per probe read top to bottom; split, a machine's rows would be scattered.
/** Rows of every probe for one demo machine. */
export function demoRows(m: DemoMachine): { [P in ProbeName]: ProbeRow<P>[] } {
  const os = m.os ?? { family: 'linux', name: 'Debian GNU/Linux', id: 'debian', version: '12' };
  const software: ProbeRow<'installed_software'>[] = (m.software ?? []).map((s) => ({
    name: s.name,
    version: s.version,
    arch: 'amd64',
    publisher: 'Vendor',
    install_date: 1_700_000_000_000,
    source: 'dpkg',
    scope: 'machine',
    location: '',
  }));
  for (let i = 0; i < (m.packages ?? 50); i++) {
    software.push({
      name: `lib-demo-${i}`,
      version: `1.${i % 7}.${i}-1`,
      arch: 'amd64',
      publisher: 'Debian Maintainers <debian@example.org>',
      install_date: 1_700_000_000_000 + i,
      source: 'dpkg',
      scope: 'machine',
      location: '',
    });
  }
  return {
    system_info: [
      {
        hostname: m.hostname,
        manufacturer: m.manufacturer ?? 'Dell Inc.',
        model: 'OptiPlex 7050',
        serial: m.serial,
        hardware_uuid: m.uuid,
        machine_id: '',
        bios_vendor: 'Dell Inc.',
        bios_version: '1.2.3',
        bios_date: m.biosDate ?? '2021-03-01',
        chassis_type: 'desktop',
        virtual: false,
      },
    ],
    cpu: [
      {
        model: 'Intel(R) Core(TM) i5-7500',
        vendor: 'GenuineIntel',
        sockets: 1,
        physical_cores: 4,
        logical_processors: 4,
        available_processors: 4,
        max_mhz: 3800,
        arch: 'x64',
      },
    ],
    memory: [
      {
        kind: 'total',
        slot: '',
        size_bytes: 16 * 1024 ** 3,
        swap_bytes: 0,
        type: '',
        speed_mts: null,
        manufacturer: '',
        part_number: '',
        serial: '',
      },
    ],
    disks: [
      {
        kind: 'disk',
        name: 'sda',
        model: 'SAMSUNG SSD',
        serial: `S-${m.serial}`,
        type: 'ssd',
        size_bytes: 512 * 1024 ** 3,
        free_bytes: null,
        filesystem: '',
        mount: '',
        smart_health: 'ok',
      },
      {
        kind: 'volume',
        name: '/dev/sda1',
        model: '',
        serial: '',
        type: '',
        size_bytes: 500 * 1024 ** 3,
        free_bytes: 200 * 1024 ** 3,
        filesystem: 'ext4',
        mount: '/',
        smart_health: 'unknown',
      },
    ],
    network_interfaces: [
      {
        name: 'eth0',
        mac: m.mac,
        ipv4: ['10.0.0.2/24'],
        ipv6: [],
        speed_mbps: 1000,
        gateway: '10.0.0.1',
        is_default: true,
        virtual: false,
      },
    ],
    os_version: [
      {
        family: os.family,
        name: os.name,
        id: os.id,
        version: os.version,
        build: '',
        kernel: '6.1.0',
        arch: 'x64',
        install_date: 1_650_000_000_000,
        last_boot: 1_700_000_000_000,
        time_zone: 'Europe/Paris',
      },
    ],
    users: [
      {
        kind: 'account',
        name: 'alice',
        uid: '1000',
        full_name: 'Alice',
        home: '/home/alice',
        shell: '/bin/bash',
        admin: true,
        disabled: false,
        system: false,
        terminal: '',
        host: '',
        started_at: null,
      },
    ],
    installed_software: software,
    services: [
      {
        name: 'ssh.service',
        display_name: 'OpenBSD Secure Shell server',
        state: 'running',
        start_mode: 'enabled',
        kind: 'systemd',
        path: '',
      },
    ],
    licences: (m.antivirus ?? []).map((a) => ({
      kind: 'antivirus' as const,
      product: a.product,
      state: a.enabled ? 'enabled' : 'disabled',
      channel: '',
      enabled: a.enabled,
      up_to_date: true,
      definitions_date: null,
      expires_at: a.expiresAt,
      version: '',
    })),
    pending_patches: (m.patches ?? []).map((p) => ({
      kind: 'update' as const,
      name: p.name,
      installed_version: '1.0',
      candidate_version: '1.1',
      security: p.security,
      classification: p.security ? 'security' : 'update',
      severity: p.severity ?? '',
      kb: p.kb ?? '',
      source: 'apt' as const,
      installed_at: null,
    })),
  };
}

/** Full-snapshot sets for rows (one part each; demo machines are small). */
export function fullSets(rows: Partial<Record<ProbeName, Record<string, unknown>[]>>, time: number): InventorySet[] {
  let n = 0;
  return PROBE_NAMES.filter((p) => rows[p] !== undefined).map(
    (p) =>
      ({
        probe: p,
        mode: 'full',
        baseHash: '',
        setId: `s${time.toString(36)}${(n++).toString(36)}`,
        part: 1,
        parts: 1,
        collectedAt: time,
        hash: rowsHash(p, rows[p]!),
        upserts: rows[p]!,
        removes: [],
      }) as unknown as InventorySet,
  );
}

/** An `inventory.report` with full snapshots of every probe given. */
export function fullReport(
  seq: number,
  rows: Partial<Record<ProbeName, Record<string, unknown>[]>>,
  time: number,
): InventoryReport {
  return { type: 'inventory.report', seq, time, reason: 'initial', sets: fullSets(rows, time) };
}
