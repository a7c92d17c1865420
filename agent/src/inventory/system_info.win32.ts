/** system_info on Windows: Win32_ComputerSystem, Win32_BIOS, Win32_ComputerSystemProduct, Win32_SystemEnclosure, MachineGuid. */
import type { ProbeRow } from '@outpost/shared';
import { intOrNull, type ProbeContext, str } from './probe.js';
import { CHASSIS_TYPES, looksVirtual } from './system_info.linux.js';
import { asArray, dateOf, objectOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parseSystemInfoWindows` reads. */
export const SYSTEM_INFO_PS = [
  '$cs=Get-CimInstance Win32_ComputerSystem | Select-Object Name,DNSHostName,Manufacturer,Model,HypervisorPresent',
  '$b=Get-CimInstance Win32_BIOS | Select-Object Manufacturer,SMBIOSBIOSVersion,ReleaseDate,SerialNumber',
  '$p=Get-CimInstance Win32_ComputerSystemProduct | Select-Object UUID,IdentifyingNumber,Vendor',
  '$e=Get-CimInstance Win32_SystemEnclosure | Select-Object ChassisTypes',
  "$g=(Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Cryptography' -Name MachineGuid).MachineGuid",
  '[pscustomobject]@{ComputerSystem=$cs;BIOS=$b;Product=$p;Enclosure=$e;MachineGuid=$g} | ConvertTo-Json -Depth 4 -Compress',
].join('; ');

/** Parses the script's JSON into the one system_info row. */
export function parseSystemInfoWindows(json: unknown): ProbeRow<'system_info'>[] {
  const o = objectOf('system_info', json, 'the system_info output');
  const cs = objectOf('system_info', o.ComputerSystem, 'ComputerSystem');
  const bios = asArray(o.BIOS)[0] ?? {};
  const product = asArray(o.Product)[0] ?? {};
  const chassisNums = asArray(o.Enclosure).flatMap((e) => (Array.isArray(e.ChassisTypes) ? e.ChassisTypes : []));
  const chassis = chassisNums.map((n) => CHASSIS_TYPES[intOrNull(n) ?? 0]).find((c) => c && c !== 'other') ?? '';
  const manufacturer = str(cs.Manufacturer);
  const model = str(cs.Model);
  const released = dateOf(bios.ReleaseDate);
  const uuid = str(product.UUID).toLowerCase();
  return [
    {
      hostname: str(cs.DNSHostName) || str(cs.Name),
      manufacturer,
      model,
      serial: str(bios.SerialNumber) || str(product.IdentifyingNumber),
      hardware_uuid: uuid === 'ffffffff-ffff-ffff-ffff-ffffffffffff' ? '' : uuid,
      machine_id: str(o.MachineGuid).toLowerCase(),
      bios_vendor: str(bios.Manufacturer),
      bios_version: str(bios.SMBIOSBIOSVersion),
      bios_date: released ? new Date(released).toISOString().slice(0, 10) : '',
      chassis_type: chassis,
      // HypervisorPresent is also true on a physical host running Hyper-V, so it alone proves nothing.
      virtual: looksVirtual(manufacturer, model, str(bios.Manufacturer), str(bios.SMBIOSBIOSVersion)),
    },
  ];
}

/** Collects the one system_info row. */
export async function collectSystemInfoWindows(ctx: ProbeContext): Promise<ProbeRow<'system_info'>[]> {
  return parseSystemInfoWindows(await powershellJson(ctx, 'system_info', SYSTEM_INFO_PS));
}
