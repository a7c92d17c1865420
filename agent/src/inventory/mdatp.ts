/**
 * Microsoft Defender for Endpoint on Linux and macOS: `mdatp health` prints `field : value` lines (strings quoted,
 * managed settings suffixed ` [managed]`, dates as "Nov 19, 2024 at 10:05:23 AM" in local time). It exposes the one
 * expiry an AV product on these systems publishes: `product_expiration`, when the installed version stops being
 * supported and must be updated.
 */
import type { ProbeRow } from '@outpost/shared';
import { badOutput, type ProbeContext } from './probe.js';

const value = (v: string | undefined) =>
  (v ?? '')
    .replace(/\s*\[managed\]$/, '')
    .replace(/^"(.*)"$/, '$1')
    .trim();
const date = (v: string) => {
  const t = Date.parse(v.replace(' at ', ' '));
  return Number.isFinite(t) ? t : null;
};

/** Parses `mdatp health` into the antivirus row. */
export function parseMdatpHealth(text: string): ProbeRow<'licences'> {
  const f = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\s+:\s?(.*)$/.exec(line.trim());
    if (m) f.set(m[1]!, m[2]!);
  }
  if (!f.has('app_version') && !f.has('healthy')) badOutput('licences', 'not `mdatp health` output', text);
  const rtp = value(f.get('real_time_protection_enabled')) === 'true';
  const passive = value(f.get('passive_mode_enabled')) === 'true';
  const licensed = value(f.get('licensed'));
  const status = value(f.get('definitions_status'));
  return {
    kind: 'antivirus',
    product: 'Microsoft Defender for Endpoint',
    state: licensed === 'false' ? 'unlicensed' : rtp && !passive ? 'enabled' : passive ? 'passive' : 'disabled',
    channel: '',
    enabled: rtp && !passive,
    up_to_date: status ? status === 'up_to_date' : null,
    definitions_date: date(value(f.get('definitions_updated'))),
    expires_at: date(value(f.get('product_expiration'))),
    version: value(f.get('app_version')),
  };
}

/** The Defender row when `mdatp` is installed (none otherwise). */
export async function collectMdatp(ctx: ProbeContext): Promise<ProbeRow<'licences'>[]> {
  if (!(await ctx.has('mdatp'))) return [];
  return [parseMdatpHealth(await ctx.exec('mdatp', ['health']))];
}
