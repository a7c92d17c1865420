/**
 * What the macOS probes share: `system_profiler -json <DataType…>` (one JSON object keyed by data type, each an
 * array of items) and `key: value` text outputs (sysctl, sw_vers, pkgutil --pkg-info, dscacheutil).
 */
import type { ProbeName } from '@outpost/shared';
import { badOutput, type ProbeContext, parseJsonOutput } from './probe.js';

/** Runs system_profiler for the data types and returns its JSON object. */
export async function systemProfiler(
  ctx: ProbeContext,
  probe: ProbeName,
  ...types: string[]
): Promise<Record<string, unknown>> {
  // -detailLevel mini leaves out serials for some types; the default (basic) keeps what the probes read.
  return profilerJson(probe, parseJsonOutput(probe, await ctx.exec('system_profiler', ['-json', ...types])));
}

/** The object system_profiler prints, or the coded parse error. */
export function profilerJson(probe: ProbeName, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    badOutput(probe, 'system_profiler output is not an object');
  return v as Record<string, unknown>;
}

/** The items of one data type (absent: none). */
export function items(o: Record<string, unknown>, type: string): Record<string, unknown>[] {
  const v = o[type];
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
}

/** `key: value` (or `key = value`) lines as a map; the first occurrence of a key wins. */
export function keyValues(text: string, sep: ':' | '=' = ':'): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(sep);
    if (i <= 0) continue;
    const k = line.slice(0, i).trim();
    if (k && !out.has(k)) out.set(k, line.slice(i + 1).trim());
  }
  return out;
}

/** "16 GB", "512 MB", "2.3 GHz" → a number in the base unit (bytes, MHz), or null. */
export function sizeOf(text: string): number | null {
  const m = /^([\d.]+)\s*(B|KB|MB|GB|TB|MHz|GHz)$/i.exec(text.trim());
  if (!m) return null;
  const unit = m[2]!.toUpperCase();
  const f: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4, MHZ: 1, GHZ: 1000 };
  return Math.round(Number(m[1]) * f[unit]!);
}
