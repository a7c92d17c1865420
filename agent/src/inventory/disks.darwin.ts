/** disks on macOS: SPStorageDataType (every mounted volume with its physical drive, medium, protocol and SMART status). */
import type { ProbeRow } from '@outpost/shared';
import { items, systemProfiler } from './darwin.js';
import { intOrNull, type ProbeContext, str } from './probe.js';

/** Parses `system_profiler -json SPStorageDataType`: physical drives (once each), then volumes. */
export function parseDisksDarwin(o: Record<string, unknown>): ProbeRow<'disks'>[] {
  const disks = new Map<string, ProbeRow<'disks'>>();
  const volumes: ProbeRow<'disks'>[] = [];
  for (const v of items(o, 'SPStorageDataType')) {
    // A CoreStorage volume (HFS+ with FileVault or Fusion Drive) names its drives under com.apple.corestorage.pv.
    const pv = v['com.apple.corestorage.pv'];
    const drive = v.physical_drive ?? (Array.isArray(pv) ? pv[0] : undefined);
    const pd = (typeof drive === 'object' && drive !== null ? drive : {}) as Record<string, unknown>;
    const device = str(pd.device_name);
    // The physical disk's BSD name: disk3s1s1 lives on an APFS container whose physical store is not named here.
    const bsd = /^(disk\d+)/.exec(str(v.bsd_name))?.[1] ?? '';
    if (device && !disks.has(device)) {
      const smart = str(pd.smart_status);
      const medium = str(pd.medium_type);
      disks.set(device, {
        kind: 'disk',
        name: device,
        model: device,
        serial: '',
        type: /usb/i.test(str(pd.protocol))
          ? 'usb'
          : medium === 'ssd'
            ? 'ssd'
            : medium === 'rotational'
              ? 'hdd'
              : medium,
        size_bytes: 0,
        free_bytes: null,
        filesystem: '',
        mount: '',
        smart_health: smart === 'Verified' ? 'ok' : smart === 'Failing' ? 'failing' : 'unknown',
      });
    }
    const free = intOrNull(v.free_space_in_bytes);
    volumes.push({
      kind: 'volume',
      name: str(v._name) || bsd,
      model: '',
      serial: '',
      type: '',
      size_bytes: intOrNull(v.size_in_bytes) ?? 0,
      free_bytes: free === null ? null : Math.floor(free / 1048576) * 1048576,
      filesystem: str(v.file_system),
      mount: str(v.mount_point),
      smart_health: 'unknown',
    });
  }
  return [...disks.values(), ...volumes];
}

/** Collects the disk and volume rows. */
export async function collectDisksDarwin(ctx: ProbeContext): Promise<ProbeRow<'disks'>[]> {
  return parseDisksDarwin(await systemProfiler(ctx, 'disks', 'SPStorageDataType'));
}
