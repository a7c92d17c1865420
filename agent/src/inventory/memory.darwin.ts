/** memory on macOS: hw.memsize and vm.swapusage (sysctl), modules from SPMemoryDataType (Intel DIMMs or Apple silicon's one package). */
import type { ProbeRow } from '@outpost/shared';
import { items, keyValues, sizeOf, systemProfiler } from './darwin.js';
import { badOutput, intOrNull, knownOrEmpty, type ProbeContext, str } from './probe.js';

/**
 * A DIMM part number as printed: Intel Macs give the SPD bytes hex-encoded ("0x484D54…2020" is "HMT41GS6AFR8A-PB"
 * padded with spaces); a printable decoding is the part number, anything else is kept as printed.
 */
export function partNumber(v: string): string {
  const hex = /^0x((?:[0-9a-f]{2}){4,})$/i.exec(v)?.[1];
  if (!hex) return v;
  const text = Buffer.from(hex, 'hex').toString('latin1').trim();
  return /^[\x20-\x7e]+$/.test(text) ? text : v;
}

/** Parses `sysctl hw.memsize vm.swapusage` and `system_profiler -json SPMemoryDataType`. */
export function parseMemoryDarwin(sysctl: string, profiler: Record<string, unknown>): ProbeRow<'memory'>[] {
  const kv = keyValues(sysctl);
  const total = intOrNull(kv.get('hw.memsize'));
  if (total === null) badOutput('memory', 'sysctl printed no hw.memsize', sysctl);
  const swap = /total = ([\d.]+)M/.exec(kv.get('vm.swapusage') ?? '')?.[1];
  const rows: ProbeRow<'memory'>[] = [
    {
      kind: 'total',
      slot: '',
      size_bytes: total,
      swap_bytes: swap ? Math.round(Number(swap) * 1048576) : null,
      type: '',
      speed_mts: null,
      manufacturer: '',
      part_number: '',
      serial: '',
    },
  ];
  for (const entry of items(profiler, 'SPMemoryDataType')) {
    const dimms = Array.isArray(entry._items) ? (entry._items as Record<string, unknown>[]) : [entry];
    for (const d of dimms) {
      const size = sizeOf(str(d.dimm_size) || str(d.SPMemoryDataType));
      if (!size) continue; // an empty slot ("empty")
      rows.push({
        kind: 'module',
        slot: str(d._name) || 'built-in',
        size_bytes: size,
        swap_bytes: null,
        type: str(d.dimm_type),
        speed_mts: intOrNull(/^(\d+)/.exec(str(d.dimm_speed))?.[1]),
        manufacturer: knownOrEmpty(d.dimm_manufacturer),
        part_number: partNumber(knownOrEmpty(d.dimm_part_number)),
        serial: knownOrEmpty(d.dimm_serial_number),
      });
    }
  }
  return rows;
}

/** Collects the memory rows. */
export async function collectMemoryDarwin(ctx: ProbeContext): Promise<ProbeRow<'memory'>[]> {
  const [sysctl, profiler] = await Promise.all([
    ctx.exec('sysctl', ['hw.memsize', 'vm.swapusage']),
    systemProfiler(ctx, 'memory', 'SPMemoryDataType'),
  ]);
  return parseMemoryDarwin(sysctl, profiler);
}
