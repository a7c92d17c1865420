/**
 * disks on macOS: one `system_profiler` run for three reports. SPStorageDataType gives every mounted volume with the
 * name, medium, protocol and SMART status of its drive, but no drive size or serial; SPNVMeDataType and
 * SPSerialATADataType list the internal drives with model, serial, size and SMART status, matched to the volumes'
 * drives by model name. A drive only SPStorageDataType knows (USB, Thunderbolt) keeps size 0 and no serial.
 */
import type { ProbeRow } from '@outpost/shared';
import { items, systemProfiler } from './darwin.js';
import { intOrNull, type ProbeContext, str } from './probe.js';

type Disk = ProbeRow<'disks'>;

/** The drives of the NVMe and SATA reports by model name (optical drives and empty bays, with no size, left out). */
function busDrives(o: Record<string, unknown>): Map<string, Disk> {
  const out = new Map<string, Disk>();
  for (const [type, nvme] of [
    ['SPNVMeDataType', true],
    ['SPSerialATADataType', false],
  ] as const) {
    for (const controller of items(o, type)) {
      for (const d of items(controller, '_items')) {
        const model = str(d.device_model) || str(d._name);
        const size = intOrNull(d.size_in_bytes);
        if (!model || !size || out.has(model)) continue;
        const medium = str(d.spsata_medium_type);
        const smart = str(d.smart_status);
        out.set(model, {
          kind: 'disk',
          name: model,
          model,
          serial: str(d.device_serial),
          type: nvme ? 'nvme' : /rotational/i.test(medium) ? 'hdd' : /solid/i.test(medium) ? 'ssd' : '',
          size_bytes: size,
          free_bytes: null,
          filesystem: '',
          mount: '',
          smart_health: smart === 'Verified' ? 'ok' : smart === 'Failing' ? 'failing' : 'unknown',
        });
      }
    }
  }
  return out;
}

/**
 * Parses `system_profiler -json SPStorageDataType SPNVMeDataType SPSerialATADataType`: physical drives (once each),
 * then volumes.
 */
export function parseDisksDarwin(o: Record<string, unknown>): Disk[] {
  const bus = busDrives(o);
  const disks = new Map<string, Disk>();
  const volumes: Disk[] = [];
  for (const v of items(o, 'SPStorageDataType')) {
    // A CoreStorage volume (HFS+ with FileVault or Fusion Drive) names its drives under com.apple.corestorage.pv.
    const pv = v['com.apple.corestorage.pv'];
    const drive = v.physical_drive ?? (Array.isArray(pv) ? pv[0] : undefined);
    const pd = (typeof drive === 'object' && drive !== null ? drive : {}) as Record<string, unknown>;
    const device = str(pd.device_name);
    // The physical disk's BSD name: disk3s1s1 lives on an APFS container whose physical store is not named here.
    const bsd = /^(disk\d+)/.exec(str(v.bsd_name))?.[1] ?? '';
    if (device && !disks.has(device) && bus.has(device)) disks.set(device, bus.get(device)!);
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
  // Internal drives with no mounted volume (a second, unformatted disk) are inventory too.
  for (const [model, d] of bus) if (!disks.has(model)) disks.set(model, d);
  return [...disks.values(), ...volumes];
}

/** Collects the disk and volume rows. */
export async function collectDisksDarwin(ctx: ProbeContext): Promise<Disk[]> {
  return parseDisksDarwin(
    await systemProfiler(ctx, 'disks', 'SPStorageDataType', 'SPNVMeDataType', 'SPSerialATADataType'),
  );
}
