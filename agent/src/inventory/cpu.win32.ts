/** cpu on Windows: Win32_Processor (one instance per package) and the processors this process may use. */
import type { ProbeRow } from '@outpost/shared';
import { intOrNull, type ProbeContext, str } from './probe.js';
import { asArray, objectOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parseCpuWindows` reads. */
export const CPU_PS =
  '[pscustomobject]@{Processors=@(Get-CimInstance Win32_Processor | Select-Object Name,Manufacturer,NumberOfCores,NumberOfLogicalProcessors,MaxClockSpeed,Architecture,SocketDesignation);Available=[Environment]::ProcessorCount} | ConvertTo-Json -Depth 3 -Compress';

/** Win32_Processor.Architecture values. */
const ARCH: Record<number, string> = { 0: 'x86', 5: 'arm', 6: 'ia64', 9: 'x64', 12: 'arm64' };

/** Parses the script's JSON into the one cpu row. */
export function parseCpuWindows(json: unknown): ProbeRow<'cpu'>[] {
  const o = objectOf('cpu', json, 'the cpu output');
  const cpus = asArray(o.Processors);
  const first = cpus[0] ?? {};
  const sum = (k: string) => cpus.reduce((n, c) => n + (intOrNull(c[k]) ?? 0), 0);
  const logical = sum('NumberOfLogicalProcessors');
  return [
    {
      model: str(first.Name).trim(),
      vendor: str(first.Manufacturer),
      sockets: cpus.length,
      physical_cores: sum('NumberOfCores'),
      logical_processors: logical,
      available_processors: intOrNull(o.Available) ?? logical,
      max_mhz: intOrNull(first.MaxClockSpeed),
      arch: ARCH[intOrNull(first.Architecture) ?? -1] ?? '',
    },
  ];
}

/** Collects the one cpu row. */
export async function collectCpuWindows(ctx: ProbeContext): Promise<ProbeRow<'cpu'>[]> {
  return parseCpuWindows(await powershellJson(ctx, 'cpu', CPU_PS));
}
