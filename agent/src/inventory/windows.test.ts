/**
 * The Windows probes against PowerShell output fixtures (fixtures/win32, see its README): each parser's rows, then
 * every probe run end to end through the runner (cleaning + schema validation) with a context that answers each
 * probe's PowerShell script with its fixture; empty, truncated and error outputs give a coded error, never a crash.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROBE_NAMES, type ProbeName } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { parseCpuWindows } from './cpu.win32.js';
import { parseDisksWindows } from './disks.win32.js';
import { parseUninstallKeys } from './installed_software.win32.js';
import { decodeProductState, parseLicencesWindows } from './licences.win32.js';
import { parseMemoryWindows } from './memory.win32.js';
import { parseNetworkWindows } from './network_interfaces.win32.js';
import { parseOsVersionWindows } from './os_version.win32.js';
import { parsePatchesWindows } from './pending_patches.win32.js';
import { defaultInventoryOptions, type ProbeContext } from './probe.js';
import { probesFor } from './registry.js';
import { runProbe } from './runner.js';
import { parseServicesWindows } from './services.win32.js';
import { parseSystemInfoWindows } from './system_info.win32.js';
import { parseUsersWindows } from './users.win32.js';

const dir = fileURLToPath(new URL('./fixtures/win32/', import.meta.url));
const text = (f: string) => readFileSync(join(dir, f), 'utf8');
const json = (f: string): unknown => JSON.parse(text(f));
const NOW = Date.parse('2026-11-22T12:00:00Z');

/** A context whose PowerShell answers each probe's script with `answer(probe)`; the probe is told by its script. */
function replay(answer: (probe: ProbeName) => string): ProbeContext {
  const byScript: [RegExp, ProbeName][] = [
    [/Win32_ComputerSystemProduct/, 'system_info'],
    [/Win32_Processor/, 'cpu'],
    [/Win32_PhysicalMemory/, 'memory'],
    [/Get-PhysicalDisk/, 'disks'],
    [/Win32_NetworkAdapterConfiguration/, 'network_interfaces'],
    [/Win32_OperatingSystem/, 'os_version'],
    [/Get-LocalUser/, 'users'],
    [/Uninstall/, 'installed_software'],
    [/Win32_Service/, 'services'],
    [/SoftwareLicensingProduct/, 'licences'],
    [/Microsoft\.Update\.Session/, 'pending_patches'],
  ];
  return {
    exec: async (cmd, args) => {
      expect(cmd).toBe('powershell.exe');
      expect(args.slice(0, 4)).toEqual(['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass']);
      const script = args.at(-1)!;
      const probe = byScript.find(([re]) => re.test(script))?.[1];
      if (!probe) throw new Error(`no fixture for script ${script.slice(0, 80)}`);
      return answer(probe);
    },
    readText: async () => undefined,
    has: async () => true,
    options: defaultInventoryOptions,
    now: () => NOW,
  };
}

describe('Windows parsers on recorded PowerShell output', () => {
  it('system_info: Dell laptop; Hyper-V VM with the all-F UUID dropped', () => {
    expect(parseSystemInfoWindows(json('system_info.json'))).toEqual([
      {
        hostname: 'pc-compta-07',
        manufacturer: 'Dell Inc.',
        model: 'Latitude 5440',
        serial: '7XKQ2Y3',
        hardware_uuid: '4c4c4544-0058-4b10-8051-b7c04f325933',
        machine_id: '8f1c2a4e-3b7d-4e2a-9c1f-5d6e7a8b9c0d',
        bios_vendor: 'Dell Inc.',
        bios_version: '1.12.1',
        bios_date: '2023-09-12',
        chassis_type: 'notebook',
        virtual: false,
      },
    ]);
    const vm = parseSystemInfoWindows(json('server-system_info.json'))[0]!;
    expect(vm).toMatchObject({ virtual: true, hardware_uuid: '', chassis_type: 'desktop', hostname: 'srv-files' });
  });

  it('cpu: one package, and two sockets summed', () => {
    expect(parseCpuWindows(json('cpu.json'))[0]).toEqual({
      model: '13th Gen Intel(R) Core(TM) i5-1345U',
      vendor: 'GenuineIntel',
      sockets: 1,
      physical_cores: 10,
      logical_processors: 12,
      available_processors: 12,
      max_mhz: 1600,
      arch: 'x64',
    });
    expect(parseCpuWindows(json('server-cpu.json'))[0]).toMatchObject({
      sockets: 2,
      physical_cores: 8,
      logical_processors: 16,
    });
  });

  it('memory: total, page file as swap, two DDR5 modules', () => {
    const rows = parseMemoryWindows(json('memory.json'));
    expect(rows[0]).toMatchObject({ kind: 'total', size_bytes: 16856936448, swap_bytes: 2432 * 1048576 });
    expect(rows.slice(1)).toEqual([
      expect.objectContaining({ slot: 'BANK 0 / DIMM A', size_bytes: 8589934592, type: 'DDR5', speed_mts: 5200 }),
      expect.objectContaining({ slot: 'BANK 2 / DIMM B', part_number: 'M425R1GB4BB0-CQKOL', serial: '46A1B2D4' }),
    ]);
  });

  it('disks: a lone physical disk (NVMe, healthy) and C: rounded to MiB', () => {
    expect(parseDisksWindows(json('disks.json'))).toEqual([
      expect.objectContaining({
        kind: 'disk',
        name: 'PhysicalDrive0',
        model: 'KXG80ZNV512G KIOXIA',
        type: 'nvme',
        size_bytes: 512110190592,
        smart_health: 'ok',
      }),
      expect.objectContaining({
        kind: 'volume',
        mount: 'C:',
        filesystem: 'NTFS',
        free_bytes: Math.floor(301427617792 / 1048576) * 1048576,
      }),
    ]);
  });

  it('network_interfaces: prefixes from masks, gateway, speed, a VPN adapter without link speed', () => {
    const [wifi, vpn] = parseNetworkWindows(json('network_interfaces.json'));
    expect(wifi).toEqual({
      name: 'Wi-Fi',
      mac: 'a4:6b:b6:1c:2d:3e',
      ipv4: ['192.168.10.57/24'],
      ipv6: ['fe80::5d2a:9c1b:44e0:7f12/64'],
      speed_mbps: 867,
      gateway: '192.168.10.1',
      is_default: true,
      virtual: false,
    });
    expect(vpn).toMatchObject({ name: 'Ethernet 2', ipv4: ['10.200.4.18/22'], speed_mbps: null, virtual: true });
  });

  it('os_version: Windows 11 Pro 23H2 with the 5.1 date format, Server 2022 with ISO dates', () => {
    expect(parseOsVersionWindows(json('os_version.json'))[0]).toEqual({
      family: 'windows',
      name: 'Windows 11 Pro',
      id: 'Professional',
      version: '23H2',
      build: '22631.4460',
      kernel: '10.0.22631',
      arch: '64-bit',
      install_date: Date.parse('2024-02-05T09:14:22Z'),
      last_boot: Date.parse('2026-11-20T07:58:10Z'),
      time_zone: 'Romance Standard Time',
    });
    expect(parseOsVersionWindows(json('server-os_version.json'))[0]).toMatchObject({
      name: 'Windows Server 2022 Standard',
      install_date: Date.parse('2024-02-05T09:14:22Z'),
    });
  });

  it('users: accounts with admin by SID, built-ins as system, quser sessions (active and disconnected)', () => {
    const rows = parseUsersWindows(json('users.json'));
    const acc = (n: string) => rows.find((r) => r.kind === 'account' && r.name === n)!;
    expect(acc('support')).toMatchObject({ admin: true, disabled: false, system: false, full_name: 'Support IT' });
    expect(acc('jdupont')).toMatchObject({ admin: false, uid: 'S-1-5-21-3623811015-3361044348-30300820-1001' });
    expect(acc('Administrateur')).toMatchObject({ admin: true, disabled: true, system: false });
    expect(acc('WDAGUtilityAccount').system).toBe(true);
    expect(rows.filter((r) => r.kind === 'session')).toEqual([
      expect.objectContaining({
        name: 'jdupont',
        terminal: 'console',
        started_at: new Date(2026, 10, 20, 8, 2).getTime(),
      }),
      expect.objectContaining({
        name: 'support',
        terminal: 'session 2',
        started_at: new Date(2026, 10, 21, 6, 12).getTime(),
      }),
    ]);
  });

  it('installed_software: 64/32-bit, machine/user; no nameless keys, system components or child updates', () => {
    const rows = parseUninstallKeys(json('installed_software.json'));
    expect(rows.map((r) => `${r.scope} ${r.arch} ${r.name} ${r.version}`)).toEqual([
      'machine x64 Mozilla Firefox (x64 fr) 132.0.2',
      'machine x64 7-Zip 23.01 (x64) 23.01',
      'machine x86 Microsoft Visual C++ 2015-2022 Redistributable (x86) - 14.38.33135 14.38.33135.0',
      'machine x64 Adobe Acrobat (64-bit) 24.004.20220',
      'user x64 Microsoft Teams 24295.605.3225.8804',
      'user x64 Zoom Workplace 6.2.11 (52745)',
    ]);
    expect(rows[3]).toMatchObject({ publisher: 'Adobe', install_date: Date.UTC(2024, 9, 15), source: 'registry' });
    expect(parseUninstallKeys({ Is64BitOperatingSystem: true, Entries: null })).toEqual([]);
    const x86 = parseUninstallKeys({ ...(json('installed_software.json') as object), Is64BitOperatingSystem: false });
    expect(new Set(x86.map((r) => r.arch))).toEqual(new Set(['x86']));
  });

  it('services: lower-case states and modes, delayed start', () => {
    const rows = parseServicesWindows(json('services.json'));
    expect(rows).toHaveLength(6);
    expect(rows.find((r) => r.name === 'WinDefend')).toMatchObject({ state: 'running', start_mode: 'auto' });
    expect(rows.find((r) => r.name === 'MapsBroker')).toMatchObject({ state: 'stopped', start_mode: 'auto (delayed)' });
    expect(rows.find((r) => r.name === 'RemoteRegistry')?.start_mode).toBe('disabled');
  });

  it('licences: OEM activation; Security Center products decoded; Defender passive beside ESET', () => {
    expect(decodeProductState(0x061100)).toEqual({ state: 'enabled', enabled: true, upToDate: true });
    expect(decodeProductState(0x060110)).toEqual({ state: 'disabled', enabled: false, upToDate: false });
    const rows = parseLicencesWindows(json('licences.json'), NOW);
    expect(rows).toEqual([
      expect.objectContaining({
        kind: 'os_activation',
        product: 'Windows(R), Professional edition',
        state: 'licensed',
        channel: 'OEM:DM',
        expires_at: null,
      }),
      expect.objectContaining({
        kind: 'antivirus',
        product: 'Windows Defender',
        state: 'disabled',
        enabled: false,
        up_to_date: true,
        definitions_date: Date.parse('2026-11-21T06:12:40Z'),
        version: '4.18.24090.11',
      }),
      expect.objectContaining({
        kind: 'antivirus',
        product: 'ESET Security',
        state: 'enabled',
        enabled: true,
        up_to_date: true,
        definitions_date: Date.parse('2026-11-20T07:58:10Z'),
      }),
    ]);
  });

  it('licences on a server: KMS notification, evaluation grace with its end, Defender from its own status', () => {
    const rows = parseLicencesWindows(json('server-licences.json'), NOW);
    expect(rows[0]).toMatchObject({ state: 'notification', channel: 'Volume:GVLK', expires_at: null });
    expect(rows[1]).toMatchObject({ state: 'grace', expires_at: NOW + 43200 * 60_000 });
    expect(rows[2]).toMatchObject({
      product: 'Microsoft Defender Antivirus',
      enabled: true,
      up_to_date: false, // signatures 72 days old
      definitions_date: Date.parse('2026-09-10T00:00:00Z'),
    });
  });

  it('pending_patches: pending updates with KB/severity, hotfixes with dates, reboot pending', () => {
    const rows = parsePatchesWindows(json('pending_patches.json'));
    expect(rows.filter((r) => r.kind === 'update')).toEqual([
      expect.objectContaining({
        kb: 'KB5046633',
        security: true,
        severity: 'Critical',
        classification: 'Security Updates',
      }),
      expect.objectContaining({ kb: 'KB2267602', security: true, classification: 'Definition Updates' }),
      expect.objectContaining({ kb: '', security: false, classification: 'Drivers' }),
    ]);
    expect(rows.filter((r) => r.kind === 'hotfix').map((r) => [r.kb, r.security, r.installed_at])).toEqual([
      ['KB5044033', false, Date.parse('2026-10-15T00:00:00Z')],
      ['KB5045935', true, Date.parse('2026-11-12T00:00:00Z')],
      ['KB5027397', false, null],
    ]);
    expect(rows.at(-1)).toMatchObject({ kind: 'reboot_required', source: 'os' });
  });
});

describe('Windows probes through the runner', () => {
  const files: Record<ProbeName, string> = {
    system_info: 'system_info.json',
    cpu: 'cpu.json',
    memory: 'memory.json',
    disks: 'disks.json',
    network_interfaces: 'network_interfaces.json',
    os_version: 'os_version.json',
    users: 'users.json',
    installed_software: 'installed_software.json',
    services: 'services.json',
    licences: 'licences.json',
    pending_patches: 'pending_patches.json',
  };

  it('every probe has a Windows implementation whose rows validate against the shared schema', async () => {
    const probes = probesFor('win32');
    expect(probes.map((p) => p.probe.name)).toEqual(PROBE_NAMES);
    const ctx = replay((p) => text(files[p]));
    for (const p of probes) {
      const r = await runProbe(p, ctx);
      if (!r.ok) throw new Error(`${r.probe}: ${r.message}`);
      expect(r.rows.length, r.probe).toBeGreaterThan(0);
    }
  });

  it('empty, truncated and error outputs give OUTPOST_E_PROBE_OUTPUT for every probe, never a throw', async () => {
    for (const bad of ['empty.txt', 'malformed-truncated.json', 'malformed-error.txt']) {
      const ctx = replay(() => text(bad));
      for (const p of probesFor('win32')) {
        const r = await runProbe(p, ctx);
        expect(r.ok ? 'ok' : r.code, `${p.probe.name} on ${bad}`).toBe('OUTPOST_E_PROBE_OUTPUT');
      }
    }
  });

  it('valid JSON of the wrong shape is refused with a coded error (a string where objects are expected)', async () => {
    const ctx = replay(() => '"Access denied"');
    for (const p of probesFor('win32')) {
      const r = await runProbe(p, ctx);
      expect(r.ok ? 'ok' : r.code, p.probe.name).toBe('OUTPOST_E_PROBE_OUTPUT');
    }
  });

  it('hostile registry strings come out cleaned and bounded', async () => {
    const hostile = {
      Is64BitOperatingSystem: true,
      Entries: [
        {
          DisplayName: `\u001b]0;pwned\u0007Evil\u001b[31m App\u202e\r\n<img src=x onerror=alert(1)>${'A'.repeat(2000)}`,
          DisplayVersion: '1.0\u0000\u0008',
          Publisher: 'Bad\u001b[2J Corp',
          PSPath: 'Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\x',
        },
      ],
    };
    const sw = probesFor('win32').find((p) => p.probe.name === 'installed_software')!;
    const r = await runProbe(
      sw,
      replay(() => JSON.stringify(hostile)),
    );
    if (!r.ok) throw new Error(r.message);
    const row = r.rows[0]!;
    expect(row.version).toBe('1.0');
    expect(row.publisher).toBe('Bad Corp');
    expect(String(row.name)).toMatch(/^Evil App <img src=x onerror=alert\(1\)>A+$/);
    expect(String(row.name)).toHaveLength(256); // the column's bound
  });

  it('a probe on a platform without an implementation reports OUTPOST_E_PROBE_UNSUPPORTED', async () => {
    const r = await runProbe(
      probesFor('freebsd')[0]!,
      replay(() => ''),
    );
    expect(r.ok ? 'ok' : r.code).toBe('OUTPOST_E_PROBE_UNSUPPORTED');
    expect(r.ok ? '' : r.message).toContain('linux, win32, darwin');
  });
});
