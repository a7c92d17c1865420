/**
 * The macOS parsers against outputs recorded on real Macs by other projects (fixtures/darwin/real-*, sources in the
 * fixtures README): the values asserted are the ones printed in those captures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { parseCpuDarwin } from './cpu.darwin.js';
import { parseDisksDarwin } from './disks.darwin.js';
import { parseApplications } from './installed_software.darwin.js';
import { parseMemoryDarwin, partNumber } from './memory.darwin.js';
import { parseIfconfig } from './network_interfaces.darwin.js';
import { parseOsVersionDarwin } from './os_version.darwin.js';
import { parseSoftwareUpdate } from './pending_patches.darwin.js';
import { defaultInventoryOptions, type ProbeContext } from './probe.js';
import { probesFor } from './registry.js';
import { runProbe } from './runner.js';
import { parseLaunchctlList } from './services.darwin.js';
import { parseSystemInfoDarwin } from './system_info.darwin.js';

const dir = fileURLToPath(new URL('./fixtures/darwin/', import.meta.url));
const text = (f: string) => readFileSync(join(dir, f), 'utf8');
const json = (f: string) => JSON.parse(text(f)) as Record<string, unknown>;

/** The error a parser throws, to assert its code. */
function thrown(f: () => unknown): OutpostError {
  try {
    f();
  } catch (e) {
    if (e instanceof OutpostError) return e;
    throw e;
  }
  throw new Error('expected a coded error');
}

describe('ifconfig recorded on real Macs', () => {
  it('MacBook Pro 16" Intel on Catalina (glpi-agent): 26 interfaces, Ethernet speeds, the VPN tunnel address', () => {
    const rows = parseIfconfig(text('real-glpi-ifconfig-mbp16-intel-catalina.txt'), '');
    expect(rows).toHaveLength(26);
    const by = (n: string) => rows.find((r) => r.name === n)!;
    expect(by('en35')).toEqual({
      name: 'en35',
      mac: '98:00:43:0f:00:03',
      ipv4: ['192.168.0.205/24'],
      ipv6: ['fe80::0000:ffff:0000:0003/64'],
      speed_mbps: 1000,
      gateway: '',
      is_default: false,
      virtual: false,
    });
    expect(by('en5')).toMatchObject({ mac: 'ac:00:48:00:11:00', ipv4: [], speed_mbps: 100 });
    // `inet 10.75.129.190 --> 10.75.129.190 netmask 0xffffff00`: a point-to-point address is still the tunnel's.
    expect(by('utun4')).toMatchObject({
      ipv4: ['10.75.129.190/24'],
      ipv6: ['fe80::0000:00ff:ffff:0000/64', 'fe80::1111:2222:eeee:0000/128'],
      virtual: true,
    });
    expect(by('vnic0')).toMatchObject({ ipv4: ['10.211.55.2/24'], virtual: true });
    expect(by('bridge100')).toMatchObject({ mac: 'fa:00:c2:50:00:02', ipv4: ['192.168.2.1/24'] });
    expect(by('en40').ipv4).toEqual(['169.254.176.43/16']);
    expect(by('lo0')).toMatchObject({ ipv4: ['127.0.0.1/8'], ipv6: ['::1/128', 'fe80::1/64'] });
    // Bridge member lines (`member: en1 flags=3<…>`) are not interfaces of their own.
    expect(rows.filter((r) => r.name === 'en1')).toHaveLength(1);
  });

  it('older Intel Mac (fusioninventory macosx-01): the upper-case XHC20 interface is listed, not merged into stf0', () => {
    const rows = parseIfconfig(text('real-fusioninventory-ifconfig-macosx-01.txt'), '');
    expect(rows.map((r) => r.name)).toEqual([
      'lo0',
      'gif0',
      'stf0',
      'XHC20',
      'en0',
      'en1',
      'p2p0',
      'awdl0',
      'en2',
      'en3',
      'bridge0',
      'utun0',
    ]);
    expect(rows[3]).toMatchObject({ mac: '', ipv4: [], virtual: true });
    expect(rows[4]).toMatchObject({
      mac: '0c:4d:e9:c9:6c:3c',
      ipv4: ['172.77.220.189/24'],
      ipv6: ['fe80::10f6:f9c8:4818:4587/64'],
      speed_mbps: 100,
      virtual: false,
    });
  });
});

describe('softwareupdate recorded on real Macs', () => {
  it('two updates with --no-scan (fleet): Command Line Tools and a macOS beta with the installed version', () => {
    const rows = parseSoftwareUpdate(text('real-fleet-softwareupdate-multiple.txt'), '13.3.1');
    expect(rows.map((r) => [r.name, r.installed_version, r.candidate_version, r.security, r.classification])).toEqual([
      ['Command Line Tools for Xcode', '', '14.3', false, 'recommended'],
      ['macOS Ventura 13.4 Beta', '13.3.1', '13.4', false, 'recommended'],
    ]);
    expect(parseSoftwareUpdate(text('real-fleet-softwareupdate-scan.txt'), '13.3')).toEqual([
      expect.objectContaining({ name: 'macOS Ventura 13.3.1', installed_version: '13.3', candidate_version: '13.3.1' }),
    ]);
  });

  it('"No new software available." is no update', () => {
    expect(parseSoftwareUpdate(text('real-fleet-softwareupdate-none.txt'), '13.3.1')).toEqual([]);
  });

  it('a scan that failed is a probe failure, not an up-to-date Mac', () => {
    const e = thrown(() => parseSoftwareUpdate(text('real-fleet-softwareupdate-error-scan.txt'), '13.3.1'));
    expect(e.code).toBe('OUTPOST_E_PROBE_FAILED');
    expect(e.message).toContain('The network connection was lost.');
  });

  it('Catalina listing (salt): the `- Label:` update (not recommended) is read too, and Action: shut down', () => {
    const rows = parseSoftwareUpdate(text('real-salt-softwareupdate-catalina.txt'), '10.15');
    expect(rows.map((r) => [r.name, r.candidate_version, r.classification])).toEqual([
      ['Command Line Tools beta 5 for Xcode', '11.0', 'recommended'],
      ['macOS Catalina Public Beta', '5', 'recommended'],
      ['BridgeOSUpdateCustomer', '10.15.0.1.1.1560926689', 'recommended'],
      ['iCal', '1.0.2', 'update'],
    ]);
  });

  it('the pre-Catalina listing (no `* Label:` lines) is a coded parse error, not "no updates"', () => {
    expect(thrown(() => parseSoftwareUpdate(text('real-salt-softwareupdate-mojave.txt'), '10.14')).code).toBe(
      'OUTPOST_E_PROBE_OUTPUT',
    );
  });

  it('through the runner, the failed scan is reported with its code', async () => {
    const patches = probesFor('darwin').find((p) => p.probe.name === 'pending_patches')!;
    const ctx: ProbeContext = {
      exec: async (cmd) =>
        cmd === 'softwareupdate'
          ? text('real-fleet-softwareupdate-error-scan.txt')
          : text('real-jne-sw_vers-macos15.txt'),
      readText: async () => undefined,
      has: async () => true,
      options: defaultInventoryOptions,
      now: () => Date.parse('2026-11-22T12:00:00Z'),
    };
    const r = await runProbe(patches, ctx);
    expect(r.ok ? 'ok' : r.code).toBe('OUTPOST_E_PROBE_FAILED');
  });
});

describe('sw_vers recorded on real Macs (jne)', () => {
  it('macOS 12 (one tab) and macOS 15 (two tabs after each key)', () => {
    const os = (f: string) => parseOsVersionDarwin(text(f), '', '', '', 'UTC')[0]!;
    expect(os('real-jne-sw_vers-macos12.txt')).toMatchObject({ name: 'macOS', version: '12.7.6', build: '21H1320' });
    expect(os('real-jne-sw_vers-macos15.txt')).toMatchObject({ name: 'macOS', version: '15.7.1', build: '24G231' });
  });
});

describe('launchctl list recorded on real Macs', () => {
  it('fusioninventory: running with a signal status, exit codes, SIGTERM as a normal stop', () => {
    const rows = parseLaunchctlList(text('real-fusioninventory-launchctl-list.txt'));
    expect(rows).toHaveLength(52);
    const state = (n: string) => rows.find((r) => r.name === n)?.state;
    expect(state('com.apple.coreservicesd')).toBe('running');
    expect(state('com.apple.storedownloadd.daemon')).toBe('stopped');
    expect(state('com.vmware.launchd.vmware')).toBe('failed'); // exited 71
    expect(state('com.apple.logd')).toBe('failed'); // exited 1
    expect(state('com.apple.watchdogd')).toBe('running'); // pid 182, its previous instance ended on signal 43
    expect(state('com.apple.security.syspolicy')).toBe('stopped'); // -15: stopped by launchd with SIGTERM
    expect(state('org.fusioninventory.agent')).toBe('running');
  });

  it('glpi-agent (ESET host): the one job, running', () => {
    expect(parseLaunchctlList(text('real-glpi-launchctl-list-eset.txt'))).toEqual([
      {
        name: 'com.eset.protection',
        display_name: '',
        state: 'running',
        start_mode: 'loaded',
        kind: 'launchd',
        path: '',
      },
    ]);
  });
});

describe('system_profiler recorded on real Macs', () => {
  it('SPHardwareDataType of a MacBook Pro M4 Max (cnquery)', () => {
    expect(parseSystemInfoDarwin(json('real-cnquery-SPHardwareDataType-m4max.json'), 'mbp')).toEqual([
      {
        hostname: 'mbp',
        manufacturer: 'Apple Inc.',
        model: 'MacBook Pro (Mac16,5)',
        serial: 'C6XW4X7JX1',
        hardware_uuid: '6d9530a4-90a2-5a28-b133-3d6011cc7772',
        machine_id: '00008400-001e20d40168401e',
        bios_vendor: 'Apple Inc.',
        bios_version: '11881.140.96',
        bios_date: '',
        chassis_type: 'laptop',
        virtual: false,
      },
    ]);
  });

  it('SPHardwareDataType of an Apple Virtualization VM (cnquery): virtual, no chassis', () => {
    expect(parseSystemInfoDarwin(json('real-cnquery-SPHardwareDataType-vm.json'), 'vm')[0]).toMatchObject({
      model: 'Apple Virtual Machine 1 (VirtualMac2,1)',
      serial: 'ZFQYR4XYHG',
      hardware_uuid: '50dcc3ef-6ad8-5eaa-ac56-451ad340113c',
      machine_id: '4db4fb49aa66c799985e792a6573e713ce8eb024',
      bios_version: 'mBoot-18000.120.36',
      chassis_type: '',
      virtual: true,
    });
  });

  it('SPStorageDataType + SPNVMeDataType of an Apple silicon Mac (Yuzu): one internal NVMe SSD with its serial and size, its two APFS volumes', () => {
    const rows = parseDisksDarwin(json('real-yuzu-SPStorageDataType.json'));
    expect(rows[0]).toMatchObject({ model: 'APPLE SSD AP0256Z', serial: '0ba018e4045c5e3e' });
    expect(rows.map((r) => [r.kind, r.name, r.type, r.smart_health, r.mount, r.filesystem, r.size_bytes])).toEqual([
      ['disk', 'APPLE SSD AP0256Z', 'nvme', 'ok', '', '', 251000193024],
      ['volume', 'Data', '', 'unknown', '/System/Volumes/Data', 'APFS', 245107195904],
      ['volume', 'Macintosh HD', '', 'unknown', '/', 'APFS', 245107195904],
    ]);
    // Free space is kept to the MiB: 23142219776 bytes → 22070 MiB.
    expect(rows[1]!.free_bytes).toBe(22070 * 1048576);
  });
});

/**
 * The `<key>…</key><string>…</string>` pairs of the first DIMM of a `system_profiler -xml SPMemoryDataType` capture,
 * as the object `-json` prints for it (the same keys and strings: the two are renderings of one report).
 */
function firstDimmFromXml(xml: string): Record<string, string> {
  const dimm = /<dict>\s*<key>_name<\/key>([\s\S]*?)<\/dict>/.exec(xml)?.[0] ?? '';
  return Object.fromEntries(
    [...dimm.matchAll(/<key>([^<]+)<\/key>\s*<string>([^<]*)<\/string>/g)].map((m) => [m[1]!, m[2]!]),
  );
}

describe('SPMemoryDataType recorded on real Macs', () => {
  const sysctl = 'hw.memsize: 25769803776\nvm.swapusage: total = 0.00M  used = 0.00M  free = 0.00M  (encrypted)\n';

  it('sysctl hw.memsize and vm.swapusage of a MacBookPro15,1 (marslo/ibook): 16 GiB, 1024 MiB of swap', () => {
    expect(parseMemoryDarwin(text('real-marslo-sysctl-memory.txt'), {})).toEqual([
      {
        kind: 'total',
        slot: '',
        size_bytes: 17179869184,
        swap_bytes: 1024 * 1048576,
        type: '',
        speed_mts: null,
        manufacturer: '',
        part_number: '',
        serial: '',
      },
    ]);
  });

  it('Apple silicon (openuem-agent issue #55): one 24 GB LPDDR5 package by Micron', () => {
    const rows = parseMemoryDarwin(sysctl, json('real-openuem-SPMemoryDataType-apple-silicon.json'));
    expect(rows[1]).toEqual({
      kind: 'module',
      slot: 'built-in',
      size_bytes: 24 * 1024 ** 3,
      swap_bytes: null,
      type: 'LPDDR5',
      speed_mts: null,
      manufacturer: 'Micron',
      part_number: '',
      serial: '',
    });
  });

  it('Intel DIMM (stats issue #712): the hex-encoded part number is decoded, the "-" serial is none', () => {
    const dimm = firstDimmFromXml(text('real-stats-SPMemoryDataType-intel.xml'));
    expect(dimm.dimm_part_number).toBe('0x484D54343147533641465238412D50422020');
    const rows = parseMemoryDarwin(sysctl, { SPMemoryDataType: [{ _items: [dimm] }] });
    expect(rows[1]).toEqual({
      kind: 'module',
      slot: 'BANK 0/DIMM0',
      size_bytes: 8 * 1024 ** 3,
      swap_bytes: null,
      type: 'DDR3',
      speed_mts: 1600,
      manufacturer: '0x80AD',
      part_number: 'HMT41GS6AFR8A-PB',
      serial: '',
    });
  });

  it('part numbers that are not hex-encoded text are kept as printed', () => {
    expect(partNumber('M471A1K43CB1-CTD')).toBe('M471A1K43CB1-CTD');
    expect(partNumber('0x80AD')).toBe('0x80AD'); // too short to be text: a JEDEC id
    expect(partNumber('0x00FF00FF01')).toBe('0x00FF00FF01'); // not printable
  });
});

/**
 * A property list (`system_profiler -xml`) as the value `system_profiler -json` prints for the same report: dicts,
 * arrays, strings, dates as ISO text, integers and reals as numbers. Text outside tags is ignored.
 */
function plist(xml: string): unknown {
  const stack: { value: unknown[] | Record<string, unknown>; key?: string }[] = [];
  let top: unknown;
  const put = (v: unknown) => {
    const parent = stack.at(-1);
    if (!parent) top = v;
    else if (Array.isArray(parent.value)) parent.value.push(v);
    else if (parent.key !== undefined) {
      parent.value[parent.key] = v;
      parent.key = undefined;
    }
  };
  const entity = (t: string) => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const m of xml.matchAll(/<(\/?)(dict|array|key|string|date|integer|real|true|false)(\/?)>(?:([^<]*)<\/\2>)?/g)) {
    const [, close, tag, selfClose, body = ''] = m;
    if (tag === 'dict' || tag === 'array') {
      if (close) {
        const done = stack.pop();
        if (done) put(done.value);
      } else stack.push({ value: tag === 'dict' ? {} : [] });
    } else if (tag === 'key') {
      const parent = stack.at(-1);
      if (parent && !Array.isArray(parent.value)) parent.key = entity(body);
    } else if (tag === 'true' || tag === 'false') put(tag === 'true' && selfClose === '/');
    else if (tag === 'integer' || tag === 'real') put(Number(body));
    else put(entity(body));
  }
  return top;
}

describe('system_profiler -xml reports recorded on real Macs (chef/ohai), read as their -json form', () => {
  it('SPHardwareDataType of a MacBook Pro 11,1 (Intel: no provisioning UDID)', () => {
    const items = plist(text('real-ohai-SPHardwareDataType-items.xml'));
    expect(parseSystemInfoDarwin({ SPHardwareDataType: items }, 'mbp')[0]).toMatchObject({
      model: 'MacBook Pro (MacBookPro11,1)',
      serial: 'ABCDEFG12345',
      hardware_uuid: 'f1a4ae0f-84a8-45d8-83c7-f3f904464fc5',
      machine_id: '',
      bios_version: 'MBP111.0138.B17',
      chassis_type: 'laptop',
      virtual: false,
    });
  });

  it('SPStorageDataType of a FileVault CoreStorage volume: the drive is read from com.apple.corestorage.pv', () => {
    const rows = parseDisksDarwin({ SPStorageDataType: plist(text('real-ohai-SPStorageDataType-items.xml')) });
    expect(rows.map((r) => [r.kind, r.name, r.type, r.smart_health, r.mount, r.filesystem, r.size_bytes])).toEqual([
      ['disk', 'APPLE SSD SM0256F', 'ssd', 'ok', '', '', 0],
      ['volume', 'Macintosh HD', '', 'unknown', '/', 'Journaled HFS+', 249661751296],
    ]);
    expect(rows[1]!.free_bytes).toBe(Math.floor(23864803328 / 1048576) * 1048576);
  });

  it('SPApplicationsDataType on Catalina: signers (App Store, Developer IDs with and without team id), x86_64', () => {
    const apps = parseApplications({
      SPApplicationsDataType: plist(text('real-ohai-SPApplicationsDataType-items.xml')),
    });
    expect(apps.map((a) => [a.name, a.version, a.publisher, a.arch])).toEqual([
      ['System Preferences', '14.0', 'Apple Inc.', 'x86_64'],
      ['WhatsApp', '2.2035.15', 'App Store', 'x86_64'],
      ['App Store', '3.0', 'Apple Inc.', 'x86_64'],
      ['Chef Workstation App', '0.1.82', 'Chef Software, Inc.', 'x86_64'],
      ['iTerm', '3.3.12', 'GEORGE NACHMAN', 'x86_64'],
      ['Emacs', '27.1', '', 'x86_64'],
      ['Firefox', '80.0.1', 'Mozilla Corporation', 'x86_64'],
      ['Brother Status Monitor', '3.23.0', 'Brother Industries, LTD.', 'x86_64'],
    ]);
    expect(apps[1]!.install_date).toBe(Date.parse('2020-09-04T04:55:43Z'));
    expect(apps.every((a) => a.scope === 'machine' && a.source === 'app')).toBe(true);
    expect(apps[5]!.location).toBe('/usr/local/Cellar/emacs-plus@27/27.1/Emacs.app');
  });
});

describe('chef/ohai recordings of an Intel MacBook Pro', () => {
  it('ifconfig with `route -n get default`: the default interface, its gateway and autoconf IPv6 addresses', () => {
    const rows = parseIfconfig(text('real-ohai-ifconfig.txt'), text('real-ohai-route-default.txt'));
    expect(rows.map((r) => r.name)).toEqual(['lo0', 'gif0', 'stf0', 'en1', 'p2p0', 'en0', 'fw0', 'utun0']);
    expect(rows[3]).toEqual({
      name: 'en1',
      mac: 'b8:8d:12:3a:32:de',
      ipv4: ['10.20.10.144/24'],
      ipv6: [
        'fe80::ba8d:12ff:fe3a:32de/64',
        '2001:44b8:4186:1100:ba8d:12ff:fe3a:32de/64',
        '2001:44b8:4186:1100:7dba:7a60:97a:e14a/64',
      ],
      speed_mbps: null,
      gateway: '10.20.10.1',
      is_default: true,
      virtual: false,
    });
    // FireWire prints an 8-byte `lladdr`, not an Ethernet MAC.
    expect(rows[6]).toMatchObject({ name: 'fw0', mac: '', is_default: false });
  });

  it('sysctl hw machdep: an i7-4980HQ, 4 cores / 8 threads, its clock from hw.cpufrequency', () => {
    expect(parseCpuDarwin(text('real-ohai-sysctl-hw-machdep-intel.txt'))[0]).toEqual({
      model: 'Intel(R) Core(TM) i7-4980HQ CPU @ 2.80GHz',
      vendor: 'GenuineIntel',
      sockets: 1,
      physical_cores: 4,
      logical_processors: 8,
      available_processors: 8,
      max_mhz: 2800,
      arch: '',
    });
    // The same output has hw.memsize (16 GiB) but no vm.swapusage: swap is unknown, not zero.
    expect(parseMemoryDarwin(text('real-ohai-sysctl-hw-machdep-intel.txt'), {})[0]).toMatchObject({
      size_bytes: 17179869184,
      swap_bytes: null,
    });
  });
});
