/** cpu on macOS: sysctl hw.* and machdep.cpu.* (Apple silicon has no vendor or frequency keys). */
import type { ProbeRow } from '@outpost/shared';
import { keyValues } from './darwin.js';
import { badOutput, intOrNull, type ProbeContext } from './probe.js';

/** The sysctl names the probe reads. */
export const CPU_SYSCTLS = [
  'hw.packages',
  'hw.physicalcpu',
  'hw.logicalcpu',
  'hw.activecpu',
  'hw.cpufrequency_max',
  'hw.cpufrequency',
  'hw.machine',
  'machdep.cpu.brand_string',
  'machdep.cpu.vendor',
];

/** Parses `sysctl <names>` (`name: value` lines). */
export function parseCpuDarwin(text: string): ProbeRow<'cpu'>[] {
  const kv = keyValues(text);
  const logical = intOrNull(kv.get('hw.logicalcpu'));
  if (logical === null) badOutput('cpu', 'sysctl printed no hw.logicalcpu', text);
  // Some Intel Macs list only hw.cpufrequency (the nominal clock); Apple silicon has neither.
  const hz = intOrNull(kv.get('hw.cpufrequency_max')) ?? intOrNull(kv.get('hw.cpufrequency'));
  const brand = kv.get('machdep.cpu.brand_string') ?? '';
  return [
    {
      model: brand,
      vendor: kv.get('machdep.cpu.vendor') ?? (/^Apple/.test(brand) ? 'Apple' : ''),
      sockets: intOrNull(kv.get('hw.packages')) ?? 1,
      physical_cores: intOrNull(kv.get('hw.physicalcpu')) ?? 0,
      logical_processors: logical,
      available_processors: intOrNull(kv.get('hw.activecpu')) ?? logical,
      max_mhz: hz ? Math.round(hz / 1e6) : null,
      arch: kv.get('hw.machine') ?? '',
    },
  ];
}

/** Collects the one cpu row (sysctl exits 1 for the names this machine lacks, after printing the others). */
export async function collectCpuDarwin(ctx: ProbeContext): Promise<ProbeRow<'cpu'>[]> {
  return parseCpuDarwin(await ctx.exec('sysctl', CPU_SYSCTLS, { okCodes: [1] }));
}
