/**
 * pending_patches on Windows: pending updates from the Windows Update Agent (Microsoft.Update.Session, searched
 * offline against the last scan, so it neither downloads nor waits on the network), installed hotfixes
 * (Get-HotFix) and the reboot-pending flags Windows Update and CBS set in the registry.
 */
import type { ProbeRow } from '@outpost/shared';
import { type ProbeContext, str } from './probe.js';
import { asArray, dateOf, objectOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parsePatchesWindows` reads. */
export const PATCHES_PS = [
  '$p=@(); try { $s=(New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher(); $s.Online=$false',
  "$p=@($s.Search('IsInstalled=0 and IsHidden=0 and Type=''Software''').Updates | ForEach-Object { [pscustomobject]@{Title=$_.Title;KBArticleIDs=@($_.KBArticleIDs);MsrcSeverity=$_.MsrcSeverity;Categories=@($_.Categories | ForEach-Object { $_.Name })} }) } catch {}",
  '$h=@(Get-HotFix | Select-Object HotFixID,Description,InstalledOn)',
  "$r=(Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired') -or (Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending')",
  '[pscustomobject]@{Pending=$p;HotFixes=$h;RebootRequired=$r} | ConvertTo-Json -Depth 4 -Compress',
].join('; ');

const base = {
  installed_version: '',
  candidate_version: '',
  severity: '',
  kb: '',
  installed_at: null,
} satisfies Partial<ProbeRow<'pending_patches'>>;

/** Update classifications (WUA category names) that count as security. */
const SECURITY = /^(Security Updates|Critical Updates|Definition Updates)$/i;

/** Parses the script's JSON: pending updates, installed hotfixes, and the reboot flag. */
export function parsePatchesWindows(json: unknown): ProbeRow<'pending_patches'>[] {
  const o = objectOf('pending_patches', json, 'the pending_patches output');
  const rows: ProbeRow<'pending_patches'>[] = [];
  for (const u of asArray(o.Pending)) {
    const cats = (Array.isArray(u.Categories) ? u.Categories : [u.Categories]).map(str).filter(Boolean);
    const classification =
      cats.find((c) => /Updates$|Update Rollups|Service Packs|Upgrades|Drivers/i.test(c)) ?? cats[0] ?? '';
    const kbs = (Array.isArray(u.KBArticleIDs) ? u.KBArticleIDs : [u.KBArticleIDs]).map(str).filter(Boolean);
    const severity = str(u.MsrcSeverity);
    rows.push({
      ...base,
      kind: 'update',
      name: str(u.Title),
      security: severity !== '' || cats.some((c) => SECURITY.test(c)),
      classification,
      severity,
      kb: kbs[0] ? `KB${kbs[0].replace(/^KB/i, '')}` : '',
      source: 'windows_update',
    });
  }
  for (const h of asArray(o.HotFixes)) {
    const id = str(h.HotFixID);
    if (!id) continue;
    const description = str(h.Description);
    rows.push({
      ...base,
      kind: 'hotfix',
      name: id,
      security: /security/i.test(description),
      classification: description,
      kb: /^KB\d+$/i.test(id) ? id.toUpperCase() : '',
      source: 'windows_update',
      installed_at: dateOf(h.InstalledOn),
    });
  }
  if (o.RebootRequired === true) {
    rows.push({
      ...base,
      kind: 'reboot_required',
      name: 'reboot required',
      security: false,
      classification: '',
      source: 'os',
    });
  }
  return rows;
}

/** Collects pending updates, hotfixes and the reboot flag. */
export async function collectPatchesWindows(ctx: ProbeContext): Promise<ProbeRow<'pending_patches'>[]> {
  return parsePatchesWindows(await powershellJson(ctx, 'pending_patches', PATCHES_PS));
}
