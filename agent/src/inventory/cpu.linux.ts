/** cpu on Linux: /proc/cpuinfo (model, packages, cores), the scheduler's affinity (what nproc prints). */
import { arch, availableParallelism } from 'node:os';
import type { ProbeRow } from '@outpost/shared';
import { badOutput, type ProbeContext } from './probe.js';

/** Parses /proc/cpuinfo into the cpu row (available_processors filled by the caller). */
export function parseCpuinfo(text: string): Omit<ProbeRow<'cpu'>, 'available_processors' | 'arch'> {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  if (blocks.length === 0) badOutput('cpu', '/proc/cpuinfo lists no processor', text);
  const field = (b: string, k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(b)?.[1]?.trim() ?? '';
  const packages = new Set<string>();
  const cores = new Set<string>();
  for (const b of blocks) {
    const pkg = field(b, 'physical id') || '0';
    packages.add(pkg);
    cores.add(`${pkg}/${field(b, 'core id') || field(b, 'processor')}`);
  }
  const first = blocks[0]!;
  const mhz = Number(field(first, 'cpu MHz'));
  return {
    model: field(first, 'model name') || field(first, 'Model') || field(first, 'cpu model') || field(first, 'Hardware'),
    vendor: field(first, 'vendor_id') || field(first, 'CPU implementer'),
    sockets: packages.size,
    physical_cores: cores.size,
    logical_processors: blocks.length,
    max_mhz: Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz) : null,
  };
}

/** Collects the cpu row. */
export async function collectCpuLinux(ctx: ProbeContext): Promise<ProbeRow<'cpu'>[]> {
  const text = await ctx.readText('/proc/cpuinfo');
  if (text === undefined) badOutput('cpu', 'cannot read /proc/cpuinfo');
  const parsed = parseCpuinfo(text);
  const max = Number((await ctx.readText('/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq')) ?? '');
  return [
    {
      ...parsed,
      max_mhz: Number.isFinite(max) && max > 0 ? Math.round(max / 1000) : parsed.max_mhz,
      available_processors: availableParallelism(),
      arch: arch(),
    },
  ];
}
