/**
 * Windows and macOS inventories from the agent's own probes (run through the agent's runner on the recorded-format
 * fixtures under agent/src/inventory/fixtures) to the collector's store and the perimeter report: the messages the
 * agent would queue are ingested on real SQLite, and the report's figures and sections are checked against what the
 * fixtures say (EOL OS, critical patches, reboot pending, antivirus state, activation, hardware age, software).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inventory as agentInventory } from '@outpost/agent';
import { inventory, migrate, openDatabase, perimeter, sqlOf } from '@outpost/collector';
import type { InventoryReport } from '@outpost/shared';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/collector.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const fixtures = join(repoRoot, 'agent/src/inventory/fixtures');

/** A probe context that answers every command with the fixture of that command on `platform`. */
function fixtureContext(platform: 'win32' | 'darwin', prefix = ''): agentInventory.ProbeContext {
  const read = (f: string) => readFileSync(join(fixtures, platform, f), 'utf8');
  const win: [RegExp, string][] = [
    [/Win32_ComputerSystemProduct/, 'system_info.json'],
    [/Win32_Processor/, 'cpu.json'],
    [/Win32_PhysicalMemory/, 'memory.json'],
    [/Get-PhysicalDisk/, 'disks.json'],
    [/Win32_NetworkAdapterConfiguration/, 'network_interfaces.json'],
    [/Win32_OperatingSystem/, 'os_version.json'],
    [/Get-LocalUser/, 'users.json'],
    [/Uninstall/, 'installed_software.json'],
    [/Win32_Service/, 'services.json'],
    [/SoftwareLicensingProduct/, 'licences.json'],
    [/Microsoft\.Update\.Session/, 'pending_patches.json'],
  ];
  const mac: [RegExp, string][] = [
    // One run can ask for several reports; the fixture is named after the first.
    [/^system_profiler -json (SP\w+)(?: SP\w+)*$/, '$1.json'],
    [/^sysctl hw\.packages/, 'sysctl-cpu.txt'],
    [/^sysctl hw\.memsize/, 'sysctl-memory.txt'],
    [/^sysctl kern\.boottime/, 'sysctl-boottime.txt'],
    [/^ifconfig$/, 'ifconfig.txt'],
    [/^route /, 'route-default.txt'],
    [/^sw_vers$/, 'sw_vers.txt'],
    [/^uname /, 'uname.txt'],
    [/^stat /, 'stat-setupdone.txt'],
    [/^dscacheutil /, 'dscacheutil-user.txt'],
    [/^dscl /, 'dscl-admin.txt'],
    [/^who$/, 'who.txt'],
    [/^pkgutil --pkgs$/, 'pkgutil-pkgs.txt'],
    [/^pkgutil --pkg-info com\.microsoft/, 'pkgutil-info-word.txt'],
    [/^pkgutil --pkg-info com\.eset/, 'pkgutil-info-eset.txt'],
    [/^launchctl list$/, 'launchctl-list.txt'],
    [/^softwareupdate /, 'softwareupdate-list.txt'],
  ];
  return {
    exec: async (cmd, args) => {
      const line = platform === 'win32' ? args.at(-1)! : [cmd, ...args].join(' ');
      for (const [re, file] of platform === 'win32' ? win : mac) {
        const m = re.exec(line);
        if (!m) continue;
        const name = file.replace('$1', m[1] ?? '');
        // A server variant where one exists (server-*.json), else the workstation's.
        try {
          return read(`${prefix}${name}`);
        } catch {
          return read(name);
        }
      }
      throw new Error(`no fixture for ${line.slice(0, 80)}`);
    },
    readText: async () => undefined,
    has: async (cmd) => cmd !== 'mdatp', // no Defender for Endpoint on these machines
    options: agentInventory.defaultInventoryOptions,
    now: () => NOW,
  };
}

/** The inventory.report messages the agent's component would queue for a first run on that machine. */
async function firstReport(platform: 'win32' | 'darwin', prefix = ''): Promise<InventoryReport[]> {
  const results = await agentInventory.runProbes(agentInventory.probesFor(platform), fixtureContext(platform, prefix));
  for (const r of results) if (!r.ok) throw new Error(`${r.probe}: ${r.message}`);
  let id = 0;
  const sets = results.map((r) => agentInventory.planSet(r, undefined, true)).filter((s) => s !== undefined);
  return agentInventory
    .packSets(sets, () => `${platform}${prefix}${id++}`)
    .map((s, i) => ({ type: 'inventory.report', seq: i + 1, time: NOW, reason: 'initial', sets: s }));
}

describe('Windows and macOS inventories through the collector to the perimeter report', () => {
  it('the report’s figures and sections match the fixtures', async () => {
    const db = openDatabase(':memory:');
    migrate(db, inventory.inventoryMigrations);
    const inv = new inventory.Inventory({
      db: sqlOf(db),
      deps: { placement: async () => ({ clientId: 'cl_a', siteId: 'si_a' }), requestSnapshot: () => undefined },
      clock: { now: () => NOW },
      logger: pino({ level: 'silent' }),
    });
    const agents: [string, InventoryReport[]][] = [
      ['ag_win', await firstReport('win32')],
      ['ag_srv', await firstReport('win32', 'server-')],
      ['ag_mac', await firstReport('darwin')],
    ];
    for (const [agentId, msgs] of agents)
      await inv.ingest(
        msgs.map((msg) => ({ agentId, msg })),
        NOW,
      );
    const known = [];
    for (const a of ['ag_win', 'ag_srv', 'ag_mac']) known.push((await inv.facts(a)) !== undefined);
    expect(known).toEqual([true, true, true]);

    const report = await perimeter.buildPerimeter(inv, { clientIds: ['cl_a'] }, 'Cabinet Dupont', NOW, {
      obsoleteYears: 5,
      criticalPatchDays: 14,
    });
    expect(report.summary).toEqual({
      machines: 3,
      obsolete: 0,
      // Windows 11 23H2 Pro ended 2025-11-11; macOS 14 (estimated) 2026-09-15; Server 2022 runs to 2031.
      endOfLifeOs: 2,
      // KB5046633 is rated Critical (the server shares the laptop's update list: it has no fixture of its own);
      // the Mac's security response was first seen now, under the 14 days.
      withCriticalPatches: 2,
      avExpiring30: 0,
      avExpiring60: 0,
      avExpiring90: 0,
      // Defender stands aside for ESET on the laptop (passive, real-time off).
      avDisabled: 1,
    });
    const m = (host: string) => report.machines.find((x) => x.hostname === host)!;
    expect(m('pc-compta-07')).toMatchObject({
      manufacturer: 'Dell Inc.',
      model: 'Latitude 5440',
      serial: '7XKQ2Y3',
      biosDate: '2023-09-12',
      os: 'Windows 11 Pro 23H2',
      osEndOfLife: true,
      rebootRequired: true,
      activation: 'licensed (OEM:DM)',
      softwareCount: 6,
      pendingPatches: 3,
      pendingSecurity: 2,
      criticalPatches: [expect.objectContaining({ detail: 'KB5046633' })],
    });
    expect(m('pc-compta-07').ageYears).toBeCloseTo(3.2, 1);
    expect(m('pc-compta-07').antivirus.map((a) => [a.product, a.enabled, a.upToDate])).toEqual([
      ['ESET Security', true, true],
      ['Windows Defender', false, true],
    ]);
    expect(m('srv-files')).toMatchObject({
      os: 'Windows Server 2022 Standard 21H2',
      osEndOfLife: false,
      activation: expect.stringMatching(/^(notification \(Volume:GVLK\)|grace \(Retail:TB:Eval\))$/),
    });
    expect(m('srv-files').antivirus).toEqual([
      { product: 'Microsoft Defender Antivirus', enabled: true, upToDate: false, expiresAt: null },
    ]);
    const mac = report.machines.find((x) => x.manufacturer === 'Apple Inc.')!;
    expect(mac).toMatchObject({
      model: 'MacBook Pro (Mac14,9)',
      serial: 'FVFXK2ABQ6LR',
      os: 'macOS 14.6.1',
      osEndOfLife: true,
      pendingPatches: 4,
      pendingSecurity: 1,
      softwareCount: 7,
      antivirus: [{ product: 'XProtect', enabled: true, upToDate: true, expiresAt: null }],
    });
    // Three machines, not merged: the VM's all-F UUID is dropped and every serial differs.
    expect(new Set(report.machines.map((x) => x.deviceId)).size).toBe(3);

    const html = perimeter.renderPerimeterHtml(report);
    expect(html).toContain('data-figure="Machines">3<');
    expect(html).toContain('KB5046633');
    expect(perimeter.renderPerimeterCsv(report).trim().split('\r\n')).toHaveLength(4);
    db.close();
  });
});
