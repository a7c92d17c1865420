/** memory on Linux: the total from /proc/meminfo; modules from `dmidecode -t 17` when it is installed and allowed. */
import type { ProbeRow } from '@outpost/shared';
import { badOutput, knownOrEmpty, type ProbeContext } from './probe.js';

/** Parses /proc/meminfo into bytes per key. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w[\w()]*):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.includes('kB') ? 1024 : 1));
  }
  return out;
}

const sizeBytes = (v: string): number => {
  const m = /^(\d+)\s*(KB|MB|GB|TB|kB)/i.exec(v.trim());
  if (!m) return 0;
  const unit = m[2]!.toUpperCase();
  return Number(m[1]) * 1024 ** (unit === 'KB' ? 1 : unit === 'MB' ? 2 : unit === 'GB' ? 3 : 4);
};

/** Parses `dmidecode -t 17` (Memory Device) into module rows; empty slots are skipped. */
export function parseDmidecodeMemory(text: string): ProbeRow<'memory'>[] {
  const rows: ProbeRow<'memory'>[] = [];
  for (const block of text.split(/\n(?=Handle )/)) {
    if (!/Memory Device/.test(block)) continue;
    const f = (k: string) => new RegExp(`^\\s*${k}:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim() ?? '';
    const size = sizeBytes(f('Size'));
    if (size === 0) continue;
    const speed = /^(\d+)/.exec(f('Speed'))?.[1];
    rows.push({
      kind: 'module',
      slot: f('Locator') || f('Bank Locator'),
      size_bytes: size,
      swap_bytes: null,
      type: knownOrEmpty(f('Type')),
      speed_mts: speed ? Number(speed) : null,
      manufacturer: knownOrEmpty(f('Manufacturer')),
      part_number: knownOrEmpty(f('Part Number')),
      serial: knownOrEmpty(f('Serial Number')),
    });
  }
  return rows;
}

/** Collects the total row and the module rows. */
export async function collectMemoryLinux(ctx: ProbeContext): Promise<ProbeRow<'memory'>[]> {
  const text = await ctx.readText('/proc/meminfo');
  if (text === undefined) badOutput('memory', 'cannot read /proc/meminfo');
  const info = parseMeminfo(text);
  const total = info.get('MemTotal');
  if (total === undefined) badOutput('memory', '/proc/meminfo has no MemTotal', text);
  const rows: ProbeRow<'memory'>[] = [
    {
      kind: 'total',
      slot: '',
      size_bytes: total,
      swap_bytes: info.get('SwapTotal') ?? null,
      type: '',
      speed_mts: null,
      manufacturer: '',
      part_number: '',
      serial: '',
    },
  ];
  if (process.getuid?.() === 0 && (await ctx.has('dmidecode'))) {
    // dmidecode needs root and real firmware tables; without them the total alone is still right.
    const out = await ctx.exec('dmidecode', ['-t', '17']).catch(() => '');
    rows.push(...parseDmidecodeMemory(out));
  }
  return rows;
}
