/**
 * The macOS probes against command output fixtures (fixtures/darwin, see its README): each parser's rows, then every
 * probe run through the runner (cleaning + schema validation) with a context that answers each command with its
 * fixture; empty and malformed outputs give a coded error, never a crash.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROBE_NAMES } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { parseCpuDarwin } from './cpu.darwin.js';
import { parseDisksDarwin } from './disks.darwin.js';
import { parseApplications, parsePkgInfo } from './installed_software.darwin.js';
import { parseXProtect } from './licences.darwin.js';
import { parseMemoryDarwin } from './memory.darwin.js';
import { parseIfconfig } from './network_interfaces.darwin.js';
import { macosVersion, parseOsVersionDarwin } from './os_version.darwin.js';
import { parseSoftwareUpdate } from './pending_patches.darwin.js';
import { defaultInventoryOptions, type ProbeContext } from './probe.js';
import { probesFor } from './registry.js';
import { runProbe } from './runner.js';
import { parseLaunchctlList } from './services.darwin.js';
import { parseSystemInfoDarwin } from './system_info.darwin.js';
import { parseUsersDarwin } from './users.darwin.js';

const dir = fileURLToPath(new URL('./fixtures/darwin/', import.meta.url));
const text = (f: string) => readFileSync(join(dir, f), 'utf8');
const json = (f: string) => JSON.parse(text(f)) as Record<string, unknown>;
const NOW = Date.parse('2026-11-22T12:00:00Z');

/** The fixture answering one command line. */
function fixtureFor(cmd: string, args: string[]): string {
  const line = [cmd, ...args].join(' ');
  const table: [RegExp, string][] = [
    [/^system_profiler -json SPHardwareDataType$/, 'SPHardwareDataType.json'],
    [/^system_profiler -json SPMemoryDataType$/, 'SPMemoryDataType.json'],
    [/^system_profiler -json SPStorageDataType SPNVMeDataType SPSerialATADataType$/, 'SPStorageDataType.json'],
    [/^system_profiler -json SPApplicationsDataType$/, 'SPApplicationsDataType.json'],
    [/^system_profiler -json SPInstallHistoryDataType$/, 'SPInstallHistoryDataType.json'],
    [/^sysctl hw\.packages/, 'sysctl-cpu.txt'],
    [/^sysctl hw\.memsize vm\.swapusage$/, 'sysctl-memory.txt'],
    [/^sysctl kern\.boottime$/, 'sysctl-boottime.txt'],
    [/^ifconfig$/, 'ifconfig.txt'],
    [/^route -n get default$/, 'route-default.txt'],
    [/^sw_vers$/, 'sw_vers.txt'],
    [/^uname -r -m$/, 'uname.txt'],
    [/^stat -f %B \/var\/db\/\.AppleSetupDone$/, 'stat-setupdone.txt'],
    [/^dscacheutil -q user$/, 'dscacheutil-user.txt'],
    [/^dscl \. -read \/Groups\/admin GroupMembership$/, 'dscl-admin.txt'],
    [/^who$/, 'who.txt'],
    [/^pkgutil --pkgs$/, 'pkgutil-pkgs.txt'],
    [/^pkgutil --pkg-info com\.microsoft\.package\.Microsoft_Word\.app$/, 'pkgutil-info-word.txt'],
    [/^pkgutil --pkg-info com\.eset\.protection\.pkg$/, 'pkgutil-info-eset.txt'],
    [/^launchctl list$/, 'launchctl-list.txt'],
    [/^softwareupdate --list --no-scan$/, 'softwareupdate-list.txt'],
  ];
  const f = table.find(([re]) => re.test(line))?.[1];
  if (!f) throw new Error(`no fixture for ${line}`);
  return text(f);
}

function replay(answer: (cmd: string, args: string[]) => string): ProbeContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    exec: async (cmd, args) => {
      lines.push([cmd, ...args].join(' '));
      return answer(cmd, args);
    },
    readText: async () => undefined,
    has: async (cmd) => cmd !== 'mdatp', // no Defender for Endpoint on these machines
    options: defaultInventoryOptions,
    now: () => NOW,
  };
}

describe('macOS parsers on recorded command output', () => {
  it('system_info from SPHardwareDataType', () => {
    expect(parseSystemInfoDarwin(json('SPHardwareDataType.json'), 'mbp-jdupont')).toEqual([
      {
        hostname: 'mbp-jdupont',
        manufacturer: 'Apple Inc.',
        model: 'MacBook Pro (Mac14,9)',
        serial: 'FVFXK2ABQ6LR',
        hardware_uuid: '6b9d1c2e-3f4a-5b6c-7d8e-9f0a1b2c3d4e',
        machine_id: '00006020-001a2b3c4d5e6f70',
        bios_vendor: 'Apple Inc.',
        bios_version: '10151.140.19',
        bios_date: '',
        chassis_type: 'laptop',
        virtual: false,
      },
    ]);
  });

  it('cpu from sysctl: Apple silicon (no vendor/frequency keys) and Intel', () => {
    expect(parseCpuDarwin(text('sysctl-cpu.txt'))[0]).toEqual({
      model: 'Apple M2 Pro',
      vendor: 'Apple',
      sockets: 1,
      physical_cores: 10,
      logical_processors: 10,
      available_processors: 10,
      max_mhz: null,
      arch: 'arm64',
    });
    expect(parseCpuDarwin(text('intel-sysctl-cpu.txt'))[0]).toMatchObject({
      vendor: 'GenuineIntel',
      physical_cores: 6,
      logical_processors: 12,
      max_mhz: 3700,
      arch: 'x86_64',
    });
  });

  it('memory: total and swap from sysctl; Apple silicon package; Intel DIMMs without the empty slot', () => {
    const m1 = parseMemoryDarwin(text('sysctl-memory.txt'), json('SPMemoryDataType.json'));
    expect(m1[0]).toMatchObject({ kind: 'total', size_bytes: 17179869184, swap_bytes: 2048 * 1048576 });
    expect(m1[1]).toMatchObject({ kind: 'module', slot: 'built-in', size_bytes: 16 * 1024 ** 3, type: 'LPDDR5' });
    const intel = parseMemoryDarwin(text('sysctl-memory.txt'), json('intel-SPMemoryDataType.json'));
    expect(intel.slice(1)).toEqual([
      expect.objectContaining({
        slot: 'DIMM1/ChannelA-DIMM0',
        size_bytes: 8 * 1024 ** 3,
        type: 'DDR4',
        speed_mts: 2667,
        manufacturer: '0x80AD',
        serial: '0x2A3B4C5D',
      }),
    ]);
  });

  it('disks: each physical drive once (internal NVMe SSD verified, USB HDD), then the volumes', () => {
    const rows = parseDisksDarwin(json('SPStorageDataType.json'));
    expect(
      rows.filter((r) => r.kind === 'disk').map((r) => [r.name, r.type, r.smart_health, r.serial, r.size_bytes]),
    ).toEqual([
      ['APPLE SSD AP0512Z', 'nvme', 'ok', '0ba0165e4a2c3b1d', 500277790720],
      // Only SPStorageDataType knows the USB drive: no size or serial.
      ['Expansion HDD', 'usb', 'unknown', '', 0],
    ]);
    expect(rows.filter((r) => r.kind === 'volume').map((r) => [r.mount, r.filesystem])).toEqual([
      ['/System/Volumes/Data', 'APFS'],
      ['/', 'APFS'],
      ['/Volumes/SAUVEGARDE', 'ExFAT'],
    ]);
  });

  it('network_interfaces from ifconfig and the default route', () => {
    const rows = parseIfconfig(text('ifconfig.txt'), text('route-default.txt'));
    expect(rows.map((r) => r.name)).toEqual(['lo0', 'gif0', 'en0', 'en5', 'utun3']);
    expect(rows[2]).toEqual({
      name: 'en0',
      mac: '3c:a6:f6:1a:2b:3c',
      ipv4: ['192.168.1.42/24'],
      ipv6: ['fe80::1c8e:5a2b:9d4f:e011/64'],
      speed_mbps: null,
      gateway: '192.168.1.1',
      is_default: true,
      virtual: false,
    });
    expect(rows[3]).toMatchObject({ ipv4: ['10.0.20.15/22'], speed_mbps: 1000, is_default: false });
    expect(rows[0]).toMatchObject({ ipv4: ['127.0.0.1/8'], virtual: true });
  });

  it('os_version from sw_vers, uname, kern.boottime and the setup marker', () => {
    expect(
      parseOsVersionDarwin(
        text('sw_vers.txt'),
        text('uname.txt'),
        text('sysctl-boottime.txt'),
        text('stat-setupdone.txt'),
        'Europe/Paris',
      )[0],
    ).toEqual({
      family: 'macos',
      name: 'macOS',
      id: 'macos',
      version: '14.6.1',
      build: '23G93',
      kernel: '23.6.0',
      arch: 'arm64',
      install_date: Date.parse('2024-02-05T09:14:22Z'),
      last_boot: Date.parse('2026-11-20T07:58:10Z'),
      time_zone: 'Europe/Paris',
    });
  });

  it('os_version keeps the Rapid Security Response suffix sw_vers prints on macOS 13+ (ProductVersionExtra)', () => {
    // The layout sw_vers uses on macOS 13+ (two tabs, one after the longer ProductVersionExtra key).
    const rsr =
      'ProductName:\t\tmacOS\nProductVersion:\t\t13.3.1\nProductVersionExtra:\t(a)\nBuildVersion:\t\t22E772610a\n';
    expect(parseOsVersionDarwin(rsr, '', '', '', 'UTC')[0]).toMatchObject({
      version: '13.3.1 (a)',
      build: '22E772610a',
    });
    expect(macosVersion(text('sw_vers.txt'))).toBe('14.6.1');
  });

  it('users: accounts (service accounts as system, admin group), who sessions with this year', () => {
    const rows = parseUsersDarwin(text('dscacheutil-user.txt'), text('dscl-admin.txt'), text('who.txt'), NOW);
    const acc = (n: string) => rows.find((r) => r.kind === 'account' && r.name === n)!;
    expect(acc('support')).toMatchObject({ admin: true, system: false, full_name: 'Support IT', uid: '502' });
    expect(acc('jdupont')).toMatchObject({ admin: false, system: false, home: '/Users/jdupont', shell: '/bin/zsh' });
    expect(acc('_mbsetupuser').system).toBe(true);
    expect(acc('nobody')).toMatchObject({ system: true, disabled: true });
    expect(acc('root')).toMatchObject({ admin: true, system: false });
    const sessions = rows.filter((r) => r.kind === 'session');
    expect(sessions.map((s) => [s.name, s.terminal, s.host])).toEqual([
      ['jdupont', 'console', ''],
      ['jdupont', 'ttys000', ''],
      ['support', 'ttys001', '10.0.20.7'],
    ]);
    expect(sessions[0]!.started_at).toBe(new Date(2026, 10, 20, 8, 2).getTime());
  });

  it('installed_software: app bundles with signer, arch and scope; pkg receipts', () => {
    const apps = parseApplications(json('SPApplicationsDataType.json'));
    expect(apps.map((a) => [a.name, a.version, a.publisher, a.arch, a.scope])).toEqual([
      ['Safari', '17.6', 'Apple Inc.', 'universal', 'machine'],
      ['Firefox', '132.0.2', 'Mozilla Corporation', 'universal', 'machine'],
      ['Microsoft Word', '16.90', 'Microsoft Corporation', 'universal', 'machine'],
      ['Visual Studio Code', '1.95.3', 'Microsoft Corporation', 'arm64', 'user'],
      ['LegacyTool', '', '', 'x86_64', 'machine'],
    ]);
    expect(apps[1]!.install_date).toBe(Date.parse('2026-11-12T00:00:00Z'));
    expect(parsePkgInfo(text('pkgutil-info-word.txt'))).toEqual({
      name: 'com.microsoft.package.Microsoft_Word.app',
      version: '16.90.24101314',
      arch: '',
      publisher: 'com.microsoft',
      install_date: 1792022400000,
      source: 'pkg',
      scope: 'machine',
      location: '/Applications',
    });
    expect(parsePkgInfo('')).toBeUndefined();
  });

  it('services from launchctl list: running, stopped, failed', () => {
    const rows = parseLaunchctlList(text('launchctl-list.txt'));
    expect(rows.map((r) => [r.name, r.state])).toEqual([
      ['com.apple.SafariHistoryServiceAgent', 'stopped'],
      ['com.apple.Finder', 'running'],
      ['com.eset.protection.daemon', 'failed'],
      ['com.microsoft.autoupdate.helper', 'running'],
      ['com.apple.mdworker.shared.0A000000-0000-0000-0000-000000000000', 'failed'],
    ]);
    expect(rows.every((r) => r.kind === 'launchd')).toBe(true);
  });

  it('licences: XProtect at its latest signature update; none without history', () => {
    expect(parseXProtect(json('SPInstallHistoryDataType.json'), NOW)).toEqual([
      {
        kind: 'antivirus',
        product: 'XProtect',
        state: 'enabled',
        channel: '',
        enabled: true,
        up_to_date: true,
        definitions_date: Date.parse('2026-11-12T00:00:00Z'),
        expires_at: null,
        version: '5279',
      },
    ]);
    expect(parseXProtect({ SPInstallHistoryDataType: [] }, NOW)).toEqual([]);
    expect(parseXProtect(json('SPInstallHistoryDataType.json'), NOW + 90 * 86_400_000)[0]!.up_to_date).toBe(false);
  });

  it('pending_patches from softwareupdate: the OS update with the installed version, security, recommended', () => {
    const rows = parseSoftwareUpdate(text('softwareupdate-list.txt'), '14.6.1');
    expect(rows.map((r) => [r.name, r.installed_version, r.candidate_version, r.security, r.classification])).toEqual([
      ['macOS Sonoma 14.7.1', '14.6.1', '14.7.1', false, 'recommended'],
      ['Background Security Improvement 14.6.1 (a)', '', '14.6.1 (a)', true, 'security'],
      ['Safari', '', '18.1.1', false, 'recommended'],
      ['Command Line Tools for Xcode', '', '16.1', false, 'update'],
    ]);
    expect(parseSoftwareUpdate(text('softwareupdate-none.txt'), '14.6.1')).toEqual([]);
    // A comma inside a title does not cut it short, nor shift the fields after it.
    const comma = text('softwareupdate-list.txt').replace('Title: Safari,', 'Title: Safari, Sonoma edition,');
    expect(parseSoftwareUpdate(comma, '14.6.1')[2]).toMatchObject({
      name: 'Safari, Sonoma edition',
      candidate_version: '18.1.1',
      classification: 'recommended',
    });
  });
});

describe('macOS probes through the runner', () => {
  it('every probe has a macOS implementation whose rows validate against the shared schema', async () => {
    const probes = probesFor('darwin');
    expect(probes.map((p) => p.probe.name)).toEqual(PROBE_NAMES);
    const ctx = replay(fixtureFor);
    for (const p of probes) {
      const r = await runProbe(p, ctx);
      if (!r.ok) throw new Error(`${r.probe}: ${r.message}`);
      expect(r.rows.length, r.probe).toBeGreaterThan(0);
    }
    // Apple's own receipts are not queried one by one.
    expect(ctx.lines.filter((l) => l.startsWith('pkgutil --pkg-info'))).toHaveLength(2);
    const sw = await runProbe(probes.find((p) => p.probe.name === 'installed_software')!, ctx);
    expect(sw.ok && sw.rows.map((r) => r.source)).toEqual(['app', 'app', 'app', 'app', 'app', 'pkg', 'pkg']);
  });

  it('empty and malformed outputs give OUTPOST_E_PROBE_OUTPUT, never a throw or invented rows', async () => {
    const answers = ['', '{"SPHardwareDataType": [ {"_name": "hardw', 'zsh: command not found\n', '[1,2,3]'];
    for (const a of answers) {
      const ctx = replay(() => a);
      for (const p of probesFor('darwin')) {
        const r = await runProbe(p, ctx);
        // Empty softwareupdate output is "no updates" (it says so on stderr), and an empty who/pkg list is none.
        if (r.ok) {
          expect([p.probe.name, a], 'only pending_patches may accept empty output').toEqual(['pending_patches', '']);
          expect(r.rows).toEqual([]);
          continue;
        }
        expect(r.code, `${p.probe.name} on ${JSON.stringify(a)}`).toBe('OUTPOST_E_PROBE_OUTPUT');
      }
    }
  });
});

describe('disks on an Intel Mac with SATA drives', () => {
  // The SATA report's keys as system_profiler names them (spsata_medium_type "Solid State" / "Rotational"; an
  // optical drive has no size). No capture of one was found: this report is built from those documented keys.
  const sata = {
    SPSerialATADataType: [
      {
        _name: 'Intel 7 Series Chipset',
        spsata_physical_interconnect: 'SATA',
        _items: [
          {
            _name: 'APPLE HDD HTS541010A9E662',
            bsd_name: 'disk0',
            device_model: 'APPLE HDD HTS541010A9E662',
            device_serial: 'JD8002D82K7WXD',
            size_in_bytes: 1000204886016,
            spsata_medium_type: 'Rotational',
            smart_status: 'Verified',
          },
          { _name: 'HL-DT-ST DVDRW  GA32N', device_model: 'HL-DT-ST DVDRW  GA32N' },
        ],
      },
      {
        _name: 'Intel 7 Series Chipset 2',
        _items: [
          {
            _name: 'Samsung SSD 860 EVO 500GB',
            bsd_name: 'disk1',
            device_model: 'Samsung SSD 860 EVO 500GB',
            device_serial: 'S3Z1NB0K123456A',
            size_in_bytes: 500107862016,
            spsata_medium_type: 'Solid State',
            smart_status: 'Failing',
          },
        ],
      },
    ],
    SPStorageDataType: [
      {
        _name: 'Macintosh HD',
        bsd_name: 'disk0s2',
        file_system: 'Journaled HFS+',
        mount_point: '/',
        size_in_bytes: 999345127424,
        free_space_in_bytes: 500000000000,
        physical_drive: { device_name: 'APPLE HDD HTS541010A9E662', medium_type: 'rotational', protocol: 'SATA' },
      },
    ],
  };

  it('reads model, serial, size, medium and SMART of each drive, with or without a mounted volume; skips the optical drive', () => {
    const disks = parseDisksDarwin(sata).filter((r) => r.kind === 'disk');
    expect(disks.map((r) => [r.name, r.serial, r.type, r.size_bytes, r.smart_health])).toEqual([
      ['APPLE HDD HTS541010A9E662', 'JD8002D82K7WXD', 'hdd', 1000204886016, 'ok'],
      ['Samsung SSD 860 EVO 500GB', 'S3Z1NB0K123456A', 'ssd', 500107862016, 'failing'],
    ]);
  });
});
