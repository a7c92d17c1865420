/** disks on Windows: Get-PhysicalDisk (model, serial, media, bus, health) and Win32_LogicalDisk local volumes. */
import type { ProbeRow } from '@outpost/shared';
import { intOrNull, type ProbeContext, str } from './probe.js';
import { asArray, objectOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parseDisksWindows` reads. */
export const DISKS_PS = [
  '$d=@(Get-PhysicalDisk | Select-Object DeviceId,FriendlyName,SerialNumber,MediaType,BusType,Size,HealthStatus)',
  "$v=@(Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' | Select-Object DeviceID,FileSystem,Size,FreeSpace,VolumeName)",
  '[pscustomobject]@{PhysicalDisks=$d;Volumes=$v} | ConvertTo-Json -Depth 3 -Compress',
].join('; ');

// MSFT_PhysicalDisk enumerations; ConvertTo-Json prints the numbers (CIM) or the names (when formatted).
const MEDIA: Record<string, string> = { '3': 'hdd', '4': 'ssd', '5': 'ssd', HDD: 'hdd', SSD: 'ssd', SCM: 'ssd' };
const BUS: Record<string, string> = { '7': 'usb', '17': 'nvme', USB: 'usb', NVMe: 'nvme' };
const HEALTH: Record<string, 'ok' | 'failing' | 'unknown'> = {
  '0': 'ok',
  '1': 'failing',
  '2': 'failing',
  Healthy: 'ok',
  Warning: 'failing',
  Unhealthy: 'failing',
};

/** Parses the script's JSON: physical disks, then volumes. */
export function parseDisksWindows(json: unknown): ProbeRow<'disks'>[] {
  const o = objectOf('disks', json, 'the disks output');
  const rows: ProbeRow<'disks'>[] = [];
  for (const d of asArray(o.PhysicalDisks)) {
    const model = str(d.FriendlyName).trim();
    const bus = BUS[str(d.BusType)];
    rows.push({
      kind: 'disk',
      name: `PhysicalDrive${str(d.DeviceId)}`,
      model,
      serial: str(d.SerialNumber).trim(),
      type: /virtual/i.test(model) ? 'virtual' : (bus ?? MEDIA[str(d.MediaType)] ?? ''),
      size_bytes: intOrNull(d.Size) ?? 0,
      free_bytes: null,
      filesystem: '',
      mount: '',
      smart_health: HEALTH[str(d.HealthStatus)] ?? 'unknown',
    });
  }
  for (const v of asArray(o.Volumes)) {
    const free = intOrNull(v.FreeSpace);
    rows.push({
      kind: 'volume',
      name: str(v.VolumeName) || str(v.DeviceID),
      model: '',
      serial: '',
      type: '',
      size_bytes: intOrNull(v.Size) ?? 0,
      // Rounded to MiB like Linux, so a few bytes written do not count as a change.
      free_bytes: free === null ? null : Math.floor(free / 1048576) * 1048576,
      filesystem: str(v.FileSystem),
      mount: str(v.DeviceID),
      smart_health: 'unknown',
    });
  }
  return rows;
}

/** Collects the disk and volume rows. */
export async function collectDisksWindows(ctx: ProbeContext): Promise<ProbeRow<'disks'>[]> {
  return parseDisksWindows(await powershellJson(ctx, 'disks', DISKS_PS));
}
