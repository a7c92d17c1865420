/** system_info on macOS: SPHardwareDataType (model, serial, hardware UUID, firmware) and the host name. */
import { hostname } from 'node:os';
import type { ProbeRow } from '@outpost/shared';
import { items, systemProfiler } from './darwin.js';
import { type ProbeContext, str } from './probe.js';
import { looksVirtual } from './system_info.linux.js';

/** Parses `system_profiler -json SPHardwareDataType` into the one system_info row. */
export function parseSystemInfoDarwin(o: Record<string, unknown>, host: string): ProbeRow<'system_info'>[] {
  const hw = items(o, 'SPHardwareDataType')[0] ?? {};
  const name = str(hw.machine_name);
  const model = str(hw.machine_model) || str(hw.model_number);
  const laptop = /book/i.test(name);
  return [
    {
      hostname: host,
      manufacturer: 'Apple Inc.',
      model: name && model ? `${name} (${model})` : name || model,
      serial: str(hw.serial_number),
      hardware_uuid: str(hw.platform_UUID).toLowerCase(),
      // macOS has no separate installation id; the provisioning UDID is the closest stable per-machine value.
      machine_id: str(hw.provisioning_UDID).toLowerCase(),
      bios_vendor: 'Apple Inc.',
      bios_version: str(hw.boot_rom_version),
      bios_date: '',
      chassis_type: laptop ? 'laptop' : /mac pro|mac studio|mac mini|imac/i.test(name) ? 'desktop' : '',
      virtual: looksVirtual(name, model) || /^VirtualMac/i.test(model),
    },
  ];
}

/** Collects the one system_info row. */
export async function collectSystemInfoDarwin(ctx: ProbeContext): Promise<ProbeRow<'system_info'>[]> {
  return parseSystemInfoDarwin(await systemProfiler(ctx, 'system_info', 'SPHardwareDataType'), hostname());
}
