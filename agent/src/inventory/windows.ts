/**
 * What the Windows probes share: one PowerShell invocation per probe whose script prints compact JSON
 * (`ConvertTo-Json`), and readers for what ConvertTo-Json makes of CIM values (a lone object instead of a
 * one-element array, `/Date(ms)/` dates on Windows PowerShell 5.1, ISO dates on PowerShell 7, numbers as strings).
 */
import type { ProbeName } from '@outpost/shared';
import { badOutput, type ProbeContext, parseJsonOutput, timeOrNull } from './probe.js';

/** Runs a PowerShell script (no profile, no prompt, UTF-8 out) and parses the JSON it prints. */
export async function powershellJson(ctx: ProbeContext, probe: ProbeName, script: string): Promise<unknown> {
  const out = await ctx.exec('powershell.exe', [
    '-NoProfile',
    '-NonInteractive',
    '-ExecutionPolicy',
    'Bypass',
    '-Command',
    `[Console]::OutputEncoding=[Text.Encoding]::UTF8; $ProgressPreference='SilentlyContinue'; ${script}`,
  ]);
  return parseJsonOutput(probe, out);
}

/** A JSON object, or the coded parse error. */
export function objectOf(probe: ProbeName, v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) badOutput(probe, `${what} is not an object`);
  return v as Record<string, unknown>;
}

/** ConvertTo-Json prints one object for a one-element pipeline and nothing (null) for an empty one. */
export function asArray(v: unknown): Record<string, unknown>[] {
  const a = v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];
  return a.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x));
}

/** A dotted mask (255.255.255.0) or a prefix ("64") as a prefix length. */
export function prefixLength(mask: string): number | null {
  if (/^\d{1,3}$/.test(mask)) return Number(mask);
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
  return parts.reduce((n, p) => n + (p.toString(2).match(/1/g)?.length ?? 0), 0);
}

/** A JSON list of objects (or one, or none), or the coded parse error for anything else. */
export function listOf(probe: ProbeName, v: unknown): Record<string, unknown>[] {
  if (v !== null && typeof v !== 'object') badOutput(probe, 'the output is not a list of objects', String(v));
  return asArray(v);
}

/**
 * A date as ConvertTo-Json prints it: `/Date(ms)/` (5.1), ISO text (7), or — for a DateTime carrying extended type
 * data, such as Get-HotFix's InstalledOn on 5.1 — an object `{value: "/Date(ms)/", DisplayHint, DateTime}`.
 */
export function dateOf(v: unknown): number | null {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return timeOrNull(o.value ?? o.DateTime);
  }
  return timeOrNull(v);
}
