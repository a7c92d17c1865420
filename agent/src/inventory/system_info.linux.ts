/** system_info on Linux: SMBIOS values from /sys/class/dmi/id, the installation id from /etc/machine-id. */
import { hostname } from 'node:os';
import type { ProbeRow } from '@outpost/shared';
import type { ProbeContext } from './probe.js';

/** SMBIOS chassis type numbers (DMTF DSP0134 7.4.1) to names. */
export const CHASSIS_TYPES: Record<number, string> = {
  1: 'other',
  2: 'unknown',
  3: 'desktop',
  4: 'low profile desktop',
  5: 'pizza box',
  6: 'mini tower',
  7: 'tower',
  8: 'portable',
  9: 'laptop',
  10: 'notebook',
  11: 'hand held',
  12: 'docking station',
  13: 'all in one',
  14: 'sub notebook',
  15: 'space-saving',
  16: 'lunch box',
  17: 'main server chassis',
  23: 'rack mount chassis',
  24: 'sealed-case pc',
  30: 'tablet',
  31: 'convertible',
  32: 'detachable',
  33: 'iot gateway',
  34: 'embedded pc',
  35: 'mini pc',
  36: 'stick pc',
};

const VIRTUAL_VENDORS =
  /vmware|qemu|kvm|virtualbox|innotek|xen|bochs|parallels|hyper-v|virtual machine|amazon ec2|google compute|openstack|digitalocean/i;

/** True when manufacturer/model name a hypervisor. */
export function looksVirtual(...names: string[]): boolean {
  return names.some((n) => VIRTUAL_VENDORS.test(n));
}

/** mm/dd/yyyy (SMBIOS) → yyyy-mm-dd; '' when unreadable. */
export function biosDate(v: string): string {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v.trim());
  if (m) return `${m[3]}-${m[1]!.padStart(2, '0')}-${m[2]!.padStart(2, '0')}`;
  return /^\d{4}-\d{2}-\d{2}$/.test(v.trim()) ? v.trim() : '';
}

/** Collects the one system_info row. */
export async function collectSystemInfoLinux(ctx: ProbeContext): Promise<ProbeRow<'system_info'>[]> {
  const dmi = async (f: string) => ((await ctx.readText(`/sys/class/dmi/id/${f}`)) ?? '').trim();
  const [vendor, product, serial, uuid, biosVendor, biosVersion, date, chassis, machineId, cgroup, dockerenv] =
    await Promise.all([
      dmi('sys_vendor'),
      dmi('product_name'),
      dmi('product_serial'),
      dmi('product_uuid'),
      dmi('bios_vendor'),
      dmi('bios_version'),
      dmi('bios_date'),
      dmi('chassis_type'),
      ctx.readText('/etc/machine-id'),
      ctx.readText('/proc/1/cgroup'),
      ctx.readText('/.dockerenv'),
    ]);
  const container = dockerenv !== undefined || /docker|lxc|kubepods|containerd/.test(cgroup ?? '');
  const chassisType = CHASSIS_TYPES[Number(chassis)] ?? (container ? 'container' : '');
  return [
    {
      hostname: hostname(),
      manufacturer: vendor,
      model: product,
      serial,
      hardware_uuid: uuid.toLowerCase(),
      machine_id: (machineId ?? '').trim(),
      bios_vendor: biosVendor,
      bios_version: biosVersion,
      bios_date: biosDate(date),
      chassis_type: chassisType,
      virtual: container || looksVirtual(vendor, product, biosVendor),
    },
  ];
}
