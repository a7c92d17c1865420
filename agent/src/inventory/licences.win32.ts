/**
 * licences on Windows: activation from SoftwareLicensingProduct (the Windows product with a key installed: what
 * `slmgr /dli` prints), antivirus products from Security Center (root/SecurityCenter2, workstations only) and
 * Microsoft Defender's own status (Get-MpComputerStatus, also on servers) for its signature date and version.
 */
import type { ProbeRow } from '@outpost/shared';
import { intOrNull, type ProbeContext, str } from './probe.js';
import { asArray, dateOf, objectOf, powershellJson } from './windows.js';

/** The Windows application id of SoftwareLicensingProduct. */
const WINDOWS_APP_ID = '55c92734-d682-4d71-983e-d6ec3f16059f';
/** The PowerShell script whose JSON `parseLicencesWindows` reads. */
export const LICENCES_PS = [
  `$l=@(Get-CimInstance SoftwareLicensingProduct -Filter "ApplicationID='${WINDOWS_APP_ID}' AND PartialProductKey IS NOT NULL" | Select-Object Name,Description,LicenseStatus,GracePeriodRemaining,ProductKeyChannel,EvaluationEndDate)`,
  '$av=@(Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct -ErrorAction SilentlyContinue | Select-Object displayName,productState,timestamp,pathToSignedProductExe)',
  '$mp=Get-MpComputerStatus -ErrorAction SilentlyContinue | Select-Object AMProductVersion,AMServiceEnabled,AntivirusEnabled,RealTimeProtectionEnabled,AntivirusSignatureLastUpdated,AntivirusSignatureAge,AntivirusSignatureVersion',
  '[pscustomobject]@{Activation=$l;AntiVirus=$av;Defender=$mp} | ConvertTo-Json -Depth 3 -Compress',
].join('; ');

/** SoftwareLicensingProduct.LicenseStatus values. */
const LICENSE_STATUS: Record<number, string> = {
  0: 'unlicensed',
  1: 'licensed',
  2: 'grace',
  3: 'grace',
  4: 'grace',
  5: 'notification',
  6: 'grace',
};

/**
 * Security Center's productState, bytes 0x00RRSSDD: SS (scanner) 0x10 or 0x11 means real-time protection on
 * (0x00/0x01 off, 0x20 snoozed), DD 0x00 means definitions up to date (0x10 out of date).
 */
export function decodeProductState(state: number): { state: string; enabled: boolean; upToDate: boolean } {
  const scanner = (state >> 8) & 0xff;
  const defs = state & 0xff;
  const enabled = scanner === 0x10 || scanner === 0x11;
  return { state: enabled ? 'enabled' : scanner === 0x20 ? 'snoozed' : 'disabled', enabled, upToDate: defs === 0x00 };
}

/** Parses the script's JSON: the activation row, then one row per antivirus product. */
export function parseLicencesWindows(json: unknown, now: number): ProbeRow<'licences'>[] {
  const o = objectOf('licences', json, 'the licences output');
  const rows: ProbeRow<'licences'>[] = [];
  for (const l of asArray(o.Activation)) {
    const status = intOrNull(l.LicenseStatus);
    const grace = intOrNull(l.GracePeriodRemaining); // minutes
    const evalEnd = dateOf(l.EvaluationEndDate);
    rows.push({
      kind: 'os_activation',
      product: str(l.Name),
      state: LICENSE_STATUS[status ?? -1] ?? 'unknown',
      channel: str(l.ProductKeyChannel) || (/,\s*(\w+) channel/i.exec(str(l.Description))?.[1] ?? ''),
      enabled: null,
      up_to_date: null,
      definitions_date: null,
      // A licence in grace ends when its grace period does; an evaluation edition on its end date (1601 = none).
      expires_at:
        status !== 1 && grace ? now + grace * 60_000 : evalEnd && evalEnd > Date.UTC(1700, 0, 1) ? evalEnd : null,
      version: '',
    });
  }
  const mp =
    typeof o.Defender === 'object' && o.Defender !== null ? (o.Defender as Record<string, unknown>) : undefined;
  const defenderDate = mp ? dateOf(mp.AntivirusSignatureLastUpdated) : null;
  const seen = new Set<string>();
  for (const av of asArray(o.AntiVirus)) {
    const product = str(av.displayName);
    const ps = intOrNull(av.productState);
    const d = ps === null ? null : decodeProductState(ps);
    const defender = /defender/i.test(product);
    seen.add(product.toLowerCase());
    rows.push({
      kind: 'antivirus',
      product,
      state: d?.state ?? 'unknown',
      channel: '',
      enabled: d?.enabled ?? null,
      up_to_date: d?.upToDate ?? null,
      definitions_date: defender && defenderDate ? defenderDate : dateOf(av.timestamp),
      // Security Center exposes no subscription expiry; products that publish one do so in their own tools.
      expires_at: null,
      version: defender && mp ? str(mp.AMProductVersion) : '',
    });
  }
  // Servers have no Security Center: Defender's own status is the only view of it there.
  if (mp && !seen.has('windows defender') && !seen.has('microsoft defender antivirus')) {
    const enabled = mp.AntivirusEnabled === true && mp.RealTimeProtectionEnabled === true;
    const age = intOrNull(mp.AntivirusSignatureAge);
    rows.push({
      kind: 'antivirus',
      product: 'Microsoft Defender Antivirus',
      state: enabled ? 'enabled' : 'disabled',
      channel: '',
      enabled,
      up_to_date: age === null ? null : age <= 7,
      definitions_date: defenderDate,
      expires_at: null,
      version: str(mp.AMProductVersion),
    });
  }
  return rows;
}

/** Collects the activation and antivirus rows. */
export async function collectLicencesWindows(ctx: ProbeContext): Promise<ProbeRow<'licences'>[]> {
  return parseLicencesWindows(await powershellJson(ctx, 'licences', LICENCES_PS), ctx.now());
}
