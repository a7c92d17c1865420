/** services on Windows: Win32_Service with state and start mode. */
import type { ProbeRow } from '@outpost/shared';
import { type ProbeContext, str } from './probe.js';
import { listOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parseServicesWindows` reads. */
export const SERVICES_PS =
  '@(Get-CimInstance Win32_Service | Select-Object Name,DisplayName,State,StartMode,DelayedAutoStart,PathName) | ConvertTo-Json -Depth 2 -Compress';

/** Parses the script's JSON into service rows (states and modes in lower case, like systemd's). */
export function parseServicesWindows(json: unknown): ProbeRow<'services'>[] {
  return listOf('services', json).map((s) => {
    const mode = str(s.StartMode).toLowerCase();
    return {
      name: str(s.Name),
      display_name: str(s.DisplayName),
      state: str(s.State).toLowerCase(),
      start_mode: mode === 'auto' && s.DelayedAutoStart === true ? 'auto (delayed)' : mode,
      kind: 'windows',
      path: str(s.PathName),
    };
  });
}

/** Collects the service rows. */
export async function collectServicesWindows(ctx: ProbeContext): Promise<ProbeRow<'services'>[]> {
  return parseServicesWindows(await powershellJson(ctx, 'services', SERVICES_PS));
}
