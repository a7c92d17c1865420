/**
 * licences on macOS: there is no OS activation; the built-in antivirus is XProtect, whose signature set Apple
 * updates in the background. Its version and date come from the install history (SPInstallHistoryDataType), where
 * each "XProtectPlistConfigData" (or "XProtectPayloads") update is recorded.
 */
import type { ProbeRow } from '@outpost/shared';
import { items, systemProfiler } from './darwin.js';
import { collectMdatp } from './mdatp.js';
import { type ProbeContext, str, timeOrNull } from './probe.js';

/** Definitions older than this are reported as out of date (Apple ships XProtect updates every few weeks). */
const STALE_MS = 60 * 86_400_000;

/** Parses `system_profiler -json SPInstallHistoryDataType` into the XProtect row (none when it never updated). */
export function parseXProtect(o: Record<string, unknown>, now: number): ProbeRow<'licences'>[] {
  let latest: { version: string; at: number } | undefined;
  const history = items(o, 'SPInstallHistoryDataType');
  // The signature set is XProtectPlistConfigData; XProtectPayloads (the remediator) stands in on systems without it.
  const kind = history.some((i) => str(i._name) === 'XProtectPlistConfigData')
    ? 'XProtectPlistConfigData'
    : 'XProtectPayloads';
  for (const i of history) {
    if (str(i._name) !== kind) continue;
    const at = timeOrNull(i.install_date);
    if (at !== null && (!latest || at > latest.at)) latest = { version: str(i.install_version), at };
  }
  if (!latest) return [];
  return [
    {
      kind: 'antivirus',
      product: 'XProtect',
      // XProtect cannot be switched off by the user; it is on whenever macOS runs.
      state: 'enabled',
      channel: '',
      enabled: true,
      up_to_date: now - latest.at <= STALE_MS,
      definitions_date: latest.at,
      expires_at: null,
      version: latest.version,
    },
  ];
}

/** Collects the XProtect row, and Microsoft Defender for Endpoint's when installed. */
export async function collectLicencesDarwin(ctx: ProbeContext): Promise<ProbeRow<'licences'>[]> {
  const [history, mdatp] = await Promise.all([
    systemProfiler(ctx, 'licences', 'SPInstallHistoryDataType'),
    collectMdatp(ctx),
  ]);
  return [...parseXProtect(history, ctx.now()), ...mdatp];
}
