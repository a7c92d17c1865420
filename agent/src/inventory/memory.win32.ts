/** memory on Windows: Win32_ComputerSystem total, Win32_PhysicalMemory modules, Win32_PageFileUsage swap. */
import type { ProbeRow } from '@outpost/shared';
import { intOrNull, knownOrEmpty, type ProbeContext, str } from './probe.js';
import { asArray, objectOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parseMemoryWindows` reads. */
export const MEMORY_PS = [
  '$t=(Get-CimInstance Win32_ComputerSystem).TotalPhysicalMemory',
  '$m=@(Get-CimInstance Win32_PhysicalMemory | Select-Object BankLabel,DeviceLocator,Capacity,SMBIOSMemoryType,Speed,ConfiguredClockSpeed,Manufacturer,PartNumber,SerialNumber)',
  '$p=@(Get-CimInstance Win32_PageFileUsage | Select-Object Name,AllocatedBaseSize)',
  '[pscustomobject]@{TotalPhysicalMemory=$t;Modules=$m;PageFiles=$p} | ConvertTo-Json -Depth 3 -Compress',
].join('; ');

/** SMBIOS memory type numbers (DSP0134 7.18.2). */
const MEMORY_TYPES: Record<number, string> = {
  18: 'DDR',
  19: 'DDR2',
  20: 'DDR',
  21: 'DDR2',
  24: 'DDR3',
  26: 'DDR4',
  27: 'LPDDR',
  28: 'LPDDR2',
  29: 'LPDDR3',
  30: 'LPDDR4',
  34: 'DDR5',
  35: 'LPDDR5',
};

/** Parses the script's JSON: the total row, then one row per module. */
export function parseMemoryWindows(json: unknown): ProbeRow<'memory'>[] {
  const o = objectOf('memory', json, 'the memory output');
  const pageMb = asArray(o.PageFiles).reduce((n, p) => n + (intOrNull(p.AllocatedBaseSize) ?? 0), 0);
  const rows: ProbeRow<'memory'>[] = [
    {
      kind: 'total',
      slot: '',
      size_bytes: intOrNull(o.TotalPhysicalMemory) ?? 0,
      swap_bytes: pageMb * 1024 * 1024,
      type: '',
      speed_mts: null,
      manufacturer: '',
      part_number: '',
      serial: '',
    },
  ];
  for (const m of asArray(o.Modules)) {
    rows.push({
      kind: 'module',
      slot: [str(m.BankLabel), str(m.DeviceLocator)].filter(Boolean).join(' / '),
      size_bytes: intOrNull(m.Capacity) ?? 0,
      swap_bytes: null,
      type: MEMORY_TYPES[intOrNull(m.SMBIOSMemoryType) ?? 0] ?? '',
      speed_mts: intOrNull(m.Speed) || intOrNull(m.ConfiguredClockSpeed),
      manufacturer: knownOrEmpty(m.Manufacturer),
      part_number: knownOrEmpty(m.PartNumber),
      serial: knownOrEmpty(m.SerialNumber),
    });
  }
  return rows;
}

/** Collects the memory rows. */
export async function collectMemoryWindows(ctx: ProbeContext): Promise<ProbeRow<'memory'>[]> {
  return parseMemoryWindows(await powershellJson(ctx, 'memory', MEMORY_PS));
}
