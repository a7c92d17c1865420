/**
 * pending_patches on macOS: `softwareupdate --list --no-scan` (the updates found by the last background scan; no
 * network wait) and the installed version of what an update replaces where it can be told (macOS itself).
 */
import { OutpostError, type ProbeRow } from '@outpost/shared';
import { macosVersion } from './os_version.darwin.js';
import { badOutput, type ProbeContext } from './probe.js';

type Patch = ProbeRow<'pending_patches'>;

/** Parses softwareupdate's listing: `* Label: …` (or `- Label: …`) then a `Title: …, Version: …, Size: …, Recommended: YES, Action: restart,` line. */
export function parseSoftwareUpdate(text: string, osVersion: string): Patch[] {
  if (/No new software available/i.test(text)) return [];
  if (!/Software Update/i.test(text)) badOutput('pending_patches', 'not softwareupdate output', text);
  // A failed catalog scan lists nothing: that is not "no updates", so it must not replace the last known list.
  const scanError = /^Scan finished with error: (.*)$/m.exec(text)?.[1];
  if (scanError)
    throw new OutpostError('OUTPOST_E_PROBE_FAILED', {
      message: `pending_patches: softwareupdate scan failed: ${scanError.slice(0, 300)}`,
      details: { probe: 'pending_patches', command: 'softwareupdate' },
    });
  const rows: Patch[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // `*` marks a recommended update, `-` one that is not.
    const label = /^\s*[*-] Label: (.+)$/.exec(lines[i]!)?.[1]?.trim();
    if (!label) continue;
    const fields = new Map<string, string>();
    // Split only before the known keys: a title may hold a comma of its own.
    for (const part of (lines[i + 1] ?? '').trim().split(/,\s*(?=(?:Title|Version|Size|Recommended|Action):)/)) {
      const c = part.indexOf(':');
      if (c > 0)
        fields.set(
          part.slice(0, c).trim(),
          part
            .slice(c + 1)
            .replace(/,\s*$/, '')
            .trim(),
        );
    }
    const title = fields.get('Title') ?? label;
    const isOs = /^macOS/i.test(title);
    const security = /security/i.test(`${title} ${label}`);
    rows.push({
      kind: 'update',
      name: title,
      installed_version: isOs ? osVersion : '',
      candidate_version: fields.get('Version') ?? '',
      security,
      classification: security ? 'security' : fields.get('Recommended') === 'YES' ? 'recommended' : 'update',
      severity: '',
      kb: '',
      source: 'softwareupdate',
      installed_at: null,
    });
  }
  // Updates announced but none read: a listing format this parser does not know (before macOS 10.15 there was no
  // `* Label:` line), which must not pass for an up-to-date Mac.
  if (rows.length === 0 && /found the following new or updated software/i.test(text))
    badOutput('pending_patches', 'softwareupdate listed updates in a format without "* Label:" lines', text);
  return rows;
}

/** Collects the pending updates (softwareupdate prints "No new software available." on stderr, exit 0). */
export async function collectPatchesDarwin(ctx: ProbeContext): Promise<Patch[]> {
  const [list, sw] = await Promise.all([ctx.exec('softwareupdate', ['--list', '--no-scan']), ctx.exec('sw_vers', [])]);
  return parseSoftwareUpdate(list || 'No new software available.', macosVersion(sw));
}
